from __future__ import annotations

import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from app.notify.channels.config import SmtpConfig, parse_channel_config
from app.notify.channels.factory import EmailChannel, build_channel
from app.notify.messages.render import render
from tests.support.net import closed_port
from tests.support.notes import make_note
from tests.support.smtp import PASSWORD, USER, SmtpServer, start_smtp


@pytest.fixture
async def smtp_plain() -> AsyncIterator[SmtpServer]:
    server = await start_smtp()
    yield server
    await server.close()


@pytest.fixture
async def smtp_starttls(tmp_path: Path) -> AsyncIterator[SmtpServer]:
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = await start_smtp(tls=ctx, ca_file=str(ca_file))
    yield server
    await server.close()


def _channel(
    port: int, client: httpx.AsyncClient, secrets: dict[str, str] | None = None, **smtp: Any
) -> EmailChannel:
    relay = SmtpConfig(
        host="127.0.0.1", port=port, from_addr="canhbao@hungyen.gov.vn", timeout_s=2, **smtp
    )
    config = parse_channel_config(
        {"type": "email", "to": ["truc.ban@hungyen.gov.vn", "lanh.dao@hungyen.gov.vn"]}
    )
    channel = build_channel(config, client, (secrets or {}).__getitem__, smtp=relay)
    assert isinstance(channel, EmailChannel)
    return channel


async def test_multipart_mail_with_vietnamese_subject(
    smtp_plain: SmtpServer, http_client: httpx.AsyncClient
) -> None:
    note = make_note()
    rendered = render(note)
    outcome = await _channel(smtp_plain.port, http_client).send(note, rendered)
    assert outcome.ok, outcome
    [envelope] = smtp_plain.mailbox.envelopes
    assert envelope.rcpt_tos == ["truc.ban@hungyen.gov.vn", "lanh.dao@hungyen.gov.vn"]
    [msg] = smtp_plain.mailbox.messages
    raw_subject = re.search(rb"^Subject: (\S+)", envelope.original_content or b"", re.M)
    assert raw_subject and raw_subject.group(1).startswith(b"=?utf-8?")  # RFC 2047 on the wire
    assert msg["Subject"] == "[GIÁN ĐOẠN] TTPVHCC phường Hiến Nam từ 23:50 12/05"
    assert msg["X-Thongsuot-Event"] == "down"
    assert msg["X-Thongsuot-Incident"] == "42"
    plain = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert plain is not None and html is not None
    assert "Bắt đầu từ: 23:50 12/05/2026 (giờ Việt Nam)" in plain.get_content()
    assert '<th align="left">Đã kéo dài</th><td>2 giờ 15 phút</td>' in html.get_content()


async def test_starttls_and_auth(smtp_starttls: SmtpServer, http_client: httpx.AsyncClient) -> None:
    channel = _channel(
        smtp_starttls.port,
        http_client,
        {"SMTP_PASSWORD": PASSWORD},
        security="starttls",
        ca_file=smtp_starttls.ca_file,
        username=USER,
        password_secret="SMTP_PASSWORD",
    )
    note = make_note(event="up", incident_state="resolved", lang="en")
    outcome = await channel.send(note, render(note))
    assert outcome.ok, outcome
    assert smtp_starttls.mailbox.messages[0]["Subject"].startswith("[RECOVERED]")


async def test_wrong_password_is_permanent(
    smtp_starttls: SmtpServer, http_client: httpx.AsyncClient
) -> None:
    channel = _channel(
        smtp_starttls.port,
        http_client,
        {"SMTP_PASSWORD": "sai"},
        security="starttls",
        ca_file=smtp_starttls.ca_file,
        username=USER,
        password_secret="SMTP_PASSWORD",
    )
    outcome = await channel.send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent, outcome.status_code) == (False, True, 535)
    assert smtp_starttls.mailbox.messages == []


async def test_untrusted_certificate_is_permanent(
    smtp_starttls: SmtpServer, http_client: httpx.AsyncClient
) -> None:
    channel = _channel(smtp_starttls.port, http_client, security="starttls")
    outcome = await channel.send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent) == (False, True)
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.detail
    assert smtp_starttls.mailbox.messages == []


async def test_unknown_mailbox_is_permanent(
    smtp_plain: SmtpServer, http_client: httpx.AsyncClient
) -> None:
    smtp_plain.mailbox.rcpt_reply = "550 5.1.1 Mailbox unavailable"
    outcome = await _channel(smtp_plain.port, http_client).send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent, outcome.status_code) == (False, True, 550)


async def test_greylisting_is_transient(
    smtp_plain: SmtpServer, http_client: httpx.AsyncClient
) -> None:
    smtp_plain.mailbox.data_reply = "451 4.7.1 Greylisted, try again later"
    outcome = await _channel(smtp_plain.port, http_client).send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent, outcome.status_code) == (False, False, 451)


async def test_relay_down_is_transient(http_client: httpx.AsyncClient) -> None:
    outcome = await _channel(closed_port(), http_client).send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent) == (False, False)


async def test_no_relay_is_permanent(http_client: httpx.AsyncClient) -> None:
    config = parse_channel_config({"type": "email", "to": ["a@b.vn"]})
    outcome = await build_channel(config, http_client).send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent) == (False, True)
