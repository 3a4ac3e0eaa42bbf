"""Helpers every HTTP channel shares: secrets, one guarded request, redaction."""

from __future__ import annotations

from typing import Any

import httpx

from app.notify.channels.base import HTTP_ERRORS, DeliveryOutcome, outcome_for_transport_error
from probes.secrets import SecretResolver


def resolve_secret(secrets: SecretResolver, name: str) -> str | DeliveryOutcome:
    """The secret's value, or a permanent outcome naming (never showing) it."""
    try:
        value = secrets(name)
    except (LookupError, OSError) as exc:
        return DeliveryOutcome.failed(f"secret {name} unavailable: {exc}")
    if not value:
        return DeliveryOutcome.failed(f"secret {name} is empty")
    return value


async def request(
    client: httpx.AsyncClient, method: str, url: str, *, timeout_s: float, **kwargs: Any
) -> httpx.Response | DeliveryOutcome:
    """One request; transport failures come back as outcomes, not exceptions."""
    try:
        return await client.request(method, url, timeout=timeout_s, **kwargs)
    except HTTP_ERRORS as exc:
        return outcome_for_transport_error(exc)


def redact(outcome: DeliveryOutcome, *secrets: str) -> DeliveryOutcome:
    """Scrub secret values (a token in a URL path, say) out of ``detail``."""
    detail = outcome.detail
    for secret in secrets:
        if secret:
            detail = detail.replace(secret, "***")
    if detail == outcome.detail:
        return outcome
    return DeliveryOutcome(
        outcome.ok, outcome.permanent, detail, outcome.status_code, outcome.retry_after
    )


def json_body(response: httpx.Response) -> dict[str, Any] | None:
    """The response's JSON object, or None when it is not one."""
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def snippet(response: httpx.Response, limit: int = 200) -> str:
    return " ".join(response.text[:limit].split())
