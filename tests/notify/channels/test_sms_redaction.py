"""A gateway that echoes the request back in its error never puts the secret into
``last_error``, in whatever encoding the secret travelled (issue 10.9)."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from app.notify.channels._http import redact
from app.notify.channels.base import DeliveryOutcome
from app.notify.channels.config import parse_channel_config
from app.notify.channels.factory import build_channel
from app.notify.messages.render import render
from tests.support.http import Handler, Reply, Request, ScriptedHTTP
from tests.support.notes import make_note

Serve = Callable[[Handler], Awaitable[ScriptedHTTP]]
# encodes differently as is, URL-quoted, form-encoded, JSON-escaped and in base64
SECRET = 'k+y/1&a=b c"đ\\'
SECRETS = {"SMS_KEY": SECRET, "SMS_USER": "brandname"}


def _echo(request: Request) -> Reply:
    """A gateway refusing the message and quoting the request back, like many do."""
    return Reply(400, f"bad request {request.target} {request.headers} {request.body!r}"[:150])


def _echo_body(request: Request) -> Reply:
    return Reply(400, "rejected: " + request.body.decode())


def _sms(url: str, **extra: Any) -> dict[str, Any]:
    return {"type": "sms", "phone": "0912345678", "url": url, **extra}


@pytest.mark.parametrize(
    ("config", "handler"),
    [
        ({"url": "{origin}/send/{secret:SMS_KEY}?key={secret:SMS_KEY}"}, _echo),
        (
            {
                "url": "{origin}/send",
                "body": "key={secret:SMS_KEY}&to={phone}",
                "body_format": "form",
            },
            _echo_body,
        ),
        (
            {"url": "{origin}/send", "body": '{"key": "{secret:SMS_KEY}", "to": "{phone}"}'},
            _echo_body,
        ),
    ],
)
async def test_the_secret_never_reaches_last_error(
    serve: Serve, http_client: httpx.AsyncClient, config: dict[str, Any], handler: Handler
) -> None:
    server = await serve(handler)
    values = {
        k: v.replace("{origin}", server.origin) if isinstance(v, str) else v
        for k, v in config.items()
    }
    channel = build_channel(parse_channel_config(_sms(**values)), http_client, SECRETS.__getitem__)
    note = make_note()
    outcome = await channel.send(note, render(note))
    assert not outcome.ok and outcome.status_code == 400
    assert "bad request" in outcome.detail or "rejected" in outcome.detail
    for form in _leaks(SECRET):
        assert form.lower() not in outcome.detail.lower(), (form, outcome.detail)
    assert "***" in outcome.detail


def _leaks(secret: str) -> list[str]:
    return [
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        base64.b64encode(secret.encode()).decode(),
    ]


def test_every_encoding_is_redacted() -> None:
    basic = base64.b64encode(f"brandname:{SECRET}".encode()).decode()
    detail = " | ".join([*_leaks(SECRET), quote(SECRET, safe="").lower(), basic])
    redacted = redact(DeliveryOutcome.failed(detail), SECRET, "brandname").detail
    assert set(redacted.split(" | ")) == {"***"}, redacted
    assert redact(DeliveryOutcome.failed("x"), "").detail == "x"


async def test_a_secret_header_that_is_not_ascii_is_a_permanent_failure(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    server = await serve(_echo)
    config = _sms(server.origin + "/send", headers={"X-Api-Key": "{secret:SMS_KEY}"})
    channel = build_channel(parse_channel_config(config), http_client, SECRETS.__getitem__)
    outcome = await channel.send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent) == (False, True)
    assert "ASCII" in outcome.detail and "đ" not in outcome.detail
