"""The subscriber export: CSV (RFC 4180, UTF-8 with BOM), streamed in constant memory.

One newsletter's subscriptions, or every newsletter's (``newsletter=None``): the same
columns either way, one row per subscription, its newsletter's slug in ``newsletter``.

Rows stream in batches, so a million subscribers cost no more memory than a thousand:
on PostgreSQL the server writes the CSV itself (``COPY … TO STDOUT``) and only its line
ends are changed here; on SQLite the rows come straight off the DBAPI cursor (no
SQLAlchemy row objects) into the stdlib's ``csv`` writer. Either way the bytes are the
same. Times are
formatted by the database, in UTC, as ISO 8601. Any cell a spreadsheet would run as a
formula is neutralised with a leading apostrophe (OWASP "CSV injection"): an address
such as ``=1+1@example.com`` is valid, and must not become a formula in Excel.
The streaming is ours because no library streams from the database with the
neutralisation done in SQL.
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

from newsletter.db import sql
from newsletter.db.sql import FirstCodePoint
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
# A cell whose first character is one of these, or a space (then ltrim decides).
RISKY_FIRST_CODE_POINTS = tuple(sorted(ord(start) for start in (*FORMULA_STARTS, " ")))


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
    with engine.connect() as connection:
        copied = sql.copied_as_csv(connection, _query(newsletter, status, only, empty_as_null=True))
        batches = None
        pieces: Iterator[tuple[str, int]]
        if copied is None:
            batches = sql.raw_batches(connection, _query(newsletter, status, only), BATCH_SIZE)
            pieces = ((_csv_text(rows), len(rows)) for rows in batches)
        else:
            pieces = _with_crlf(copied)
        try:
            for text, rows in pieces:
                yield text
                if on_rows is not None:
                    on_rows(rows)
        finally:
            # A download abandoned half-way ends its cursor, or cancels its COPY, before
            # the connection goes back to the pool.
            for source in (copied, batches):
                if source is not None:
                    source.close()


def _csv_text(rows) -> str:
    """Rows as RFC 4180 text with CRLF line ends."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _with_crlf(copied: Iterator[bytes]) -> Iterator[tuple[str, int]]:
    """The server's CSV (a piece per row) in batches of rows, as the stdlib's writer
    would have written them (:func:`_csv_text`), and how many rows each batch holds.

    The server quotes exactly where the writer does (a cell with a comma, a quote, CR or
    LF; the export sends empty cells as NULL, which both leave unquoted) but ends its lines
    with LF: each LF outside a quoted cell becomes CRLF. A quoted cell's own line break
    stays as it is, as the writer leaves it. ``"`` toggles being inside a quoted cell (a
    doubled one, an escaped quote, toggles twice).
    """
    quoted = False
    batch: list[bytes] = []
    for piece in copied:
        batch.append(piece)
        if len(batch) < BATCH_SIZE:
            continue
        text, rows, quoted = _crlf(b"".join(batch), quoted)
        batch.clear()
        yield text, rows
    if batch:
        text, rows, quoted = _crlf(b"".join(batch), quoted)
        yield text, rows


def _crlf(lines: bytes, quoted: bool) -> tuple[str, int, bool]:
    """``lines`` with CRLF line ends, their count, and whether they end inside quotes."""
    parts = lines.split(b'"')
    rows = 0
    # The parts outside quotes: every other one, from the first or the second.
    for index in range(1 if quoted else 0, len(parts), 2):
        rows += parts[index].count(b"\n")
        parts[index] = parts[index].replace(b"\n", b"\r\n")
    ends_quoted = quoted != (len(parts) % 2 == 0)
    return b'"'.join(parts).decode("utf-8"), rows, ends_quoted


def _query(
    newsletter: Newsletter | None,
    status: SubscriptionStatus | None,
    only: Collection[int] | None,
    empty_as_null: bool = False,
):
    """The export's columns, as text the database formats, oldest subscription first, of
    the newsletters ``only`` names if given (``empty_as_null``: an empty text as NULL, for
    a CSV that tells them apart)."""
    columns = [
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
    ]
    if empty_as_null:
        columns = [func.nullif(column, "") for column in columns]
    statement = select(*columns).join(Subscription.reader).order_by(Subscription.id)
    if only is not None:
        statement = statement.where(Subscription.newsletter_id.in_(only))
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
    # Its copy is made only for a cell that starts with a space or a formula character:
    # the test of the first code point spares it on almost every cell.
    risky = FirstCodePoint(column).in_(RISKY_FIRST_CODE_POINTS) & func.substr(
        func.ltrim(column), 1, 1
    ).in_(FORMULA_STARTS)
    return case((risky, literal("'") + column), else_=column)
