"""A tiny scripted HTTP/1.1 server on 127.0.0.1 for runtime tests.

``LoopbackHTTP.routes[path] = (status, body, delay_s)``; unknown paths get 404.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class LoopbackHTTP:
    routes: dict[str, tuple[int, str, float]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    port: int = 0
    _server: asyncio.Server | None = None

    async def start(self) -> LoopbackHTTP:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode().split("?", 1)[0]
            self.hits[path] = self.hits.get(path, 0) + 1
            status, body, delay = self.routes.get(path, (404, "không có", 0.0))
            if delay:
                await asyncio.sleep(delay)
            data = body.encode()
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
