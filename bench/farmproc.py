"""Run the demo farm in a separate process, so its CPU is not the bench's."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


class FarmProcess:
    """``async with FarmProcess(units) as farm``: ``farm.port``, ``farm.pid``, ``farm.url()``."""

    def __init__(self, units: int, seed: int = 33, host: str = "127.0.0.1") -> None:
        self.units = units
        self.seed = seed
        self.host = host
        self.port = 0
        self.pid = 0
        self._proc: asyncio.subprocess.Process | None = None

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    async def __aenter__(self) -> FarmProcess:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.demo.farm",
            "--host",
            self.host,
            "--port",
            "0",
            "--units",
            str(self.units),
            "--seed",
            str(self.seed),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), 30)
        if not line:
            raise RuntimeError("the farm process exited before reporting its port")
        self.port = int(json.loads(line)["port"])
        self.pid = self._proc.pid
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is None or self._proc.returncode is not None:
            return
        self._proc.terminate()
        try:
            await asyncio.wait_for(self._proc.wait(), 10)
        except TimeoutError:
            self._proc.kill()
            await self._proc.wait()


def run_bench(main: Coroutine[Any, Any, T]) -> T | None:
    """``asyncio.run(main)``, with SIGTERM ending the bench as Ctrl-C does: the bench's
    task is cancelled and its ``finally`` blocks stop ``serve``, the farm and the
    drivers. By default SIGTERM killed the bench at once and left them running
    (``timeout 60 bench/…``). ``None`` when a signal stopped it."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return asyncio.run(main)
    except KeyboardInterrupt:
        print("stopped by a signal: serve and the farm were stopped", file=sys.stderr)
        return None
