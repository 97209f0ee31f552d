"""Three newsletters for the tests of forms that offer several, and the steps a reader takes."""

from newsletter import newsletters
from newsletter.db import database
from tests.reader import csrf_token

SLUG = "explaining-ukraine"
# The seeded newsletter, a daily briefing, and a weekly digest; each site allowed by some.
BRIEFING = "daily-briefing"
DIGEST = "weekly-digest"
PRIVATE = "editors-only"
ALL_THREE = f"{SLUG},{BRIEFING},{DIGEST}"
SHARED_SITE = "https://news.example.com"  # every newsletter allows it
PARTNER_SITE = "https://partner.example"  # only the briefing allows it


def add_newsletters(app) -> None:
    """Two more public newsletters (after the seeded one), and a private one."""
    with app.app_context(), database(app).transaction() as session:
        newsletters.get_by_slug(session, SLUG).allowed_origins = [SHARED_SITE]
        newsletters.create(
            session,
            slug=BRIEFING,
            name="The Daily Briefing",
            description="The morning's news in five minutes.",
            allowed_origins=[SHARED_SITE, PARTNER_SITE],
            position=1,
        )
        newsletters.create(
            session,
            slug=DIGEST,
            name="The Weekly Digest",
            description="The week's best reads, on Sundays.",
            allowed_origins=[SHARED_SITE],
            position=2,
        )
        newsletters.create(session, slug=PRIVATE, name="Editors only", public=False)


def sign_up_to_several(client, email: str, chosen: list[str], offered: str = ALL_THREE):
    """Open the form for several newsletters, tick ``chosen``, submit; the POST's response."""
    page = client.get(f"/subscribe?newsletters={offered}")
    assert page.status_code == 200
    return client.post(
        f"/subscribe?newsletters={offered}",
        data={"email": email, "newsletters": chosen, "csrf_token": csrf_token(page.text)},
    )
