"""Helpers every HTTP channel shares: secrets, one guarded request, redaction."""

from __future__ import annotations

import base64
import html
import itertools
import json
import re
from typing import Any
from urllib.parse import quote, quote_plus

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
    except UnicodeEncodeError:  # a header value (a secret, say) that is not ASCII
        return DeliveryOutcome.failed("request not sendable: a header value is not ASCII")


def secret_forms(*secrets: str) -> set[str]:
    """Every spelling of each secret a gateway may echo back: as is, URL-quoted (path
    and query style), form-encoded, JSON-escaped (ASCII or not), HTML-escaped, base64
    (a ready Basic header value), and base64 of ``a:b`` for pairs (user, password)."""
    forms: set[str] = set()
    for secret in filter(None, secrets):
        forms |= {
            secret,
            quote(secret, safe=""),
            quote(secret),
            quote_plus(secret),
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
            html.escape(secret),
            base64.b64encode(secret.encode()).decode(),
            base64.urlsafe_b64encode(secret.encode()).decode(),
        }
    for user, password in itertools.permutations(filter(None, secrets), 2):
        forms.add(base64.b64encode(f"{user}:{password}".encode()).decode())
    return {form for form in forms if form}


def redact(outcome: DeliveryOutcome, *secrets: str) -> DeliveryOutcome:
    """Scrub secret values (a token in a URL path, say) out of ``detail``, in every
    encoding they may have travelled in (percent-escapes in either letter case)."""
    forms = sorted(secret_forms(*secrets), key=len, reverse=True)
    if not forms:
        return outcome
    pattern = re.compile("|".join(re.escape(form) for form in forms), re.IGNORECASE)
    detail = pattern.sub("***", outcome.detail)
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
