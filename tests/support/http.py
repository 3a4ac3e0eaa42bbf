"""One scripted HTTP/1.1 server on loopback, for probes, the monitor and channel fakes.

``ScriptedHTTP.routes[path] = Reply(...)`` or a handler ``(Request) -> Reply`` (sync
or async); unknown paths get 404. ``ScriptedHTTP(handler=h)`` sends every request
to ``h`` instead (the SaaS fakes in :mod:`tests.support.saas`). Every request is
kept in ``requests``. HTTPS with an ``ssl_context`` (see :mod:`tests.support.tls`).
"""

from __future__ import annotations

import asyncio
import inspect
import json as jsonlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # lower-case names
    body: bytes
    query: dict[str, list[str]] = field(default_factory=dict)
    target: str = ""  # the request-target as sent: path and query

    def json(self) -> Any:
        return jsonlib.loads(self.body.decode("utf-8"))


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None  # sent as is instead of an HTTP response
    json: Any = None  # sent as application/json instead of ``body``

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.json is not None:
            data = jsonlib.dumps(self.json, ensure_ascii=False).encode()
            content_type = "application/json"
        else:
            data = self.body.encode() if isinstance(self.body, str) else self.body
            content_type = "text/html; charset=utf-8"
        head = {"Content-Type": content_type, **self.headers}
        head.setdefault("Content-Length", str(len(data)))
        head.setdefault("Connection", "close")
        lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
        return f"HTTP/1.1 {self.status} {_reason(self.status)}\r\n{lines}\r\n".encode() + data


Handler = Callable[[Request], Reply | Awaitable[Reply]]
Route = Reply | Handler
NOT_FOUND = Reply(404, "không có")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


@dataclass
class ScriptedHTTP:
    routes: dict[str, Route] = field(default_factory=dict)
    host: str = "127.0.0.1"
    ssl_context: ssl.SSLContext | None = None
    handler: Handler | None = None  # answers every request instead of ``routes``
    requests: list[Request] = field(default_factory=list)
    port: int = 0  # 0: the kernel picks one; set it to start again on the same port
    _server: asyncio.Server | None = None

    async def start(self) -> ScriptedHTTP:
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, ssl=self.ssl_context
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def origin(self) -> str:
        """``scheme://host:port``, no path: a base URL for the SaaS fakes."""
        scheme = "https" if self.ssl_context else "http"
        name = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{name}:{self.port}"

    def url(self, path: str = "/", host: str | None = None) -> str:
        if host is None:
            return self.origin + path
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def hits(self, path: str) -> int:
        """How many requests came for ``path``."""
        return sum(1 for r in self.requests if r.path == path)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _answer(self, request: Request) -> Reply:
        route = self.handler or self.routes.get(request.path, NOT_FOUND)
        if isinstance(route, Reply):
            return route
        reply = route(request)
        return await reply if inspect.isawaitable(reply) else reply

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await read_request(reader)
            self.requests.append(request)
            reply = await self._answer(request)
            if reply.delay:
                await asyncio.sleep(reply.delay)
            writer.write(reply.encode())
            await writer.drain()
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ssl.SSLError,
            ValueError,
        ):
            pass
        finally:
            writer.close()


async def read_request(reader: asyncio.StreamReader) -> Request:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    first, *lines = head.rstrip("\r\n").split("\r\n")
    method, target, _ = first.split(" ", 2)
    headers = {}
    for line in lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    parts = urlsplit(target)
    return Request(method, parts.path, headers, body, parse_qs(parts.query), target)
