from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import ValidationError

from app.notify.channels.base import Channel
from app.notify.channels.config import parse_channel_config
from app.notify.channels.factory import SmsChannel, build_channel
from app.notify.channels.sms_presets import ESMS_VN_JSON
from app.notify.messages.render import render
from app.notify.messages.sms_text import encoding_of, segments_needed
from tests.support.http import Handler, Reply, Request, ScriptedHTTP
from tests.support.notes import make_note, no_secrets
from tests.support.saas import FakeEsms

Serve = Callable[[Handler], Awaitable[ScriptedHTTP]]
ESMS_SECRETS = {"ESMS_API_KEY": "api-key-1", "ESMS_SECRET_KEY": 'secret-"key"-2'}


def _esms(url: str, client: httpx.AsyncClient, **overrides: object) -> Channel:
    preset = {**ESMS_VN_JSON, "url": url + FakeEsms.PATH, **overrides}
    return build_channel(parse_channel_config(preset), client, ESMS_SECRETS.__getitem__)


async def test_esms_preset_delivers_one_ascii_segment(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    fake = FakeEsms("api-key-1", 'secret-"key"-2')
    server = await serve(fake)
    channel = _esms(server.origin, http_client)
    note = make_note()
    outcome = await channel.send(note, render(note))
    assert outcome.ok, outcome
    assert "d533459e-0001" in outcome.detail
    [sent] = fake.delivered
    assert sent["Phone"] == "0912345678"
    assert sent["SmsType"] == "2"
    content = sent["Content"]
    assert content.startswith("[GIAN DOAN] TTPVHCC phuong Hien Nam tu 23:50 12/05")
    assert content.endswith("https://giamsat.hungyen.gov.vn/a/7.ABCDEFGHJK")
    assert encoding_of(content) == "gsm7" and segments_needed(content) == 1
    assert server.requests[0].headers["content-type"].startswith("application/json")


async def test_esms_unicode_variant_keeps_diacritics(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    fake = FakeEsms("api-key-1", 'secret-"key"-2')
    server = await serve(fake)
    channel = _esms(server.origin, http_client, ascii_fold=False, max_segments=3)
    outcome = await channel.send(make_note(), render(make_note()))
    assert outcome.ok
    content = fake.delivered[0]["Content"]
    assert content.startswith("[GIÁN ĐOẠN] TTPVHCC phường Hiến Nam")
    assert encoding_of(content) == "ucs2" and segments_needed(content) <= 3


async def test_esms_refusal_code_is_permanent_and_keys_not_leaked(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    server = await serve(FakeEsms("other", "keys"))
    outcome = await _esms(server.origin, http_client).send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent) == (False, True)
    assert "101" in outcome.detail
    assert "api-key-1" not in outcome.detail


async def test_gateway_5xx_is_transient(serve: Serve, http_client: httpx.AsyncClient) -> None:
    fake = FakeEsms("api-key-1", 'secret-"key"-2')
    fake.mode = "down"
    server = await serve(fake)
    outcome = await _esms(server.origin, http_client).send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent, outcome.status_code) == (False, False, 500)


async def test_get_gateway_with_url_placeholders_and_regex(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    def gateway(req: Request) -> Reply:
        ok = req.query.get("key") == ["k&1"] and req.query.get("to") == ["+84912345678"]
        return Reply(200, body=b"OK: queued" if ok else b"ERR: auth")

    server = await serve(gateway)
    config = parse_channel_config(
        {
            "type": "sms",
            "phone": "+84912345678",
            "method": "GET",
            "url": server.origin + "/send?key={secret:GW_KEY}&to={phone}&msg={text}",
            "success_regex": "^OK",
            "timeout_s": 2,
        }
    )
    channel = build_channel(config, http_client, {"GW_KEY": "k&1"}.__getitem__)
    note = make_note(event="up", incident_state="resolved")
    outcome = await channel.send(note, render(note))
    assert outcome.ok, outcome
    msg = server.requests[0].query["msg"][0]
    assert msg.startswith("[KHOI PHUC] TTPVHCC phuong Hien Nam")
    assert "k&1" not in outcome.detail

    bad = build_channel(config, http_client, {"GW_KEY": "wrong"}.__getitem__)
    refused = await bad.send(note, render(note))
    assert (refused.ok, refused.permanent) == (False, True)


async def test_form_body_is_form_encoded(serve: Serve, http_client: httpx.AsyncClient) -> None:
    server = await serve(lambda req: Reply(202, body=b""))
    config = parse_channel_config(
        {
            "type": "sms",
            "phone": "0912345678",
            "url": server.origin + "/sms",
            "body_format": "form",
            "body": "to={phone}&text={text}&sender=HY%20DVC",
            "ascii_fold": False,
            "max_segments": 4,
        }
    )
    channel = build_channel(config, http_client, no_secrets)
    outcome = await channel.send(make_note(), render(make_note()))
    assert outcome.ok
    req = server.requests[0]
    assert req.headers["content-type"].startswith("application/x-www-form-urlencoded")
    form = parse_qs(req.body.decode())
    assert form["to"] == ["0912345678"]
    assert form["text"][0].startswith("[GIÁN ĐOẠN] TTPVHCC phường Hiến Nam")


async def test_json_escaping_survives_quotes_in_names(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    fake = FakeEsms("api-key-1", 'secret-"key"-2')
    server = await serve(fake)
    channel = _esms(server.origin, http_client)
    note = make_note(unit_name='Xã "Tân Lập"\\')
    outcome = await channel.send(note, render(note))
    assert outcome.ok, outcome
    assert 'Xa "Tan Lap"\\' in fake.delivered[0]["Content"]
    json.loads(server.requests[0].body)


async def test_missing_secret_is_permanent(serve: Serve, http_client: httpx.AsyncClient) -> None:
    server = await serve(FakeEsms("a", "b"))
    config = parse_channel_config({**ESMS_VN_JSON, "url": server.origin + FakeEsms.PATH})
    channel = build_channel(config, http_client, no_secrets)
    assert isinstance(channel, SmsChannel)
    outcome = await channel.send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent) == (False, True)
    assert "ESMS_API_KEY" in outcome.detail
    assert server.requests == []


def test_config_rejects_half_a_success_rule() -> None:
    with pytest.raises(ValidationError, match="success_value"):
        parse_channel_config({**ESMS_VN_JSON, "success_value": None})
    with pytest.raises(ValidationError, match="phone"):
        parse_channel_config({**ESMS_VN_JSON, "phone": "call me"})
