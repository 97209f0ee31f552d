"""The subscriber export: CSV (RFC 4180, UTF-8 with BOM), streamed in constant memory.

One newsletter's subscriptions, or every newsletter's (``newsletter=None``): the same
columns either way, one row per subscription, its newsletter's slug in ``newsletter``.

Rows are read through a server-side cursor (``yield_per``) in batches and written out
batch by batch, so a million subscribers cost no more memory than a thousand. Times are
formatted by the database, in UTC, as ISO 8601. Any cell a spreadsheet would run as a
formula is neutralised with a leading apostrophe (OWASP "CSV injection"): an address
such as ``=1+1@example.com`` is valid, and must not become a formula in Excel.
The stdlib's ``csv`` writes the rows; the streaming around it is ours because no library
streams from a server-side cursor with the neutralisation done in SQL.
"""

import csv
import io
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterator

from sqlalchemy import ColumnElement
from sqlalchemy import Engine
from sqlalchemy import String
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import type_coerce

from newsletter.db.sql import IsoUtc
from newsletter.models import Newsletter
from newsletter.models import Reader
from newsletter.models import Subscription
from newsletter.models import SubscriptionStatus

HEADER = (
    "email",
    "status",
    "newsletter",
    "created_at",
    "confirmed_at",
    "unsubscribed_at",
    "source",
    "source_url",
    "consent_ip",
    "reader_id",  # the reader's public id: one person's rows across newsletters
    "complained_at",  # when the reader marked our mail as spam (status: unsubscribed)
)
# The columns every version of the export has had: what an import recognises it by.
RECOGNISED_BY = frozenset(HEADER) - {"complained_at"}
BATCH_SIZE = 2000
BOM = "\ufeff"  # so that Excel reads UTF-8 (Cyrillic names and domains) correctly
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def stream_csv(
    engine: Engine,
    newsletter: Newsletter | None,
    status: SubscriptionStatus | None = None,
    on_rows: Callable[[int], None] | None = None,
    only: Collection[int] | None = None,
) -> Iterator[str]:
    """Yield the CSV in pieces: the header, then one piece per batch of rows.

    ``newsletter=None`` exports every newsletter's subscriptions, or those of the
    newsletters whose ids are ``only`` (what an editor's role covers). Opens its own
    connection, so it may outlive the request that started it. ``on_rows`` is told how
    many rows each piece held (for progress bars).
    """
    yield BOM + _csv_text([HEADER])
    statement = _query(newsletter, status)
    if only is not None:
        statement = statement.where(Subscription.newsletter_id.in_(only))
    # The result closes its (server-side) cursor even when the download is abandoned.
    with (
        engine.connect() as connection,
        connection.execution_options(yield_per=BATCH_SIZE).execute(statement) as result,
    ):
        for rows in result.partitions():
            yield _csv_text(rows)
            if on_rows is not None:
                on_rows(len(rows))


def _csv_text(rows) -> str:
    """Rows as RFC 4180 text with CRLF line ends."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _query(newsletter: Newsletter | None, status: SubscriptionStatus | None):
    """The export's columns, as text the database formats, oldest subscription first."""
    statement = (
        select(
            neutralised(Reader.email),
            type_coerce(Subscription.status, String),
            Newsletter.slug if newsletter is None else literal(newsletter.slug),
            IsoUtc(Subscription.created_at),
            IsoUtc(Subscription.confirmed_at),
            IsoUtc(Subscription.unsubscribed_at),
            neutralised(Subscription.source),
            neutralised(Subscription.source_url),
            neutralised(Subscription.signup_ip),
            neutralised(Reader.public_id),  # URL-safe base64 may start with '-'
            IsoUtc(Subscription.complained_at),
        )
        .join(Subscription.reader)
        .order_by(Subscription.id)
    )
    if newsletter is None:
        statement = statement.join(Subscription.newsletter)
    else:
        statement = statement.where(Subscription.newsletter_id == newsletter.id)
    if status is not None:
        statement = statement.where(Subscription.status == status)
    return statement


def neutralised(column) -> ColumnElement[str]:
    """A cell a spreadsheet shows as text: a leading formula character gets an apostrophe.

    For the columns outside text can reach: the address, the page and the IP (from a
    proxy's header); and the reader's id, which may start with ``-``. Statuses, slugs
    and times never start with a formula character.
    Leading spaces do not count: LibreOffice's "Trim spaces" import option removes them
    and then runs `` =1+1``. (It runs no fullwidth ``＝`` and no other leading blank.)
    Done in SQL, a million rows cost the database little, where a Python call per cell
    was half the export's time.
    A NULL stays NULL, which the CSV writer writes as an empty cell.
    """
    # ltrim() without characters removes spaces only, in SQLite and in PostgreSQL alike.
    risky = func.substr(func.ltrim(column), 1, 1).in_(FORMULA_STARTS)
    return case((risky, literal("'") + column), else_=column)
