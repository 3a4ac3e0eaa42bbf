"""The probes' HTTP transport (probes/transport.py) against loopback servers that send
scripted bytes: framing (length, chunked, up to the close), HEAD and interim answers,
back-pressure, timeouts by phase, request bodies, and httpx's layers above it."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from probes import transport as transport_module
from probes.base import ErrorKind, Status
from probes.clients import ProbeClient, make_ssl_context
from probes.http import HttpConfig, probe_http
from probes.transport import ProbeTransport
from tests.probes.conftest import MakeCtx
from tests.support.net import BlackholeTCP
from tests.support.tls import Certs

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A loopback TCP server running ``script`` per connection; keeps what it read."""

    def __init__(self, script: Script, host: str = "127.0.0.1") -> None:
        self.script = script
        self.host = host
        self.port = 0
        self.received: list[bytes] = []
        self.written = 0  # body bytes the script managed to hand to the socket
        self._server: asyncio.Server | None = None

    async def start(self) -> RawServer:
        self._server = await asyncio.start_server(self._run, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self.script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def head_of(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def answer(*parts: bytes, keep: list[bytes] | None = None) -> Script:
    """A script that reads the request head, then writes ``parts`` and closes."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await head_of(reader)
        if keep is not None:
            keep.append(head)
        for part in parts:
            writer.write(part)
            await writer.drain()

    return script


@pytest.fixture
def serve(started: list[Any]) -> Callable[..., Awaitable[RawServer]]:
    async def make(script: Script, host: str = "127.0.0.1") -> RawServer:
        server = await RawServer(script, host).start()
        started.append(server)
        return server

    return make


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    c = ProbeClient(transport=ProbeTransport(make_ssl_context()), trust_env=False)
    yield c
    await c.aclose()


async def test_request_line_headers_and_a_sized_body(
    serve: Callable[..., Awaitable[RawServer]], client: httpx.AsyncClient
) -> None:
    heads: list[bytes] = []
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello"
    srv = await serve(answer(raw, keep=heads))
    response = await client.get(
        srv.url("/a/b?q=1&r=%C3%A1"), headers=[(b"X-Probe", "có dấu".encode())]
    )
    assert (response.status_code, response.content, response.headers["x-a"]) == (200, b"hello", "1")
    assert response.reason_phrase == "OK" and response.http_version == "HTTP/1.1"
    first, *lines = heads[0].decode("latin-1").split("\r\n")
    assert first == "GET /a/b?q=1&r=%C3%A1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{srv.port}" in lines
    assert "X-Probe: có dấu".encode().decode("latin-1") in lines  # UTF-8 bytes as sent


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\nhello world",  # no framing: the body ends with the close
        b"HTTP/1.0 200 OK\r\n\r\nhello world",
    ],
    ids=["chunked", "close-delimited", "http-1.0"],
)
async def test_body_framings(
    serve: Callable[..., Awaitable[RawServer]], client: httpx.AsyncClient, raw: bytes
) -> None:
    srv = await serve(answer(raw[:20], raw[20:]))  # in two writes
    response = await client.get(srv.url())
    assert response.content == b"hello world"


async def test_gzip_is_decoded_by_httpx(
    serve: Callable[..., Awaitable[RawServer]], client: httpx.AsyncClient
) -> None:
    data = gzip.compress("Cổng dịch vụ công".encode())
    head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(data)}\r\n\r\n"
    srv = await serve(answer(head.encode() + data))
    assert (await client.get(srv.url())).text == "Cổng dịch vụ công"


async def test_head_and_204_end_at_their_headers(
    serve: Callable[..., Awaitable[RawServer]], client: httpx.AsyncClient
) -> None:
    """A HEAD answer announces a length it does not send; a 204 has no body. Neither
    may wait for one (the server here keeps the connection open)."""

    async def held(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await head_of(reader)
        status = b"200 OK" if head.startswith(b"HEAD") else b"204 No Content"
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 1000\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(5)

    srv = await serve(held)
    started = time.monotonic()
    head = await client.head(srv.url(), timeout=3)
    no_content = await client.get(srv.url(), timeout=3)
    assert (head.status_code, head.content, no_content.status_code) == (200, b"", 204)
    assert time.monotonic() - started < 1.5


async def test_an_interim_answer_is_skipped(
    serve: Callable[..., Awaitable[RawServer]], client: httpx.AsyncClient
) -> None:
    srv = await serve(
        answer(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
    )
    response = await client.post(srv.url(), content=b"x")
    assert (response.status_code, response.content) == (201, b"ok")


async def test_a_streamed_request_body_goes_chunked(
    serve: Callable[..., Awaitable[RawServer]], client: httpx.AsyncClient
) -> None:
    got: list[bytes] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got.append(await head_of(reader))
        got.append(await reader.readuntil(b"0\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    async def parts() -> AsyncIterator[bytes]:
        yield "dữ ".encode()
        yield b""
        yield "liệu".encode()

    srv = await serve(echo)
    assert (await client.post(srv.url(), content=parts())).status_code == 200
    assert b"transfer-encoding: chunked" in got[0].lower()
    first, second = "dữ ".encode(), "liệu".encode()
    assert got[1] == b"%x\r\n%b\r\n%x\r\n%b\r\n0\r\n\r\n" % (len(first), first, len(second), second)


async def test_a_large_answer_is_read_with_back_pressure(
    serve: Callable[..., Awaitable[RawServer]], client: httpx.AsyncClient
) -> None:
    """A reader that stops reading stops the socket being read: the server cannot hand
    over the whole of a 64 MB answer (unpaused, loopback takes it in well under the
    half second), so nothing near that is buffered."""
    total = 64 * 1024 * 1024
    written = [0]

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await head_of(reader)
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n".encode())
        block = b"x" * 65536
        while written[0] < total:
            writer.write(block)
            await writer.drain()
            written[0] += len(block)

    srv = await serve(flood)
    async with client.stream("GET", srv.url()) as response:
        stream = response.aiter_raw()
        first = await anext(stream)
        await asyncio.sleep(0.5)  # the reader is slow: the server must be held back
        assert first and written[0] < total // 4, written[0]
        seen = len(first)
        async for chunk in stream:
            seen += len(chunk)
    assert seen == total


async def test_a_stalled_body_is_a_read_timeout(
    serve: Callable[..., Awaitable[RawServer]], client: httpx.AsyncClient
) -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await head_of(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")
        await writer.drain()
        await asyncio.sleep(5)

    srv = await serve(stall)
    with pytest.raises(httpx.ReadTimeout):
        await client.get(srv.url(), timeout=httpx.Timeout(3, read=0.3))


async def test_no_answer_is_a_read_timeout(
    blackhole: BlackholeTCP, client: httpx.AsyncClient
) -> None:
    with pytest.raises(httpx.ReadTimeout):
        await client.get(f"http://127.0.0.1:{blackhole.port}/", timeout=httpx.Timeout(3, read=0.3))


async def test_a_handshake_that_never_ends_is_a_connect_timeout(
    blackhole: BlackholeTCP, client: httpx.AsyncClient
) -> None:
    """TLS is set up while connecting: a server that never answers the ClientHello
    times out as a connect, the phase it is in."""
    with pytest.raises(httpx.ConnectTimeout):
        await client.get(
            f"https://127.0.0.1:{blackhole.port}/", timeout=httpx.Timeout(3, connect=0.3)
        )


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", httpx.RemoteProtocolError),
        (b"NOT HTTP AT ALL\r\n\r\n", httpx.RemoteProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", httpx.RemoteProtocolError),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
            httpx.RemoteProtocolError,
        ),
    ],
    ids=["nothing", "garbage", "cut-length", "cut-chunked"],
)
async def test_broken_answers_are_protocol_errors(
    serve: Callable[..., Awaitable[RawServer]],
    client: httpx.AsyncClient,
    raw: bytes,
    error: type[Exception],
) -> None:
    srv = await serve(answer(raw))
    with pytest.raises(error):
        await client.get(srv.url(), timeout=3)


async def test_refused_and_unresolvable_keep_their_cause(client: httpx.AsyncClient) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(httpx.ConnectError) as refused:
        await client.get(f"http://127.0.0.1:{port}/", timeout=3)
    assert isinstance(refused.value.__cause__, ConnectionRefusedError)
    with pytest.raises(httpx.ConnectError) as unknown:
        await client.get("http://khong-co.invalid/", timeout=3)
    assert isinstance(unknown.value.__cause__, socket.gaierror)


async def test_ipv6_loopback(
    serve: Callable[..., Awaitable[RawServer]], client: httpx.AsyncClient
) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this kernel")
    try:
        srv = await serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6"), host="::1")
    except OSError:
        pytest.skip("::1 is not configured")
    assert (await client.get(srv.url())).content == b"v6"


async def test_tls_peer_certificate_and_sni(certs: Certs, make_ctx: MakeCtx) -> None:
    """Through the probe: the certificate's expiry is read off the connection, with
    the name sent as SNI even when the URL names an address (ip_version pinning)."""
    names: list[str | None] = []
    ctx = certs.server_context(certs.valid)

    def sni(sock: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
        names.append(name)

    ctx.sni_callback = sni

    async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await head_of(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    server = await asyncio.start_server(ok, "127.0.0.1", 0, ssl=ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        config = HttpConfig(url=f"https://localhost:{port}/", ip_version="4")
        result = await probe_http(config, make_ctx())
    finally:
        server.close()
        await server.wait_closed()
    assert result.status is Status.UP, result.message
    assert result.details["cert_expiry"] > time.time() and result.details["ip"] == "127.0.0.1"
    assert names == ["localhost"]


async def test_error_kinds_through_the_probe(
    serve: Callable[..., Awaitable[RawServer]], make_ctx: MakeCtx
) -> None:
    srv = await serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"))
    result = await probe_http(HttpConfig(url=srv.url()), make_ctx())
    assert (result.status, result.error_kind) == (Status.DOWN, ErrorKind.PROTOCOL)
    assert "RemoteProtocolError" in result.message


async def test_a_name_s_addresses_are_tried_in_turn(
    serve: Callable[..., Awaitable[RawServer]],
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name with two addresses, the first refusing (nothing listens on it): the
    probe still reaches the second (RFC 8305), on either loop."""
    srv = await serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        dead = s.getsockname()[1]
    infos = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", dead)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", srv.port)),
    ]
    asked: list[str] = []

    async def addresses(loop: object, host: str, port: int) -> list[Any]:
        asked.append(host)
        return infos

    monkeypatch.setattr(transport_module, "_addresses", addresses)
    response = await client.get(f"http://may-chu.hungyen.test:{srv.port}/", timeout=3)
    assert (response.status_code, response.content, asked) == (200, b"ok", ["may-chu.hungyen.test"])
