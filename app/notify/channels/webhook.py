"""Generic webhook: POST a documented JSON payload, HMAC-signed.

Receivers verify ``X-Thongsuot-Signature: sha256=<hex>``, the HMAC-SHA256 of
the raw request body under the shared key, and may reject stale deliveries by
``X-Thongsuot-Timestamp`` (also ``sent_at`` inside the signed body).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from app.notify.channels._http import request, resolve_secret, snippet
from app.notify.channels.base import (
    DeliveryOutcome,
    Notification,
    RenderedMessage,
    outcome_for_status,
)
from app.notify.channels.config import WebhookConfig
from app.vocab.words import error_kind_words
from probes.secrets import SecretResolver

PAYLOAD_VERSION = 1
SIGNATURE_HEADER = "X-Thongsuot-Signature"
TIMESTAMP_HEADER = "X-Thongsuot-Timestamp"


def sign(key: bytes, body: bytes) -> str:
    """The signature header value for ``body``."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(key: bytes, body: bytes, header: str) -> bool:
    """Constant-time check of a received signature header (for receivers and tests)."""
    return hmac.compare_digest(sign(key, body), header.strip())


def webhook_payload(
    note: Notification, rendered: RenderedMessage, sent_at: datetime
) -> dict[str, Any]:
    """The JSON document a webhook receives (schema in docs/notifications.md)."""
    return {
        "version": PAYLOAD_VERSION,
        "event": note.event.value,
        "lang": note.lang,
        "sent_at": sent_at.isoformat(),
        "delivery_id": note.delivery_id,
        "subject": rendered.subject,
        "text": rendered.text,
        "unit": {"code": note.unit_code, "name": note.unit_name},
        "service": {"kind": note.service_kind, "name": note.service_name},
        "check": {"key": note.check_key, "name": note.check_name, "probe_kind": note.probe_kind},
        "error": {
            "kind": note.error_kind,
            "description": error_kind_words(note.error_kind, note.lang, check_key=note.check_key),
            "message": note.message,
        },
        "incident": {
            "id": note.incident_id,
            "state": note.incident_state,
            "severity": note.severity,
            "started_at": note.started_at.astimezone(UTC).isoformat(),
            "duration_s": int(note.elapsed.total_seconds()),
        },
        "links": {"dashboard": note.dashboard_url, "api": note.api_url, "ack": note.ack_url},
    }


class WebhookChannel:
    def __init__(
        self,
        config: WebhookConfig,
        client: httpx.AsyncClient,
        secrets: SecretResolver,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._client = client
        self._secrets = secrets
        self._clock = clock

    async def send(self, note: Notification, rendered: RenderedMessage) -> DeliveryOutcome:
        now = self._clock()
        sent_at = datetime.fromtimestamp(now, UTC)
        body = json.dumps(webhook_payload(note, rendered, sent_at), ensure_ascii=False).encode()
        headers = self._headers(int(now), note)
        if self.config.secret is not None:
            key = resolve_secret(self._secrets, self.config.secret)
            if isinstance(key, DeliveryOutcome):
                return key
            headers[SIGNATURE_HEADER] = sign(key.encode(), body)
        response = await request(
            self._client,
            "POST",
            self.config.url,
            content=body,
            headers=headers,
            timeout_s=self.config.timeout_s,
        )
        if isinstance(response, DeliveryOutcome):
            return response
        if response.is_success:
            return DeliveryOutcome.delivered(f"HTTP {response.status_code}", response.status_code)
        detail = f"HTTP {response.status_code}: {snippet(response)}"
        return outcome_for_status(response.status_code, detail)

    def _headers(self, timestamp: int, note: Notification) -> dict[str, str]:
        headers = {
            **self.config.headers,
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "thongsuot-webhook/1",
            TIMESTAMP_HEADER: str(timestamp),
            "X-Thongsuot-Event": note.event.value,
        }
        if note.delivery_id:
            headers["X-Thongsuot-Delivery"] = note.delivery_id
        return headers
