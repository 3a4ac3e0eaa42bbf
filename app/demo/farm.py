"""A loopback farm of simulated commune centres: one small, fast HTTP/1.1 server.

Paths:

- ``GET /u/{code}/{service}/health``: a commune centre's service, as scripted;
- ``GET /province/{service}/health``: the provincial TTHC system (``tthc``) and
  its portal (``portal``), all following the ``province`` script;
- ``GET /national/{service}/health``: national shared services (``national``);
- ``GET /province/sync/status``: JSON ``{"last_synced_at": ..., "pending": n}``,
  the provincial system's sync to the national portal, lagging on the script;
- ``POST /_control/down/{name}?mode=503|reset|hang``, ``POST /_control/up/{name}``,
  ``POST /_control/script/{name}``: force a unit (or ``province``) down or up at
  runtime, or hand it back to the script;
- ``GET /_control/stats``: request counters as JSON.

It is a bare ``asyncio.Protocol`` rather than an ASGI app because the national
bench needs well over 570 answers a second from one core, with the farm's CPU
kept out of the monitor's. With an ``ssl.SSLContext`` it also serves the same
paths over HTTPS on a second port (``tls_port``). Run it alone with
``python -m app.demo.farm --port 0 --units 3400``; it prints ``{"port": P}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import ssl
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote

from app.demo.script import NATIONAL, PROVINCE, Answer, FarmScript, Mode

MAX_HEAD = 16_384
_REASONS = {
    200: "OK",
    404: "Not Found",
    400: "Bad Request",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    delay_s: float = 0.0
    mode: Mode | None = None  # RESET or HANG: no HTTP answer at all


class Farm:
    """The running farm. ``clock`` returns script seconds; by default, seconds since start."""

    def __init__(self, script: FarmScript, clock: Callable[[], float] | None = None) -> None:
        self.script = script
        started = time.monotonic()
        self.clock = clock or (lambda: time.monotonic() - started)
        self.epoch = time.time() - self.clock()  # wall time of script time 0
        self.host = "127.0.0.1"
        self.port = 0
        self.tls_port: int | None = None
        self.stats: Counter[str] = Counter()
        self._forced: dict[str, Answer] = {}
        self._servers: list[asyncio.Server] = []
        self._conns: set[_HttpProtocol] = set()

    # public surface -----------------------------------------------------------
    def url(self, path: str = "/", *, tls: bool = False) -> str:
        """``http://`` (or, with ``tls``, ``https://``) URL of ``path`` on the farm."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if tls:
            if self.tls_port is None:
                raise RuntimeError("the farm was started without TLS")
            return f"https://{host}:{self.tls_port}{path}"
        return f"http://{host}:{self.port}{path}"

    def unit_url(self, code: str, service: str = "dvc") -> str:
        return self.url(f"/u/{code}/{service}/health")

    def set_down(self, name: str, mode: Mode | str = Mode.HTTP_503) -> None:
        """Force ``name`` (a unit code or ``"province"``) down until told otherwise."""
        self._forced[name] = Answer(down=True, mode=Mode(mode))

    def set_up(self, name: str) -> None:
        """Force ``name`` up (healthy, no delay) whatever the script says."""
        self._forced[name] = Answer(down=False)

    def follow_script(self, name: str) -> None:
        self._forced.pop(name, None)

    def answer(self, name: str) -> Answer:
        return self._forced.get(name) or self.script.decide(name, self.clock())

    def sync_status(self) -> dict[str, object]:
        """What ``/province/sync/status`` says now (wall-clock ISO-8601, UTC)."""
        t = self.clock()
        synced = self.script.last_synced(t)
        at = datetime.fromtimestamp(self.epoch + synced, UTC)
        return {
            "system": "Hệ thống thông tin giải quyết TTHC tỉnh (mô phỏng)",
            "last_synced_at": at.isoformat(timespec="milliseconds"),
            "pending": int((t - synced) // self.script.sync_every_s),
        }

    async def close(self) -> None:
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for conn in list(self._conns):
            conn.abort()
        for server in servers:
            await server.wait_closed()

    # request handling -------------------------------------------------------
    def route(self, method: str, target: str) -> Reply:
        path, _, query = target.partition("?")
        parts = [unquote(p) for p in path.split("/") if p]
        if parts[:1] == ["_control"]:
            return self._control(method, parts[1:], parse_qs(query))
        if method not in ("GET", "HEAD"):
            return Reply(405, b"method not allowed\n", "text/plain; charset=utf-8")
        if len(parts) == 4 and parts[0] == "u" and parts[3] == "health":
            return self._service(parts[1], parts[2])
        if parts == ["province", "sync", "status"]:
            self.stats["sync"] += 1
            body = json.dumps(self.sync_status(), ensure_ascii=False).encode()
            return Reply(200, body, "application/json")
        if len(parts) == 3 and parts[0] in (PROVINCE, NATIONAL) and parts[2] == "health":
            return self._service(parts[0], parts[1])
        if not parts:
            return Reply(200, _INDEX)
        return Reply(404, b"not found\n", "text/plain; charset=utf-8")

    def _service(self, name: str, service: str) -> Reply:
        answer = self.answer(name)
        if answer.down:
            self.stats[f"down_{answer.mode.value}"] += 1
            if answer.mode is Mode.HTTP_503:
                return Reply(503, _down_page(name, service))
            return Reply(0, b"", mode=answer.mode)
        self.stats["slow" if answer.delay_s else "up"] += 1
        return Reply(200, _up_page(name, service), delay_s=answer.delay_s)

    def _control(self, method: str, parts: list[str], query: dict[str, list[str]]) -> Reply:
        if parts == ["stats"]:
            body = json.dumps({"t": self.clock(), **self.stats}).encode()
            return Reply(200, body, "application/json")
        if method != "POST" or len(parts) != 2:
            return Reply(404, b"not found\n", "text/plain; charset=utf-8")
        action, name = parts
        try:
            if action == "down":
                self.set_down(name, query.get("mode", ["503"])[0])
            elif action == "up":
                self.set_up(name)
            elif action == "script":
                self.follow_script(name)
            else:
                return Reply(404, b"unknown action\n", "text/plain; charset=utf-8")
        except ValueError:
            return Reply(400, b"mode must be 503, reset or hang\n", "text/plain; charset=utf-8")
        return Reply(200, json.dumps({"name": name, "action": action}).encode(), "application/json")


_WHO = {
    PROVINCE: "Hệ thống thông tin giải quyết TTHC tỉnh",
    NATIONAL: "Hệ thống dùng chung quốc gia",
}


def _up_page(name: str, service: str) -> bytes:
    who = _WHO.get(name, f"Đơn vị {name}")
    return (
        f'<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>Dịch vụ công - {who}</title></head><body><h1>Dịch vụ công trực tuyến</h1>"
        f"<p>{who}, dịch vụ {service}: hoạt động bình thường.</p></body></html>"
    ).encode()


def _down_page(name: str, service: str) -> bytes:
    page = f"<html><body><h1>Hệ thống đang gián đoạn</h1><p>{name}/{service}</p></body></html>"
    return page.encode()


_INDEX = (
    "<!doctype html><html lang='vi'><head><meta charset='utf-8'><title>Trang trại mô phỏng"
    "</title></head><body><h1>Trang trại mô phỏng các trung tâm phục vụ hành chính công</h1>"
    "<p>/u/{mã}/{dịch vụ}/health, /province/tthc/health, /national/portal/health, "
    "/province/sync/status, /_control/stats</p></body></html>"
).encode()
_LINGER_RESET = struct.pack("ii", 1, 0)


class _HttpProtocol(asyncio.Protocol):
    """One connection: requests are answered in order, keep-alive honoured."""

    def __init__(self, farm: Farm) -> None:
        self.farm = farm
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.closed = False
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.farm._conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        self.farm._conns.discard(self)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._drain()

    def abort(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.abort()

    def _drain(self) -> None:
        while not self.busy and not self.closed:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    self._write(Reply(431, b"", "text/plain"), keep_alive=False)
                return
            parsed = _parse_head(bytes(self.buf[:end]))
            if parsed is None:
                self._write(Reply(400, b"bad request\n", "text/plain"), keep_alive=False)
                return
            method, target, keep_alive, length = parsed
            if len(self.buf) < end + 4 + length:
                return  # the body is still arriving
            del self.buf[: end + 4 + length]
            self.farm.stats["requests"] += 1
            self._answer(self.farm.route(method, target), keep_alive, method == "HEAD")

    def _answer(self, reply: Reply, keep_alive: bool, head: bool) -> None:
        loop = asyncio.get_running_loop()
        if reply.mode is Mode.RESET:
            self._reset()
        elif reply.mode is Mode.HANG:
            self.busy = True
            self.timer = loop.call_later(self.farm.script.hang_max_s, self.abort)
        elif reply.delay_s > 0:
            self.busy = True
            self.timer = loop.call_later(reply.delay_s, self._later, reply, keep_alive, head)
        else:
            self._write(reply, keep_alive, head)

    def _later(self, reply: Reply, keep_alive: bool, head: bool) -> None:
        self.timer = None
        if self.closed:
            return
        self.busy = False
        self._write(reply, keep_alive, head)
        self._drain()

    def _write(self, reply: Reply, keep_alive: bool, head: bool = False) -> None:
        assert self.transport is not None
        head_bytes = (
            f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'OK')}\r\n"
            f"Content-Type: {reply.content_type}\r\nContent-Length: {len(reply.body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
        ).encode()
        self.transport.write(head_bytes if head else head_bytes + reply.body)
        if not keep_alive:
            self.closed = True
            self.transport.close()

    def _reset(self) -> None:
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        if sock is not None:  # SO_LINGER 0: close() sends RST, the client sees a reset
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        self.abort()


def _parse_head(head: bytes) -> tuple[str, str, bool, int] | None:
    """Request line and the two headers we need: (method, target, keep_alive, length)."""
    lines = head.split(b"\r\n")
    try:
        method, target, version = lines[0].decode("latin-1").split(" ")
    except ValueError:
        return None
    keep_alive = version == "HTTP/1.1"
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"connection":
            token = value.strip().lower()
            keep_alive = token != b"close" if keep_alive else token == b"keep-alive"
        elif key == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return None
    return method, target, keep_alive, length


async def start_farm(
    script: FarmScript,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Callable[[], float] | None = None,
    backlog: int = 4096,
    tls: ssl.SSLContext | None = None,
) -> Farm:
    """Start the farm on ``host:port`` (0 picks a free port, read it from ``.port``).

    With ``tls`` the same paths are served over HTTPS too, on a free port (``.tls_port``).
    """
    farm = Farm(script, clock)
    loop = asyncio.get_running_loop()
    plain = await loop.create_server(
        lambda: _HttpProtocol(farm), host, port, backlog=backlog, reuse_address=True
    )
    farm._servers.append(plain)
    farm.host = host
    farm.port = plain.sockets[0].getsockname()[1]
    if tls is not None:
        secure = await loop.create_server(
            lambda: _HttpProtocol(farm), host, 0, backlog=backlog, ssl=tls, reuse_address=True
        )
        farm._servers.append(secure)
        farm.tls_port = secure.sockets[0].getsockname()[1]
    return farm


async def _serve(args: argparse.Namespace) -> None:
    script = FarmScript.for_units(args.units, seed=args.seed)
    farm = await start_farm(script, args.host, args.port)
    print(json.dumps({"port": farm.port, "host": farm.host, "units": args.units}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await farm.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Trang trại mô phỏng (loopback) cho thongsuot")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--units", type=int, default=104)
    parser.add_argument("--seed", type=int, default=33)
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
