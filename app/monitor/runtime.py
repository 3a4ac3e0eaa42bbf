"""The monitor: inventory sync, scheduled probes, state evaluation, batch writes.

One ``Monitor`` per process owns the scheduler, the httpx clients and the result
pipeline; the FastAPI lifespan (or a bench) starts and stops it. SQL is the
source of truth: jobs and evaluator state are rebuilt from it on start and reload.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import time
from collections import deque
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.service import hash_token
from app.config import Settings
from app.models import Agent, Check, CheckVantage
from app.monitor.active_checks import active_checks_with_labels, active_signatures
from app.monitor.agent_metrics import AgentMetrics
from app.monitor.checks import RuntimeCheck, state_from_row
from app.monitor.collector import CheckStateCollector
from app.monitor.evaluator import CheckState, Outcome, apply_result, apply_unknown
from app.monitor.housekeeping import Housekeeper
from app.monitor.journal import Journal, database_identity
from app.monitor.lease_thread import LeaseThread
from app.monitor.leases import NOTIFY_PLAN, SHARDS, RenewReport, ShardLeases, claim_job
from app.monitor.metrics import ProcessMetrics
from app.monitor.pipeline import ResultPipeline
from app.monitor.push_relay import BeatRelay, RelayedBeat, Skipped, relay_beat
from app.monitor.scheduler import CheckScheduler
from app.monitor.unit_info import UnitLabels, unit_labels
from app.monitor.vantages import (
    VantageSet,
    apply_vantage_result,
    apply_vantage_unknown,
    unpark,
)
from app.notify.service import Notifier
from app.reports.delivery import ReportFiles
from app.vocab.states import State
from probes import ErrorKind, ProbeContext, ProbeResult, Status
from probes import get as get_probe
from probes.base import HttpClientProvider
from probes.clients import ClientPool
from probes.heartbeat import HeartbeatConfig, evaluate_heartbeat
from probes.resources import ProbeResources

if TYPE_CHECKING:
    from app.inventory.loader import Parsed

log = logging.getLogger(__name__)
CHECKS_REFRESH_S = 30.0  # replicas re-read the checks from SQL this often
# ... and this often while they know of none: a --workers replica starts before the
# API process has synced the inventory, and took a whole refresh to begin probing
EMPTY_REFRESH_S = 2.0
# the heap is frozen again this long after every check's first run (_freeze_heap)
FREEZE_AFTER_ROUND_S = 10.0
MAX_REFREEZE_S = 600.0


class MonitorStats:
    """Figures for benches and the console; a bounded reservoir of lateness samples."""

    def __init__(self, monitor: Monitor) -> None:
        self._m = monitor
        self.probes_started = 0
        self.probes_finished = 0
        self.lateness: list[float] = []
        self._seen = 0

    def add_lateness(self, value: float, cap: int = 100_000) -> None:
        self._seen += 1
        if len(self.lateness) < cap:
            self.lateness.append(value)
        elif (j := random.randrange(self._seen)) < cap:
            self.lateness[j] = value

    @property
    def results_written(self) -> int:
        return self._m.pipeline.stats.results_written

    @property
    def flips_written(self) -> int:
        return self._m.pipeline.stats.flips_written

    @property
    def dropped(self) -> int:
        return self._m.pipeline.stats.dropped

    @property
    def buffer_depth(self) -> int:
        return self._m.pipeline.depth

    @property
    def write_seconds(self) -> deque[float]:
        return self._m.pipeline.stats.write_seconds


class Monitor:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        clients: HttpClientProvider | None = None,
        parsed: Parsed | None = None,
    ) -> None:
        self.settings = settings
        self.parsed = parsed  # the inventory as serve parsed it, taken by the first sync
        self._sm = sessionmaker
        self._own_clients = clients is None
        self._clients = clients
        # engines and resolvers probes keep between runs (probes/resources.py)
        self._resources: ProbeResources | None = None
        self.checks: dict[int, RuntimeCheck] = {}
        self._central: dict[int, RuntimeCheck] = {}  # the checks probed from here
        # multi-vantage checks' per-vantage states, and each agent's liveness check
        # (docs/agents.md); agents' beats and results reach only this process (they are
        # not relayed like push beats): one replica serves the agents
        self.vantages: dict[int, VantageSet] = {}
        self.agent_checks: dict[str, int] = {}
        self._agent_check_ids: frozenset[int] = frozenset()
        self._recent_uids: dict[str, None] = {}  # agent result uids, bounded
        self._agent_tasks: set[asyncio.Task[None]] = set()
        self.states: dict[int, CheckState] = {}
        self.metrics = ProcessMetrics()
        self.metrics.registry.register(CheckStateCollector(self))
        self.agent_metrics = AgentMetrics(self.metrics.registry)
        self.pipeline = ResultPipeline(
            sessionmaker,
            capacity=settings.buffer_capacity,
            batch_size=settings.batch_size,
            flush_interval=settings.flush_interval_s,
            on_write=self.metrics.record_write,
            on_error=self.metrics.write_errors.inc,
            on_drop=self.metrics.dropped.inc,
            on_dead_letter=self.metrics.dead_lettered.inc,
            journal=Journal(
                settings.journal_dir,
                database=database_identity(settings.database_url),
                segment_bytes=settings.journal_segment_bytes,
                on_rejected=self.metrics.spool_rejected.inc,
            ),
            journal_sync=settings.journal_sync,
            journal_flush=settings.journal_flush_s,
            journal_batch=settings.journal_batch,
            on_accept=self.metrics.accepted.inc,
            on_lost=lambda reason, n: self.metrics.lost.labels(reason).inc(n),
        )
        self.metrics.buffer_depth.set_function(lambda: self.pipeline.depth)
        self.metrics.spool_healthy.set_function(self._spool_healthy)
        self.scheduler = CheckScheduler(
            self._scheduled_run,
            misfire_grace_s=settings.misfire_grace_s,
            spread=settings.spread_first_runs,
        )
        self.stats = MonitorStats(self)
        # shard leases (docs/design.md §4): several replicas share the checks on
        # PostgreSQL; None on SQLite, where this process is the only one
        self.leases = (
            ShardLeases(sessionmaker, lease_s=settings.lease_s, margin_s=settings.lease_margin_s)
            if settings.shard_leases and not settings.is_sqlite
            else None
        )
        # renewed in a thread of its own (app/monitor/lease_thread.py), whose reports
        # are applied on this loop, in order, by _lease_loop
        self._lease_thread: LeaseThread | None = None
        self._lease_reports: asyncio.Queue[RenewReport] = asyncio.Queue()
        self._lease_task: asyncio.Task[None] | None = None
        self._refresh_task: asyncio.Task[None] | None = None
        self._resyncs: set[asyncio.Task[None]] = set()  # jobs re-synced after a renew
        self._refreeze: asyncio.TimerHandle | None = None  # see _freeze_heap
        self.metrics.shards_owned.set_function(self._shards_owned)
        # monitor_run heartbeat, rollups and result retention (app/reports/housekeeping.py)
        self.housekeeper = Housekeeper(
            sessionmaker,
            retention_days=settings.retention_days,
            job_owner=self.leases.owner if self.leases is not None else None,
        )
        self.ready = False
        self._sem = asyncio.Semaphore(settings.max_concurrency)
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._reload_lock = asyncio.Lock()
        self._synced: tuple[str, tuple[str, ...]] | None = None  # fingerprint, secret names
        self._signatures: dict[int, tuple[Any, ...]] = {}  # of self.checks, as last read
        self._tokens: dict[str, int] = {}
        self.unit_labels: dict[str, UnitLabels] = {}  # thongsuot_unit_info, replaced whole
        self.notifier = (
            Notifier(
                settings,
                sessionmaker,
                reports=ReportFiles(sessionmaker, settings),
                plan_claim=self._claim_planning if self.leases is not None else None,
            )
            if settings.notify_enabled
            else None
        )
        # push beats through SQL (docs/design.md §4.1): with shard leases, beats another
        # process received for this replica's shards are polled from push_beat
        self.beat_relay = (
            BeatRelay(
                sessionmaker,
                self.leases,
                self._apply_relayed,
                on_applied=lambda _, age: self.metrics.push_beat_relay_seconds.observe(age),
            )
            if self.leases is not None
            else None
        )

    # lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        if self._clients is None:
            self._clients = ClientPool(self.settings.http_shards, self.settings.extra_ca_file)
        self._resources = ProbeResources()
        await self._replay_spool()
        if self.leases is not None:  # after the replay: its outcomes carry the old epochs
            await self._renewed(await self.leases.renew())
            # renewing from now on, off this loop: the reload below takes a minute at
            # national scale (17,000 checks parsed and synced), longer than a lease,
            # and thousands of probe callbacks a second must not delay a renew either
            self._lease_thread = LeaseThread(
                self.leases,
                self.settings.database_url,
                renew_s=self.settings.lease_renew_s,
                on_report=self._lease_reports.put_nowait,
            )
            self._lease_thread.start()
            self._lease_task = asyncio.create_task(self._lease_loop(), name="lease-reports")
            self._refresh_task = asyncio.create_task(self._refresh_loop(), name="checks-refresh")
        await self.reload()
        self.pipeline.start()
        if self.beat_relay is not None:  # after the reload: beats need their checks' states
            self.beat_relay.start()
        await self.housekeeper.start()
        if self.notifier is not None:
            self.notifier.start()
        self.scheduler.start()
        self.ready = True
        loop = type(asyncio.get_running_loop())
        log.info(
            "monitor started with %d checks (event loop: %s)",
            len(self.checks),
            f"{loop.__module__}.{loop.__qualname__}",
        )

    async def stop(self) -> None:
        self.ready = False
        # Stop submitting, let started runs finish (shutdown would cancel them and
        # their results would be lost), then shut the scheduler down.
        self.scheduler.pause()
        try:
            await asyncio.wait_for(self._idle.wait(), 15)
        except TimeoutError:
            log.warning("%d probes still running at stop", self._in_flight)
        self.scheduler.shutdown()
        if self._refreeze is not None:
            self._refreeze.cancel()
        if self.beat_relay is not None:  # applies no beat the pipeline would not write
            await self.beat_relay.stop()
        for task in (self._lease_task, self._refresh_task, *self._resyncs):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        # each step runs even when one before it failed (a database or a disk away)
        await _quietly(self.pipeline.stop(), "the result pipeline")
        if self._lease_thread is not None:  # renewed while writing; no renew after the release
            await self._lease_thread.stop()
        if self.leases is not None:  # written (or journaled): the others may take over now
            await _quietly(self.leases.release(), "the shard leases")
        await _quietly(self.housekeeper.stop(), "the housekeeper")
        if self.notifier is not None:
            await _quietly(self.notifier.stop(), "the notifier")
        if self._own_clients and isinstance(self._clients, ClientPool):
            await self._clients.aclose()
        if self._resources is not None:  # freshness engines, dns resolvers
            await self._resources.aclose()
        p = self.pipeline.stats  # one line an operator (and bench/national.py) can add up
        log.info(
            "monitor stopped: %d probes run, %d results written, %d fenced, %d dropped, "
            "%d lost, %d left in the buffer",
            self.stats.probes_finished, p.results_written, p.fenced, p.dropped, p.lost,
            self.pipeline.depth,
        )  # fmt: skip

    def _spool_healthy(self) -> float:
        journal = self.pipeline.journal
        return 1.0 if journal is not None and journal.healthy else 0.0

    async def _replay_spool(self) -> None:
        """Write what an earlier stop spooled before check states are read from SQL,
        so the evaluator resumes from them; if the database is still away they stay
        buffered (and are spooled again at stop)."""
        if not (n := self.pipeline.restore()):
            return
        try:
            await asyncio.wait_for(self.pipeline.flush(), 30)
            log.info("%d spooled outcomes written", n)
        except (RuntimeError, TimeoutError):
            log.warning("%d spooled outcomes wait for the database", self.pipeline.depth)

    async def reload(self, force: bool = False) -> dict[str, Any]:
        """Sync the inventory file into SQL (if configured) and rebuild the jobs.

        An inventory whose fingerprint (its bytes and the push-token secrets it
        names) is unchanged since the last sync is not parsed or synced again
        unless ``force``; the checks are still re-read from SQL, cheaply, so a
        token rotated with ``thongsuot push-token`` is taken up.
        """
        async with self._reload_lock:
            report: dict[str, Any] = {}
            if self.settings.inventory is not None:
                report["inventory"] = await self._sync_inventory(force)
            await self._load_checks()
            async with self._sm() as session:
                self.unit_labels = await unit_labels(session)
            if self.notifier is not None:
                await self.notifier.reload()
            report["jobs"] = self.scheduler.sync(self._owned())
            report["checks"] = len(self.checks)
            self.metrics.jobs.set(self.scheduler.job_count)
            self._freeze_heap()
            return report

    async def _sync_inventory(self, force: bool) -> dict[str, Any]:
        from app.inventory.fingerprint import fingerprint, secret_names
        from app.inventory.loader import parse_bytes, read_bytes
        from app.inventory.policy import sync_policy
        from app.inventory.service import sync_inventory

        path = self.settings.inventory
        assert path is not None
        data = await asyncio.to_thread(read_bytes, path)
        last = None if force else self._synced
        if last is not None and await asyncio.to_thread(fingerprint, data, last[1]) == last[0]:
            return {"unchanged": True}
        known, self.parsed = self.parsed, None
        inventory, flat = await asyncio.to_thread(parse_bytes, path, data, known)
        names = secret_names(flat)
        digest = await asyncio.to_thread(fingerprint, data, names)
        async with self._sm() as session, session.begin():
            sync_report = await sync_inventory(session, flat, datetime.now(UTC))
            await sync_policy(session, inventory)
        self._synced = (digest, names)
        return _as_dict(sync_report)

    def _freeze_heap(self) -> None:
        """Move what now lives as long as the process (the inventory, jobs and states)
        out of the cyclic collector's way, and again once every check has run: the
        first round of probes builds more (metric series per check, clients).

        At 17,000 checks each full collection otherwise rescans ~480,000 objects:
        ~180 CPU-ms each, a tenth of a core over both processes of a national run
        (``time.thread_time`` in gc.callbacks), and a pause of the event loop
        (docs/design.md §7). A young collection first, so that little garbage is
        frozen with them."""
        gc.collect(1)
        gc.freeze()
        if self._refreeze is not None:
            self._refreeze.cancel()
        first_round = max((rc.interval_s for rc in self.checks.values()), default=0)
        if first_round:
            later = min(first_round + FREEZE_AFTER_ROUND_S, MAX_REFREEZE_S)
            self._refreeze = asyncio.get_running_loop().call_later(later, self._refrozen)

    def _refrozen(self) -> None:
        self._refreeze = None
        gc.collect(1)
        gc.freeze()

    async def _load_checks(self) -> int:
        """Re-read the active checks; rebuild only those whose signature changed (their
        count is returned).

        Parsing 17,000 probe configs on every reload stalled the loop for seconds;
        plain signature rows are compared first, and only new or changed checks
        are loaded as ORM rows and parsed.
        """
        async with self._sm() as session:
            signatures = await active_signatures(session)
            known = self._signatures
            kept = [s[0] for s in signatures if known.get(s[0]) == s]
            stale = [s[0] for s in signatures if known.get(s[0]) != s]
            rows: list[Any] = []
            for start in range(0, len(stale), 1_000):
                rows += await active_checks_with_labels(session, stale[start : start + 1_000])
        checks = {check_id: self.checks[check_id] for check_id in kept}
        for row in rows:
            check, unit_code, service_kind = row[0], row[1], row[2]
            try:
                checks[check.id] = RuntimeCheck.from_row(check, unit_code, service_kind)
            except Exception as exc:  # a bad row must not stop the other checks
                log.error("check %s cannot be scheduled: %s", check.key, exc)
                continue
            self._merge_state(check, checks[check.id])
        for gone in set(self.states) - set(checks):
            del self.states[gone]
        self.checks = dict(sorted(checks.items()))
        # checks only agents probe are evaluated here but never scheduled (docs/agents.md)
        self._central = {i: rc for i, rc in self.checks.items() if rc.probed_centrally}
        self._signatures = {i: known[i] for i in kept} | {
            i: checks[i].signature() for i in stale if i in checks
        }
        self._tokens = {rc.push_token_hash: rc.id for rc in checks.values() if rc.push_token_hash}
        await self._load_vantages()
        return len(rows)

    async def _load_vantages(self) -> None:
        """Per-vantage states of multi-vantage checks, from ``check_vantage`` for the
        checks new to this process (or whose vantages or quorum changed)."""
        self.agent_checks = {
            rc.key.removeprefix("agent."): rc.id
            for rc in self.checks.values()
            if rc.kind == "heartbeat" and rc.key.startswith("agent.")
        }
        self._agent_check_ids = frozenset(self.agent_checks.values())
        multi = {i: rc for i, rc in self.checks.items() if rc.multi_vantage}
        kept = {
            i: v
            for i, v in self.vantages.items()
            if i in multi and (v.locations, v.quorum) == (multi[i].locations, multi[i].quorum)
        }
        new = [i for i in multi if i not in kept]
        for i in new:
            rc = multi[i]
            kept[i] = VantageSet(i, rc.unit_id, rc.locations, rc.quorum)
        if new:
            async with self._sm() as session:
                for start in range(0, len(new), 1_000):
                    part = new[start : start + 1_000]
                    rows = await session.execute(
                        select(CheckVantage).where(CheckVantage.check_id.in_(part))
                    )
                    for row in rows.scalars():
                        vs = kept[row.check_id].state_of(row.vantage)
                        vs.state, vs.state_since = State(row.state), row.since
                        vs.streak_status = State(row.streak_status) if row.streak_status else None
                        vs.streak_count = row.streak_count
                        vs.streak_started_at = row.streak_started_at
                        vs.last_result_at = row.last_result_at
        self.vantages = kept

    def _merge_state(self, check: Any, rc: RuntimeCheck) -> None:
        cs = self.states.get(rc.id)
        if cs is None:
            self.states[rc.id] = state_from_row(check)
            return
        cs.failure_threshold = rc.failure_threshold
        cs.recovery_threshold = rc.recovery_threshold

    # shard leases -----------------------------------------------------------
    def _owned(self) -> dict[int, RuntimeCheck]:
        """The checks this replica probes: those of the shards it holds (all on SQLite)."""
        if self.leases is None:
            return self._central
        held = self.leases.epochs
        return {i: rc for i, rc in self._central.items() if rc.shard in held}

    async def _claim_planning(self, session: AsyncSession) -> bool:
        """Hold the notification planning job lease (one planner among the replicas);
        held over two missed ticks, so a dead planner is replaced within seconds."""
        assert self.leases is not None
        hold = max(10.0, 3 * self.settings.notify_tick_s)
        return await claim_job(session, NOTIFY_PLAN, self.leases.owner, hold)

    def _shards_owned(self) -> float:
        return float(SHARDS if self.leases is None else self.leases.owned)

    async def _lease_loop(self) -> None:
        """Apply the lease thread's renews, in order and one at a time. The renews
        themselves never wait for this loop: a slow checks refresh, reload, job sync or
        a flood of probe callbacks must not delay one past the lease (the replica would
        fence itself and lose its shards)."""
        while True:
            await self._apply_renew(await self._lease_reports.get())

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(CHECKS_REFRESH_S if self.checks else EMPTY_REFRESH_S)
            await _quietly(self.refresh_checks(), "the checks refresh")

    async def refresh_checks(self) -> None:
        """Re-read the checks from SQL (cheap when unchanged): a replica that is not
        told of a reload (a ``--workers`` child, another host) still follows the
        inventory the API process synced, within ``CHECKS_REFRESH_S``."""
        async with self._reload_lock:
            rebuilt = await self._load_checks()
            self.scheduler.sync(self._owned())
            self.metrics.jobs.set(self.scheduler.job_count)
            if rebuilt:  # as after a reload: a --workers child loads its checks here
                self._freeze_heap()

    async def _apply_renew(self, report: RenewReport) -> None:
        """One renew done by the lease thread (a failed one reports nothing: the shards
        stay scheduled, fenced once the deadline passes)."""
        try:
            await self._renewed(report)
        except Exception:  # the database away while taking states: the next renews go on
            log.exception("shard lease renew not fully applied")
        if report.gained or report.lost:  # in a task: a reload may hold the lock for long
            task = asyncio.create_task(self._sync_jobs(), name="jobs-resync")
            self._resyncs.add(task)
            task.add_done_callback(self._resyncs.discard)

    async def _sync_jobs(self) -> None:
        async with self._reload_lock:
            self.scheduler.sync(self._owned())
            self.metrics.jobs.set(self.scheduler.job_count)

    async def _renewed(self, report: RenewReport) -> None:
        m = self.metrics
        m.shards_unowned.set(report.unowned)
        m.db_clock_offset.set(report.clock_offset_s)
        m.lease_renew_ok.set(time.time())
        if report.gained or report.lost:
            log.info(
                "shards: +%d -%d, %d held, %d live replicas",
                len(report.gained),
                len(report.lost),
                len(self.leases.epochs) if self.leases is not None else SHARDS,
                report.live,
            )
        if report.gained:
            await self._take_states(report.gained)

    async def _take_states(self, shards: set[int]) -> None:
        """Taken shards: their checks' evaluator state comes from SQL, where the
        previous owner left it (its later writes are refused by the epoch)."""
        ids = [rc.id for rc in self.checks.values() if rc.shard in shards]
        async with self._sm() as session:
            for start in range(0, len(ids), 1_000):
                part = ids[start : start + 1_000]
                rows = await session.execute(select(Check).where(Check.id.in_(part)))
                for check in rows.scalars():
                    rc = self.checks.get(check.id)
                    if rc is not None:
                        self.states[check.id] = state_from_row(check)

    # probing ---------------------------------------------------------------
    async def _scheduled_run(self, check_id: int, scheduled: float, slot: int | None) -> None:
        if self.leases is not None:
            rc = self.checks.get(check_id)
            if rc is None or not self.leases.may_probe(rc.shard):
                self.metrics.probes_fenced.inc()  # lease not renewed in time: fenced
                return
        self.stats.probes_started += 1
        self._in_flight += 1
        self._idle.clear()
        try:
            async with self._sem:
                now = time.time()
                late = max(0.0, now - scheduled)  # a timer may fire a millisecond early
                self.metrics.lateness.observe(late)
                self.metrics.slot_lag.set(late)
                self.stats.add_lateness(late)
                await self.run_check(check_id, slot=slot)
                self._follow_streak(check_id, started=now)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    def _follow_streak(self, check_id: int, started: float) -> None:
        """A check with a retry interval: while a streak disagrees with the confirmed
        state, probe again ``retry_interval_s`` after this run started; once the streak
        is confirmed or broken, back to the normal interval (docs/inventory.md)."""
        rc, cs = self.checks.get(check_id), self.states.get(check_id)
        if rc is None or cs is None:
            return
        now = time.time()
        if rc.retry_interval_s is not None and cs.streak_status is not None:
            # a probe longer than the retry interval: the retry is due now, not late
            self.scheduler.retry(check_id, max(started + rc.retry_interval_s, now), now)
        else:  # no-op unless the check was retrying
            self.scheduler.resume(check_id, now)

    async def run_check(self, check_id: int, slot: int | None = None) -> Outcome | None:
        """Probe one check now, evaluate it and queue its outcome (filling ``slot``)."""
        rc = self.checks.get(check_id)
        cs = self.states.get(check_id)
        if rc is None or cs is None:
            return None
        at = datetime.now(UTC)
        self.metrics.in_flight.inc()
        try:
            result = await self._probe(rc)
        finally:
            self.metrics.in_flight.dec()
        if rc.kind == "heartbeat" and result.status is not Status.DOWN:
            return None  # an on-time rhythm adds no sample: the beat itself was one
        if rc.id in self._agent_check_ids and result.error_kind is ErrorKind.MISSED_HEARTBEAT:
            result = _agent_offline(rc, result)
        return self._record(rc, cs, result, at, slot)

    def _record(
        self,
        rc: RuntimeCheck,
        cs: CheckState,
        result: ProbeResult,
        at: datetime,
        slot: int | None = None,
        *,
        uid: str | None = None,
        push_beat_id: int | None = None,
    ) -> Outcome:
        vset = self.vantages.get(rc.id) if rc.multi_vantage else None
        if vset is not None:  # observed from the centre, one of several vantages
            outcome = apply_vantage_result(cs, vset, "central", result, at)
        else:
            outcome = self._evaluate(rc, cs, result, at)
        outcome.result_row["slot"] = slot
        if uid is not None:  # a relayed beat: its result keeps the uid it was given
            outcome.result_row["uid"] = uid
        outcome.push_beat_id = push_beat_id
        if self.leases is not None:  # refused at write once another replica holds the shard
            epoch = self.leases.epoch(rc.shard)
            outcome.shard, outcome.epoch = rc.shard, -1 if epoch is None else epoch
        self.pipeline.put(outcome)
        self._count(rc, result, outcome)
        if outcome.flip_row is not None and rc.kind == "heartbeat" and rc.key.startswith("agent."):
            self._agent_flipped(rc.key.removeprefix("agent."), outcome)
        return outcome

    # remote agents (docs/agents.md) ------------------------------------------
    def agent_may_report(self, agent: str, units: list[str], check_id: int) -> bool:
        """Whether ``check_id`` is one of ``agent``'s checks (and of its units)."""
        rc = self.checks.get(check_id)
        return rc is not None and agent in rc.locations and rc.unit_code in units

    def seen_uid(self, uid: str) -> bool:
        """Whether an agent result with this uid was taken lately (bounded memory)."""
        if uid in self._recent_uids:
            return True
        self._recent_uids[uid] = None
        if len(self._recent_uids) > 200_000:
            self._recent_uids.pop(next(iter(self._recent_uids)))
        return False

    def record_vantage_result(
        self,
        check_id: int,
        vantage: str,
        result: ProbeResult,
        at: datetime,
        slot: int | None = None,
        uid: str | None = None,
    ) -> tuple[Outcome | None, str | None]:
        """A result observed from ``vantage`` (an agent) at ``at`` (server clock): the
        vantage's evaluator, then the check's quorum; the outcome goes in the pipeline
        like a push beat's. Returns it and, when this result ends the unknown time of a
        silent agent (a spool replay), the uid of the unknown flip to retract."""
        rc, cs = self.checks.get(check_id), self.states.get(check_id)
        vset = self.vantages.get(check_id)
        if rc is None or cs is None or vset is None or vantage not in rc.locations:
            return None, None
        retract = unpark(cs, vset, vantage) if vantage in vset.parked else None
        outcome = apply_vantage_result(cs, vset, vantage, result, at)
        outcome.retract_flip_uid = retract
        outcome.result_row["slot"] = slot
        if uid is not None:
            outcome.result_row["uid"] = uid
        self.pipeline.put(outcome)
        self._count(rc, result, outcome)
        return outcome, retract

    def agent_seen(self, agent: str, now: datetime) -> None:
        """Any request of ``agent`` is a beat of its liveness check ``agent.<name>``;
        a silent agent's check comes back up at once."""
        check_id = self.agent_checks.get(agent)
        rc = self.checks.get(check_id) if check_id is not None else None
        cs = self.states.get(check_id) if check_id is not None else None
        if rc is None or cs is None or not isinstance(rc.config, HeartbeatConfig):
            return
        cs.last_beat_at = now
        if cs.state is not State.UP or cs.streak_status is not None:
            result = evaluate_heartbeat(rc.config, now, None, "", now, rc.created_at)
            result.details["source"] = "agent"
            self._record(rc, cs, result, now)

    def _agent_flipped(self, agent: str, outcome: Outcome) -> None:
        """The liveness check of ``agent`` flipped: down means silent, so every vantage
        of the agent becomes unknown (the checks follow by their quorum)."""
        flip = outcome.flip_row
        assert flip is not None
        if flip["new_state"] is not State.DOWN:
            return
        at = flip["at"]
        reason = f"agent {agent} offline"
        for check_id, vset in self.vantages.items():
            cs = self.states.get(check_id)
            if cs is None or agent not in vset.locations:
                continue
            unknown = apply_vantage_unknown(cs, vset, agent, at, reason)
            if unknown is not None:
                self.pipeline.put(unknown)
        self.agent_metrics.offline.inc()
        task = asyncio.get_running_loop().create_task(self._mark_offline(agent, at))
        self._agent_tasks.add(task)
        task.add_done_callback(self._agent_tasks.discard)

    async def _mark_offline(self, agent: str, at: datetime) -> None:
        """The agent row shows it (``agent list``, the API); its next request sets it
        online again."""
        try:
            async with self._sm() as session, session.begin():
                await session.execute(
                    update(Agent)
                    .where(Agent.name == agent, Agent.state != "offline")
                    .values(state="offline", state_since=at)
                )
        except Exception as exc:  # the database away: the liveness check still says it
            log.warning("agent %s offline, not recorded on its row: %s", agent, exc)

    def _evaluate(
        self, rc: RuntimeCheck, cs: CheckState, result: ProbeResult, at: datetime
    ) -> Outcome:
        """While the monitor is blind (canaries or a storm), a failure is ``unknown``."""
        guard = self.notifier.guard if self.notifier is not None else None
        if guard is None:
            return apply_result(cs, result, at)
        failed = result.status is Status.DOWN
        if guard.observe(rc.id, failed, at) and failed and not guard.is_canary(rc.id):
            return apply_unknown(cs, result, at, f"monitor connectivity: {guard.reason}")
        return apply_result(cs, result, at)

    def check_for_push_token(self, token: str) -> int | None:
        """The heartbeat check whose push token this is, or None."""
        return self._tokens.get(hash_token(token))

    def set_push_token(self, check_id: int, token_hash: str) -> None:
        self._tokens = {h: c for h, c in self._tokens.items() if c != check_id}
        self._tokens[token_hash] = check_id

    def record_beat(
        self,
        check_id: int,
        status: str | None,
        message: str,
        *,
        at: datetime | None = None,
        uid: str | None = None,
        push_beat_id: int | None = None,
    ) -> Outcome | None:
        """A device pushed a beat: it is a result (up, or down if the device says so).

        A beat relayed through SQL (:meth:`_apply_relayed`) comes with the time it was
        received (``at``), the uid its result is stored under and its ``push_beat`` row;
        an older beat than the last one taken adds its result but moves no beat time."""
        rc, cs = self.checks.get(check_id), self.states.get(check_id)
        if rc is None or cs is None or not isinstance(rc.config, HeartbeatConfig):
            return None
        now = at or datetime.now(UTC)
        if cs.last_beat_at is None or now >= cs.last_beat_at:
            cs.last_beat_at, cs.last_beat_status, cs.last_beat_message = now, status, message
        result = evaluate_heartbeat(rc.config, now, status, message, now, rc.created_at)
        result.details["source"] = "push"
        return self._record(rc, cs, result, now, uid=uid, push_beat_id=push_beat_id)

    # push beats through SQL (docs/design.md §4.1) ---------------------------------
    def holds_check(self, check_id: int) -> bool:
        """Whether a beat for ``check_id`` is taken here, in memory: no shard leases
        (one process), a check unknown here, or a shard this replica holds now."""
        rc = self.checks.get(check_id)
        return self.leases is None or rc is None or self.leases.may_probe(rc.shard)

    async def relay_beat(self, check_id: int, status: str | None, message: str) -> str:
        """Write a beat for the replica owning ``check_id``'s shard; the check's state
        as last written to SQL (what the device is answered)."""
        rc = self.checks[check_id]
        async with self._sm() as session, session.begin():
            state = await relay_beat(
                session, check_id=check_id, shard=rc.shard, status=status, message=message
            )
        self.metrics.push_beats_relayed.inc()
        return state

    def _apply_relayed(self, beat: RelayedBeat) -> Outcome | Skipped:
        """A beat another process received for this replica's shard: recorded at its
        receipt time, under its uid; the outcome deletes its row when written. One read
        past the deadline it set is not applied: the check's silence since then was
        judged already, and an old beat must not bring it back up."""
        rc = self.checks.get(beat.check_id)
        if rc is None or not isinstance(rc.config, HeartbeatConfig):
            return Skipped.UNKNOWN
        deadline = rc.config.next_expected(beat.at) + timedelta(seconds=rc.config.grace_s)
        if datetime.now(UTC) > deadline:
            return Skipped.EXPIRED
        outcome = self.record_beat(
            beat.check_id, beat.status, beat.message, at=beat.at, uid=beat.uid,
            push_beat_id=beat.id,
        )  # fmt: skip
        return Skipped.UNKNOWN if outcome is None else outcome

    def _extra(self, rc: RuntimeCheck) -> dict[str, Any]:
        cs = self.states.get(rc.id)
        if rc.kind != "heartbeat" or cs is None:
            return {}
        return {
            "last_beat_at": cs.last_beat_at,
            "last_beat_status": cs.last_beat_status,
            "last_beat_message": cs.last_beat_message,
            "created_at": rc.created_at,
        }

    async def _probe(self, rc: RuntimeCheck) -> ProbeResult:
        assert self._clients is not None
        ctx = ProbeContext(
            clients=self._clients,
            timeout=rc.timeout_s,
            key=rc.key,
            extra=self._extra(rc),
            resources=self._resources,
        )
        try:
            async with asyncio.timeout(rc.timeout_s + 1.0):
                return await get_probe(rc.kind).run(rc.config, ctx)
        except TimeoutError:
            return ProbeResult.down(
                ErrorKind.TIMEOUT, f"no answer within {rc.timeout_s:g} s", rc.timeout_s
            )
        except Exception as exc:  # a probe bug: record it, keep the job alive
            log.exception("probe %s raised", rc.key)
            return ProbeResult.down(ErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}")

    def _count(self, rc: RuntimeCheck, result: ProbeResult, outcome: Outcome) -> None:
        self.stats.probes_finished += 1
        kind = result.error_kind.value if result.error_kind else ""
        self.metrics.results.labels(rc.kind, result.status.value, kind).inc()
        if outcome.flip_row is not None:
            self.metrics.flips.labels(outcome.flip_row["new_state"]).inc()


def _agent_offline(rc: RuntimeCheck, missed: ProbeResult) -> ProbeResult:
    """An agent's liveness check missed its beat: the agent in the commune lost contact
    with the province, which its incident, messages and pages say (``agent_offline``)."""
    agent = rc.key.removeprefix("agent.")
    return ProbeResult.down(
        ErrorKind.AGENT_OFFLINE,
        f"agent {agent} silent: {missed.message}",
        missed.latency,
        **missed.details,
    )


async def _quietly(step: Coroutine[Any, Any, None], what: str) -> None:
    """Await one step of the shutdown; log its failure instead of ending the shutdown."""
    try:
        await step
    except Exception:
        log.exception("%s failed to stop cleanly", what)


def _as_dict(report: Any) -> dict[str, Any]:
    if isinstance(report, dict):
        return report
    if hasattr(report, "model_dump"):
        return dict(report.model_dump(mode="json"))
    from dataclasses import asdict, is_dataclass

    return (
        asdict(report)
        if is_dataclass(report) and not isinstance(report, type)
        else {"summary": str(report)}
    )
