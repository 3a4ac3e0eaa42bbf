"""Signed one-click acknowledgement links: HMAC-SHA256 under ``THONGSUOT_SECRET_KEY``.

The signature covers the incident id, the expiry (UNIX seconds) and who the link
was sent to, so an acknowledgement through a link records its recipient.

The link opens a page (``app/incidents/ack_page.py``); only the button on it (a POST
carrying the same signed values in its form body) acknowledges. Mail scanners that
fetch links therefore change nothing. A link acts once: an incident is acknowledged
at most once (``incident.acknowledged_at`` is never cleared), so a second POST only
says it was acknowledged before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal
from urllib.parse import urlencode


def _message(incident_id: int, expires: int, by: str) -> bytes:
    return f"ack:{incident_id}:{expires}:{by}".encode()


def sign_ack(key: str, incident_id: int, expires: int, by: str) -> str:
    return hmac.new(key.encode(), _message(incident_id, expires, by), hashlib.sha256).hexdigest()


LinkCheck = Literal["valid", "expired", "invalid"]


def check_ack(key: str, incident_id: int, expires: int, by: str, sig: str, now: float) -> LinkCheck:
    """``valid``; ``expired`` (signed by us, past ``expires``); or ``invalid`` (tampered)."""
    expected = sign_ack(key, incident_id, expires, by).encode()
    # bytes: compare_digest refuses non-ASCII text with a TypeError
    if not hmac.compare_digest(expected, sig.encode("utf-8", "surrogatepass")):
        return "invalid"
    return "expired" if expires < now else "valid"


def ack_url(public_url: str, key: str, incident_id: int, expires: int, by: str) -> str:
    query = urlencode({"exp": expires, "by": by, "sig": sign_ack(key, incident_id, expires, by)})
    return f"{public_url.rstrip('/')}/api/v1/incidents/{incident_id}/ack?{query}"


# The incident page --------------------------------------------------------------
def sign_view(key: str, incident_id: int) -> str:
    """The signature of the human incident page ``/incidents/{id}?sig=…``.

    It names only the incident (no recipient, no expiry): the page shows what any
    recipient of the incident's messages may see, and names people without addresses.
    """
    return hmac.new(key.encode(), f"view:{incident_id}".encode(), hashlib.sha256).hexdigest()[:32]


def check_view(key: str, incident_id: int, sig: str) -> bool:
    return hmac.compare_digest(
        sign_view(key, incident_id).encode(), sig.encode("utf-8", "surrogatepass")
    )


def view_url(public_url: str, key: str, incident_id: int) -> str:
    return f"{public_url.rstrip('/')}/incidents/{incident_id}?sig={sign_view(key, incident_id)}"


# Short acknowledgement links for SMS ------------------------------------------------
SHORT_SIG_CHARS = 10
"""Base32 characters of a short link's signature: 50 bits. Enough against guessing over
HTTP (each try is one request, and the page only shows a button), too few against an
offline search: the short link is only a way to the full, signed link, never more."""


def sign_short(key: str, delivery_id: int) -> str:
    """The short signature of one outbox row (one message to one recipient)."""
    digest = hmac.new(key.encode(), f"a:{delivery_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:SHORT_SIG_CHARS]


def check_short(key: str, delivery_id: int, sig: str) -> bool:
    """Case-insensitive (people retype SMS links), constant time."""
    given = sig.upper().encode("utf-8", "surrogatepass")
    return hmac.compare_digest(sign_short(key, delivery_id).encode(), given)


def short_ack_url(public_url: str, key: str, delivery_id: int) -> str:
    """``{public_url}/a/{delivery}.{sig}``: opens the full signed link of that message."""
    return f"{public_url.rstrip('/')}/a/{delivery_id}.{sign_short(key, delivery_id)}"
