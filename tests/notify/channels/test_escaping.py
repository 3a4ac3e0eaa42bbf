"""Names with ``<``, ``&``, quotes and emoji arrive on every channel, shown as text.

Each channel gets its format's escaping: HTML for the e-mail HTML part and Telegram,
none for plain text (e-mail text part, Zalo, SMS, apprise), JSON for webhooks. The
Telegram fake parses ``parse_mode=HTML`` as strictly as the Bot API does, and the
channel falls back to plain text when Telegram still refuses the markup.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from email.message import EmailMessage
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from app.notify.channels.base import Event, Notification, RenderedMessage
from app.notify.channels.config import SmtpConfig, parse_channel_config
from app.notify.channels.factory import build_channel
from app.notify.channels.sms_presets import ESMS_VN_JSON
from app.notify.channels.webhook import verify_signature
from app.notify.messages.render import render
from tests.support.http import Handler, Reply, Request, ScriptedHTTP
from tests.support.notes import make_note, no_secrets
from tests.support.saas import FakeEsms, FakeTelegram, FakeZalo

Serve = Callable[[Handler], Awaitable[ScriptedHTTP]]

UNIT = "Xã <Tân Hưng> & \"Phố\" 'Hiến' 🚨"
SERVICE = "<script>alert('x')</script> Trung tâm PVHCC & một cửa"
CHECK = '</b><i>Cổng</i> "một cửa"'
MESSAGE = "<html> trả về 500 & <b>lỗi"
DATA_TAGS = ("<Tân Hưng>", "<script>", "</script>", "</b><i>", "<html>", "<b>lỗi")
TG_TOKEN = "123456:AAE-thongsuot-test-token"
CHAT = "-1001234567890"


def hostile(**overrides: Any) -> Notification:
    fields = {
        "unit_name": UNIT,
        "unit_kind": "",
        "service_kind": "emc",  # no short name: the headline shows the service's own name
        "service_name": SERVICE,
        "check_name": CHECK,
        "message": MESSAGE,
    }
    return make_note(**(fields | overrides))


def _assert_no_data_tags(markup: str) -> None:
    leaked = [tag for tag in DATA_TAGS if tag in markup]
    assert leaked == [], f"raw tags from the data in HTML: {leaked}"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def shown_html(markup: str) -> str:
    """What a mail reader shows of an HTML part (text only)."""
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


# --- Telegram, parsed as the Bot API does -------------------------------------------

# https://core.telegram.org/bots/api#html-style
TG_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler"}
TG_TAGS |= {"a", "tg-emoji", "code", "pre", "blockquote"}
_TG_TOKEN = re.compile(
    r"<(/?)([a-z][a-z-]*)((?:\s+[a-z-]+=\"[^\"<>]*\")*)\s*>"  # a tag
    r"|&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);"  # an entity Telegram knows
    r"|([<>&])"  # anything else that is markup: refused
)


def telegram_parse(text: str) -> str | None:
    """The text Telegram shows, or None when it answers "can't parse entities"."""
    stack: list[str] = []
    for m in _TG_TOKEN.finditer(text):
        if m.group(4) is not None:
            return None
        if m.group(2) is None:
            continue
        closing, tag = m.group(1), m.group(2)
        if tag not in TG_TAGS:
            return None
        if not closing:
            stack.append(tag)
        elif not stack or stack.pop() != tag:
            return None
    if stack:
        return None
    return html.unescape(re.sub(r"</?[a-z][a-z-]*[^>]*>", "", text))


class StrictTelegram(FakeTelegram):
    """FakeTelegram that parses HTML like the Bot API; ``refuse_html`` refuses every HTML."""

    def __init__(self) -> None:
        super().__init__(TG_TOKEN, {CHAT})
        self.refuse_html = False
        self.shown: list[str] = []

    def __call__(self, req: Request) -> Reply:
        params = req.json() if req.body else {}
        if params.get("parse_mode") == "HTML":
            shown = None if self.refuse_html else telegram_parse(params["text"])
            if shown is None:
                body = {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: can't parse entities: "
                    'Unsupported start tag "tân" at byte offset 60',
                }
                return Reply(400, json=body)
        else:
            shown = params.get("text", "")
        reply = super().__call__(req)
        if reply.status == 200:
            self.shown.append(shown)
        return reply


async def _telegram(
    serve: Serve, client: httpx.AsyncClient
) -> tuple[Any, StrictTelegram, ScriptedHTTP]:
    fake = StrictTelegram()
    server = await serve(fake)
    config = parse_channel_config(
        {
            "type": "telegram",
            "chat_id": int(CHAT),
            "bot_token_secret": "TG",
            "base_url": server.origin,
        }
    )
    return build_channel(config, client, {"TG": TG_TOKEN}.__getitem__), fake, server


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("event", [e.value for e in Event])
async def test_telegram_shows_names_as_text(
    serve: Serve, http_client: httpx.AsyncClient, event: str, lang: str
) -> None:
    channel, fake, server = await _telegram(serve, http_client)
    state = "resolved" if event == "up" else "open"
    note = hostile(event=event, lang=lang, incident_state=state)
    outcome = await channel.send(note, render(note))
    assert outcome.ok, outcome
    [req] = server.requests  # accepted as HTML the first time
    sent = req.json()
    assert sent["parse_mode"] == "HTML"
    _assert_no_data_tags(sent["text"])
    [shown] = fake.shown
    if event != "test":  # a test message names no unit
        assert UNIT in shown and SERVICE in shown and CHECK in shown and MESSAGE not in shown


async def test_telegram_refusing_the_html_gets_plain_text(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    channel, fake, server = await _telegram(serve, http_client)
    fake.refuse_html = True
    note = hostile()
    rendered = render(note)
    outcome = await channel.send(note, rendered)
    assert outcome.ok, outcome
    assert not outcome.permanent
    assert "plain text" in outcome.detail
    first, second = server.requests
    assert first.json()["parse_mode"] == "HTML"
    assert "parse_mode" not in second.json()
    assert second.json()["text"] == rendered.text
    assert second.json()["chat_id"] == first.json()["chat_id"]
    [shown] = fake.shown
    assert UNIT in shown and SERVICE in shown


async def test_telegram_other_400s_stay_permanent_without_a_second_try(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    fake = StrictTelegram()
    server = await serve(fake)
    config = parse_channel_config(
        {"type": "telegram", "chat_id": -42, "bot_token_secret": "TG", "base_url": server.origin}
    )
    channel = build_channel(config, http_client, {"TG": TG_TOKEN}.__getitem__)
    outcome = await channel.send(hostile(), render(hostile()))
    assert (outcome.ok, outcome.permanent, outcome.status_code) == (False, True, 400)
    assert "chat not found" in outcome.detail
    assert len(server.requests) == 1


# --- e-mail ---------------------------------------------------------------------------


class Mailbox:
    """aiosmtpd handler keeping every accepted mail."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))
        return "250 2.0.0 accepted"


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(mailbox, hostname="mail.test"), "127.0.0.1", 0
    )
    yield mailbox, server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_email_text_and_html_parts(
    smtp: tuple[Mailbox, int], http_client: httpx.AsyncClient, lang: str
) -> None:
    mailbox, port = smtp
    relay = SmtpConfig(host="127.0.0.1", port=port, from_addr="canhbao@hungyen.gov.vn")
    config = parse_channel_config({"type": "email", "to": ["truc.ban@hungyen.gov.vn"]})
    channel = build_channel(config, http_client, no_secrets, smtp=relay)
    note = hostile(lang=lang)
    outcome = await channel.send(note, render(note))
    assert outcome.ok, outcome
    [msg] = mailbox.messages
    assert UNIT in str(msg["Subject"]) and SERVICE in str(msg["Subject"])
    text_part = msg.get_body(("plain",))
    html_part = msg.get_body(("html",))
    assert text_part is not None and html_part is not None
    text = text_part.get_content()
    assert UNIT in text and SERVICE in text and CHECK in text and MESSAGE not in text
    assert "&lt;" not in text and "&amp;" not in text  # plain text is not HTML-escaped
    markup = html_part.get_content()
    _assert_no_data_tags(markup)
    shown = shown_html(markup)
    assert shown.count(UNIT) >= 2 and SERVICE in shown and CHECK in shown and MESSAGE not in shown


# --- JSON and plain-text channels -------------------------------------------------------


async def test_webhook_carries_names_as_json_strings(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    server = await serve(lambda req: Reply(204))
    config = parse_channel_config({"type": "webhook", "url": server.origin, "secret": "K"})
    channel = build_channel(config, http_client, {"K": "khoa-bi-mat"}.__getitem__)
    note = hostile()
    assert (await channel.send(note, render(note))).ok
    [req] = server.requests
    assert verify_signature(b"khoa-bi-mat", req.body, req.headers["x-thongsuot-signature"])
    payload = req.json()
    assert payload["unit"]["name"] == UNIT
    assert payload["service"]["name"] == SERVICE
    assert payload["check"]["name"] == CHECK
    assert payload["error"]["message"] == MESSAGE
    assert UNIT in payload["subject"] and UNIT in payload["text"]
    assert MESSAGE not in payload["text"]  # the probe's own words: only in error.message


async def test_zalo_shows_names_as_text(serve: Serve, http_client: httpx.AsyncClient) -> None:
    fake = FakeZalo("oa-token", {"2468"})
    server = await serve(fake)
    config = parse_channel_config(
        {"type": "zalo", "user_id": "2468", "access_token_secret": "Z", "base_url": server.origin}
    )
    channel = build_channel(config, http_client, {"Z": "oa-token"}.__getitem__)
    note = hostile()
    assert (await channel.send(note, render(note))).ok
    [body] = fake.delivered
    text = body["message"]["text"]
    assert UNIT in text and SERVICE in text and MESSAGE not in text
    assert "&lt;" not in text and "&amp;" not in text


async def test_sms_shows_names_as_text(serve: Serve, http_client: httpx.AsyncClient) -> None:
    fake = FakeEsms("api-key-1", "secret-2")
    server = await serve(fake)
    preset = {
        **ESMS_VN_JSON,
        "url": server.origin + FakeEsms.PATH,
        "ascii_fold": False,
        "max_segments": 6,
    }
    secrets = {"ESMS_API_KEY": "api-key-1", "ESMS_SECRET_KEY": "secret-2"}
    channel = build_channel(parse_channel_config(preset), http_client, secrets.__getitem__)
    note = hostile()
    outcome = await channel.send(note, render(note))
    assert outcome.ok, outcome
    [sent] = fake.delivered
    assert f"{SERVICE} – {UNIT}" in sent["Content"]


async def test_apprise_shows_names_as_text(serve: Serve, http_client: httpx.AsyncClient) -> None:
    server = await serve(lambda req: Reply(200, json={"received": True}))
    config = parse_channel_config({"type": "apprise", "url_secret": "A"})
    url = f"json://127.0.0.1:{server.port}/hooks"
    channel = build_channel(config, http_client, {"A": url}.__getitem__)
    note = hostile()
    outcome = await channel.send(note, render(note))
    assert outcome.ok, outcome
    payload = server.requests[0].json()
    assert UNIT in payload["title"] and SERVICE in payload["title"]
    assert UNIT in payload["message"] and MESSAGE not in payload["message"]


# --- every template, both languages -----------------------------------------------------


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("event", [e.value for e in Event])
def test_every_template_escapes_by_its_format(event: str, lang: str) -> None:
    state = "resolved" if event in ("up", "monitor_connectivity") else "open"
    rendered: RenderedMessage = render(hostile(event=event, lang=lang, incident_state=state))
    for markup in (rendered.html, rendered.chat_html):
        _assert_no_data_tags(markup)
    assert telegram_parse(rendered.chat_html) is not None
    plain = (rendered.subject, rendered.text, rendered.short)
    assert not any("&lt;" in p or "&amp;" in p or "&#" in p for p in plain)
    if event != "test":  # a test message names no unit
        assert UNIT in shown_html(rendered.html) and UNIT in shown_html(rendered.chat_html)
        assert all(UNIT in p for p in plain)
