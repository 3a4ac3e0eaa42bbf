"""The long tail (Slack, Teams, Discord, Matrix, ...) through apprise URLs.

apprise reports success or failure per service but not a structured status;
its warning log carries ``error=<HTTP status>``, which we use to tell a 4xx
(permanent) from the rest (transient). A URL apprise cannot parse is a
configuration error, so permanent. URLs often embed tokens: they never appear
in ``detail``.
"""

from __future__ import annotations

import re

import apprise

from app.notify.channels._http import redact, resolve_secret
from app.notify.channels.base import (
    DeliveryOutcome,
    Event,
    Notification,
    RenderedMessage,
    is_transient_status,
)
from app.notify.channels.config import AppriseConfig
from probes.secrets import SecretResolver

_STATUS_IN_LOG = re.compile(r"error=(\d{3})")

_NOTIFY_TYPES = {
    Event.DOWN: "failure",
    Event.REMINDER: "failure",
    Event.ESCALATION: "failure",
    Event.UP: "success",
    Event.FLAPPING: "warning",
    Event.MONITOR_CONNECTIVITY: "warning",
    Event.TEST: "info",
}


class AppriseChannel:
    def __init__(self, config: AppriseConfig, secrets: SecretResolver) -> None:
        self.config = config
        self._secrets = secrets

    def _url(self) -> str | DeliveryOutcome:
        if self.config.url_secret is not None:
            return resolve_secret(self._secrets, self.config.url_secret)
        assert self.config.url is not None  # the model validator guarantees one of them
        return self.config.url

    async def send(self, note: Notification, rendered: RenderedMessage) -> DeliveryOutcome:
        url = self._url()
        if isinstance(url, DeliveryOutcome):
            return url
        notifier = apprise.Apprise()
        if not notifier.add(url):
            return DeliveryOutcome.failed("apprise does not understand this URL")
        result = await notifier.async_notify(
            body=rendered.text,
            title=rendered.subject,
            notify_type=_NOTIFY_TYPES[note.event],
            body_format="text",
            timeout=self.config.timeout_s,
        )
        return redact(_classify(result), url)


def _classify(result: object) -> DeliveryOutcome:
    if bool(result):
        return DeliveryOutcome.delivered("apprise: delivered")
    messages = [str(getattr(e, "message", e)) for e in getattr(result, "logs", list)()]
    status_name = getattr(getattr(result, "status", None), "name", "FAILURE")
    codes = [int(m.group(1)) for line in messages if (m := _STATUS_IN_LOG.search(line))]
    detail = f"apprise {status_name}: {' | '.join(messages)[-300:]}".rstrip(": ")
    if codes and not is_transient_status(codes[-1]) and 400 <= codes[-1] < 500:
        return DeliveryOutcome.failed(detail, codes[-1])
    return DeliveryOutcome.transient(detail, codes[-1] if codes else None)
