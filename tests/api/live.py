"""The app under a real uvicorn in a thread, on a loopback port of its own."""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn
from fastapi import FastAPI

HANG_GUARD_S = 30.0  # only turns a hang into a failure; nothing is timed


class Uvicorn:
    """The app under a real uvicorn in a thread, on a loopback port of its own."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(app, lifespan="on", log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])), daemon=True
        )

    def __enter__(self) -> Uvicorn:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            threading.Event().wait(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(HANG_GUARD_S)
        self.sock.close()
