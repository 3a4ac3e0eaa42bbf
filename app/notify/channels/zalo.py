"""Zalo Official Account message API v3, customer-service text messages.

``POST {base}/v3.0/oa/message/cs`` with header ``access_token`` and body
``{"recipient": {"user_id": ...}, "message": {"text": ...}}``. Zalo answers
HTTP 200 with ``{"error": 0, "message": "Success", "data": {"message_id":
...}}``; a nonzero ``error`` is a failure (``-216``: access token invalid or
expired). Those are permanent unless listed in ``retry_on_errors``.
"""

from __future__ import annotations

from typing import Any

import httpx

from app.notify.channels._http import json_body, redact, request, resolve_secret, snippet
from app.notify.channels.base import (
    DeliveryOutcome,
    Notification,
    RenderedMessage,
    outcome_for_status,
)
from app.notify.channels.config import ZaloConfig
from probes.secrets import SecretResolver

MAX_TEXT = 2000


class ZaloChannel:
    def __init__(
        self, config: ZaloConfig, client: httpx.AsyncClient, secrets: SecretResolver
    ) -> None:
        self.config = config
        self._client = client
        self._secrets = secrets

    async def send(self, note: Notification, rendered: RenderedMessage) -> DeliveryOutcome:
        token = resolve_secret(self._secrets, self.config.access_token_secret)
        if isinstance(token, DeliveryOutcome):
            return token
        response = await request(
            self._client,
            "POST",
            f"{self.config.base_url.rstrip('/')}/v3.0/oa/message/cs",
            json=self.payload(rendered),
            headers={"access_token": token},
            timeout_s=self.config.timeout_s,
        )
        if isinstance(response, DeliveryOutcome):
            return redact(response, token)
        return redact(self.classify(response), token)

    def payload(self, rendered: RenderedMessage) -> dict[str, Any]:
        text = rendered.text.strip()
        if len(text) > MAX_TEXT:
            text = text[: MAX_TEXT - 1] + "…"
        return {"recipient": {"user_id": self.config.user_id}, "message": {"text": text}}

    def classify(self, response: httpx.Response) -> DeliveryOutcome:
        if not response.is_success:
            detail = f"HTTP {response.status_code}: {snippet(response)}"
            return outcome_for_status(response.status_code, detail)
        data = json_body(response)
        if data is None or not isinstance(data.get("error"), int):
            return DeliveryOutcome.transient(f"not a Zalo reply: {snippet(response)}", 200)
        code: int = data["error"]
        if code == 0:
            message_id = (data.get("data") or {}).get("message_id")
            return DeliveryOutcome.delivered(f"message_id={message_id}", 200)
        detail = f"zalo error {code}: {data.get('message', '')}"
        if code in self.config.retry_on_errors:
            return DeliveryOutcome.transient(detail, 200)
        return DeliveryOutcome.failed(detail, 200)
