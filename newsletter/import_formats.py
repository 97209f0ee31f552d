"""The files an import reads: their encoding, and each provider's export by its header row.

A file is UTF-8 (with or without the byte order mark Excel writes) or UTF-16 with its
byte order mark. Anything else, such as the Windows-1251 an office's Excel may save in
Ukraine, is refused before a row is read (:func:`check_encoding`), never guessed:
guessing Windows-1251 from bytes is unreliable, and a wrong guess imports mojibake.

Each format turns one CSV record into a :class:`SourceRow` (the address as written, the
status it means here, and the consent evidence the source kept):

==========  ===========================================  ==================================
format      recognised by (header row)                   status
==========  ===========================================  ==================================
ours        our export's header (``csv_export.RECOGNISED_BY``)  its ``status`` column, as is
mailchimp   "Email Address", OPTIN_TIME, CONFIRM_TIME    the file: subscribed → confirmed,
                                                         UNSUB_TIME → unsubscribed,
                                                         CLEAN_TIME (cleaned) → bounced
ghost       email, subscribed_to_emails                  true → confirmed, else unsubscribed
substack    email, active_subscription, email_disabled   email_disabled true → unsubscribed,
                                                         else confirmed
listmonk    uuid, email, attributes, status              enabled → confirmed, disabled and
                                                         blocklisted → unsubscribed
any other   ``--email-column`` (``--status-column``,     mapped by ``--status-map``; no
            ``--status-map``)                            status column: confirmed
==========  ===========================================  ==================================

Where our export has a ``language`` column, each row's subscription takes its language
(``--language`` overrides it for every row); otherwise the newsletter's language.

Mailchimp writes its times in UTC without a zone; listmonk in Go's ``time.String()``
(``2024-01-02 15:04:05.123 +0000 UTC``); Ghost, Substack and we in ISO 8601.
"""

import codecs
import ipaddress
import socket
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import BinaryIO

from newsletter import csv_export
from newsletter import languages
from newsletter.models import SubscriptionStatus

CHUNK_SIZE = 1 << 16
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
TRUE = "true"
LANGUAGE_COLUMN = "language"
# The statuses another tool's status column may hold, as ``--status-map`` starts out.
DEFAULT_STATUS_MAP = {
    **{status.value: status for status in SubscriptionStatus},
    "subscribed": SubscriptionStatus.CONFIRMED,
    "cleaned": SubscriptionStatus.BOUNCED,
}
Record = Mapping[str, str]


class UnreadableFile(ValueError):
    """The file can't be imported as a whole (its encoding, its header); the message says why."""


class InvalidRow(ValueError):
    """One row can't be imported; the message says why, the import goes on without it."""


@dataclass(frozen=True)
class SourceRow:
    """One row as the source had it: the address as written, its status here, evidence."""

    email: str
    status: SubscriptionStatus
    signup_at: datetime | None = None
    signup_ip: str | None = None
    confirmed_at: datetime | None = None
    confirmed_ip: str | None = None
    unsubscribed_at: datetime | None = None
    source: str | None = None
    source_url: str | None = None
    newsletter: str | None = None  # our export names the newsletter of each row
    language: str | None = None  # the language of its mail, where the file says


@dataclass(frozen=True)
class Format:
    """A kind of file: its name (in the report and the history) and how to read a row."""

    name: str
    read: Callable[[Record], SourceRow]


def encoding_of(head: bytes) -> str:
    """The codec to decode a file starting with ``head``: UTF-16 by its BOM, else UTF-8."""
    if head.startswith(UTF16_BOMS):
        return "utf-16"
    return "utf-8-sig"


def check_encoding(file: BinaryIO, on_chunk: Callable[[bytes], None]) -> str:
    """Read the whole file once, in chunks (each also given to ``on_chunk``), and return
    its codec; :class:`UnreadableFile` if it does not decode as that codec."""
    head = file.read(CHUNK_SIZE)
    codec = encoding_of(head)
    decoder = codecs.getincrementaldecoder(codec)()
    offset = 0
    chunk = head
    while chunk:
        on_chunk(chunk)
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            raise UnreadableFile(_not_text(codec, offset + error.start)) from None
        offset += len(chunk)
        chunk = file.read(CHUNK_SIZE)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UnreadableFile(_not_text(codec, offset)) from None
    return codec


def _not_text(codec: str, offset: int) -> str:
    """The refusal of a file that is not in the encoding it claims (or UTF-8)."""
    name = "UTF-16" if codec == "utf-16" else "UTF-8"
    return (
        f"the file is not {name} text (byte {offset} can't be read as {name}); it may be "
        'Windows-1251 or another legacy encoding: save it as "CSV UTF-8" and import again'
    )


def recognise(
    header: Iterable[str],
    email_column: str | None,
    status_column: str | None,
    status_map: Mapping[str, SubscriptionStatus],
) -> Format:
    """The format of a file with this header row; :class:`UnreadableFile` if unknown."""
    columns = set(header)
    if email_column:
        return _any_other(columns, email_column, status_column, status_map)
    for name, required, read in KNOWN:
        if required <= columns:
            return Format(name, read)
    raise UnreadableFile(
        "the header row is not one of a known export (ours, Mailchimp, Ghost, Substack, "
        "listmonk): name the address's column with --email-column"
    )


def _any_other(
    columns: set[str],
    email_column: str,
    status_column: str | None,
    status_map: Mapping[str, SubscriptionStatus],
) -> Format:
    """Any CSV, by the columns the editor names."""
    for option, column in (("--email-column", email_column), ("--status-column", status_column)):
        if column and column not in columns:
            raise UnreadableFile(f"{option}: the header row has no column {column!r}")

    def read(record: Record) -> SourceRow:
        if not status_column:
            return SourceRow(record[email_column], SubscriptionStatus.CONFIRMED)
        text = record[status_column].strip().lower()
        if text not in status_map:
            raise InvalidRow(f"unknown status {record[status_column]!r}")
        return SourceRow(record[email_column], status_map[text])

    return Format("csv", read)


def parse_status_map(text: str | None) -> dict[str, SubscriptionStatus]:
    """``subscribed=confirmed,gone=bounced`` over the defaults; ValueError if malformed."""
    mapping = dict(DEFAULT_STATUS_MAP)
    for pair in filter(None, (text or "").split(",")):
        theirs, _, ours = pair.partition("=")
        mapping[theirs.strip().lower()] = SubscriptionStatus(ours.strip())
    return mapping


def _ours(record: Record) -> SourceRow:
    """A row of our own export: everything it holds comes back."""
    try:
        status = SubscriptionStatus(record["status"])
    except ValueError:
        raise InvalidRow(f"unknown status {record['status']!r}") from None
    return SourceRow(
        _cell(record["email"]),
        status,
        signup_at=_time(record, "created_at"),
        signup_ip=_ip(_cell(record["consent_ip"])),
        confirmed_at=_time(record, "confirmed_at"),
        unsubscribed_at=_time(record, "unsubscribed_at"),
        source=_cell(record["source"]) or None,
        source_url=_cell(record["source_url"]) or None,
        newsletter=record["newsletter"],
        language=_language(record),
    )


def _language(record: Record) -> str | None:
    """A ``language`` column's language, where the file has one (a newer export of ours);
    None where it has none or the cell is empty."""
    text = record.get(LANGUAGE_COLUMN, "").strip().lower()
    if not text:
        return None
    language = languages.supported(text)
    if language is None:
        raise InvalidRow(f"unknown language {record[LANGUAGE_COLUMN]!r}")
    return language


def _cell(text: str) -> str:
    """A cell our export neutralised (a leading apostrophe before a formula character)."""
    if text.startswith("'") and text[1:2] in csv_export.FORMULA_STARTS:
        return text[1:]
    return text


def _mailchimp(status: SubscriptionStatus, left_at: str | None) -> Callable[[Record], SourceRow]:
    """A row of one of Mailchimp's files: the file says the status."""

    def read(record: Record) -> SourceRow:
        signed_up = _time(record, "OPTIN_TIME")
        return SourceRow(
            record["Email Address"],
            status,
            signup_at=signed_up,
            signup_ip=_ip(record["OPTIN_IP"]),
            confirmed_at=_time(record, "CONFIRM_TIME") or signed_up,
            confirmed_ip=_ip(record["CONFIRM_IP"]),
            unsubscribed_at=_time(record, left_at) if left_at else None,
        )

    return read


def _ghost(record: Record) -> SourceRow:
    """A row of Ghost's members CSV."""
    subscribed = record["subscribed_to_emails"].strip().lower() == TRUE
    status = SubscriptionStatus.CONFIRMED if subscribed else SubscriptionStatus.UNSUBSCRIBED
    return SourceRow(record["email"], status, signup_at=_time(record, "created_at"))


def _substack(record: Record) -> SourceRow:
    """A row of Substack's subscriber export (``email_list.*.csv``)."""
    disabled = record["email_disabled"].strip().lower() == TRUE
    status = SubscriptionStatus.UNSUBSCRIBED if disabled else SubscriptionStatus.CONFIRMED
    return SourceRow(record["email"], status, signup_at=_time(record, "created_at"))


LISTMONK_STATUSES = {
    "enabled": SubscriptionStatus.CONFIRMED,
    # listmonk mails neither; its export has no per-list status to say more.
    "disabled": SubscriptionStatus.UNSUBSCRIBED,
    "blocklisted": SubscriptionStatus.UNSUBSCRIBED,
}


def _listmonk(record: Record) -> SourceRow:
    """A row of listmonk's subscriber export."""
    status = LISTMONK_STATUSES.get(record["status"].strip().lower())
    if status is None:
        raise InvalidRow(f"unknown status {record['status']!r}")
    return SourceRow(record["email"], status, signup_at=_time(record, "created_at"))


MAILCHIMP = {"Email Address", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP"}
# Most specific first: Mailchimp's unsubscribed and cleaned files have its subscribed
# file's columns and more.
KNOWN: list[tuple[str, set[str], Callable[[Record], SourceRow]]] = [
    ("ours", set(csv_export.RECOGNISED_BY), _ours),
    (
        "mailchimp",
        MAILCHIMP | {"UNSUB_TIME"},
        _mailchimp(SubscriptionStatus.UNSUBSCRIBED, "UNSUB_TIME"),
    ),
    ("mailchimp", MAILCHIMP | {"CLEAN_TIME"}, _mailchimp(SubscriptionStatus.BOUNCED, "CLEAN_TIME")),
    ("mailchimp", MAILCHIMP, _mailchimp(SubscriptionStatus.CONFIRMED, None)),
    ("ghost", {"email", "subscribed_to_emails"}, _ghost),
    ("substack", {"email", "active_subscription", "email_disabled"}, _substack),
    ("listmonk", {"uuid", "email", "attributes", "status"}, _listmonk),
]


def _time(record: Record, column: str) -> datetime | None:
    """A time cell in any of the sources' forms, in UTC; None if empty."""
    text = record.get(column, "").strip()
    if not text:
        return None
    # Go's time.String(): "2024-01-02 15:04:05.123 +0000 UTC".
    text = text.removesuffix(" UTC").replace(" +", "+").replace(" -", "-")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRow(f"unreadable time in {column}: {record[column]!r}") from None
    if moment.tzinfo is None:  # Mailchimp's: UTC
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _ip(text: str) -> str | None:
    """An IP address kept as evidence, in its canonical form; anything else (empty,
    garbage) is not evidence.

    A dotted quad is checked by ``inet_pton``, which takes exactly the canonical form
    ``ipaddress`` does (no leading zeros, no short forms) at a fraction of its cost, a
    large share of a row's; IPv6 and the rest go to ``ipaddress``.
    """
    text = text.strip()
    try:
        socket.inet_pton(socket.AF_INET, text)
    except OSError:
        pass
    else:
        return text
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
