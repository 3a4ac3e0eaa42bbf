"""A generic HTTP SMS gateway, configured rather than coded.

Vietnamese brandname gateways differ only in URL, field names and how they
say "accepted"; ``SmsConfig`` captures those. ``{phone}``, ``{text}`` and
``{secret:NAME}`` placeholders are filled and escaped for where they stand:
URL-quoted in the URL, JSON-string-escaped in a JSON body, form-encoded in a
form body. See ``sms_presets`` for an eSMS.vn-shaped example.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import httpx

from app.notify.channels._http import json_body, redact, request, resolve_secret, snippet
from app.notify.channels.base import (
    DeliveryOutcome,
    Notification,
    RenderedMessage,
    outcome_for_status,
)
from app.notify.channels.config import SmsConfig
from app.notify.messages.sms_text import fit_sms
from probes.secrets import SecretResolver

PLACEHOLDER = re.compile(r"\{(phone|text|secret:[A-Z][A-Z0-9_]*)\}")

_ESCAPES: dict[str, Callable[[str], str]] = {
    "url": lambda v: quote(v, safe=""),
    "json": lambda v: json.dumps(v, ensure_ascii=False)[1:-1],
    "form": quote_plus,
    "raw": lambda v: v,
    "header": lambda v: v,
}

_CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "form": "application/x-www-form-urlencoded; charset=utf-8",
    "raw": "text/plain; charset=utf-8",
}


class _Fill:
    """Fills placeholders, collecting secrets used (to redact) or the first failure."""

    def __init__(self, values: dict[str, str], secrets: SecretResolver) -> None:
        self.values = values
        self.secrets = secrets
        self.used: list[str] = []
        self.failure: DeliveryOutcome | None = None

    def __call__(self, template: str, where: str) -> str:
        escape = _ESCAPES[where]
        return PLACEHOLDER.sub(lambda m: escape(self._value(m.group(1))), template)

    def _value(self, key: str) -> str:
        if not key.startswith("secret:"):
            return self.values[key]
        value = resolve_secret(self.secrets, key.removeprefix("secret:"))
        if isinstance(value, DeliveryOutcome):
            self.failure = self.failure or value
            return ""
        self.used.append(value)
        return value


class SmsChannel:
    def __init__(
        self, config: SmsConfig, client: httpx.AsyncClient, secrets: SecretResolver
    ) -> None:
        self.config = config
        self._client = client
        self._secrets = secrets

    def text(self, rendered: RenderedMessage) -> str:
        """The SMS body: the short form, folded and cut to the segment budget."""
        return fit_sms(
            rendered.short, ascii=self.config.ascii_fold, max_segments=self.config.max_segments
        )

    async def send(self, note: Notification, rendered: RenderedMessage) -> DeliveryOutcome:
        cfg = self.config
        fill = _Fill({"phone": cfg.phone, "text": self.text(rendered)}, self._secrets)
        url = fill(cfg.url, "url")
        headers = {k: fill(v, "header") for k, v in cfg.headers.items()}
        body = fill(cfg.body, cfg.body_format) if cfg.body is not None else None
        if fill.failure is not None:
            return fill.failure
        if body is not None:
            headers.setdefault("Content-Type", _CONTENT_TYPES[cfg.body_format])
        response = await request(
            self._client,
            cfg.method,
            url,
            headers=headers,
            content=body.encode() if body is not None else None,
            timeout_s=cfg.timeout_s,
        )
        if isinstance(response, DeliveryOutcome):
            return redact(response, *fill.used)
        return redact(self.classify(response), *fill.used)

    def classify(self, response: httpx.Response) -> DeliveryOutcome:
        cfg = self.config
        code = response.status_code
        if code not in cfg.success_status:
            if response.is_success:
                return DeliveryOutcome.failed(f"HTTP {code} is not a success status", code)
            return outcome_for_status(code, f"HTTP {code}: {snippet(response)}")
        if cfg.success_jsonpath is not None and not self._jsonpath_ok(response):
            return DeliveryOutcome.failed(f"gateway refused: {snippet(response)}", code)
        if cfg.success_regex is not None and not re.search(cfg.success_regex, response.text):
            return DeliveryOutcome.failed(f"gateway refused: {snippet(response)}", code)
        return DeliveryOutcome.delivered(f"HTTP {code}: {snippet(response, 120)}", code)

    def _jsonpath_ok(self, response: httpx.Response) -> bool:
        from jsonpath_ng.ext.parser import parse

        data = json_body(response)
        if data is None or self.config.success_jsonpath is None:
            return False
        found = [m.value for m in parse(self.config.success_jsonpath).find(data)]
        return any(str(v) == self.config.success_value for v in found)
