"""The transport contract every notification channel keeps.

A channel turns one :class:`Notification` (already rendered into a
:class:`RenderedMessage`) into one delivery attempt and reports a
:class:`DeliveryOutcome`. Like probes, the far end failing is *data*: a
timeout, a 5xx or a refused token comes back as an outcome, never as an
exception. The outbox retries outcomes with ``permanent=False`` and gives up
on ``permanent=True`` ones.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import httpx

from app.vocab.lang import Lang


class Event(enum.StrEnum):
    """Why a notification is sent."""

    DOWN = "down"
    UP = "up"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    FLAPPING = "flapping"
    MONITOR_CONNECTIVITY = "monitor_connectivity"
    TEST = "test"


@dataclass(frozen=True, slots=True)
class Notification:
    """Everything a message about one incident (or a test) may say.

    ``started_at`` and ``now`` are timezone-aware (UTC in the database); the
    renderer shows them in Asia/Ho_Chi_Minh. ``duration`` defaults to
    ``now - started_at`` (for ``up`` pass the incident's real length).
    """

    event: Event
    unit_code: str
    unit_name: str
    service_kind: str
    service_name: str
    check_key: str
    check_name: str
    probe_kind: str
    started_at: datetime
    now: datetime
    error_kind: str | None = None
    message: str = ""
    duration: timedelta | None = None
    incident_id: int | None = None
    incident_state: str = "open"
    severity: str = "critical"
    dashboard_url: str | None = None
    api_url: str | None = None
    ack_url: str | None = None
    lang: Lang = "vi"
    delivery_id: str | None = None
    unit_kind: str = ""
    """``commune``, ``ward``, ``province``, ... (headlines name the unit with its kind)."""
    instructions: str = ""
    """What to do and whom to call (the inventory's ``notifications.instructions``)."""
    short_ack_url: str | None = None
    """The short acknowledgement link (``/a/{delivery}.{sig}``) SMS carries."""
    first_alerted: str = ""
    """Escalations: whom level 0 told, as people read it ("Nguyễn Văn A (Người đứng đầu)")."""
    first_alerted_at: datetime | None = None
    unanswered_for: timedelta | None = None
    """Escalations: how long the first notice went unacknowledged when this one was decided."""
    recipient_role: str = ""
    """Test messages: the role the recipient is registered under (``head``, ...)."""
    recipient_name: str = ""

    def __post_init__(self) -> None:
        for name in ("started_at", "now"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"Notification.{name} must be timezone-aware")
        object.__setattr__(self, "event", Event(self.event))

    @property
    def restored(self) -> bool:
        """A recovery (``up``), or the monitor's connectivity back (``incident_state`` resolved)."""
        return self.event is Event.UP or (
            self.event is Event.MONITOR_CONNECTIVITY and self.incident_state == "resolved"
        )

    @property
    def elapsed(self) -> timedelta:
        """The incident's length so far: ``duration`` if given, else ``now - started_at``."""
        if self.duration is not None:
            return self.duration
        return max(self.now - self.started_at, timedelta(0))


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """One notification in every shape a channel may need.

    ``text`` is plain text; ``html`` a full e-mail body; ``chat_html`` the
    small tag subset chat apps accept (Telegram ``parse_mode=HTML``);
    ``short`` an SMS-length line with diacritics and ``short_ascii`` the same
    line folded to ASCII so it fits a GSM-7 segment.
    """

    subject: str
    text: str
    html: str
    short: str
    chat_html: str = ""
    short_ascii: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with an e-mail (a report's PDF or XLSX); ``filename`` may be Vietnamese."""

    filename: str
    content_type: str  # e.g. application/pdf
    data: bytes


@dataclass(frozen=True, slots=True)
class Mail:
    """An e-mail that is not about an incident (a scheduled report): parts and files."""

    subject: str
    text: str
    html: str
    now: datetime
    event: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """The result of one delivery attempt.

    ``ok=False, permanent=False``: transient (timeout, connection refused,
    5xx, 429); retry later, after ``retry_after`` seconds if the far end said.
    ``ok=False, permanent=True``: retrying cannot help (4xx, bad token, bad
    configuration, missing secret); a human must fix something.
    """

    ok: bool
    permanent: bool
    detail: str
    status_code: int | None = None
    retry_after: float | None = None

    @classmethod
    def delivered(cls, detail: str = "", status_code: int | None = None) -> DeliveryOutcome:
        return cls(True, False, _clip(detail), status_code)

    @classmethod
    def transient(
        cls, detail: str, status_code: int | None = None, retry_after: float | None = None
    ) -> DeliveryOutcome:
        return cls(False, False, _clip(detail), status_code, retry_after)

    @classmethod
    def failed(cls, detail: str, status_code: int | None = None) -> DeliveryOutcome:
        return cls(False, True, _clip(detail), status_code)


def _clip(detail: str, limit: int = 500) -> str:
    return detail if len(detail) <= limit else detail[: limit - 1] + "…"


class Channel(Protocol):
    """One configured destination (a chat, a mailbox, a URL, ...)."""

    async def send(self, note: Notification, rendered: RenderedMessage) -> DeliveryOutcome:
        """Deliver once; never raise for failures of the far end or of its config."""
        ...


def is_transient_status(code: int) -> bool:
    """HTTP statuses worth retrying: 408 timeout, 425 too early, 429, and every 5xx."""
    return code in (408, 425, 429) or code >= 500


def outcome_for_status(code: int, detail: str, retry_after: float | None = None) -> DeliveryOutcome:
    """Classify a non-success HTTP status into a failed outcome."""
    if is_transient_status(code):
        return DeliveryOutcome.transient(detail, code, retry_after)
    return DeliveryOutcome.failed(detail, code)


HTTP_ERRORS = (httpx.HTTPError, httpx.InvalidURL)
"""What an httpx call may raise when the far end (or its URL) is at fault."""


def outcome_for_transport_error(exc: httpx.HTTPError | httpx.InvalidURL) -> DeliveryOutcome:
    """Timeouts and connection failures are transient; a malformed URL is permanent."""
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return DeliveryOutcome.failed(f"invalid URL: {exc}")
    kind = "timeout" if isinstance(exc, httpx.TimeoutException) else type(exc).__name__
    return DeliveryOutcome.transient(f"{kind}: {exc}".rstrip(": "))


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (HTTP-date values are ignored)."""
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None
