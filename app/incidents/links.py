"""Signed one-click acknowledgement links: HMAC-SHA256 under ``THONGSUOT_SECRET_KEY``.

The signature covers the incident id, the expiry (UNIX seconds) and who the link
was sent to, so an acknowledgement through a link records its recipient.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode


def _message(incident_id: int, expires: int, by: str) -> bytes:
    return f"ack:{incident_id}:{expires}:{by}".encode()


def sign_ack(key: str, incident_id: int, expires: int, by: str) -> str:
    return hmac.new(key.encode(), _message(incident_id, expires, by), hashlib.sha256).hexdigest()


def verify_ack(key: str, incident_id: int, expires: int, by: str, sig: str, now: float) -> bool:
    """True when ``sig`` is right for these values and ``expires`` is still ahead."""
    if expires < now:
        return False
    return hmac.compare_digest(sign_ack(key, incident_id, expires, by), sig)


def ack_url(public_url: str, key: str, incident_id: int, expires: int, by: str) -> str:
    query = urlencode({"exp": expires, "by": by, "sig": sign_ack(key, incident_id, expires, by)})
    return f"{public_url.rstrip('/')}/api/v1/incidents/{incident_id}/ack?{query}"
