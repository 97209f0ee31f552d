"""The tables: newsletters, readers, signups and manage-link requests waiting to be
applied, subscriptions with consent evidence, the confirmations sent for them, and the
mail outbox."""

import base64
import enum
import os
import secrets
from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Enum
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import true
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import attribute_keyed_dict
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from newsletter.access_models import Role
from newsletter.db.base import Base
from newsletter.db.types import UTCDateTime
from newsletter.db.types import utcnow
from newsletter.refusals import Refusal

# Longest values we keep from what a browser sends; longer ones are cut, not refused.
USER_AGENT_LENGTH = 512
URL_LENGTH = 2048
LANGUAGE_LENGTH = 8  # a language tag such as "en" or "uk"
ADDRESS_LENGTH = 320
SENDER_LENGTH = 600  # a display name and an address


def _string_enum(enum_class: type[enum.Enum]) -> Enum:
    """Store an enum as its values in a VARCHAR with a CHECK constraint (portable)."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
    )


PUBLIC_ID_BYTES = 16  # 128 random bits…
PUBLIC_ID_LENGTH = 22  # …in this many characters of URL-safe base64


def new_public_id() -> str:
    """An opaque, unguessable identifier for links; never the row id or the address."""
    return secrets.token_urlsafe(PUBLIC_ID_BYTES)


def new_public_ids(count: int) -> list[str]:
    """``count`` public ids for a bulk insert, from one read of the system's randomness
    (a third of an import's id-making was a read per id). Each is 22 characters of
    URL-safe base64 as :func:`new_public_id`'s, every character random (132 bits)."""
    pairs = (count + 1) // 2  # 33 bytes encode to 44 characters: two ids, no padding
    text = base64.urlsafe_b64encode(os.urandom(33 * pairs)).decode("ascii")
    step = PUBLIC_ID_LENGTH
    return [text[start : start + step] for start in range(0, count * step, step)]


class Newsletter(Base):
    """A newsletter readers can sign up to, such as "Explaining Ukraine with Kate Tsurkan"."""

    __tablename__ = "newsletter"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # "Name <address>" its emails come from; empty means the service's MAIL_FROM.
    sender: Mapped[str] = mapped_column(String(SENDER_LENGTH), default="", server_default="")
    # Origins (scheme://host[:port]) whose pages may embed this newsletter's form.
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A private newsletter is not listed on the front page, nor offered beside others.
    public: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Lists show newsletters by position, then by name.
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    # The language of its pages and mail for readers who ask for none we have ("en", "uk").
    language: Mapped[str] = mapped_column(
        String(LANGUAGE_LENGTH), default="en", server_default="en"
    )
    # Its brand (newsletter.branding): "#rrggbb" and an https:// image; empty: none.
    accent_color: Mapped[str] = mapped_column(String(7), default="", server_default="")
    logo_url: Mapped[str] = mapped_column(String(URL_LENGTH), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Its name and description in a language, by language ("uk": "Пояснюючи Україну…").
    # Loaded with it (one more query per batch of newsletters): readers' pages read the
    # newsletters of a snapshot, detached from any session (newsletter.newsletter_snapshot).
    texts: Mapped[dict[str, "NewsletterText"]] = relationship(
        collection_class=attribute_keyed_dict("language"),
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    def name_in(self, language: str) -> str:
        """What readers of ``language`` call it: its name in that language, if an editor
        gave one, else its name."""
        text = self.texts.get(language)
        return text.name if text is not None and text.name else self.name

    def description_in(self, language: str) -> str:
        """Its description in ``language``, if an editor gave one, else its description."""
        text = self.texts.get(language)
        return text.description if text is not None and text.description else self.description


class NewsletterText(Base):
    """A newsletter's name and description in one language, for its readers in it.

    Either may be empty: that language then shows the newsletter's own name or
    description (``Newsletter.name_in``). The newsletter's own columns stay what the
    admin, the CLI and the export name it by.
    """

    __tablename__ = "newsletter_text"

    newsletter_id: Mapped[int] = mapped_column(
        ForeignKey("newsletter.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(LANGUAGE_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")


class Reader(Base):
    """One person, as one mailbox: the subscriptions to every newsletter hang on it.

    ``email`` is the address as email-validator normalised it (the local part keeps its
    case, as mail servers may care); ``email_key`` is its lower-cased form, on which the
    database enforces one reader per address.
    """

    __tablename__ = "reader"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    email: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    email_key: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UnknownStatus(Refusal, ValueError):
    """A status filter that names no status."""

    reason = "unknown_status"


class SubscriptionStatus(enum.StrEnum):
    """Where a subscription is in its lifecycle: pending → confirmed → unsubscribed.

    ``bounced`` is the other way out: the address's mail came back for good (a provider's
    report, a bounce mailbox, or another provider's export says so). It is never mailed;
    nor is an ``unsubscribed`` one whose reader complained (``Subscription.complained_at``).
    """

    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"

    @property
    def opted_out(self) -> bool:
        """The reader left, or their mailbox is gone: no import makes them a subscriber."""
        return self in (SubscriptionStatus.UNSUBSCRIBED, SubscriptionStatus.BOUNCED)

    @classmethod
    def parse_filter(cls, text: str | None) -> "SubscriptionStatus | None":
        """The status a filter names (``?status=``, ``--status``); None for no filter."""
        if not text:
            return None
        try:
            return cls(text)
        except ValueError:
            raise UnknownStatus(text) from None


class EventKind(enum.StrEnum):
    """What happened to a subscription, as its history records it."""

    SIGNUP = "signup"
    CONFIRMED = "confirmed"
    CONFIRMATION_RENEWED = "confirmation_renewed"  # the reader asked from an old link
    CONFIRMATION_RESENT = "confirmation_resent"  # an editor sent it again
    UNSUBSCRIBED = "unsubscribed"
    IMPORTED = "imported"  # from a file: its detail names the file, its SHA-256 and who
    # Reports from the mail system (``newsletter.bounces``): the detail is their evidence.
    BOUNCED = "bounced"  # the address's mail came back for good
    SOFT_BOUNCE = "soft_bounce"  # came back for now (counted; enough of them is a bounce)
    COMPLAINED = "complained"  # the reader marked our mail as spam


class MessageKind(enum.StrEnum):
    """Which email a message is: its templates' name, and what the operator's log says."""

    CONFIRMATION = "confirmation"
    WELCOME = "welcome"
    MANAGE_LINK = "manage_link"  # asked for from /manage: the link to the manage page
    # After "Erase me": the email saying it was done. Its row and any copy the transport
    # kept are deleted once it is sent (or given up on): it must not keep the address.
    ERASURE_NOTICE = "erasure_notice"
    SIGNUP_WAVE = "signup_wave"  # to editors: signups far above a newsletter's usual rate


class Subscription(Base):
    """One reader's subscription to one newsletter, with the evidence of its consent.

    The database enforces one subscription per reader and newsletter. The address is
    the reader's: one copy of it, whatever the number of newsletters.
    """

    __tablename__ = "subscription"
    __table_args__ = (
        UniqueConstraint("newsletter_id", "reader_id"),
        # Editors page through a newsletter's subscribers newest first, by status or not.
        Index("ix_subscription_newsletter_id_id", "newsletter_id", "id"),
        Index("ix_subscription_newsletter_id_status_id", "newsletter_id", "status", "id"),
        # The dashboard's chart of signups per day.
        Index("ix_subscription_newsletter_id_created_at", "newsletter_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletter.id", ondelete="CASCADE"))
    reader_id: Mapped[int] = mapped_column(ForeignKey("reader.id", ondelete="CASCADE"), index=True)
    status: Mapped[SubscriptionStatus] = mapped_column(
        _string_enum(SubscriptionStatus), default=SubscriptionStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Consent evidence of the latest signup: when, from where, through which form.
    signup_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signup_ip: Mapped[str | None] = mapped_column(String(45))
    signup_user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH))
    source: Mapped[str] = mapped_column(String(16), default="web")
    source_url: Mapped[str | None] = mapped_column(String(URL_LENGTH))
    # The language of the latest signup: every email to the subscriber is in it.
    language: Mapped[str] = mapped_column(
        String(LANGUAGE_LENGTH), default="en", server_default="en"
    )

    # Bumped by each new double opt-in, so a confirm link only confirms its own round.
    confirmation_round: Mapped[int] = mapped_column(default=1)
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_ip: Mapped[str | None] = mapped_column(String(45))
    confirmed_user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The reader marked our mail as spam: unsubscribed, and never mailed until they sign up
    # again. Soft bounces are counted until they make a bounce (``newsletter.bounces``).
    complained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    soft_bounces: Mapped[int] = mapped_column(default=0, server_default="0")

    newsletter: Mapped[Newsletter] = relationship()
    reader: Mapped[Reader] = relationship()

    @property
    def email(self) -> str:
        """The reader's address, where the subscription's mail goes."""
        return self.reader.email


class SubscriptionEvent(Base):
    """An append-only record of what happened to a subscription, for proof of consent."""

    __tablename__ = "subscription_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscription.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH))
    detail: Mapped[str | None] = mapped_column(String(URL_LENGTH))


class SignupRequest(Base):
    """A signup as the web request received it, waiting for the worker to apply it.

    The request only writes this row and one :class:`SignupRequestNewsletter` per chosen
    newsletter, the same way for every address, so that its duration says nothing about
    the address's state (see ``newsletter.signup_requests``). ``email_key`` lets an
    erasure find the pending requests of the reader it erases, to every newsletter.
    """

    __tablename__ = "signup_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    email_key: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), index=True)
    # The consent evidence, as ``subscriptions.Evidence`` holds it.
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH))
    source: Mapped[str] = mapped_column(String(16))
    source_url: Mapped[str | None] = mapped_column(String(URL_LENGTH))
    language: Mapped[str] = mapped_column(
        String(LANGUAGE_LENGTH), default="en", server_default="en"
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SignupRequestNewsletter(Base):
    """One newsletter chosen in a recorded signup (a form may offer several)."""

    __tablename__ = "signup_request_newsletter"

    signup_request_id: Mapped[int] = mapped_column(
        ForeignKey("signup_request.id", ondelete="CASCADE"), primary_key=True
    )
    newsletter_id: Mapped[int] = mapped_column(
        ForeignKey("newsletter.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Confirmation(Base):
    """One confirmation email: its one button confirms every subscription it covers.

    A signup to several newsletters sends one; so does a signup to one. The confirm
    link names the confirmation's ``public_id``; each covered subscription is confirmed
    only in the round it was in when the email was sent (:class:`ConfirmationItem`).
    """

    __tablename__ = "confirmation"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    reader_id: Mapped[int] = mapped_column(ForeignKey("reader.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    items: Mapped[list["ConfirmationItem"]] = relationship(
        order_by="ConfirmationItem.position", lazy="selectin"
    )


class ConfirmationItem(Base):
    """A subscription a confirmation covers, and the double opt-in round it was sent for."""

    __tablename__ = "confirmation_item"

    confirmation_id: Mapped[int] = mapped_column(
        ForeignKey("confirmation.id", ondelete="CASCADE"), primary_key=True
    )
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscription.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    confirmation_round: Mapped[int]
    # The order the email lists the newsletters in (the form's order).
    position: Mapped[int]

    subscription: Mapped[Subscription] = relationship(lazy="joined")


class ManageLinkRequest(Base):
    """An address someone asked a manage link for, waiting for the worker to answer it.

    As with :class:`SignupRequest`, the request only writes this row, whether the address
    is a reader's or not; the worker mails the link to a reader and drops the rest (see
    ``newsletter.manage_link_requests``).
    """

    __tablename__ = "manage_link_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_key: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxStatus(enum.StrEnum):
    """Where a queued message is: waiting, being sent by a worker, sent, given up on, or
    held back because its address may not be mailed any more."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # not sent: the address bounced or complained meanwhile


class OutboxMessage(Base):
    """A fully rendered email waiting to be delivered, written in the signup's transaction."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscription.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    sender: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    recipient: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    raw: Mapped[str] = mapped_column(Text)
    status: Mapped[OutboxStatus] = mapped_column(
        _string_enum(OutboxStatus), default=OutboxStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A worker's claim on a message in SENDING; another worker may take it after this.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BounceReport(Base):
    """A report from the mail system already applied, by its source's own identifier: the
    same report again (a provider's retry, a replay, a file ingested twice) changes nothing.
    """

    __tablename__ = "bounce_report"
    __table_args__ = (UniqueConstraint("source", "report_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # ses, postmark, mailgun, sendgrid, file
    report_id: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Editor(Base):
    """Someone who manages newsletters and their subscribers in ``/admin``."""

    __tablename__ = "editor"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(ADDRESS_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Carried in the editor's session cookie; bumping it ends every session they have
    # (sign-out, password change, disabling), since a signed cookie can't be recalled.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    # A disabled editor can't sign in, and every session they had stops working.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What they may do; an editor's or a viewer's newsletters are in ``editor_newsletter``.
    role: Mapped[Role] = mapped_column(_string_enum(Role), default=Role.VIEWER)
    # Two-factor sign-in (newsletter.two_factor): the TOTP secret of their app, set when
    # enrolment begins and in force once confirmed with a code (totp_enabled_at); the
    # time step of the last code accepted, so that no code works twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(Base):
    """One of an editor's single-use recovery codes, kept only as its SHA-256."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    editor_id: Mapped[int] = mapped_column(ForeignKey("editor.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A token for scripts (export automation), for a time and some newsletters; only its
    SHA-256 is kept."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # After this the token is refused (401); its newsletters are in ``api_token_newsletter``
    # (none: every newsletter).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Erasure(Base):
    """What is left of an erased subscription: no address, no evidence, only that it was.

    Keeps the counts honest after a reader exercises their right to erasure.
    """

    __tablename__ = "erasure"

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter_id: Mapped[int] = mapped_column(
        ForeignKey("newsletter.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[SubscriptionStatus] = mapped_column(_string_enum(SubscriptionStatus))
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
