"""Shard lease renewal off the main event loop (docs/design.md §4.1).

At national load the main loop runs thousands of probe callbacks a second; a renew
coroutine on it waited behind them, its deadline passed and a live replica fenced
its own probes. The renews therefore run in a thread of their own ("shard-leases")
with its own event loop and its own one-connection engine (same URL, created and
disposed in the thread). Each report is handed to the main loop, where the monitor
takes the states of gained shards and re-syncs its jobs.

Liveness guard: a thread that renews for a wedged main loop would keep shards
nobody probes. The main loop ticks a monotonic timestamp every ``TICK_S``; the
thread renews only while that tick is younger than ``lease_s - margin_s`` (the
life of a renew's deadline). A loop busy for a second or two keeps its shards; one
stalled longer lets them expire in SQL, and another replica takes them over. A
``SIGSTOP`` stops every thread, so a paused replica is fenced as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import make_engine, make_sessionmaker
from app.monitor.leases import RenewReport, ShardLeases

log = logging.getLogger(__name__)
TICK_S = 0.5  # the main loop shows it runs this often
JOIN_S = 5.0  # stop waits this long for a renew under way


class LeaseThread:
    """Renews ``leases`` every ``renew_s`` in a daemon thread; hands each report to
    ``on_report``, called on the event loop that ran ``start``."""

    def __init__(
        self,
        leases: ShardLeases,
        database_url: str,
        *,
        renew_s: float,
        on_report: Callable[[RenewReport], object],
    ) -> None:
        self.leases = leases
        self._url = database_url
        self._renew_s = renew_s
        self._on_report = on_report
        self.stale_s = leases.lease_s - leases.margin_s  # a silent loop keeps no lease
        self.skipped = 0  # renews left out for a silent main loop
        self._tick = time.monotonic()  # written by the main loop, read by the thread
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ticks: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run, name="shard-leases", daemon=True)

    def start(self) -> None:
        """Start ticking on the running (main) loop, and the thread."""
        self._loop = asyncio.get_running_loop()
        self._tick = time.monotonic()
        self._ticks = self._loop.create_task(self._ticking(), name="shard-leases-tick")
        self._thread.start()

    async def stop(self) -> bool:
        """Stop ticking and the thread (a renew under way finishes first); False if it
        did not end within ``JOIN_S``. Await it on the loop that ran ``start``."""
        if self._ticks is not None:
            self._ticks.cancel()
            await asyncio.gather(self._ticks, return_exceptions=True)
        self._stopping.set()
        if not self._thread.is_alive():  # never started, or ended
            return True
        await asyncio.to_thread(self._thread.join, JOIN_S)
        if self._thread.is_alive():
            log.warning("the shard lease thread did not stop within %g s", JOIN_S)
            return False
        return True

    @property
    def silent_s(self) -> float:
        """How long the main loop has not ticked."""
        return time.monotonic() - self._tick

    async def _ticking(self) -> None:
        while True:
            self._tick = time.monotonic()
            await asyncio.sleep(TICK_S)

    def _run(self) -> None:
        asyncio.run(self._renewing())

    async def _renewing(self) -> None:
        """The thread's loop: its own engine, one renew every ``renew_s``."""
        engine = make_engine(self._url, pool_size=1, max_overflow=0)
        try:
            sessionmaker = make_sessionmaker(engine)
            # a blocking wait is fine: this loop has nothing else to run
            while not self._stopping.wait(self._renew_s):
                await self._renew_once(sessionmaker)
        finally:
            await engine.dispose()

    async def _renew_once(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        silent = self.silent_s
        if silent >= self.stale_s:
            self.skipped += 1
            log.warning(
                "shard lease renew skipped: the event loop has not run for %.1f s "
                "(limit %.1f s); its shards expire unless it comes back",
                silent,
                self.stale_s,
            )
            return
        try:
            report = await self.leases.renew(sessionmaker)
        except Exception as exc:
            log.warning("shard lease renew failed (%s): %s", type(exc).__name__, exc)
            return
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the main loop closed: nobody to tell
            self._loop.call_soon_threadsafe(self._on_report, report)
