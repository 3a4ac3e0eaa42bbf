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
