"""The tcp probe against asyncio listeners and a real aiosmtpd SMTP server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from aiosmtpd.controller import Controller
from pydantic import ValidationError

from probes.base import ErrorKind, Status
from probes.tcp import TcpConfig, probe_tcp
from tests.probes.conftest import MakeCtx, MakeHttp
from tests.support.http import Reply
from tests.support.net import BlackholeTCP, closed_port
from tests.support.tls import Certs


@pytest.fixture
def smtp_port() -> Iterator[int]:
    # aiosmtpd's controller connects to its own port to check it started: port 0 won't do
    port = closed_port()
    controller = Controller(
        object(),
        hostname="127.0.0.1",
        port=port,
        ident="thongsuot-test",
        server_hostname="smtp.thongsuot.test",  # no getfqdn(): it would query DNS
    )
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
async def echo() -> AsyncIterator[int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        if line.startswith(b"SLOW"):
            await asyncio.sleep(0.2)
        writer.write(b"ECHO " + line)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()


async def test_smtp_banner(smtp_port: int, make_ctx: MakeCtx) -> None:
    config = TcpConfig(host="127.0.0.1", port=smtp_port, expect_regex="^220 ")
    result = await probe_tcp(config, make_ctx())
    assert result.status is Status.UP, result.message
    assert result.details["reply"].startswith("220 ")
    assert "thongsuot-test" in result.message
    wrong = await probe_tcp(config.model_copy(update={"expect_regex": "^554"}), make_ctx(0.3))
    assert (wrong.status, wrong.error_kind) == (Status.DOWN, ErrorKind.ASSERTION)


async def test_send_and_expect(echo: int, make_ctx: MakeCtx) -> None:
    ok = TcpConfig(host="127.0.0.1", port=echo, send="PING\r\n", expect="ECHO PING")
    assert (await probe_tcp(ok, make_ctx())).status is Status.UP
    slow = TcpConfig(
        host="127.0.0.1", port=echo, send="SLOW\r\n", expect="ECHO", degraded_latency_ms=100
    )
    degraded = await probe_tcp(slow, make_ctx())
    assert (degraded.status, degraded.error_kind) == (Status.DEGRADED, ErrorKind.LATENCY)
    mismatch = await probe_tcp(ok.model_copy(update={"expect": "PONG"}), make_ctx())
    assert (mismatch.error_kind, mismatch.details["reply"]) == (
        ErrorKind.ASSERTION,
        "ECHO PING\r\n",
    )


async def test_connect_only_and_refused(echo: int, make_ctx: MakeCtx) -> None:
    up = await probe_tcp(TcpConfig(host="127.0.0.1", port=echo), make_ctx())
    assert (up.status, up.message) == (Status.UP, "connected")
    refused = await probe_tcp(TcpConfig(host="127.0.0.1", port=closed_port()), make_ctx())
    assert (refused.status, refused.error_kind) == (Status.DOWN, ErrorKind.CONNECT)
    v6 = await probe_tcp(TcpConfig(host="127.0.0.1", port=echo, ip_version=6), make_ctx())
    assert v6.error_kind is ErrorKind.DNS


async def test_silent_server_times_out(blackhole: BlackholeTCP, make_ctx: MakeCtx) -> None:
    config = TcpConfig(host="127.0.0.1", port=blackhole.port, expect_regex="^220")
    result = await probe_tcp(config, make_ctx(timeout=0.2))
    assert (result.status, result.error_kind) == (Status.DOWN, ErrorKind.TIMEOUT)


async def test_tls_and_bad_certificate(
    make_http: MakeHttp, make_ctx: MakeCtx, certs: Certs
) -> None:
    good = await make_http({"/": Reply(200, "ok")}, ssl_context=certs.server_context(certs.valid))
    config = TcpConfig(
        host="127.0.0.1",
        port=good.port,
        tls=True,
        ca_file=certs.ca_file,
        send="GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        expect="HTTP/1.1 200",
    )
    assert (await probe_tcp(config, make_ctx())).status is Status.UP
    bad = await make_http({"/": Reply()}, ssl_context=certs.server_context(certs.wrong_host))
    failed = await probe_tcp(config.model_copy(update={"port": bad.port}), make_ctx())
    assert (failed.status, failed.error_kind) == (Status.DOWN, ErrorKind.TLS)


def test_one_expectation_only() -> None:
    with pytest.raises(ValidationError, match="not both"):
        TcpConfig(host="x", port=25, expect="220", expect_regex="^220")
