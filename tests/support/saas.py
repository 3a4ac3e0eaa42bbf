"""Loopback stand-ins for the SaaS APIs the channels talk to.

``FakeHttpServer`` is a minimal asyncio HTTP/1.1 server on 127.0.0.1:0 that
records every request and answers through a handler. The handlers below speak
the real wire formats (Telegram Bot API, Zalo OA v3, eSMS.vn JSON) closely
enough that a channel which works against them sends what the real service
expects; only the network hop is fake.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encode(self) -> tuple[bytes, str]:
        if self.json is not None:
            return json.dumps(self.json, ensure_ascii=False).encode(), "application/json"
        return self.body, "text/plain; charset=utf-8"


Handler = Callable[[Recorded], Reply | Awaitable[Reply]]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class FakeHttpServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Recorded] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeHttpServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            recorded = await _read_request(reader)
            self.requests.append(recorded)
            reply = self.handler(recorded)
            if not isinstance(reply, Reply):
                reply = await reply
            if reply.delay:
                await asyncio.sleep(reply.delay)
            writer.write(_response_bytes(reply))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Recorded:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    request_line, *header_lines = head.rstrip("\r\n").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    parts = urlsplit(target)
    return Recorded(method, parts.path, parse_qs(parts.query), headers, body)


def _response_bytes(reply: Reply) -> bytes:
    body, content_type = reply.encode()
    headers = {
        "Content-Type": content_type,
        "Content-Length": str(len(body)),
        "Connection": "close",
        **reply.headers,
    }
    head = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1") + b"\r\n" + body


class FakeTelegram:
    """Bot API: ``POST /bot<token>/sendMessage``; ``mode`` scripts failures."""

    def __init__(self, token: str, chats: set[str]) -> None:
        self.token = token
        self.chats = chats
        self.mode = "ok"  # ok | flood | down
        self.delivered: list[dict[str, Any]] = []
        self._ids = itertools.count(100)

    def __call__(self, req: Recorded) -> Reply:
        m = re.fullmatch(r"/bot([^/]+)/sendMessage", req.path)
        if req.method != "POST" or m is None:
            return _tg_error(404, "Not Found")
        if m.group(1) != self.token:
            return _tg_error(401, "Unauthorized")
        if self.mode == "down":
            return Reply(502, body=b"<html>502 Bad Gateway</html>")
        if self.mode == "flood":
            return _tg_error(429, "Too Many Requests: retry after 5", {"retry_after": 5})
        params = req.json()
        if str(params.get("chat_id")) not in self.chats:
            return _tg_error(400, "Bad Request: chat not found")
        if params.get("parse_mode") == "HTML" and not _balanced(params["text"]):
            return _tg_error(400, "Bad Request: can't parse entities")
        self.delivered.append(params)
        return Reply(json={"ok": True, "result": self._message(params)})

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        plain = html.unescape(re.sub(r"<[^>]+>", "", params["text"]))
        return {
            "message_id": next(self._ids),
            "from": {"id": 42, "is_bot": True, "first_name": "thongsuot"},
            "chat": {"id": int(params["chat_id"]), "type": "group", "title": "Trực ban"},
            "date": 1_778_000_000,
            "text": plain,
        }


def _tg_error(code: int, description: str, parameters: dict[str, Any] | None = None) -> Reply:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(code, json=body)


def _balanced(text: str) -> bool:
    stack: list[str] = []
    for closing, tag in re.findall(r"<(/?)([a-z]+)[^>]*>", text):
        if not closing:
            stack.append(tag)
        elif not stack or stack.pop() != tag:
            return False
    return not stack


class FakeZalo:
    """Zalo OA v3: ``POST /v3.0/oa/message/cs`` with header ``access_token``."""

    def __init__(self, access_token: str, followers: set[str]) -> None:
        self.access_token = access_token
        self.followers = followers
        self.mode = "ok"  # ok | down
        self.delivered: list[dict[str, Any]] = []

    def __call__(self, req: Recorded) -> Reply:
        if req.path != "/v3.0/oa/message/cs" or req.method != "POST":
            return Reply(404, body=b"not found")
        if self.mode == "down":
            return Reply(503, body=b"Service Unavailable")
        if req.headers.get("access_token") != self.access_token:
            return Reply(json={"error": -216, "message": "Access token is invalid"})
        body = req.json()
        user_id = body["recipient"]["user_id"]
        if user_id not in self.followers:
            return Reply(json={"error": -213, "message": "User has not followed OA"})
        self.delivered.append(body)
        data = {"message_id": f"mid{len(self.delivered)}", "user_id": user_id}
        return Reply(json={"error": 0, "message": "Success", "data": data})


class FakeEsms:
    """eSMS.vn ``SendMultipleMessage_V4_post_json``: CodeResult "100" means accepted."""

    PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"

    def __init__(self, api_key: str, secret_key: str) -> None:
        self.api_key = api_key
        self.secret_key = secret_key
        self.mode = "ok"  # ok | down
        self.delivered: list[dict[str, Any]] = []

    def __call__(self, req: Recorded) -> Reply:
        if req.path != self.PATH:
            return Reply(404, body=b"Endpoint not found.")
        if self.mode == "down":
            return Reply(500, body=b"Internal Server Error")
        body = req.json()
        if (body.get("ApiKey"), body.get("SecretKey")) != (self.api_key, self.secret_key):
            return Reply(json={"CodeResult": "101", "ErrorMessage": "Authorize Failed"})
        self.delivered.append(body)
        smsid = f"d533459e-{len(self.delivered):04d}"
        return Reply(json={"CodeResult": "100", "CountRegenerate": 0, "SMSID": smsid})
