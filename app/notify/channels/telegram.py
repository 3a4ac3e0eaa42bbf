"""Telegram Bot API ``sendMessage`` (https://core.telegram.org/bots/api#sendmessage).

Every reply is ``{"ok": true, "result": Message}`` or ``{"ok": false,
"error_code": N, "description": "...", "parameters": {"retry_after": S}}``;
``error_code`` mirrors the HTTP status. 429 (flood control) and 5xx are
transient; 400 (chat not found), 401 (bad token), 403 (bot blocked) are not.
A 400 "can't parse entities" refuses the HTML, not the message: it is sent once
more as plain text, so the alert still arrives.
"""

from __future__ import annotations

import html
import logging
from typing import Any

import httpx

from app.notify.channels._http import json_body, redact, request, resolve_secret, snippet
from app.notify.channels.base import (
    DeliveryOutcome,
    Notification,
    RenderedMessage,
    outcome_for_status,
    parse_retry_after,
)
from app.notify.channels.config import TelegramConfig
from probes.secrets import SecretResolver

MAX_TEXT = 4096
log = logging.getLogger(__name__)


class TelegramChannel:
    def __init__(
        self, config: TelegramConfig, client: httpx.AsyncClient, secrets: SecretResolver
    ) -> None:
        self.config = config
        self._client = client
        self._secrets = secrets

    async def send(self, note: Notification, rendered: RenderedMessage) -> DeliveryOutcome:
        token = resolve_secret(self._secrets, self.config.bot_token_secret)
        if isinstance(token, DeliveryOutcome):
            return token
        url = f"{self.config.base_url.rstrip('/')}/bot{token}/sendMessage"
        outcome = await self._post(url, self.payload(rendered))
        if refused_markup(outcome):
            # The alert matters more than its bold type: say it once more as plain text.
            log.warning("telegram refused the HTML (%s); sending plain text", outcome.detail)
            outcome = await self._post(url, self.plain_payload(rendered))
            if outcome.ok:
                detail = f"{outcome.detail} (plain text; HTML refused)"
                outcome = DeliveryOutcome.delivered(detail, outcome.status_code)
        return redact(outcome, token)

    async def _post(self, url: str, body: dict[str, Any]) -> DeliveryOutcome:
        response = await request(
            self._client, "POST", url, json=body, timeout_s=self.config.timeout_s
        )
        return response if isinstance(response, DeliveryOutcome) else classify(response)

    def payload(self, rendered: RenderedMessage) -> dict[str, Any]:
        text = rendered.chat_html or html.escape(rendered.text)
        if len(text) > MAX_TEXT:
            # Cutting HTML could leave a tag open, which Telegram rejects: send plain text.
            text = html.escape(rendered.text[: MAX_TEXT - 200]) + "…"
        body: dict[str, Any] = {
            "chat_id": self.config.chat_id,
            "text": text,
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        return self._addressed(body)

    def plain_payload(self, rendered: RenderedMessage) -> dict[str, Any]:
        """The same message as plain text (no ``parse_mode``): nothing for Telegram to parse."""
        text = (
            rendered.text if len(rendered.text) <= MAX_TEXT else rendered.text[: MAX_TEXT - 1] + "…"
        )
        return self._addressed(
            {"chat_id": self.config.chat_id, "text": text, "disable_web_page_preview": True}
        )

    def _addressed(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.config.message_thread_id is not None:
            body["message_thread_id"] = self.config.message_thread_id
        return body


def refused_markup(outcome: DeliveryOutcome) -> bool:
    """Telegram's 400 "can't parse entities": the HTML was refused, not the chat or the bot."""
    return outcome.status_code == 400 and "can't parse entities" in outcome.detail.lower()


def classify(response: httpx.Response) -> DeliveryOutcome:
    """Turn a Bot API reply into an outcome."""
    data = json_body(response)
    if data is None:
        detail = f"HTTP {response.status_code}, not a Bot API reply: {snippet(response)}"
        if response.is_success:
            return DeliveryOutcome.transient(detail, response.status_code)
        return outcome_for_status(response.status_code, detail)
    if data.get("ok") is True:
        result = data.get("result") or {}
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return DeliveryOutcome.delivered(f"message_id={message_id}", response.status_code)
    code = data.get("error_code")
    code = code if isinstance(code, int) else response.status_code
    params = data.get("parameters") or {}
    retry_after = parse_retry_after(str(params["retry_after"])) if "retry_after" in params else None
    detail = f"telegram {code}: {data.get('description', '')}"
    if retry_after is not None:
        detail += f" (retry_after={retry_after:g}s)"
    return outcome_for_status(code if code >= 400 else 500, detail, retry_after)
