"""An httpx transport for probes: one fresh HTTP/1.1 connection per request over an
asyncio protocol, answers parsed by httptools (llhttp, the parser of Node.js).

Why not httpcore or aiohttp: a probe opens a connection, sends one request, reads
one answer and closes. httpcore + anyio (cancel scopes, events, ``current_task``)
and aiohttp's per-request machinery (its request and response objects, timers,
traces, the connector's bookkeeping) were most of a probe's CPU, and that CPU is
most of the monitor's at national scale (docs/design.md §4). This transport does
only what such a probe needs, and keeps httpx's API above it: redirects, auth,
timeouts, decoding and the response object are httpx's.

What it keeps of a real client, and the tests pin (tests/probes/test_transport.py):
the peer's TLS object as the ``network_stream`` extension (certificate facts),
``sni_hostname`` (address pinning, probes.netutil.pin_url), httpx's connect / read /
write timeouts as ``ConnectTimeout`` / ``ReadTimeout`` / ``WriteTimeout``, errors as
httpx's with the socket or TLS error as their cause (probes.http.classify_error),
bodies by Content-Length, chunked or up to the close, ``HEAD`` and 1xx answers, a
body read with back-pressure (a 1 GB answer is not buffered), and request bodies
given at once or streamed (chunked).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import Any

import aiohappyeyeballs
import httptools
import httpx

from probes.netutil import is_ip_literal

__all__ = ["ProbeTransport"]

READ_HIGH_WATER = 256 * 1024  # bytes buffered before the socket stops being read
HAPPY_EYEBALLS_DELAY_S = 0.25  # RFC 8305's recommended connection attempt delay
_HEAD_METHODS = (b"HEAD",)


class _Answer(asyncio.Protocol):
    """One connection, one request, one answer: the parser's callbacks fill it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, head_only: bool) -> None:
        self._loop = loop
        self._head_only = head_only
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self._header_name = b""
        self.head: asyncio.Future[None] = loop.create_future()  # status and headers in
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._paused = False
        self._more: asyncio.Future[None] | None = None  # a reader waiting for data
        self.complete = False
        self._error: BaseException | None = None
        self._framed = False  # Content-Length or chunked: an early close is an error

    # asyncio.Protocol -----------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.complete:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed answer: {exc}"), exc)

    def eof_received(self) -> bool | None:
        return None  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        if self.complete or self._error is not None:
            self._wake()
            return
        if not self.head.done():
            error: httpx.TransportError = (
                httpx.ReadError(str(exc))
                if exc is not None
                else httpx.RemoteProtocolError("server disconnected without sending an answer")
            )
            self._fail(error, exc)
        elif exc is not None:
            self._fail(httpx.ReadError(str(exc)), exc)
        elif self._framed:
            self._fail(httpx.RemoteProtocolError("server disconnected before the body's end"))
        else:  # a body delimited by the close
            self.complete = True
            self._wake()

    # httptools callbacks ----------------------------------------------------------
    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # an interim answer: the real one follows
            self.headers, self.reason = [], b""
            return
        self.status = status
        names = {name.lower() for name, _ in self.headers}
        self._framed = b"content-length" in names or b"transfer-encoding" in names
        if not self.head.done():
            self.head.set_result(None)
        if self._head_only or status in (204, 304):
            self._finish()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered >= READ_HIGH_WATER and not self._paused and self.transport:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.status:
            self._finish()

    # the reader's side ----------------------------------------------------------------
    def _finish(self) -> None:
        self.complete = True
        self._wake()

    def _fail(self, error: BaseException, cause: BaseException | None = None) -> None:
        if cause is not None:
            error.__cause__ = cause
        self._error = error
        if not self.head.done():
            self.head.set_exception(error)
            self.head.exception()  # retrieved: no "never retrieved" warning if nobody waits
        self._wake()

    def _wake(self) -> None:
        if self._more is not None and not self._more.done():
            self._more.set_result(None)

    async def chunks(self, read_timeout: float | None) -> AsyncIterator[bytes]:
        while True:
            while self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._paused and self._buffered < READ_HIGH_WATER // 2 and self.transport:
                    self._paused = False
                    self.transport.resume_reading()
                yield chunk
            if self._error is not None:
                raise self._error
            if self.complete:
                return
            self._more = self._loop.create_future()
            try:
                async with asyncio.timeout(read_timeout):
                    await self._more
            except TimeoutError as exc:
                raise httpx.ReadTimeout("no data within the read timeout") from exc
            finally:
                self._more = None


class _Body(httpx.AsyncByteStream):
    def __init__(self, answer: _Answer, read_timeout: float | None) -> None:
        self._answer = answer
        self._read_timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._answer.chunks(self._read_timeout):
            yield chunk

    async def aclose(self) -> None:
        transport = self._answer.transport
        if transport is not None and not transport.is_closing():
            transport.close()


class _NetworkStream:
    """The part of httpcore's ``network_stream`` extension probes read."""

    __slots__ = ("_ssl_object",)

    def __init__(self, ssl_object: ssl.SSLObject | None) -> None:
        self._ssl_object = ssl_object

    def get_extra_info(self, name: str) -> Any:
        return self._ssl_object if name == "ssl_object" else None


class ProbeTransport(httpx.AsyncBaseTransport):
    """A fresh connection per request (no keep-alive, no DNS cache: a probe measures
    resolve, connect and handshake every time, as blackbox_exporter does), verified
    with the shared ``ssl_context``."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        self._ssl_context = ssl_context

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        loop = asyncio.get_running_loop()
        answer = _Answer(loop, request.method.encode() in _HEAD_METHODS)
        await self._connect(loop, request, answer, timeouts.get("connect"))
        assert answer.transport is not None
        try:
            await _send(answer.transport, request, timeouts.get("write"))
            try:
                async with asyncio.timeout(timeouts.get("read")):
                    await answer.head
            except TimeoutError as exc:
                raise httpx.ReadTimeout("no answer within the read timeout") from exc
        except BaseException:
            answer.transport.abort()
            raise
        ssl_object = answer.transport.get_extra_info("ssl_object")
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=_Body(answer, timeouts.get("read")),
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": answer.reason,
                "network_stream": _NetworkStream(ssl_object),
            },
        )

    async def _connect(
        self,
        loop: asyncio.AbstractEventLoop,
        request: httpx.Request,
        answer: _Answer,
        connect_s: float | None,
    ) -> None:
        url = request.url
        tls = url.scheme == "https"
        port = url.port or (443 if tls else 80)
        host = url.raw_host.decode("ascii")  # IDNA-encoded; an IPv6 address without brackets
        kwargs: dict[str, Any] = {}
        if tls:
            kwargs["ssl"] = self._ssl_context
            kwargs["server_hostname"] = request.extensions.get("sni_hostname") or host
        try:
            async with asyncio.timeout(connect_s):
                await _open(loop, answer, host, port, kwargs)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} in time") from exc
        except OSError as exc:  # socket.gaierror, refused, unreachable, ssl.SSLError
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc


async def _open(
    loop: asyncio.AbstractEventLoop, answer: _Answer, host: str, port: int, kwargs: dict[str, Any]
) -> None:
    """Connect ``answer`` to ``host``: an address at once; a name resolved now (no
    cache: resolving is part of what a probe measures) and its addresses tried as
    RFC 8305 says (aiohappyeyeballs, as aiohttp does), on any event loop (uvloop's
    ``create_connection`` has no happy eyeballs of its own)."""
    if is_ip_literal(host):
        await loop.create_connection(lambda: answer, host, port, **kwargs)
        return
    infos = await _addresses(loop, host, port)
    sock = await aiohappyeyeballs.start_connection(
        infos, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY_S, interleave=1
    )
    try:
        await loop.create_connection(lambda: answer, sock=sock, **kwargs)
    except BaseException:
        sock.close()
        raise


async def _addresses(
    loop: asyncio.AbstractEventLoop, host: str, port: int
) -> list[aiohappyeyeballs.AddrInfoType]:
    """The system resolver's answer for ``host`` (raises ``socket.gaierror``)."""
    return list(await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))


async def _send(
    transport: asyncio.Transport, request: httpx.Request, write_s: float | None
) -> None:
    """The request line, the headers httpx built (Host included) and the body."""
    head = [request.method.encode("ascii"), b" ", request.url.raw_path or b"/", b" HTTP/1.1\r\n"]
    head += _header_lines(request.headers.raw)
    head.append(b"\r\n")
    try:
        content: bytes | None = request.content
    except httpx.RequestNotRead:
        content = None
    if content is not None:
        transport.write(b"".join(head) + content)
        return
    transport.write(b"".join(head))
    chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
    stream: Any = request.stream
    async with asyncio.timeout(write_s):
        async for part in stream:
            if part:
                transport.write(b"%x\r\n%b\r\n" % (len(part), part) if chunked else part)
    if chunked:
        transport.write(b"0\r\n\r\n")


def _header_lines(raw: Iterable[tuple[bytes, bytes]]) -> list[bytes]:
    lines: list[bytes] = []
    for name, value in raw:
        lines += (name, b": ", value, b"\r\n")
    return lines
