"""Every newsletter, kept per process for the reader-facing pages, which read them on
every request (a form's page and its POST each name one or several).

Newsletters change rarely (an editor's edit) and there are few, so one query loads them
all (and one more their names and descriptions per language, ``Newsletter.texts``) and
the reader-facing surfaces (pages, iframe, API) look them up in memory. The snapshot's
rows are read on their own short read session, never the request's: a POST's write
transaction (on SQLite, the write lock) begins at its first write, not at a lookup.

The rule for a change to be seen:

- in the process that made it: by its next request. A commit that changed a newsletter
  (any session of the app's database) drops the snapshot.
- in every other process (another gunicorn worker, the CLI, a second server): within
  ``NEWSLETTER_NEWSLETTER_SNAPSHOT_SECONDS`` (1 s), after which a snapshot is reloaded.
  ``0`` reloads it on every lookup.

Newsletters are never deleted, so a snapshot a second old never names a row that is gone;
at worst a form changed meanwhile (made private, an origin removed) is served by its old
settings for that second. The snapshot's objects are detached and shared between threads:
read them, never change them or add them to a session (the admin and the services that
write look newsletters up in their own session).
"""

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import TypeGuard

from flask import Flask
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm import object_session

from newsletter.db import database
from newsletter.models import Newsletter
from newsletter.models import NewsletterText
from newsletter.newsletters import all_newsletters
from newsletter.newsletters import is_slug

CHANGED = "newsletters_changed"


@dataclass(frozen=True)
class Snapshot:
    """The newsletters at one moment, in the listing order."""

    listed: list[Newsletter]
    generation: int
    loaded_at: float
    by_slug: dict[str, Newsletter] = field(init=False)
    public: list[Newsletter] = field(init=False)
    # Pages rendered from these newsletters (newsletter.web.form_pages): they go with it.
    pages: dict = field(init=False, default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_slug", {item.slug: item for item in self.listed})
        object.__setattr__(self, "public", [item for item in self.listed if item.public])


class Snapshots:
    """One app's snapshot, reloaded when stale or when this process changed a newsletter."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.max_age = float(app.config["NEWSLETTER_SNAPSHOT_SECONDS"])
        self.generation = 0
        self.current: Snapshot | None = None
        self.lock = threading.Lock()

    def get(self) -> Snapshot:
        """The newsletters as they are (see the module's rule)."""
        snapshot = self.current
        return snapshot if self._fresh(snapshot) else self._load()

    def changed(self) -> None:
        """A newsletter changed in this process: the next lookup reloads."""
        self.generation += 1

    def _load(self) -> Snapshot:
        # One loader at a time; the others take its fresh snapshot.
        with self.lock:
            snapshot = self.current
            if self._fresh(snapshot):
                return snapshot
            # Read before the query: a change committed meanwhile makes the next reload.
            generation = self.generation
            loaded_at = time.monotonic()
            with database(self.app).reading_sessions() as session:
                listed = all_newsletters(session)
            self.current = Snapshot(listed, generation, loaded_at)
            return self.current

    def _fresh(self, snapshot: Snapshot | None) -> TypeGuard[Snapshot]:
        """Loaded since this process last changed a newsletter, and young enough."""
        return (
            snapshot is not None
            and snapshot.generation == self.generation
            and time.monotonic() - snapshot.loaded_at < self.max_age
        )


def init_app(app: Flask) -> None:
    """Give the app its snapshot, dropped by any commit that changed a newsletter."""
    snapshots = app.extensions["newsletter_snapshots"] = Snapshots(app)
    db = database(app)
    for factory in (db.reading_sessions, db.writing_sessions):
        event.listen(factory, "after_commit", lambda session: _drop_if_changed(session, snapshots))
        event.listen(factory, "after_rollback", lambda session: session.info.pop(CHANGED, None))


@event.listens_for(Newsletter, "after_insert")
@event.listens_for(Newsletter, "after_update")
@event.listens_for(Newsletter, "after_delete")
@event.listens_for(NewsletterText, "after_insert")
@event.listens_for(NewsletterText, "after_update")
@event.listens_for(NewsletterText, "after_delete")
def _note_change(_mapper, _connection, changed: Newsletter | NewsletterText) -> None:
    """Remember, until the commit, that this transaction wrote a newsletter or one of its
    texts in a language (a mapper event: a flush that writes neither, such as a signup's,
    costs nothing here)."""
    session = object_session(changed)
    if session is not None:
        session.info[CHANGED] = True


def _drop_if_changed(session: Session, snapshots: Snapshots) -> None:
    if session.info.pop(CHANGED, False):
        snapshots.changed()


def _snapshot() -> Snapshot:
    return current_app.extensions["newsletter_snapshots"].get()


def current() -> Snapshot:
    """The app's snapshot as it is now (see the module's rule)."""
    return _snapshot()


def by_slug(slug: str) -> Newsletter | None:
    """The newsletter with this slug, or None."""
    return _snapshot().by_slug.get(slug) if is_slug(slug) else None


def public() -> list[Newsletter]:
    """The newsletters readers are offered, in the editors' order."""
    return _snapshot().public


def public_named(slugs: Iterable[str]) -> list[Newsletter]:
    """The public newsletters among those these slugs name, in the listing order."""
    wanted = set(slugs)
    return [newsletter for newsletter in _snapshot().public if newsletter.slug in wanted]
