"""Real loopback servers for probe tests: scripted HTTP(S), DNS (dnslib), TCP.

``ScriptedHTTP.routes[path] = Reply(...)`` or a callable ``(Request) -> Reply``;
unknown paths get 404. HTTPS uses trustme certificates (see ``Certs``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import trustme
from dnslib import QTYPE, RCODE, RR, DNSRecord
from dnslib.server import BaseResolver, DNSServer


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None  # sent as is instead of an HTTP response

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        data = self.body.encode() if isinstance(self.body, str) else self.body
        head = {"Content-Type": "text/html; charset=utf-8", **self.headers}
        head.setdefault("Content-Length", str(len(data)))
        lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
        status = f"HTTP/1.1 {self.status} X\r\n{lines}Connection: close\r\n\r\n"
        return status.encode() + data


Route = Reply | Callable[[Request], Reply]


@dataclass
class ScriptedHTTP:
    routes: dict[str, Route] = field(default_factory=dict)
    host: str = "127.0.0.1"
    ssl_context: ssl.SSLContext | None = None
    requests: list[Request] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> ScriptedHTTP:
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, ssl=self.ssl_context
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str = "/", host: str | None = None) -> str:
        scheme = "https" if self.ssl_context else "http"
        name = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{scheme}://{name}:{self.port}{path}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            self.requests.append(request)
            route = self.routes.get(request.path.split("?")[0], Reply(404, "không có"))
            reply = route(request) if callable(route) else route
            if reply.delay:
                await asyncio.sleep(reply.delay)
            writer.write(reply.encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, ValueError):
            pass
        finally:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Request:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    first, *lines = head.split("\r\n")
    method, path, _ = first.split(" ", 2)
    headers = {}
    for line in lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return Request(method, path, headers, body)


class Certs:
    """One private CA and server certificates for the TLS cases."""

    def __init__(self, tmp: Path) -> None:
        self.ca = trustme.CA()
        self.ca_file = str(tmp / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        now = dt.datetime.now(dt.UTC)
        names = ("localhost", "127.0.0.1", "::1")
        self.valid = self.ca.issue_cert(*names, not_after=now + dt.timedelta(days=200))
        self.near_expiry = self.ca.issue_cert(*names, not_after=now + dt.timedelta(days=5))
        self.critical = self.ca.issue_cert(*names, not_after=now + dt.timedelta(hours=12))
        self.expired = self.ca.issue_cert(
            *names, not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1)
        )
        self.wrong_host = self.ca.issue_cert(
            "other.example", not_after=now + dt.timedelta(days=200)
        )

    @staticmethod
    def server_context(
        cert: trustme.LeafCert, maximum_version: ssl.TLSVersion | None = None
    ) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        if maximum_version is not None:
            ctx.maximum_version = maximum_version
        return ctx


# DNS -----------------------------------------------------------------------
Zone = dict[tuple[str, str], list[str]]


class ZoneResolver(BaseResolver):  # type: ignore[misc]
    """Answers from ``zone``; names in ``servfail`` get SERVFAIL, others NXDOMAIN."""

    def __init__(self, zone: Zone, servfail: set[str]) -> None:
        self.zone = zone
        self.servfail = servfail

    def resolve(self, request: DNSRecord, handler: object) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".")
        qtype = QTYPE[request.q.qtype]
        if name in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if not any(n == name for n, _ in self.zone):
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for text in self.zone.get((name, qtype), []):
            reply.add_answer(*RR.fromZone(f"{name}. 60 IN {qtype} {text}"))
        return reply


class DnsServers:
    """The same zone over UDP and over TCP, each on its own random port on 127.0.0.1."""

    def __init__(self, zone: Zone, servfail: set[str]) -> None:
        resolver = ZoneResolver(zone, servfail)
        self.udp = DNSServer(resolver, port=0, address="127.0.0.1", logger=_QuietLogger())
        self.tcp = DNSServer(resolver, port=0, address="127.0.0.1", tcp=True, logger=_QuietLogger())

    def start(self) -> DnsServers:
        self.udp.start_thread()
        self.tcp.start_thread()
        return self

    @property
    def udp_port(self) -> int:
        return int(self.udp.server.server_address[1])

    @property
    def tcp_port(self) -> int:
        return int(self.tcp.server.server_address[1])

    def stop(self) -> None:
        for server in (self.udp, self.tcp):
            server.server.shutdown()
            server.server.server_close()


class _QuietLogger:
    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def silent_udp_port() -> tuple[socket.socket, int]:
    """A bound UDP socket nobody reads: a DNS server that never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock, int(sock.getsockname()[1])


def closed_port(host: str = "127.0.0.1") -> int:
    """A port that was just free: connecting to it is refused."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class BlackholeTCP:
    """Accepts connections and never says a word (for timeouts after connect)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])

    def close(self) -> None:
        self.sock.close()
