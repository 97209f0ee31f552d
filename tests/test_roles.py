"""Roles: every admin route and the export, for each role, on its own newsletter and on
another, answers what the role allows (on both backends); and the commands and pages that
give roles.

The routes come from the app's URL map: a route this table does not classify fails the
test, so a page added later cannot be forgotten.
"""

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from newsletter.access_models import Role
from newsletter.db import database
from newsletter.models import Editor
from tests.admin_steps import EDITOR
from tests.admin_steps import PASSWORD
from tests.admin_steps import create_editor
from tests.admin_steps import create_token
from tests.admin_steps import page_csrf_token
from tests.admin_steps import sign_in
from tests.admin_steps import signed_in_client
from tests.reader import SLUG
from tests.reader import shown_text
from tests.reader import subscriptions
from tests.test_export import records
from tests.test_export import signed_up

OWN = SLUG
OTHER = "other"
OWNER = "owner@example.com"
# The sign-in and its second step: each checks its own caller, whatever the role
# (test_two_factor.py).
OPEN = {
    ("admin.login", "GET"),
    ("admin.login", "POST"),
    ("admin.sign_in_code", "GET"),
    ("admin.sign_in_code", "POST"),
    ("admin.two_factor", "GET"),
    ("admin.begin_two_factor", "POST"),
    ("admin.confirm_two_factor", "POST"),
}

# (endpoint, method): what it needs, and its answer to someone it lets in (the POSTs are
# sent with a CSRF token only: a form then answers 422, an action its redirect).
ROUTES = {
    ("admin.dashboard", "GET"): ("signed in", 200),
    ("admin.logout", "POST"): ("signed in", 303),
    ("admin.new_newsletter", "GET"): ("owner", 200),
    ("admin.new_newsletter", "POST"): ("owner", 422),
    ("admin.edit_newsletter", "GET"): ("edit", 200),
    ("admin.edit_newsletter", "POST"): ("edit", 422),
    ("admin.subscribers", "GET"): ("edit", 200),
    ("admin.subscriber", "GET"): ("edit", 200),
    ("admin.resend", "POST"): ("edit", 303),
    ("admin.unsubscribe", "POST"): ("edit", 303),
    ("admin.confirm_erase", "GET"): ("edit", 200),
    ("admin.erase", "POST"): ("edit", 303),
    ("admin.export_csv", "GET"): ("edit", 200),
    ("admin.export_all_csv", "GET"): ("edit some", 200),
    ("admin.editors", "GET"): ("owner", 200),
    ("admin.create_editor", "POST"): ("owner", 422),
    ("admin.change_role", "POST"): ("owner", 422),
    ("admin.tokens", "GET"): ("owner", 200),
    ("admin.create_token", "POST"): ("owner", 422),
    ("admin.revoke_token", "POST"): ("owner", 303),
    ("admin.audit_trail", "GET"): ("owner", 200),
    ("admin.webhooks", "GET"): ("edit", 200),
    ("admin.add_webhook", "POST"): ("edit", 422),
    ("admin.webhook_action", "POST"): ("edit", 404),
    ("admin.import_form", "GET"): ("edit", 200),
    ("admin.start_import", "POST"): ("edit", 422),
    ("admin.import_job", "GET"): ("edit", 404),
    ("admin.import_progress", "GET"): ("edit", 404),
}
# Run last, in this order: an erasure takes the subscriber the other routes show, and
# signing out ends the session.
LAST = ["admin.erase", "admin.logout"]


def lets_in(role: str, need: str, newsletter: str | None) -> bool:
    """The table of the roles, written out: what ``role`` may do (editors and viewers are
    named for OWN only)."""
    if role == "owner":
        return True
    return {
        "signed in": True,
        "owner": False,
        "edit": role == "editor" and newsletter == OWN,
        "edit some": role == "editor",
    }[need]


def admin_routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) of every admin route but the sign-in; fails for a route the
    table does not classify, and for a table entry that is no route any more."""
    found = [
        (rule.endpoint, method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        if (rule.endpoint, method) not in OPEN
    ]
    unclassified = [(e, m) for e, m, _ in found if (e, m) not in ROUTES]
    assert unclassified == [], "classify these routes in ROUTES"
    assert sorted(ROUTES) == sorted((e, m) for e, m, _ in found)
    return sorted(found, key=lambda route: [e for e in LAST if e == route[0]] or [""])


def setup(app, runner, role: str):
    """Two newsletters with a reader each, a token, and a browser signed in with ``role``
    (an editor or viewer of OWN); the values the routes' URLs take."""
    created = runner.invoke(args=["newsletters", "create", "--slug", OTHER, "--name", "Other"])
    assert created.exit_code == 0, created.output
    signed_up(app, "own@example.com", "192.0.2.1", slug=OWN)
    signed_up(app, "other@example.com", "192.0.2.2", slug=OTHER)
    token_id, _ = create_token(runner)
    if role == "owner":
        client = signed_in_client(app, runner, OWNER)
    else:
        assert create_editor(runner, OWNER).exit_code == 0  # the first editor, an owner
        client = signed_in_client(app, runner, EDITOR, role=role, newsletters=(OWN,))
    ids = {row.newsletter.slug: row.public_id for row in subscriptions(app)}
    with app.app_context(), database(app).transaction() as session:
        editor_id = session.scalars(select(Editor.id).where(Editor.email == OWNER)).one()
    # No endpoint or import job has this id: a role let in is answered 404, one refused 403
    # first.
    webhook = {"endpoint_id": 999999, "action": "test", "job_id": 999999}
    return client, ids, {"token_id": token_id, "editor_id": editor_id} | webhook


@pytest.mark.parametrize("role", ["owner", "editor", "viewer"])
def test_every_admin_route_answers_what_the_role_allows(app, runner, role):
    client, ids, values = setup(app, runner, role)
    csrf = page_csrf_token(client.get("/admin/").text)
    wrong = []
    arguments_of = {
        (rule.endpoint, method): rule.arguments
        for rule in app.url_map.iter_rules()
        for method in rule.methods
    }
    for endpoint, method, rule in admin_routes(app):
        need, allowed = ROUTES[(endpoint, method)]
        targets = [OWN, OTHER] if "<slug>" in rule else [None]
        for newsletter in targets:
            given = values | (
                {"slug": newsletter, "public_id": ids[newsletter]} if newsletter else {}
            )
            arguments = {name: given[name] for name in arguments_of[(endpoint, method)]}
            path = app.url_map.bind("localhost").build(endpoint, arguments, method=method)
            data = {"csrf_token": csrf} if method == "POST" else None
            response = client.open(path, method=method, data=data)
            expected = allowed if lets_in(role, need, newsletter) else 403
            if response.status_code != expected:
                wrong.append((role, method, path, newsletter, response.status_code, expected))
    assert wrong == []
    # What was refused did not happen: the readers a role may not erase are still there.
    left = sorted(row.newsletter.slug for row in subscriptions(app))
    assert left == {"owner": [], "editor": [OTHER], "viewer": [OWN, OTHER]}[role]


def test_an_unclassified_admin_route_stops_the_app(app):
    """A route without @requires is refused to everybody, and the app does not start."""
    from newsletter.web.admin import access
    from newsletter.web.admin import bp

    def stray():
        return "nobody should see this"

    app.view_functions["admin.stray"] = stray
    app.url_map.add(app.url_rule_class("/admin/stray", endpoint="admin.stray"))
    with pytest.raises(RuntimeError, match="admin.stray"):
        access.check_every_route(app)
    assert bp.name == "admin"


# --- The dashboard and the all-newsletters export show what the role covers -----------------


def test_a_viewer_sees_counts_and_chart_of_their_newsletter_only(app, runner):
    client, _, _ = setup(app, runner, "viewer")
    page = client.get("/admin/")
    assert page.status_code == 200
    text = shown_text(page.text)
    assert "Explaining Ukraine" in text
    assert "Other" not in text.replace("Others", "")
    assert 'id="chart-explaining-ukraine-title"' in page.text
    assert f"/admin/newsletters/{OWN}" not in page.text  # no subscriber list, no export
    assert "subscribers.csv" not in page.text
    assert "New newsletter" not in text
    assert client.get(f"/admin/newsletters/{OWN}/subscribers.csv").status_code == 403


def test_an_editors_all_newsletters_export_holds_their_newsletters_only(app, runner):
    client, _, _ = setup(app, runner, "editor")
    page = client.get("/admin/")
    assert "every newsletter you edit" in shown_text(page.text)
    rows = records(client.get("/admin/subscribers.csv").data)
    assert [(row["newsletter"], row["email"]) for row in rows] == [(OWN, "own@example.com")]


def test_an_owners_all_newsletters_export_holds_every_newsletter(app, runner):
    client, _, _ = setup(app, runner, "owner")
    rows = records(client.get("/admin/subscribers.csv").data)
    assert sorted(row["newsletter"] for row in rows) == [OWN, OTHER]


def test_an_editor_sees_no_subscription_to_another_newsletter_and_cannot_erase_it(app, runner):
    """A reader in both newsletters: the editor of one sees only that one, and may not erase
    the reader (it would take them from the other newsletter too)."""
    client, _, _ = setup(app, runner, "editor")
    signed_up(app, "other@example.com", "192.0.2.2", slug=OWN)
    [shared] = [s for s in subscriptions(app) if s.newsletter.slug == OWN and "other" in s.email]
    base = f"/admin/newsletters/{OWN}/subscribers/{shared.public_id}"
    page = client.get(base)
    assert page.status_code == 200
    assert "1 subscription(s) to newsletters you don’t manage" in shown_text(page.text)
    assert "/admin/newsletters/other/" not in page.text
    confirm = client.get(f"{base}/erase")
    assert "ask an owner to erase them" in shown_text(confirm.text)
    assert "Erase permanently" not in confirm.text
    csrf = page_csrf_token(confirm.text)
    assert client.post(f"{base}/erase", data={"csrf_token": csrf}).status_code == 403
    assert len([s for s in subscriptions(app) if "other" in s.email]) == 2


# --- Giving roles on the command line ------------------------------------------------------


def stored(app, email: str) -> Editor:
    with app.app_context(), database(app).transaction() as session:
        return session.scalars(select(Editor).where(Editor.email == email)).one()


def test_the_first_editor_is_an_owner_and_a_later_one_a_viewer_of_nothing(app, runner):
    first = create_editor(runner, OWNER)
    assert "(owner)" in first.output
    later = create_editor(runner, EDITOR)
    assert later.exit_code == 0
    assert "(viewer of nothing)" in later.output
    assert stored(app, OWNER).role is Role.OWNER
    assert stored(app, EDITOR).role is Role.VIEWER
    client = app.test_client()
    assert sign_in(client).status_code == 303
    assert "No newsletter is yours yet" in shown_text(client.get("/admin/").text)


def test_admins_create_with_a_role_and_newsletters(app, runner):
    assert create_editor(runner, OWNER).exit_code == 0
    created = create_editor(runner, role="editor", newsletters=(SLUG,))
    assert created.exit_code == 0, created.output
    assert f"(editor of {SLUG})" in created.output
    listed = runner.invoke(args=["admins", "list"]).output
    assert f"\teditor of {SLUG}" in listed


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--role", "editor"], "an editor needs at least one newsletter"),
        (["--role", "viewer", "--newsletter", "nope"], "no newsletter with the slug 'nope'"),
        (["--role", "boss", "--newsletter", SLUG], "Invalid value for '--role'"),
    ],
)
def test_a_role_that_cannot_be_given_creates_nobody(app, runner, options, message):
    assert create_editor(runner, OWNER).exit_code == 0
    result = runner.invoke(
        args=["admins", "create", EDITOR, *options, "--password-stdin"], input=f"{PASSWORD}\n"
    )
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    with app.app_context(), database(app).transaction() as session:
        assert session.scalars(select(Editor.email)).all() == [OWNER]


def test_set_role_applies_at_the_editors_next_request(app, runner):
    assert create_editor(runner, OWNER).exit_code == 0
    client = signed_in_client(app, runner, role="editor", newsletters=(SLUG,))
    export = f"/admin/newsletters/{SLUG}/subscribers.csv"
    assert client.get(export).status_code == 200
    result = runner.invoke(
        args=["admins", "set-role", EDITOR, "--role", "viewer", "--newsletter", SLUG]
    )
    assert result.exit_code == 0, result.output
    assert f"{EDITOR} is now viewer of {SLUG}" in result.output
    assert client.get(export).status_code == 403
    assert runner.invoke(args=["admins", "set-role", EDITOR, "--role", "owner"]).exit_code == 0
    assert client.get("/admin/editors").status_code == 200


def test_the_last_owner_cannot_be_demoted(app, runner):
    assert create_editor(runner, OWNER).exit_code == 0
    result = runner.invoke(
        args=["admins", "set-role", OWNER, "--role", "editor", "--newsletter", SLUG]
    )
    assert result.exit_code == 1
    assert "is the last owner" in result.output
    assert stored(app, OWNER).role is Role.OWNER
    assert create_editor(runner, EDITOR, role="owner").exit_code == 0
    demoted = runner.invoke(
        args=["admins", "set-role", OWNER, "--role", "editor", "--newsletter", SLUG]
    )
    assert demoted.exit_code == 0, demoted.output


# --- Commands acting for an editor (--as) --------------------------------------------------


def test_export_as_an_editor_exports_what_their_role_allows(app, runner, tmp_path):
    setup(app, runner, "editor")
    output = tmp_path / "own.csv"
    own = runner.invoke(args=["export", "--newsletter", OWN, "--as", EDITOR, "-o", str(output)])
    assert own.exit_code == 0, own.output
    assert [row["email"] for row in records(output.read_bytes())] == ["own@example.com"]
    other = runner.invoke(args=["export", "--newsletter", OTHER, "--as", EDITOR])
    assert other.exit_code == 1
    assert "the editor's role does not allow this on other" in other.output
    every = runner.invoke(args=["export", "--all", "--as", EDITOR, "-o", str(output)])
    assert every.exit_code == 0, every.output
    assert [row["newsletter"] for row in records(output.read_bytes())] == [OWN]


def test_export_as_nobody_a_disabled_editor_or_a_viewer_is_refused(app, runner):
    setup(app, runner, "viewer")
    assert runner.invoke(args=["admins", "disable", OWNER]).exit_code == 0
    for who in ("nobody@example.com", OWNER):
        result = runner.invoke(args=["export", "--all", "--as", who])
        assert result.exit_code == 1
        assert "no enabled editor" in result.output
    viewer = runner.invoke(args=["export", "--newsletter", OWN, "--as", EDITOR])
    assert viewer.exit_code == 1
    assert "does not allow" in viewer.output


def test_import_as_an_editor_of_another_newsletter_is_refused(app, runner, tmp_path):
    setup(app, runner, "editor")
    file = tmp_path / "list.csv"
    file.write_text("email\nnew@example.com\n", encoding="utf-8")
    refused = runner.invoke(
        args=["import", "--newsletter", OTHER, "--as", EDITOR, "--email-column", "email", str(file)]
    )
    assert refused.exit_code == 1
    assert "does not allow" in refused.output
    done = runner.invoke(
        args=["import", "--newsletter", OWN, "--as", EDITOR, "--email-column", "email", str(file)]
    )
    assert done.exit_code == 0, done.output
    [imported] = [s for s in subscriptions(app) if s.email == "new@example.com"]
    assert imported.newsletter.slug == OWN


# --- The owner's page of editors -----------------------------------------------------------


def test_an_owner_adds_an_editor_and_changes_their_role_on_the_page(app, runner):
    client = signed_in_client(app, runner, OWNER)
    page = client.get("/admin/editors")
    assert page.status_code == 200
    csrf = page_csrf_token(page.text)
    added = client.post(
        "/admin/editors",
        data={
            "csrf_token": csrf,
            "new-email": EDITOR,
            "new-password": PASSWORD,
            "new-role": "editor",
            "new-newsletters": [SLUG],
        },
    )
    assert added.status_code == 303, added.text
    editor = stored(app, EDITOR)
    assert editor.role is Role.EDITOR
    other_browser = app.test_client()
    assert sign_in(other_browser).status_code == 303
    assert other_browser.get(f"/admin/newsletters/{SLUG}").status_code == 200

    changed = client.post(
        f"/admin/editors/{editor.id}/role",
        data={
            "csrf_token": csrf,
            f"editor-{editor.id}-role": "viewer",
            f"editor-{editor.id}-newsletters": [SLUG],
        },
    )
    assert changed.status_code == 303
    assert stored(app, EDITOR).role is Role.VIEWER
    assert other_browser.get(f"/admin/newsletters/{SLUG}").status_code == 403


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"role": "editor"}, "An editor needs at least one newsletter"),
        ({"role": "viewer", "newsletters": ["nope"]}, "not a valid choice"),
        ({"role": "boss"}, "Not a valid choice"),
    ],
)
def test_a_role_change_the_page_refuses_changes_nothing(app, runner, fields, message):
    client = signed_in_client(app, runner, OWNER)
    assert create_editor(runner, role="viewer", newsletters=(SLUG,)).exit_code == 0
    editor = stored(app, EDITOR)
    data = {f"editor-{editor.id}-{name}": value for name, value in fields.items()}
    csrf = page_csrf_token(client.get("/admin/editors").text)
    response = client.post(f"/admin/editors/{editor.id}/role", data=data | {"csrf_token": csrf})
    assert response.status_code == 422
    assert message in shown_text(response.text)
    assert stored(app, EDITOR).role is Role.VIEWER


def test_the_owner_cannot_demote_themselves_on_the_page(app, runner):
    client = signed_in_client(app, runner, OWNER)
    owner = stored(app, OWNER)
    csrf = page_csrf_token(client.get("/admin/editors").text)
    response = client.post(
        f"/admin/editors/{owner.id}/role",
        data={
            "csrf_token": csrf,
            f"editor-{owner.id}-role": "viewer",
            f"editor-{owner.id}-newsletters": [SLUG],
        },
    )
    assert response.status_code == 422
    assert "is the last owner" in shown_text(response.text)
    assert client.get("/admin/editors").status_code == 200
    assert urlsplit(client.get("/admin/").request.url).path == "/admin/"
