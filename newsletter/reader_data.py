"""A reader's own data, for "Download my data" on the manage page (GDPR Art. 15 and 20).

Everything kept about one reader, and nothing about anyone else: their address, each of
their subscriptions (to any newsletter, public or not) with its consent evidence (signup
and confirmation: when, IP address, browser, page) and its history. The same facts as
JSON (nested: a subscription holds its history) and as CSV (one row per history event,
after its subscription's columns; a subscription without history has one row with the
event columns empty). No Flask request in here.
"""

import csv
import io
import json
from datetime import datetime

from sqlalchemy.orm import Session

from newsletter import list_management
from newsletter.csv_export import BOM
from newsletter.csv_export import FORMULA_STARTS
from newsletter.models import Reader
from newsletter.models import Subscription
from newsletter.models import SubscriptionEvent

SUBSCRIPTION_FIELDS = (
    "newsletter",
    "newsletter_name",
    "status",
    "created_at",
    "language",
    "source",
    "source_url",
    "signup_at",
    "signup_ip",
    "signup_user_agent",
    "confirmed_at",
    "confirmed_ip",
    "confirmed_user_agent",
    "unsubscribed_at",
)
EVENT_FIELDS = ("kind", "occurred_at", "ip", "user_agent", "detail")
CSV_HEADER = ("email", *SUBSCRIPTION_FIELDS, *(f"event_{name}" for name in EVENT_FIELDS))


def report(session: Session, reader: Reader) -> dict:
    """Everything kept about the reader, as plain data (times in ISO 8601 UTC)."""
    return {
        "email": reader.email,
        "reader_since": _text(reader.created_at),
        "subscriptions": [
            _subscription(subscription, list_management.history(session, subscription))
            for subscription in list_management.reader_subscriptions(session, reader)
        ],
    }


def as_json(data: dict) -> str:
    """The report as indented JSON, in UTF-8 as written (Cyrillic stays readable)."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def as_csv(data: dict) -> str:
    """The report as CSV (RFC 4180, UTF-8 with a BOM, formula-like cells neutralised, as
    the editors' export)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for subscription in data["subscriptions"]:
        columns = [data["email"], *(subscription[name] for name in SUBSCRIPTION_FIELDS)]
        for event in subscription["history"] or [dict.fromkeys(EVENT_FIELDS)]:
            row = [*columns, *(event[name] for name in EVENT_FIELDS)]
            writer.writerow([_cell(value) for value in row])
    return BOM + buffer.getvalue()


def _subscription(subscription: Subscription, history: list[SubscriptionEvent]) -> dict:
    fields: dict[str, object] = {
        "newsletter": subscription.newsletter.slug,
        "newsletter_name": subscription.newsletter.name,
        "status": subscription.status.value,
    }
    for name in SUBSCRIPTION_FIELDS[3:]:
        fields[name] = _text(getattr(subscription, name))
    fields["history"] = [
        {name: _text(getattr(event, name)) for name in EVENT_FIELDS} for event in history
    ]
    return fields


def _text(value: object) -> str | None:
    """A time as ISO 8601 UTC ("…Z"); anything else as it is; None stays None."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return None if value is None else str(value)


def _cell(value: str | None) -> str:
    """A CSV cell a spreadsheet shows as text (see ``csv_export.neutralised``)."""
    text = value or ""
    return f"'{text}" if text.lstrip(" ")[:1] in FORMULA_STARTS else text
