"""Reports saved from a bounce mailbox: RFC 3464 delivery status notifications and RFC 5965
(ARF) complaint reports, read with the standard library's email parser.

Both are ``multipart/report`` messages: a part for people, a machine-readable part
(``message/delivery-status`` or ``message/feedback-report``), and the message they are
about, whole (``message/rfc822``) or its header (``text/rfc822-headers``). That returned
message's Message-ID, or the VERP return path the report was addressed to, is how
``newsletter.bounces`` finds our message (reading a report needs the app's settings, for
the VERP address). Bounces that are not RFC 3464 (free-text
"undeliverable" mail from old servers) are refused as unreadable, not guessed at.

In a DSN, each recipient's ``Action`` and ``Status`` decide: ``failed`` with a 5.x.x status
is a hard bounce, with a 4.x.x one a soft bounce; ``delayed`` (a warning that the server
keeps trying), ``delivered``, ``relayed`` and ``expanded`` are no bounce at all.
"""

import hashlib
from email import message_from_bytes
from email import message_from_string
from email import policy
from email.message import Message

from newsletter.bounces import Report
from newsletter.bounces import ReportKind
from newsletter.mail import verp
from newsletter.refusals import Refusal

SOURCE = "file"
# Headers of a report that may carry the envelope recipient, our VERP return path.
DELIVERED_TO = ("Delivered-To", "X-Original-To", "Envelope-To", "To")
DIAGNOSTIC_LENGTH = 500


class UnreadableReport(Refusal, ValueError):
    """The file is no RFC 3464 delivery status notification nor RFC 5965 complaint."""

    reason = "unreadable_report"


def parse(raw: bytes) -> list[Report]:
    """The reports in one saved message (a DSN may name several recipients); an empty list
    when it reports no bounce (a delay warning, a delivery); :class:`UnreadableReport` if it
    is neither kind of report."""
    message = message_from_bytes(raw, policy=policy.compat32)
    if message.get_content_type() != "multipart/report":
        raise UnreadableReport("not a multipart/report message")
    report_type = str(message.get_param("report-type") or "").lower()
    parts = _messages(message.get_payload())
    if not parts:
        raise UnreadableReport("a multipart/report without parts")
    original = _original_headers(parts)
    report_id = _report_id(message, raw)
    return_path = _return_path(message, original)
    message_id = original.get("Message-ID") if original is not None else None
    if report_type == "delivery-status":
        return _delivery_status(parts, report_id, message_id, return_path)
    if report_type == "feedback-report":
        return [_feedback(parts, report_id, message_id, return_path)]
    raise UnreadableReport(f"report-type {report_type or 'missing'}")


def _delivery_status(
    parts: list[Message], report_id: str, message_id: str | None, return_path: str | None
) -> list[Report]:
    """One report per recipient that failed (RFC 3464, section 2.3)."""
    status_part = _part(parts, "message/delivery-status")
    blocks = _messages(status_part.get_payload()) if status_part is not None else []
    if len(blocks) < 2:
        raise UnreadableReport("no per-recipient delivery status")
    reports = []
    for index, block in enumerate(blocks[1:]):
        action = (block.get("Action") or "").strip().lower()
        status = (block.get("Status") or "").strip()
        if action != "failed":
            continue
        kind = ReportKind.SOFT_BOUNCE if status.startswith("4") else ReportKind.HARD_BOUNCE
        diagnostic = " ".join((block.get("Diagnostic-Code") or "").split())
        recipient = _address(block.get("Final-Recipient") or block.get("Original-Recipient"))
        reports.append(
            Report(
                kind,
                SOURCE,
                f"{report_id}#{index}",
                message_id=message_id,
                return_path=return_path,
                recipient=recipient,
                detail=f"DSN {action} {status} {diagnostic[:DIAGNOSTIC_LENGTH]}".strip(),
            )
        )
    return reports


def _feedback(
    parts: list[Message], report_id: str, message_id: str | None, return_path: str | None
) -> Report:
    """The complaint of an ARF report (RFC 5965, section 3.1)."""
    feedback = _part(parts, "message/feedback-report")
    fields = _messages(feedback.get_payload()) if feedback is not None else []
    if not fields:
        raise UnreadableReport("no feedback report")
    block = fields[0]
    feedback_type = (block.get("Feedback-Type") or "").strip()
    reporter = (block.get("User-Agent") or "").strip()
    return Report(
        ReportKind.COMPLAINT,
        SOURCE,
        report_id,
        message_id=message_id,
        return_path=return_path or _address(block.get("Original-Mail-From")),
        recipient=_address(block.get("Original-Rcpt-To")),
        detail=f"ARF {feedback_type} {reporter}".strip(),
    )


def _part(parts: list[Message], content_type: str) -> Message | None:
    """The first part of that type."""
    return next((part for part in parts if part.get_content_type() == content_type), None)


def _original_headers(parts: list[Message]) -> Message | None:
    """The header of the message the report is about: the returned message, or its header."""
    whole = _part(parts, "message/rfc822")
    returned = _messages(whole.get_payload()) if whole is not None else []
    if returned:
        return returned[0]
    headers = _part(parts, "text/rfc822-headers")
    if headers is not None:
        text = headers.get_payload(decode=True)
        if isinstance(text, bytes):
            return message_from_string(text.decode("utf-8", "replace"), policy=policy.compat32)
    return None


def _messages(payload: object) -> list[Message]:
    """The parts (or status blocks) of a parsed payload; none if it is text."""
    return (
        [part for part in payload if isinstance(part, Message)] if isinstance(payload, list) else []
    )


def _return_path(report: Message, original: Message | None) -> str | None:
    """Our VERP return path, where the report was sent or as the returned message's
    Return-Path; None if neither is one (``mail.verp``)."""
    candidates = [report.get(name) for name in DELIVERED_TO]
    if original is not None:
        candidates.append(original.get("Return-Path"))
    for candidate in candidates:
        address = _address(candidate)
        if address and verp.token_of(address):
            return address
    return None


def _address(field: str | None) -> str | None:
    """The address in a field: ``rfc822; reader@example.com``, ``<a@b>``, ``a@b``."""
    if not field:
        return None
    value = str(field).rpartition(";")[2].strip().strip("<>").strip()
    return value if "@" in value else None


def _report_id(message: Message, raw: bytes) -> str:
    """The report's own Message-ID, else a digest of its bytes: the same file twice is
    the same report."""
    own = (message.get("Message-ID") or "").strip()
    return own or "sha256:" + hashlib.sha256(raw).hexdigest()
