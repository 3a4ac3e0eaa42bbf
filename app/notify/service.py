"""The notifier: owns the connectivity guard, the planner loop and the outbox sender.

One ``Notifier`` per monitor process (the :class:`app.monitor.runtime.Monitor` makes
it). Every ``notify_tick_s`` it plans (one transaction: incident decisions →
outbox rows) and then sends what is due (claims, network I/O outside any
transaction, outcomes recorded). Everything it knows between ticks is in SQL,
so a restarted process carries on where the last one stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.notify import connectivity
from app.notify import repository as repo
from app.notify.channels.config import SmtpConfig
from app.notify.dispatcher import Dispatcher, DispatchSettings
from app.notify.guard import ConnectivityGuard, GuardTopology
from app.notify.planner import PlanInput, PlanReport, dedupe_key, plan
from app.notify.policy import NotifyPolicyDoc, parse_policy
from app.notify.reports import AttachmentSource, PeriodKind, queue_reports
from probes.secrets import SecretResolver, env_secret

# Whether this replica plans now (it holds, or just took, the planning job lease):
# called first in the plan's transaction. None: one process, it always plans.
PlanClaim = Callable[[AsyncSession], Awaitable[bool]]

log = logging.getLogger(__name__)


def smtp_from_settings(settings: Settings) -> SmtpConfig | None:
    if settings.smtp_host is None:
        return None
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        from_addr=settings.smtp_from,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password_secret=settings.smtp_password_secret,
    )


def dispatch_settings(settings: Settings) -> DispatchSettings:
    key = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    return DispatchSettings(
        public_url=settings.public_url,
        secret_key=key,
        ack_ttl_s=settings.ack_link_ttl_s,
        lease_s=settings.notify_lease_s,
        retry_base_s=settings.notify_retry_base_s,
        retry_max_s=settings.notify_retry_max_s,
        max_attempts=settings.notify_max_attempts,
        concurrency=settings.notify_concurrency,
    )


class Notifier:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        client: httpx.AsyncClient | None = None,
        secrets: SecretResolver = env_secret,
        reports: AttachmentSource | None = None,
        clock: Callable[[], datetime] | None = None,
        plan_claim: PlanClaim | None = None,
    ) -> None:
        self.settings = settings
        # several replicas: only the holder of the planning job lease plans (see tick)
        self._plan_claim = plan_claim
        self._sm = sessionmaker
        self._reports = reports
        self._clock = clock or (lambda: datetime.now(UTC))
        self._reports_done: dict[PeriodKind, str] = {}  # latest report period known queued
        self._client = client
        self._own_client = client is None
        self._secrets = secrets
        self.policy = NotifyPolicyDoc()
        self.canaries: set[int] = set()
        self.guard = ConnectivityGuard(on_change=self._on_connectivity)
        self.dispatcher: Dispatcher | None = None
        self.last_report = PlanReport()
        self.last_error = ""
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._side_tasks: set[asyncio.Task[Any]] = set()
        self._connectivity_lock = asyncio.Lock()  # a restore is queued after its loss

    # lifecycle -------------------------------------------------------------------
    async def reload(self) -> None:
        """Read the policy and the check topology from SQL; reconfigure the guard."""
        async with self._sm() as session:
            document = await repo.load_policy(session)
            rows = await repo.check_topology(session)
        try:
            self.policy = parse_policy(document)
        except ValueError as exc:  # stored by an older version: keep the last good one
            log.error("stored notification policy is invalid, keeping the previous: %s", exc)
        ids = {key: check_id for check_id, key, _ in rows}
        topology = GuardTopology(
            checks=set(ids.values()),
            canaries={ids[k] for k in self.policy.canaries if k in ids},
            parents={c: [ids[k] for k in deps if k in ids] for c, _, deps in rows if deps},
            labels={c: k for k, c in ids.items()},
        )
        self.canaries = topology.canaries
        self.guard.configure(self.policy.storm, topology)

    def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(trust_env=False)
        self.dispatcher = Dispatcher(
            self._sm,
            self._client,
            dispatch_settings(self.settings),
            smtp=smtp_from_settings(self.settings),
            secrets=self._secrets,
            instructions=lambda: self.policy.instructions,
            reports=self._reports,
        )
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="notifier")

    async def stop(self, grace: float = 10.0) -> None:
        """Finish the current tick (bounded by ``grace``), then stop."""
        self._stopping = True
        self._wakeup.set()
        if self._side_tasks:
            await asyncio.wait(list(self._side_tasks), timeout=grace)
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(self._task, grace)
            except TimeoutError:
                log.error("notifier did not stop within %.0f s", grace)
        await self._close_client()

    async def abort(self) -> None:
        """Stop at once, mid-send if need be (what a killed process does)."""
        for task in [self._task, *self._side_tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = None
        self._side_tasks.clear()
        await self._close_client()

    async def _close_client(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        self._wakeup.set()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.tick()
            except Exception as exc:  # the database went away: try again next tick
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("notifier tick failed: %s", self.last_error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.settings.notify_tick_s)
            self._wakeup.clear()

    async def tick(self, now: datetime | None = None) -> PlanReport:
        """Plan (one transaction), queue the reports that are due, then send what is due."""
        now = now or self._clock()
        blind = self.guard.evaluate(now)
        inp = PlanInput(now=now, policy=self.policy, canaries=self.canaries, blind=blind)
        async with self._sm() as session, session.begin():
            # One planner at a time: two replicas planning the same incidents at once
            # updated the same rows in different orders (a deadlock in the national
            # bench). The claim's row lock also holds the other planners until commit.
            planner = self._plan_claim is None or await self._plan_claim(session)
            self.last_report = await plan(session, inp) if planner else PlanReport()
        if planner and self._reports is not None and self.policy.reports is not None:
            done = dict(self._reports_done)
            async with self._sm() as session, session.begin():
                await queue_reports(session, self.policy, now, done)
            self._reports_done = done  # only once the rows are committed
        if self.dispatcher is not None:
            await self.dispatcher.run_once()
        return self.last_report

    # the monitor's own connectivity -----------------------------------------------
    def _on_connectivity(self, blind: bool, at: datetime, reason: str) -> None:
        if blind:
            log.warning("monitor connectivity lost: %s", reason)
            self._spawn(self.connectivity_notice(at, reason))
        else:
            log.info("monitor connectivity restored")
            self._spawn(self.connectivity_restored(at))

    def _spawn(self, coro: Coroutine[Any, Any, int]) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:
            coro.close()
            return  # no loop (a synchronous caller in a test): nothing to send from
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def connectivity_notice(self, at: datetime, reason: str) -> int:
        """Queue one "monitor connectivity" notice to the operators (once per episode)."""
        checks = len(self.guard.topology.checks)
        async with self._connectivity_lock, self._sm() as session, session.begin():
            queued = await connectivity.queue_lost(
                session, self.policy, checks, at, reason, datetime.now(UTC)
            )
        self.wake()
        return queued

    async def connectivity_restored(self, at: datetime) -> int:
        """Queue one "connectivity restored" notice to whoever heard of the latest loss."""
        async with self._connectivity_lock, self._sm() as session, session.begin():
            queued = await connectivity.queue_restored(session, at, datetime.now(UTC))
        self.wake()
        return queued


__all__ = ["Notifier", "dedupe_key"]
