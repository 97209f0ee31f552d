"""Who may do what: an owner everything, an editor or a viewer on their newsletters.

================  =================================================================
role              may
================  =================================================================
owner             everything: every newsletter, creating newsletters, editors and
                  their roles, API tokens, the audit trail
editor            on their newsletters: subscribers (see, resend, unsubscribe, erase),
                  the export, the newsletter's settings; counts and chart
viewer            on their newsletters: counts and the chart only
API token         the export of its newsletters (or of every one), until it expires
================  =================================================================

:class:`Access` is what a signed-in editor, a token or ``--as EMAIL`` on the command line
holds for one request or command; :meth:`Access.may` is the one check every admin route,
the export and the commands acting for an editor go through. A reader subscribed to
newsletters beyond an editor's can be erased only by someone who may edit all of them
(an erasure takes the reader from every newsletter).
"""

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import audit
from newsletter import newsletters
from newsletter.access_models import AuditAction
from newsletter.access_models import EditorNewsletter
from newsletter.access_models import Role
from newsletter.models import Editor
from newsletter.models import Newsletter


class Need(enum.StrEnum):
    """What a route or command asks of whoever calls it."""

    SIGNED_IN = "signed in"  # any role (the dashboard shows what theirs covers)
    VIEW = "view"  # a viewer (or more) of the newsletter: counts and chart
    EDIT = "edit"  # an editor (or owner) of the newsletter: subscribers, export, settings
    EDIT_SOME = "edit some"  # an editor of any newsletter: the export of all, theirs only
    OWNER = "owner"  # an owner


class InvalidRole(ValueError):
    """A role change that cannot be made; the message says why."""


@dataclass(frozen=True)
class Access:
    """A role and the newsletters it covers (``None``: every newsletter, an owner's)."""

    role: Role
    newsletter_ids: frozenset[int] | None

    def may(self, need: Need, newsletter: Newsletter | None = None) -> bool:
        """Whether this access meets ``need``, on ``newsletter`` for VIEW and EDIT."""
        if self.role is Role.OWNER:
            return True
        if need is Need.SIGNED_IN:
            return True
        if need is Need.EDIT_SOME:
            return self.role is Role.EDITOR and self.newsletter_ids != frozenset()
        if need is Need.OWNER or newsletter is None:
            return False
        covered = self.newsletter_ids is None or newsletter.id in self.newsletter_ids
        if need is Need.EDIT:
            return covered and self.role is Role.EDITOR
        return covered

    def covers_every_newsletter(self) -> bool:
        """An owner, or a scope of every newsletter (a token made without one)."""
        return self.newsletter_ids is None

    def newsletters(self, session: Session, need: Need) -> list[Newsletter]:
        """The newsletters, in order, on which this access meets ``need``."""
        return [n for n in newsletters.all_newsletters(session) if self.may(need, n)]


OWNER_ACCESS = Access(Role.OWNER, None)  # the operator at the command line


def access_of(session: Session, editor: Editor) -> Access:
    """The editor's access now (read at each request: a role change applies at once)."""
    if editor.role is Role.OWNER:
        return OWNER_ACCESS
    return Access(editor.role, frozenset(newsletter_ids(session, editor)))


def newsletter_ids(session: Session, editor: Editor) -> list[int]:
    """The ids of the newsletters named for an editor or a viewer."""
    return list(
        session.scalars(
            select(EditorNewsletter.newsletter_id).where(EditorNewsletter.editor_id == editor.id)
        )
    )


def newsletter_slugs(session: Session, editor: Editor) -> list[str]:
    """The slugs of the newsletters named for an editor or a viewer, in order."""
    return list(
        session.scalars(
            select(Newsletter.slug)
            .join(EditorNewsletter, EditorNewsletter.newsletter_id == Newsletter.id)
            .where(EditorNewsletter.editor_id == editor.id)
            .order_by(*newsletters.LISTING_ORDER)
        )
    )


def default_role(session: Session) -> Role:
    """The role of a new editor nobody chose one for: the first is an owner (someone must
    be able to manage the rest), any later one a viewer of nothing until an owner says."""
    return Role.VIEWER if session.scalar(select(func.count()).select_from(Editor)) else Role.OWNER


def set_role(
    session: Session,
    editor: Editor,
    role: Role,
    slugs: Iterable[str],
    *,
    actor: str,
    ip: str | None = None,
) -> None:
    """Give an editor ``role`` on the newsletters ``slugs`` names (ignored for an owner),
    on the audit trail as done by ``actor``.

    :class:`InvalidRole` for an unknown slug, an editor or viewer of no newsletter, or the
    last enabled owner losing the role (then nobody could manage the editors).
    """
    apply_role(session, editor, role, slugs)
    audit.record(
        session,
        actor,
        AuditAction.ROLE_CHANGED,
        ip=ip,
        editor=editor.email,
        role=str(role),
        newsletters=newsletter_slugs(session, editor),
    )


def apply_role(session: Session, editor: Editor, role: Role, slugs: Iterable[str]) -> None:
    """:func:`set_role` without its audit entry (a new editor's creation records it)."""
    chosen = newsletters_named(session, slugs) if role is not Role.OWNER else []
    if role is not Role.OWNER and not chosen:
        raise InvalidRole(f"an {role} needs at least one newsletter (--newsletter SLUG)")
    if editor.role is Role.OWNER and role is not Role.OWNER and _owners(session) <= 1:
        raise InvalidRole(f"{editor.email} is the last owner; make another owner first")
    editor.role = role
    session.execute(delete(EditorNewsletter).where(EditorNewsletter.editor_id == editor.id))
    session.add_all(EditorNewsletter(editor_id=editor.id, newsletter_id=n.id) for n in chosen)
    session.flush()


def newsletters_named(session: Session, slugs: Iterable[str]) -> list[Newsletter]:
    """The newsletters with these slugs; :class:`InvalidRole` names one that is none."""
    found = []
    for slug in dict.fromkeys(slug.strip() for slug in slugs if slug.strip()):
        newsletter = newsletters.get_by_slug(session, slug)
        if newsletter is None:
            raise InvalidRole(f"no newsletter with the slug {slug!r}")
        found.append(newsletter)
    return found


def _owners(session: Session) -> int:
    """How many enabled owners there are."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Editor)
            .where(Editor.role == Role.OWNER, Editor.disabled_at.is_(None))
        )
        or 0
    )
