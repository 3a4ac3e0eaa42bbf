from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx
import pytest

from app.notify.channels.config import ChannelConfig, parse_channel_config
from app.notify.channels.factory import build_channel
from app.notify.channels.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookChannel,
    verify_signature,
)
from app.notify.messages.render import render
from tests.support.http import Handler, Reply, Request, ScriptedHTTP
from tests.support.notes import SERVICE_NAME, UNIT_NAME, make_note, no_secrets

Serve = Callable[[Handler], Awaitable[ScriptedHTTP]]
KEY = "khóa-bí-mật-chia-sẻ"
SECRETS = {"HOOK_KEY": KEY}.__getitem__


class Receiver:
    """A receiver that checks the signature the way docs/notifications.md tells users to."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.verified: list[bool] = []

    def __call__(self, req: Request) -> Reply:
        header = req.headers.get(SIGNATURE_HEADER.lower(), "")
        self.verified.append(verify_signature(KEY.encode(), req.body, header))
        return Reply(self.status if self.verified[-1] else 401, body=b"")


def _config(url: str, secret: str | None = "HOOK_KEY", timeout: float = 5.0) -> ChannelConfig:
    return parse_channel_config(
        {
            "type": "webhook",
            "url": f"{url}/hooks/thongsuot",
            "secret": secret,
            "headers": {"X-Tenant": "hung-yen"},
            "timeout_s": timeout,
        }
    )


async def test_signed_payload_verifies_server_side(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    receiver = Receiver()
    server = await serve(receiver)
    config = _config(server.origin)
    channel = build_channel(config, http_client, SECRETS)
    assert isinstance(channel, WebhookChannel)
    channel._clock = lambda: 1_778_604_300.0
    note = make_note(delivery_id="out-7")
    outcome = await channel.send(note, render(note))
    assert outcome.ok and outcome.status_code == 204, outcome
    assert receiver.verified == [True]
    [req] = server.requests
    assert req.path == "/hooks/thongsuot"
    assert req.headers[TIMESTAMP_HEADER.lower()] == "1778604300"
    assert req.headers["x-thongsuot-event"] == "down"
    assert req.headers["x-thongsuot-delivery"] == "out-7"
    assert req.headers["x-tenant"] == "hung-yen"
    payload = req.json()
    assert payload["version"] == 1
    assert payload["event"] == "down"
    assert payload["sent_at"] == "2026-05-12T16:45:00+00:00"
    assert payload["unit"] == {"code": "11893", "name": UNIT_NAME}
    assert payload["service"] == {"kind": "commune_centre", "name": SERVICE_NAME}
    assert payload["error"]["kind"] == "timeout"
    assert payload["error"]["description"] == "quá thời gian chờ phản hồi"
    assert payload["incident"]["started_at"] == "2026-05-12T16:50:00+00:00"
    assert payload["incident"]["duration_s"] == 8100
    assert payload["links"]["ack"].endswith("/incidents/42/ack")
    # diacritics travel as UTF-8, not \u escapes
    assert UNIT_NAME.encode() in req.body


async def test_tampered_body_fails_verification() -> None:
    from app.notify.channels.webhook import sign

    body = json.dumps({"event": "down"}).encode()
    header = sign(KEY.encode(), body)
    assert verify_signature(KEY.encode(), body, header)
    assert not verify_signature(KEY.encode(), body.replace(b"down", b"up"), header)
    assert not verify_signature(b"other", body, header)


async def test_unsigned_when_no_secret(serve: Serve, http_client: httpx.AsyncClient) -> None:
    server = await serve(lambda req: Reply(200))
    channel = build_channel(_config(server.origin, secret=None), http_client, SECRETS)
    outcome = await channel.send(make_note(), render(make_note()))
    assert outcome.ok
    assert SIGNATURE_HEADER.lower() not in server.requests[0].headers


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (503, False), (429, False), (400, True), (404, True), (410, True)],
)
async def test_status_classification(
    serve: Serve, http_client: httpx.AsyncClient, status: int, permanent: bool
) -> None:
    server = await serve(lambda req: Reply(status, body="lỗi".encode()))
    channel = build_channel(_config(server.origin), http_client, SECRETS)
    outcome = await channel.send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent, outcome.status_code) == (False, permanent, status)


async def test_timeout_is_transient(serve: Serve, http_client: httpx.AsyncClient) -> None:
    server = await serve(lambda req: Reply(200, delay=1.0))
    channel = build_channel(_config(server.origin, timeout=0.2), http_client, SECRETS)
    outcome = await channel.send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent) == (False, False)
    assert outcome.detail.startswith("timeout")


async def test_missing_key_is_permanent_and_sends_nothing(
    serve: Serve, http_client: httpx.AsyncClient
) -> None:
    server = await serve(lambda req: Reply(200))
    channel = build_channel(_config(server.origin), http_client, no_secrets)
    outcome = await channel.send(make_note(), render(make_note()))
    assert (outcome.ok, outcome.permanent) == (False, True)
    assert server.requests == []


async def test_key_from_file_via_env_secret(
    serve: Serve, http_client: httpx.AsyncClient, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    from probes.secrets import env_secret

    path = Path(str(tmp_path)) / "hook_key"
    path.write_text(KEY + "\n", encoding="utf-8")
    monkeypatch.delenv("HOOK_KEY", raising=False)
    monkeypatch.setenv("HOOK_KEY_FILE", str(path))
    receiver = Receiver()
    server = await serve(receiver)
    channel = build_channel(_config(server.origin), http_client, env_secret)
    outcome = await channel.send(make_note(), render(make_note()))
    assert outcome.ok and receiver.verified == [True]


def test_documented_payload_has_the_same_shape() -> None:
    import re
    from datetime import UTC, datetime
    from pathlib import Path

    from app.notify.channels.webhook import webhook_payload

    docs = (Path(__file__).parents[3] / "docs" / "notifications.md").read_text(encoding="utf-8")
    match = re.search(r"```json\n(.*?)```", docs, re.S)
    assert match is not None
    documented = json.loads(match.group(1))
    note = make_note(delivery_id="out-7")
    actual = webhook_payload(note, render(note), datetime(2026, 5, 12, 16, 45, tzinfo=UTC))

    def shape(value: object) -> object:
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items()}
        return type(value).__name__

    assert shape(documented) == shape(actual)
    assert documented["unit"] == actual["unit"] and documented["error"] == actual["error"]
