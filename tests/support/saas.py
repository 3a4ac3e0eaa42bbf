"""Loopback stand-ins for the SaaS APIs the channels talk to.

Each is a handler for :class:`tests.support.http.ScriptedHTTP` (``ScriptedHTTP(handler=
FakeTelegram(...))``) speaking the real wire format (Telegram Bot API, Zalo OA v3,
eSMS.vn JSON, a webhook receiver) closely enough that a channel which works against
it sends what the real service expects; only the network hop is fake.
"""

from __future__ import annotations

import html
import itertools
import re
from typing import Any

from tests.support.http import Reply, Request


class FakeTelegram:
    """Bot API: ``POST /bot<token>/sendMessage``; ``mode`` scripts failures."""

    def __init__(self, token: str, chats: set[str]) -> None:
        self.token = token
        self.chats = chats
        self.mode = "ok"  # ok | flood | down
        self.delivered: list[dict[str, Any]] = []
        self._ids = itertools.count(100)

    def __call__(self, req: Request) -> Reply:
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

    def __call__(self, req: Request) -> Reply:
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

    def __call__(self, req: Request) -> Reply:
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


class Webhook:
    """A webhook receiver that answers 200 (or ``status``) and keeps what it got."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[Request] = []

    def __call__(self, req: Request) -> Reply:
        if self.status != 200:
            return Reply(self.status, body=b"busy")
        self.received.append(req)
        return Reply(200, json={"ok": True})

    def events(self) -> list[str]:
        return [r.json()["event"] for r in self.received]
