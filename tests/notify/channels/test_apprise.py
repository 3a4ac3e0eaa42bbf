from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from app.notify.channels.config import parse_channel_config
from app.notify.channels.factory import AppriseChannel, build_channel
from app.notify.messages.render import render
from tests.support.http import Handler, Reply, ScriptedHTTP
from tests.support.notes import UNIT_PLACE, make_note

Serve = Callable[[Handler], Awaitable[ScriptedHTTP]]


def _channel(url: str, client: httpx.AsyncClient) -> AppriseChannel:
    config = parse_channel_config({"type": "apprise", "url_secret": "APPRISE_URL"})
    channel = build_channel(config, client, {"APPRISE_URL": url}.__getitem__)
    assert isinstance(channel, AppriseChannel)
    return channel


async def test_json_url_delivers_title_and_body(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    server = await serve(lambda req: Reply(200, json={"received": True}))
    url = f"json://127.0.0.1:{server.port}/hooks/apprise"
    note = make_note(event="escalation")
    outcome = await _channel(url, http_client).send(note, render(note))
    assert outcome.ok, outcome
    [req] = server.requests
    assert req.method == "POST" and req.path == "/hooks/apprise"
    payload = req.json()
    assert payload["version"] == "1.0"
    assert payload["type"] == "failure"
    assert payload["title"].startswith("[CHUYỂN CẤP]")
    assert UNIT_PLACE["vi"] in payload["message"]
    assert "gián đoạn đã 2 giờ 15 phút" in payload["message"]
    assert "Chuyển cấp:" not in payload["message"]  # the tag says it once


async def test_recovery_uses_success_type(serve: Serve, http_client: httpx.AsyncClient) -> None:
    server = await serve(lambda req: Reply(204))
    note = make_note(event="up", incident_state="resolved")
    outcome = await _channel(f"json://127.0.0.1:{server.port}/", http_client).send(
        note, render(note)
    )
    assert outcome.ok
    assert server.requests[0].json()["type"] == "success"


async def test_server_error_is_transient(serve: Serve, http_client: httpx.AsyncClient) -> None:
    server = await serve(lambda req: Reply(503))
    channel = _channel(f"json://127.0.0.1:{server.port}/token-in-path", http_client)
    outcome = await channel.send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent, outcome.status_code) == (False, False, 503)
    assert "token-in-path" not in outcome.detail


async def test_client_error_is_permanent(serve: Serve, http_client: httpx.AsyncClient) -> None:
    server = await serve(lambda req: Reply(403))
    channel = _channel(f"json://127.0.0.1:{server.port}/", http_client)
    outcome = await channel.send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent, outcome.status_code) == (False, True, 403)


async def test_unparseable_url_is_permanent(http_client: httpx.AsyncClient) -> None:
    outcome = await _channel("khongphai://dich-vu", http_client).send(
        make_note(), render(make_note())
    )
    assert (outcome.ok, outcome.permanent) == (False, True)
    assert "khongphai" not in outcome.detail


async def test_plain_url_config(serve: Serve, http_client: httpx.AsyncClient) -> None:
    server = await serve(lambda req: Reply(200))
    config = parse_channel_config({"type": "apprise", "url": f"json://127.0.0.1:{server.port}/"})
    note = make_note(event="test")
    outcome = await build_channel(config, http_client).send(note, render(note))
    assert outcome.ok
    assert server.requests[0].json()["type"] == "info"
