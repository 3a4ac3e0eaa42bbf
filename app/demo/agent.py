"""The demo's commune agent: one real ``thongsuot agent run`` for one simulated commune.

The agent is a child process (the same command a commune runs, docs/agents.md) with
its own ``agent.toml``, token file and spool. It reaches central through a loopback
TCP relay standing for the commune's line to the province; the farm's script cuts
that line for ``line_cut_s`` in every ``line_cycle_s`` (``FarmScript.line_cut``).
While it is cut the agent spools its results; after ``offline_after`` of silence
central marks the agent's checks unknown and opens the one "agent offline" incident;
when the line returns the spool replays and the unknown time is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.demo.script import Behaviour, FarmScript
from app.demo.units import DemoUnit

log = logging.getLogger(__name__)

LAN_CHECK = "xephang"  # the queue machine: on the centre's LAN, seen only from inside
STOP_WAIT_S = 10.0


def agent_name(code: str) -> str:
    """The vantage name of the agent in unit ``code`` (``hy-<code>-lan``)."""
    return f"hy-{code}-lan"


def pick_unit(script: FarmScript, units: list[DemoUnit], skip: int = 0) -> DemoUnit | None:
    """The agent's commune: the first healthy unit after the first ``skip`` (the
    kiosks'), so that what the page shows during a cut is the cut, nothing else."""
    for unit in units[skip:]:
        if script.plan_for(unit.code).behaviour is Behaviour.HEALTHY:
            return unit
    return units[-1] if units else None


class LineRelay:
    """A loopback TCP relay to central that ``is_cut()`` cuts: open connections are
    dropped and new ones closed at once, as a dead line to the province would."""

    def __init__(self, host: str, port: int, is_cut: Callable[[], bool]) -> None:
        self.target = (host, port)
        self.is_cut = is_cut
        self.cut = False
        self.cuts = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._watch: asyncio.Task[None] | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._update()
        self._watch = asyncio.create_task(self._watch_loop(), name="demo-line")

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._server is not None:
            self._server.close()
        self._drop()

    def _update(self) -> None:
        cut = self.is_cut()
        if cut and not self.cut:
            self.cuts += 1
            self._drop()
        self.cut = cut

    async def _watch_loop(self) -> None:
        while True:
            self._update()
            await asyncio.sleep(0.25)

    def _drop(self) -> None:
        for w in list(self._writers):
            with contextlib.suppress(Exception):
                w.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                with contextlib.suppress(Exception):
                    w.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class DemoAgent:
    """The agent child process, its files and its line."""

    def __init__(self, name: str, unit: DemoUnit, workdir: Path, relay: LineRelay) -> None:
        self.name = name
        self.unit = unit
        self.dir = workdir / "agent"
        self.relay = relay
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def log_path(self) -> Path:
        return self.dir / "agent.log"

    @property
    def config_path(self) -> Path:
        return self.dir / "agent.toml"

    async def start(self, token: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        token_file = self.dir / "agent.token"
        fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(token + "\n")
        self.config_path.write_text(
            f'central_url = "{self.relay.url}"\n'
            f'token_file = "{token_file}"\n'
            f'spool_dir = "{self.dir / "spool"}"\n'
            f'name = "{self.name}"\n'
            'log_level = "INFO"\n',
            encoding="utf-8",
        )
        with self.log_path.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app.cli", "agent", "run", "--config",
                str(self.config_path), stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
            )  # fmt: skip

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), STOP_WAIT_S)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await self.relay.close()


async def start_agent(
    app: Any,
    base_url: str,
    unit: DemoUnit,
    workdir: Path,
    script: FarmScript,
    clock: Callable[[], float],
) -> DemoAgent:
    """Enrol the agent (its token, shown once: here written to its token file), open
    its line and start ``thongsuot agent run``. A demo database kept from an earlier run
    has the agent's old tokens: they are revoked first (the old token file is gone)."""
    from app.agents.service import active_tokens, get_agent, issue_token, revoke_tokens

    name = agent_name(unit.code)
    async with app.state.sessionmaker() as session, session.begin():
        known = await get_agent(session, name)
        if known is not None and await active_tokens(session, known):
            await revoke_tokens(session, name)
        issued = await issue_token(session, name, app.state.settings.inventory, first=True)
    host, _, port = base_url.split("://", 1)[1].rpartition(":")
    started = clock()  # the line's script counts from the agent's start
    relay = LineRelay(host.strip("[]"), int(port), lambda: script.line_cut(clock() - started))
    await relay.start()
    agent = DemoAgent(name, unit, workdir, relay)
    try:
        await agent.start(issued.token)
    except BaseException:
        await relay.close()
        raise
    return agent
