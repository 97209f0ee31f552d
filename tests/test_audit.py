"""The audit trail: an entry for each act on readers' data or on access, never a reader's
address, nothing the app can change or delete but the retention purge; read on the owner's
page and with ``newsletter audit list``.
"""

from datetime import timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from newsletter import audit
from newsletter.access_models import AuditAction
from newsletter.access_models import AuditEntry
from newsletter.db import database
from newsletter.db.types import utcnow
from newsletter.models import Editor
from tests.admin_steps import EDITOR
from tests.admin_steps import bearer
from tests.admin_steps import create_editor
from tests.admin_steps import create_token
from tests.admin_steps import page_csrf_token
from tests.admin_steps import sign_in
from tests.admin_steps import signed_in_client
from tests.admin_steps import stored_tokens
from tests.reader import SLUG
from tests.reader import shown_text
from tests.reader import subscriptions
from tests.test_export import signed_up

READER = "reader@example.com"
IP = "192.0.2.9"


def entries(app, action: AuditAction | None = None) -> list[AuditEntry]:
    """The trail, oldest first (of one action, if given)."""
    with app.app_context(), database(app).transaction() as session:
        statement = select(AuditEntry).order_by(AuditEntry.id)
        if action is not None:
            statement = statement.where(AuditEntry.action == str(action))
        return list(session.scalars(statement))


def listed(page) -> str:
    """The words of the page's table of entries (not of its filters)."""
    html = page.text
    return shown_text(html[html.index("<tbody>") :])


def browser_at(client, ip: str = IP):
    client.environ_base["REMOTE_ADDR"] = ip
    return client


# --- An entry for each act -----------------------------------------------------------------


def test_sign_ins_and_failures_are_recorded_without_what_was_typed(app, runner):
    assert create_editor(runner).exit_code == 0
    client = browser_at(app.test_client())
    assert sign_in(client, password="not the right password").status_code == 401
    assert sign_in(client, email="hunter2 typed here").status_code in (400, 401)
    assert sign_in(client, email="stranger@example.com").status_code == 401
    assert sign_in(client).status_code == 303
    failed = entries(app, AuditAction.SIGN_IN_FAILED)
    assert [(e.actor, e.ip) for e in failed][0] == (EDITOR, IP)
    assert {e.actor for e in failed[1:]} == {"unknown account"}
    assert not any("hunter2" in str(e.detail) + e.actor for e in entries(app))
    assert not any("stranger" in e.actor for e in entries(app))
    [signed] = entries(app, AuditAction.SIGN_IN)
    assert (signed.actor, signed.ip) == (EDITOR, IP)


def test_an_export_records_who_which_newsletter_the_filter_the_rows_and_the_ip(app, runner):
    signed_up(app, READER, "192.0.2.1")
    signed_up(app, "second@example.com", "192.0.2.2")
    client = browser_at(signed_in_client(app, runner))
    response = client.get(f"/admin/newsletters/{SLUG}/subscribers.csv?status=pending")
    assert response.status_code == 200
    [entry] = entries(app, AuditAction.EXPORT)
    assert (entry.actor, entry.newsletter, entry.ip) == (EDITOR, SLUG, IP)
    assert entry.detail == {"status": "pending", "rows": 2, "newsletters": [SLUG]}
    assert client.get("/admin/subscribers.csv?status=confirmed").status_code == 200
    every = entries(app, AuditAction.EXPORT)[-1]
    assert (every.newsletter, every.detail) == (
        None,
        {"status": "confirmed", "rows": 0, "newsletters": "all"},
    )


def test_a_tokens_export_and_a_commands_export_are_recorded(app, runner):
    signed_up(app, READER, "192.0.2.1")
    _, secret = create_token(runner, "ESP sync")
    export = f"/admin/newsletters/{SLUG}/subscribers.csv"
    assert app.test_client().get(export, headers=bearer(secret)).status_code == 200
    assert runner.invoke(args=["export", "--all"]).exit_code == 0
    by_token, by_command = entries(app, AuditAction.EXPORT)
    assert (by_token.actor, by_token.detail["rows"]) == ("token ESP sync", 1)
    assert (by_command.actor, by_command.newsletter, by_command.detail["rows"]) == ("CLI", None, 1)


def test_an_erasure_is_recorded_without_the_erased_address(app, runner):
    signed_up(app, READER, "192.0.2.1")
    client = browser_at(signed_in_client(app, runner))
    [subscription] = subscriptions(app)
    page = f"/admin/newsletters/{SLUG}/subscribers/{subscription.public_id}/erase"
    csrf = page_csrf_token(client.get(page).text)
    assert client.post(page, data={"csrf_token": csrf}).status_code == 303
    [entry] = entries(app, AuditAction.ERASURE)
    assert (entry.actor, entry.newsletter, entry.ip) == (EDITOR, SLUG, IP)
    assert entry.detail == {"subscriptions": 1}
    for each in entries(app):
        assert "reader" not in f"{each.actor} {each.detail} {each.newsletter}"


def test_editors_and_role_changes_are_recorded(app, runner):
    assert create_editor(runner, "owner@example.com").exit_code == 0
    assert create_editor(runner, role="viewer", newsletters=(SLUG,)).exit_code == 0
    changed = runner.invoke(
        args=["admins", "set-role", EDITOR, "--role", "editor", "--newsletter", SLUG]
    )
    assert changed.exit_code == 0, changed.output
    created = entries(app, AuditAction.EDITOR_CREATED)
    assert [(e.actor, e.detail) for e in created] == [
        ("CLI", {"editor": "owner@example.com", "role": "owner", "newsletters": []}),
        ("CLI", {"editor": EDITOR, "role": "viewer", "newsletters": [SLUG]}),
    ]
    [role] = entries(app, AuditAction.ROLE_CHANGED)
    assert (role.actor, role.detail) == (
        "CLI",
        {"editor": EDITOR, "role": "editor", "newsletters": [SLUG]},
    )


def test_a_role_change_on_the_owners_page_is_recorded_as_the_owner(app, runner):
    client = browser_at(signed_in_client(app, runner, "owner@example.com"))
    assert create_editor(runner, role="viewer", newsletters=(SLUG,)).exit_code == 0
    with app.app_context(), database(app).transaction() as session:
        editor_id = session.scalars(select(Editor.id).where(Editor.email == EDITOR)).one()
    csrf = page_csrf_token(client.get("/admin/editors").text)
    response = client.post(
        f"/admin/editors/{editor_id}/role",
        data={"csrf_token": csrf, f"editor-{editor_id}-role": "owner"},
    )
    assert response.status_code == 303
    [role] = entries(app, AuditAction.ROLE_CHANGED)
    assert (role.actor, role.ip, role.detail["role"]) == ("owner@example.com", IP, "owner")


def test_token_changes_are_recorded_without_the_secret(app, runner):
    token_id, secret = create_token(runner, "ESP sync", "--newsletter", SLUG, "--days", "30")
    assert runner.invoke(args=["tokens", "revoke", str(token_id)]).exit_code == 0
    [made] = entries(app, AuditAction.TOKEN_CREATED)
    [token] = stored_tokens(app)
    assert (made.actor, made.detail) == (
        "CLI",
        {
            "token": token_id,
            "name": "ESP sync",
            "newsletters": [SLUG],
            "expires_at": token.expires_at.isoformat(),
        },
    )
    [revoked] = entries(app, AuditAction.TOKEN_REVOKED)
    assert revoked.detail == {"token": token_id, "name": "ESP sync"}
    assert not any(secret[3:] in f"{e.detail}" for e in entries(app))


def test_an_import_is_recorded_once_with_its_counts_and_a_dry_run_not_at_all(app, runner, tmp_path):
    file = tmp_path / "list.csv"
    file.write_text("email\nnew@example.com\nnot-an-address\n", encoding="utf-8")
    base = ["import", "--newsletter", SLUG, "--email-column", "email", str(file)]
    assert runner.invoke(args=[*base, "--dry-run"]).exit_code == 0
    assert entries(app, AuditAction.IMPORT) == []
    assert runner.invoke(args=base).exit_code == 0
    [entry] = entries(app, AuditAction.IMPORT)
    assert (entry.actor, entry.newsletter) == ("CLI", SLUG)
    assert entry.detail | {"sha256": "…"} == {
        "format": "csv",
        "file": "list.csv",
        "sha256": "…",
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "kept_opted_out": 0,
        "skipped": 1,
    }
    assert len(entry.detail["sha256"]) == 64


def test_webhook_changes_are_recorded_without_the_secret(app, runner):
    """Added on the newsletter's page (who, from where), disabled, enabled and removed at
    the command line (CLI)."""
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = True
    client = browser_at(signed_in_client(app, runner, "owner@example.com"))
    page = f"/admin/newsletters/{SLUG}/webhooks"
    url = "http://127.0.0.1:9/hook"
    csrf = page_csrf_token(client.get(page).text)
    assert client.post(page, data={"csrf_token": csrf, "url": url}).status_code == 201
    [added] = entries(app, AuditAction.WEBHOOK_CREATED)
    endpoint = added.detail["endpoint"]
    assert (added.actor, added.ip, added.newsletter, added.detail["url"]) == (
        "owner@example.com",
        IP,
        SLUG,
        url,
    )
    for command in ("disable", "enable", "remove"):
        done = runner.invoke(args=["webhooks", command, str(endpoint)])
        assert done.exit_code == 0, done.output
    changes = entries(app, AuditAction.WEBHOOK_CHANGED)
    assert [(e.actor, e.detail["change"]) for e in changes] == [
        ("CLI", "disabled"),
        ("CLI", "enabled"),
    ]
    [removed] = entries(app, AuditAction.WEBHOOK_DELETED)
    assert (removed.actor, removed.detail) == ("CLI", {"endpoint": endpoint, "url": url})
    assert not any("whsec_" in f"{e.detail}" for e in entries(app))


# --- Append-only ---------------------------------------------------------------------------


def one_entry(app) -> int:
    with app.app_context(), database(app).transaction() as session:
        entry = audit.record(session, "CLI", AuditAction.EXPORT, rows=1)
        session.flush()
        return entry.id


@pytest.mark.parametrize(
    "change",
    [
        lambda session, entry_id: setattr(session.get(AuditEntry, entry_id), "actor", "x"),
        lambda session, entry_id: session.delete(session.get(AuditEntry, entry_id)),
        lambda session, entry_id: session.execute(update(AuditEntry).values(actor="x")),
        lambda session, entry_id: session.execute(delete(AuditEntry)),
        lambda session, entry_id: session.connection().execute(
            AuditEntry.__table__.update().values(actor="x")
        ),
        lambda session, entry_id: session.connection().execute(AuditEntry.__table__.delete()),
        lambda session, entry_id: session.execute(text("DELETE FROM audit_entry")),
        lambda session, entry_id: session.execute(text("  update AUDIT_ENTRY set ip = null")),
    ],
    ids=[
        "orm-update",
        "orm-delete",
        "bulk-update",
        "bulk-delete",
        "core-update",
        "core-delete",
        "sql-delete",
        "sql-update",
    ],
)
def test_the_app_cannot_change_or_delete_an_entry(app, change):
    entry_id = one_entry(app)
    with (
        pytest.raises(audit.AuditRefused),
        app.app_context(),
        database(app).transaction() as session,
    ):
        change(session, entry_id)
        session.flush()
    [entry] = entries(app)
    assert (entry.id, entry.actor, entry.detail) == (entry_id, "CLI", {"rows": 1})


def test_the_purge_deletes_only_entries_past_the_retention(settings, runner):
    from newsletter import create_app

    settings["AUDIT_RETENTION_DAYS"] = 30
    app = create_app(settings)
    with app.app_context(), database(app).transaction() as session:
        for age in (31, 29):
            session.add(
                AuditEntry(
                    actor="CLI",
                    action="export",
                    occurred_at=utcnow() - timedelta(days=age),
                    detail={"age": age},
                )
            )
    result = app.test_cli_runner().invoke(args=["audit", "purge"])
    assert result.exit_code == 0, result.output
    assert "Purged 1 audit entry older than 30 days." in result.output
    kept = entries(app)
    assert [(e.action, e.detail) for e in kept] == [
        ("export", {"age": 29}),
        ("audit_purged", {"older_than_days": 30, "count": 1}),
    ]
    # The guard is back once the purge is done.
    with (
        pytest.raises(audit.AuditRefused),
        app.app_context(),
        database(app).transaction() as session,
    ):
        session.execute(delete(AuditEntry))
    database(app).engine.dispose()


# --- Reading the trail ---------------------------------------------------------------------


def test_audit_list_filters_by_age_and_actor(app, runner):
    assert create_editor(runner).exit_code == 0
    assert sign_in(browser_at(app.test_client())).status_code == 303
    with app.app_context(), database(app).transaction() as session:
        session.add(
            AuditEntry(
                actor=EDITOR, action="export", occurred_at=utcnow() - timedelta(days=10), detail={}
            )
        )
    everything = runner.invoke(args=["audit", "list"]).output.splitlines()
    assert [line.split("\t")[1:3] for line in everything] == [
        [EDITOR, "export"],
        [EDITOR, "sign_in"],
        ["CLI", "editor_created"],
    ]
    assert f"\t{EDITOR}\tsign_in\t-\t{IP}\t" in everything[1] + "\t"
    recent = runner.invoke(args=["audit", "list", "--since", "7d", "--actor", EDITOR])
    assert [line.split("\t")[2] for line in recent.output.splitlines()] == ["sign_in"]
    since_day = (utcnow() - timedelta(days=20)).strftime("%Y-%m-%d")
    dated = runner.invoke(args=["audit", "list", "--since", since_day, "--actor", EDITOR])
    assert len(dated.output.splitlines()) == 2
    bad = runner.invoke(args=["audit", "list", "--since", "last week"])
    assert bad.exit_code == 2
    assert "use a number and d, h or m" in bad.output


def test_the_owners_page_filters_the_trail(app, runner):
    client = signed_in_client(app, runner, "owner@example.com")
    assert create_editor(runner).exit_code == 0
    assert sign_in(app.test_client(), password="wrong password here").status_code == 401
    page = client.get("/admin/audit")
    assert page.status_code == 200
    text = listed(page)
    assert "sign_in_failed" in text and "editor_created" in text
    failed = listed(client.get("/admin/audit?action=sign_in_failed"))
    assert "sign_in_failed" in failed and "editor_created" not in failed
    mine = listed(client.get("/admin/audit?actor=owner%40example.com"))
    assert "sign_in" in mine and "sign_in_failed" not in mine
    later = utcnow() + timedelta(days=2)
    assert "Nothing on the record matches" in listed(
        client.get(f"/admin/audit?since={later:%Y-%m-%d}")
    )


@pytest.mark.parametrize(
    "query", ["action=nothing", "since=yesterday", "since=2026-13-01", "before=-1", "before=x"]
)
def test_a_nonsense_filter_is_a_400(app, runner, query):
    client = signed_in_client(app, runner)
    assert client.get(f"/admin/audit?{query}").status_code == 400
