from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from app.notify.channels.config import parse_channel_config
from app.notify.channels.factory import TelegramChannel, build_channel
from app.notify.messages.render import render
from tests.support.http import Handler, ScriptedHTTP
from tests.support.notes import UNIT_PLACE, make_note, no_secrets
from tests.support.saas import FakeTelegram

Serve = Callable[[Handler], Awaitable[ScriptedHTTP]]
TOKEN = "123456:AAE-thongsuot-test-token"
SECRETS = {"TG_BOT_TOKEN": TOKEN}.__getitem__


async def _channel(
    serve: Serve, client: httpx.AsyncClient, chat: str = "-1001234567890"
) -> tuple[TelegramChannel, FakeTelegram, ScriptedHTTP]:
    fake = FakeTelegram(TOKEN, {"-1001234567890"})
    server = await serve(fake)
    config = parse_channel_config(
        {
            "type": "telegram",
            "chat_id": int(chat),
            "bot_token_secret": "TG_BOT_TOKEN",
            "base_url": server.origin,
        }
    )
    channel = build_channel(config, client, SECRETS)
    assert isinstance(channel, TelegramChannel)
    return channel, fake, server


async def test_delivers_html_message_with_diacritics(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    channel, fake, server = await _channel(serve, http_client)
    note = make_note()
    outcome = await channel.send(note, render(note))
    assert outcome.ok, outcome
    assert outcome.detail == "message_id=100"
    [req] = server.requests
    assert req.path == f"/bot{TOKEN}/sendMessage"
    [sent] = fake.delivered
    assert sent["chat_id"] == "-1001234567890"
    assert sent["parse_mode"] == "HTML"
    assert sent["disable_web_page_preview"] is True
    assert "<b>[GIÁN ĐOẠN]</b>" in sent["text"]
    assert UNIT_PLACE["vi"] in sent["text"]
    assert "quá thời gian chờ phản hồi" in sent["text"]
    assert '<a href="https://giamsat.hungyen.gov.vn/api/v1/incidents/42/ack">' in sent["text"]


async def test_markup_in_probe_message_is_escaped(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    channel, fake, _ = await _channel(serve, http_client)
    note = make_note(check_name="<html> trả về 500 & <b>lỗi")
    outcome = await channel.send(note, render(note))
    assert outcome.ok, outcome  # the fake rejects unbalanced tags as Telegram does
    assert "&lt;html&gt; trả về 500 &amp; &lt;b&gt;lỗi" in fake.delivered[0]["text"]


async def test_flood_control_is_transient_with_retry_after(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    channel, fake, _ = await _channel(serve, http_client)
    fake.mode = "flood"
    note = make_note()
    outcome = await channel.send(note, render(note))
    assert (outcome.ok, outcome.permanent, outcome.status_code) == (False, False, 429)
    assert outcome.retry_after == 5
    assert "retry_after=5s" in outcome.detail


async def test_bad_gateway_without_json_is_transient(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    channel, fake, _ = await _channel(serve, http_client)
    fake.mode = "down"
    note = make_note()
    outcome = await channel.send(note, render(note))
    assert (outcome.ok, outcome.permanent, outcome.status_code) == (False, False, 502)


async def test_unknown_chat_is_permanent(serve: Serve, http_client: httpx.AsyncClient) -> None:
    channel, _, _ = await _channel(serve, http_client, chat="-1009999")
    note = make_note()
    outcome = await channel.send(note, render(note))
    assert (outcome.ok, outcome.permanent, outcome.status_code) == (False, True, 400)
    assert "chat not found" in outcome.detail


async def test_wrong_token_is_permanent_and_not_leaked(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    fake = FakeTelegram(TOKEN, {"1"})
    server = await serve(fake)
    config = parse_channel_config(
        {
            "type": "telegram",
            "chat_id": "1",
            "bot_token_secret": "TG_BOT_TOKEN",
            "base_url": server.origin,
        }
    )
    channel = build_channel(config, http_client, {"TG_BOT_TOKEN": "999:revoked"}.__getitem__)
    outcome = await channel.send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent, outcome.status_code) == (False, True, 401)
    assert "999:revoked" not in outcome.detail


async def test_missing_secret_is_permanent(serve: Serve, http_client: httpx.AsyncClient) -> None:
    channel, _, server = await _channel(serve, http_client)
    channel._secrets = no_secrets
    outcome = await channel.send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent) == (False, True)
    assert "TG_BOT_TOKEN" in outcome.detail
    assert server.requests == []


async def test_connection_refused_is_transient(http_client: httpx.AsyncClient) -> None:
    server = await ScriptedHTTP(handler=FakeTelegram(TOKEN, set())).start()
    url = server.origin
    await server.close()  # nothing listens on this loopback port any more
    config = parse_channel_config(
        {"type": "telegram", "chat_id": "1", "bot_token_secret": "TG_BOT_TOKEN", "base_url": url}
    )
    outcome = await build_channel(config, http_client, SECRETS).send(
        make_note(), render(make_note())
    )
    assert (outcome.ok, outcome.permanent) == (False, False)
    assert TOKEN not in outcome.detail
