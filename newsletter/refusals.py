"""Why the domain refuses a request: exceptions that carry a machine-readable reason.

The web answers each with its status and the reason's words (``newsletter.web.errors``);
the CLI says the reason in its own words. Errors in what an editor typed into a form
(``InvalidNewsletter``, ``InvalidEditor``, ``InvalidAddress``) carry a sentence instead.
"""

from typing import ClassVar


class Refusal(Exception):
    """Something asked of the domain that it will not do; ``reason`` says which."""

    reason: ClassVar[str]
