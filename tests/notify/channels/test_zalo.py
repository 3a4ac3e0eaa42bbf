from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from app.notify.channels.base import Channel
from app.notify.channels.config import parse_channel_config
from app.notify.channels.factory import build_channel
from app.notify.messages.render import render
from tests.support.http import Handler, ScriptedHTTP
from tests.support.notes import UNIT_PLACE, make_note
from tests.support.saas import FakeZalo

Serve = Callable[[Handler], Awaitable[ScriptedHTTP]]
TOKEN = "oa-access-token-thu-nghiem"
FOLLOWER = "2468458835296197922"


async def _setup(
    serve: Serve, client: httpx.AsyncClient, token: str = TOKEN, **extra: object
) -> tuple[Channel, FakeZalo, ScriptedHTTP]:
    fake = FakeZalo(TOKEN, {FOLLOWER})
    server = await serve(fake)
    config = parse_channel_config(
        {
            "type": "zalo",
            "user_id": extra.pop("user_id", FOLLOWER),
            "access_token_secret": "ZALO_OA_TOKEN",
            "base_url": server.origin,
            **extra,
        }
    )
    return build_channel(config, client, {"ZALO_OA_TOKEN": token}.__getitem__), fake, server


async def test_delivers_text_with_diacritics(serve: Serve, http_client: httpx.AsyncClient) -> None:
    channel, fake, server = await _setup(serve, http_client)
    note = make_note()
    outcome = await channel.send(note, render(note))
    assert outcome.ok and outcome.detail == "message_id=mid1", outcome
    [req] = server.requests
    assert req.path == "/v3.0/oa/message/cs"
    assert req.headers["access_token"] == TOKEN
    [body] = fake.delivered
    assert body["recipient"] == {"user_id": FOLLOWER}
    text = body["message"]["text"]
    assert text.startswith("[GIÁN ĐOẠN]")
    assert UNIT_PLACE["vi"] in text and "Bắt đầu từ: 23:50 12/05/2026" in text


async def test_invalid_token_is_permanent(serve: Serve, http_client: httpx.AsyncClient) -> None:
    channel, _, _ = await _setup(serve, http_client, token="expired")
    outcome = await channel.send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent) == (False, True)
    assert "-216" in outcome.detail and "expired" not in outcome.detail


async def test_configured_error_code_is_transient(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    channel, _, _ = await _setup(serve, http_client, user_id="1", retry_on_errors=[-213])
    outcome = await channel.send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent) == (False, False)
    assert "zalo error -213" in outcome.detail


async def test_server_error_is_transient(serve: Serve, http_client: httpx.AsyncClient) -> None:
    channel, fake, _ = await _setup(serve, http_client)
    fake.mode = "down"
    outcome = await channel.send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent, outcome.status_code) == (False, False, 503)


async def test_long_text_is_cut_to_zalo_limit(serve: Serve, http_client: httpx.AsyncClient) -> None:
    channel, fake, _ = await _setup(serve, http_client)
    note = make_note(instructions="x" * 5000)
    rendered = render(note)
    outcome = await channel.send(note, rendered)
    assert outcome.ok
    assert len(fake.delivered[0]["message"]["text"]) == 2000
