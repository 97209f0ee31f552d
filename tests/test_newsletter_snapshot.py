"""The reader-facing pages read newsletters from a per-process snapshot: the rule for a
change to be seen (``newsletter.newsletter_snapshot``).

Two apps on one database stand for two gunicorn workers: a change made through one is
seen by its own next request, and by the other once the other's snapshot is older than
``NEWSLETTER_SNAPSHOT_SECONDS`` (0 here: at once; a day: not yet).
"""

import pytest

from newsletter import create_app
from newsletter import newsletters
from newsletter.db import database
from tests.conftest import SLUG

DAY = 24 * 3600


@pytest.fixture
def settings(settings):
    """This test's own process keeps its snapshot for a day: only a change it made drops it."""
    return settings | {"NEWSLETTER_SNAPSHOT_SECONDS": DAY}


def make_private(app) -> None:
    """What an editor does in the admin or with ``newsletter newsletters update``."""
    with app.app_context(), database(app).transaction() as session:
        newsletters.update(session, newsletters.get_by_slug(session, SLUG), public=False)


@pytest.fixture
def other_worker(settings):
    """A second process's app on the same database, with the given snapshot age."""
    apps = []

    def start(seconds: float):
        other = create_app(settings | {"NEWSLETTER_SNAPSHOT_SECONDS": seconds})
        apps.append(other)
        return other.test_client()

    yield start
    for other in apps:
        database(other).engine.dispose()


def test_a_change_is_seen_by_the_next_request_of_the_process_that_made_it(app, client):
    assert f'value="{SLUG}"' in client.get("/subscribe").text
    make_private(app)
    assert f'value="{SLUG}"' not in client.get("/subscribe").text
    assert client.get(f"/subscribe?newsletters={SLUG}").status_code == 404


@pytest.mark.parametrize(("seconds", "seen"), [(0, True), (DAY, False)])
def test_another_process_sees_a_change_once_its_snapshot_is_old_enough(
    app, client, other_worker, seconds, seen
):
    other = other_worker(seconds)
    assert other.get(f"/subscribe?newsletters={SLUG}").status_code == 200
    make_private(app)
    assert client.get(f"/subscribe?newsletters={SLUG}").status_code == 404
    expected = 404 if seen else 200
    assert other.get(f"/subscribe?newsletters={SLUG}").status_code == expected


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_change_of_a_name_in_a_language_alone_is_seen_by_the_next_request(app, client):
    """Only the newsletter's row of texts changes (added, changed, removed), not its own."""
    for name_uk in ("Пояснюючи Україну", "Пояснюючи Україну з Кейт Цуркан", ""):
        with app.app_context(), database(app).transaction() as session:
            newsletter = newsletters.get_by_slug(session, SLUG)
            newsletters.update(session, newsletter, names={"uk": name_uk})
        page = client.get(f"/newsletters/{SLUG}?lang=uk").text
        assert f">{name_uk or 'Explaining Ukraine with Kate Tsurkan'}<" in page


def test_a_rolled_back_change_keeps_the_snapshot(app, client):
    client.get("/subscribe")
    snapshots = app.extensions["newsletter_snapshots"]
    before = snapshots.current
    with app.app_context(), database(app).writing_sessions() as session:
        newsletters.update(session, newsletters.get_by_slug(session, SLUG), name="Renamed")
        session.rollback()
        session.commit()  # the session's next commit changed no newsletter either
    client.get("/subscribe")
    assert snapshots.current is before
