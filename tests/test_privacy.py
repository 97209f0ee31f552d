"""Addresses only where they must be: not in the log of a database error, not in evidence
columns they were never meant for, not readable by other users of the machine."""

import stat
from pathlib import Path

import pytest
from sqlalchemy import insert

from newsletter import create_app
from newsletter.db import session as request_session
from newsletter.models import SubscriptionEvent
from tests.reader import deliver
from tests.reader import sign_up
from tests.reader import subscriptions

ADDRESS = "Private.Reader@example.com"


@pytest.fixture
def failing_app(app):
    """The app with a test-only route whose statement fails with an address as parameter.

    The event names no subscription that exists: a foreign key violation on both backends.
    """

    def orphan_event():
        request_session().execute(
            insert(SubscriptionEvent).values(subscription_id=999_999, kind="x", detail=ADDRESS)
        )
        request_session().flush()

    app.add_url_rule("/orphan-event", view_func=orphan_event)
    return app


def test_a_database_error_is_logged_without_its_parameters(failing_app, caplog):
    response = failing_app.test_client().get("/orphan-event")
    assert response.status_code == 500
    assert "IntegrityError" in caplog.text  # the operator still learns what failed
    assert "INSERT INTO subscription_event" in caplog.text
    assert ADDRESS.lower() not in caplog.text.lower()


@pytest.fixture
def behind_a_proxy(settings):
    settings["PROXY_HOPS"] = 1


@pytest.mark.parametrize(
    ("forwarded_for", "recorded"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("x" * 100, None),
        ("203.0.113.7" + "0" * 89, None),
        ("unknown", None),
    ],
)
def test_only_an_ip_address_is_kept_as_signup_evidence(
    behind_a_proxy, app, client, runner, forwarded_for, recorded
):
    response = sign_up(client, "reader@example.com", **{"X-Forwarded-For": forwarded_for})
    assert response.status_code == 303
    deliver(runner)
    [subscription] = subscriptions(app)
    assert subscription.signup_ip == recorded


def test_the_instance_folder_and_its_files_are_private(tmp_path: Path):
    """A fresh instance: the folder 0700, the secret key and the SQLite files 0600."""
    instance = tmp_path / "instance"
    app = create_app({"TESTING": True, "INSTANCE_PATH": instance})
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.test_client() as client:
        assert client.get("/healthz").status_code == 200
        files = sorted(path.name for path in instance.iterdir())
        assert {"newsletter.db", "secret_key"} <= set(files)
        modes = {name: stat.S_IMODE((instance / name).stat().st_mode) for name in files}
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    assert modes == dict.fromkeys(files, 0o600)
