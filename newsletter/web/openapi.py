"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json``.

Two kinds of operation: about one newsletter (``/newsletters/{slug}``…), and about
several, named by their slugs (``/newsletters?newsletters=a,b``, ``/subscriptions``).
"""

from dataclasses import fields
from functools import cache

from newsletter.newsletters import MAX_SLUG_LENGTH
from newsletter.web.form_words import FormWords


def _error(description: str) -> dict:
    """A documented error response with the common JSON error body."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


SLUG_PARAMETER = {
    "name": "slug",
    "in": "path",
    "required": True,
    "description": "The newsletter's slug, e.g. explaining-ukraine.",
    "schema": {"type": "string", "maxLength": MAX_SLUG_LENGTH},
}


NEWSLETTERS_PARAMETER = {
    "name": "newsletters",
    "in": "query",
    "required": False,
    "description": (
        "The newsletters' slugs, comma-separated, e.g. explaining-ukraine,daily-briefing; "
        "without it, every public newsletter."
    ),
    "schema": {"type": "string"},
}


# The fields of a signup, whether to one newsletter or several.
SIGNUP_FIELDS = {
    "email": {"type": "string", "description": "The reader's address"},
    "source_url": {
        "type": "string",
        "description": "The page the form was on (as the browser reports)",
    },
    "website": {
        "type": "string",
        "description": "Honeypot: leave empty (a filled one is ignored)",
    },
}


# A newsletter's words, in the request's language (newsletter/languages.py).
TEXT_FIELDS = {
    "name": {
        "type": "string",
        "description": "Its name in the request's language if its editors gave one, else its own",
    },
    "description": {
        "type": "string",
        "description": "Its description in the request's language, likewise",
    },
}
# A newsletter's brand, as embed.js applies it (newsletter/web/brand.py).
BRAND_FIELDS = {
    "style": {
        "type": "string",
        "description": "CSS setting the form's colours (--accent), or empty for the default",
    },
    "logo_url": {"type": "string", "description": "An https:// image, or empty for none"},
}


def _json(schema: str, description: str) -> dict:
    """A documented response whose JSON body is one of the components' schemas."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


@cache
def document() -> dict:
    """The document; built once, it does not depend on the request."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Newsletter signup API",
            "version": "1.0.0",
            "description": (
                "Sign readers up to newsletters with double opt-in. The answer to a valid "
                "signup is the same whatever the address's state, so the API never reveals "
                "who is subscribed. Browsers may call it from a newsletter's allowed origins "
                "(CORS, no credentials); a request from any other origin is refused with 403."
            ),
        },
        "paths": {
            **_several_paths(),
            "/api/v1/newsletters/{slug}": {
                "get": {
                    "operationId": "getNewsletter",
                    "summary": "A newsletter's name and description, and its form's words",
                    "parameters": [SLUG_PARAMETER],
                    "responses": {
                        "200": {
                            "description": "The newsletter",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Newsletter"}
                                }
                            },
                        },
                        "403": _error("The request's Origin may not use this newsletter"),
                        "404": _error("No newsletter with this slug"),
                    },
                }
            },
            "/api/v1/newsletters/{slug}/subscriptions": {
                "post": {
                    "operationId": "subscribe",
                    "summary": "Sign an address up (double opt-in)",
                    "parameters": [SLUG_PARAMETER],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SignupRequest"}
                            }
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "Accepted: a confirmation email is on its way",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/SignupAccepted"}
                                }
                            },
                        },
                        "400": _error("The body is not a JSON object"),
                        "403": _error("The request's Origin may not use this newsletter"),
                        "404": _error("No newsletter with this slug"),
                        "413": _error("The body is too large"),
                        "415": _error("The body is not application/json"),
                        "422": {
                            "description": "A field is invalid",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ValidationErrors"}
                                }
                            },
                        },
                        "429": _error("Too many signups from this network or for this address"),
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "NewsletterList": {
                    "type": "object",
                    "required": ["newsletters", "form"],
                    "properties": {
                        "newsletters": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/NewsletterFace"},
                        },
                        "form": {"$ref": "#/components/schemas/FormWords"},
                    },
                },
                "NewsletterFace": {
                    "type": "object",
                    "required": ["slug", "name", "description", "style", "logo_url"],
                    "properties": {
                        "slug": {"type": "string"},
                        **TEXT_FIELDS,
                        **BRAND_FIELDS,
                    },
                },
                "SeveralSignupRequest": {
                    "type": "object",
                    "required": ["email", "newsletters"],
                    "properties": {
                        **SIGNUP_FIELDS,
                        "newsletters": {
                            "type": "array",
                            "items": {"type": "string"},
                            "minItems": 1,
                            "description": "The slugs of the public newsletters chosen",
                        },
                    },
                },
                "Newsletter": {
                    "type": "object",
                    "required": ["slug", "name", "description", "style", "logo_url", "form"],
                    "properties": {
                        "slug": {"type": "string"},
                        **TEXT_FIELDS,
                        **BRAND_FIELDS,
                        "form": {"$ref": "#/components/schemas/FormWords"},
                    },
                },
                "FormWords": {
                    "type": "object",
                    "description": (
                        "The signup form's words, in the reader's language: what a script "
                        "needs to render the form and its outcomes as the service's pages do."
                    ),
                    "required": [word.name for word in fields(FormWords)],
                    "properties": {
                        word.name: {"type": "string", "description": word.metadata["description"]}
                        for word in fields(FormWords)
                    },
                },
                "SignupRequest": {
                    "type": "object",
                    "required": ["email"],
                    "properties": {
                        **SIGNUP_FIELDS,
                    },
                },
                "SignupAccepted": {
                    "type": "object",
                    "required": ["status", "message", "sent_to", "webmail"],
                    "properties": {
                        "status": {"const": "pending"},
                        "message": {"type": "string"},
                        "sent_to": {
                            "type": ["string", "null"],
                            "description": (
                                "The address the confirmation goes to, masked "
                                "(r***@gmail.com), so the reader can see a typo; "
                                "null when the request was not a person's"
                            ),
                        },
                        "webmail": {
                            "anyOf": [
                                {"$ref": "#/components/schemas/Webmail"},
                                {"type": "null"},
                            ],
                            "description": "The address's webmail, when it is a well-known one",
                        },
                    },
                },
                "Webmail": {
                    "type": "object",
                    "required": ["name", "url"],
                    "properties": {
                        "name": {"type": "string", "description": "e.g. Gmail"},
                        "url": {"type": "string", "format": "uri"},
                    },
                },
                "ValidationErrors": {
                    "type": "object",
                    "required": ["errors"],
                    "properties": {
                        "errors": {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": {"type": "string"}},
                        }
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                },
            }
        },
    }


def _several_paths() -> dict:
    """The operations about several newsletters (merged into ``paths``)."""
    return {
        "/api/v1/newsletters": {
            "get": {
                "operationId": "getNewsletters",
                "summary": "Several newsletters' names and descriptions, and the form's words",
                "parameters": [NEWSLETTERS_PARAMETER],
                "responses": {
                    "200": _json("NewsletterList", "The newsletters, in the listing order"),
                    "403": _error("The request's Origin may not use one of these newsletters"),
                    "404": _error("A slug names no public newsletter"),
                },
            }
        },
        "/api/v1/subscriptions": {
            "post": {
                "operationId": "subscribeToSeveral",
                "summary": "Sign an address up to several newsletters (one confirmation email)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/SeveralSignupRequest"}
                        }
                    },
                },
                "responses": {
                    "202": _json(
                        "SignupAccepted", "Accepted: one confirmation email is on its way"
                    ),
                    "400": _error("The body is not a JSON object"),
                    "403": _error("The request's Origin may not use one of the newsletters"),
                    "413": _error("The body is too large"),
                    "415": _error("The body is not application/json"),
                    "422": _json(
                        "ValidationErrors",
                        "A field is invalid: the address, no newsletter chosen, or a slug "
                        "that names no public newsletter (the message names it)",
                    ),
                    "429": _error("Too many signups from this network or for this address"),
                },
            }
        },
    }
