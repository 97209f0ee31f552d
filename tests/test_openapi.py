"""The API's OpenAPI document: it is valid, it is what is served, and the API keeps to it.

The schemathesis runs send generated requests, valid and invalid, to the app on each
database backend and check every answer: never a 5xx, only documented status codes and
content types, and bodies that match the documented schemas.

Two of schemathesis's default checks are left out on purpose, because the product
answers differently by design: ``positive_data_acceptance`` (a string the document calls
valid is often no email address, and gets 422) and ``negative_data_rejection`` (a filled
honeypot gets the success answer whatever else the body holds, so bots learn nothing).
"""

import copy

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.specs.openapi.checks import response_headers_conformance
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.checks import status_code_conformance

from newsletter.web.openapi import document

SLUG = "explaining-ukraine"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# The app fixture is per test, on SQLite and on PostgreSQL; its state is shared by the
# examples of one run, which is what the checks above expect (none depends on state).
FUZZ_SETTINGS = {
    "deadline": None,
    "database": None,  # no example database written into the working tree
    "suppress_health_check": [HealthCheck.function_scoped_fixture],
}

# Requests to the seeded newsletter, so generated bodies reach validation and storage
# instead of stopping at 404.
to_the_newsletter = schemathesis.openapi.from_dict(
    copy.deepcopy(document()),
    config=schemathesis.Config.from_dict({"parameters": {"path.slug": SLUG}}),
)
# Requests with generated slugs: unknown, overlong, NUL bytes, any Unicode.
to_any_slug = schemathesis.openapi.from_dict(copy.deepcopy(document()))


@pytest.fixture
def settings(settings):
    """Rate limits off: hundreds of requests from one address are the point here."""
    return settings | {"RATELIMIT_ENABLED": False}


def test_document_is_valid_openapi(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    served = response.get_json()
    validate(served)
    assert served["openapi"].startswith("3.1")
    operations = {(path, method) for path, methods in served["paths"].items() for method in methods}
    assert operations == {
        ("/api/v1/newsletters", "get"),
        ("/api/v1/subscriptions", "post"),
        ("/api/v1/newsletters/{slug}", "get"),
        ("/api/v1/newsletters/{slug}/subscriptions", "post"),
    }
    # The runs below are generated from this very document.
    assert served == to_any_slug.raw_schema == to_the_newsletter.raw_schema


# Over a thousand generated requests per backend: the POST to the seeded newsletter gets
# 750 (its GET has a single case), and each operation 150 more with any slug.
@to_the_newsletter.parametrize()
@hypothesis_settings(max_examples=750, **FUZZ_SETTINGS)
def test_api_keeps_to_its_document(case, app):
    case.call_and_validate(app=app, checks=CHECKS)


@to_any_slug.parametrize()
@hypothesis_settings(max_examples=150, **FUZZ_SETTINGS)
def test_api_keeps_to_its_document_for_any_slug(case, app):
    case.call_and_validate(app=app, checks=CHECKS)
