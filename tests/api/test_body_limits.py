"""Request bodies are capped and never buffered whole (issue 10.2).

A real uvicorn on loopback gets a chunked upload whose terminating chunk is never
sent: a server that buffered the body before answering would never answer (the
socket timeout below only turns such a hang into a failure; nothing is timed).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.service import hash_token
from app.config import Settings
from app.main import create_app
from tests import factories
from tests.api.live import HANG_GUARD_S, Uvicorn

ADMIN = "admin-token-0123456789abcdef"
PUSH_TOKEN = "kiosk-secret-12337"
CHUNK = b"x" * 65_536
UPLOAD = 8 << 20  # 8 MiB offered, far past both caps


def _status_of_unfinished_upload(port: int, path: str, headers: dict[str, str]) -> int:
    """POST a chunked body of UPLOAD bytes without its last chunk; the status line."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD_S)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    conn.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    stop = threading.Event()

    def send() -> None:  # the server may stop reading: then this blocks, or fails
        sent = 0
        try:
            while sent < UPLOAD and not stop.is_set():
                conn.sendall(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
                sent += len(CHUNK)
        except OSError:
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        reply = b""
        while b"\r\n" not in reply:
            data = conn.recv(4096)  # socket.timeout here means the server buffered
            if not data:
                break
            reply += data
    finally:
        stop.set()
        conn.close()
        sender.join(HANG_GUARD_S)
    return int(reply.split(b" ", 2)[1])


@pytest.fixture
def server(db_url: str, sessionmaker: async_sessionmaker[AsyncSession]) -> Iterator[Uvicorn]:
    async def seed() -> None:
        async with sessionmaker() as s, s.begin():
            await factories.check(
                s,
                "heartbeat",
                {"period_s": 60, "grace_s": 30},
                key="12337.centre.kiosk",
                interval_s=60,
                timeout_s=5,
                push_token_hash=hash_token(PUSH_TOKEN),
            )

    asyncio.run(seed())
    app = create_app(Settings(database_url=db_url, api_token=ADMIN, flush_interval_s=0.1))
    with Uvicorn(app) as running:
        yield running


def test_an_unknown_push_token_is_answered_without_reading_the_body(server: Uvicorn) -> None:
    for kind in ("application/json", "application/x-www-form-urlencoded", "multipart/form-data"):
        status = _status_of_unfinished_upload(
            server.port, "/api/v1/push/nobody-has-this", {"Content-Type": kind}
        )
        assert status == 404, kind


def test_a_push_body_past_4_kib_is_413(server: Uvicorn) -> None:
    status = _status_of_unfinished_upload(
        server.port, f"/api/v1/push/{PUSH_TOKEN}", {"Content-Type": "application/json"}
    )
    assert status == 413


def test_any_body_past_the_global_cap_is_413(server: Uvicorn) -> None:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN}"}
    assert _status_of_unfinished_upload(server.port, "/api/v1/maintenance", headers) == 413


def test_a_declared_length_past_the_cap_is_413_before_any_byte(server: Uvicorn) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=HANG_GUARD_S) as conn:
        conn.sendall(
            b"POST /api/v1/maintenance HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + ADMIN.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n"
        )
        reply = conn.recv(4096)  # no body byte is ever sent
    assert reply.split(b" ", 2)[1] == b"413"


# ---- form and multipart beats work ---------------------------------------------------


@pytest.fixture
async def client(
    db_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async with sessionmaker() as s, s.begin():
        await factories.check(
            s,
            "heartbeat",
            {"period_s": 60, "grace_s": 30},
            key="12337.centre.kiosk",
            interval_s=60,
            timeout_s=5,
            push_token_hash=hash_token(PUSH_TOKEN),
        )
    app = create_app(Settings(database_url=db_url, api_token=ADMIN, flush_interval_s=0.1))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


async def test_form_and_multipart_beats_are_recorded(client: httpx.AsyncClient) -> None:
    url = f"/api/v1/push/{PUSH_TOKEN}"
    form = await client.post(url, data={"status": "down", "message": "Máy in hết giấy"})
    assert form.status_code == 200, form.text
    multipart = await client.post(url, files={"status": (None, "up"), "message": (None, "ổn")})
    assert multipart.status_code == 200, multipart.text
    assert multipart.json()["ok"] is True
    bad = await client.post(url, data={"status": "maybe"})
    assert bad.status_code == 422 and bad.json()["error"] == "unprocessable"


async def test_a_file_in_a_multipart_beat_is_400(client: httpx.AsyncClient) -> None:
    url = f"/api/v1/push/{PUSH_TOKEN}"
    response = await client.post(url, files={"status": ("status.txt", b"up", "text/plain")})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
