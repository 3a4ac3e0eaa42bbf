"""The agent's loops: pull the checks, probe them on their slots, push the spool.

- pull: ``GET /api/v1/agent/config`` every ``pull_interval_s`` with ``If-None-Match``;
  a 200 is applied and cached in ``spool_dir/config.json`` (the last good config, used
  at start while central is unreachable); a 304 keeps what runs.
- probe: one small loop per check, sleeping to ``phase_s + k * interval_s``
  (app/slots.py, the monitor's grid); a run that would overlap its own previous run
  waits and skips the missed slots; at most ``concurrency`` probes at once.
- push: every ``push_interval_s`` (or as soon as ``max_batch`` results are queued) the
  oldest results go in one batch under one Idempotency-Key, kept until central says
  200. Retry rules as Prometheus remote-write (docs/agents.md "The spool").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import signal
import time
import uuid
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import probes
from app.agent import USER_AGENT
from app.agent.central import Answer, Central, Verdict
from app.agent.config import (
    AgentConfig,
    AgentConfigError,
    Assignment,
    CheckAssignment,
    read_token,
)
from app.agent.spool import Batch, Spool
from app.slots import next_slot_at, slot_of
from probes.base import ErrorKind, ProbeConfig, ProbeContext, ProbeResult
from probes.clients import ClientPool
from probes.resources import ProbeResources
from probes.secrets import SecretResolver, env_secret

log = logging.getLogger("thongsuot.agent")

BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0  # Prometheus remote-write caps at 5 s; many agents back at once need more
STOP_GRACE_S = 5.0  # at shutdown: in-flight probes and one last push


def backoff_delay(attempt: int) -> float:
    """Exponential from 0.5 s, capped at 30 s, with jitter (up to +50%, within the cap)."""
    base = min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2.0 ** min(max(0, attempt), 16))
    return min(BACKOFF_MAX_S, base * (1.0 + random.random() * 0.5))


def _resolver(given: dict[str, str]) -> SecretResolver:
    """The secrets central sent with the check, else the box's own (``NAME`` or
    ``NAME_FILE`` in the agent's environment, probes/secrets.py)."""

    def resolve(name: str) -> str:
        if name in given:
            return given[name]
        return env_secret(name)

    return resolve


def next_due(now: float, last_due: float | None, phase_s: float, interval_s: float) -> float:
    """The next grid time to run at: the first at or after ``now``, but never the slot
    just run again (a sleep that woke a little early). A clock stepped back by NTP
    re-anchors on the grid instead of waiting for the old time to come round again."""
    due = next_slot_at(now, phase_s, interval_s)
    if last_due is not None and abs(due - last_due) < interval_s / 2:
        due += interval_s
    return due


class Metrics:
    """The agent's own counters, served on 127.0.0.1:metrics_port and logged."""

    def __init__(self) -> None:
        self.results = 0
        self.pushed = 0
        self.push_failures: dict[str, int] = {}
        self.refused = 0
        self.pulls: dict[str, int] = {}
        self.clock_offset_s: float | None = None
        self.last_push_ok: float | None = None

    def fail(self, reason: str) -> None:
        self.push_failures[reason] = self.push_failures.get(reason, 0) + 1

    def exposition(self, agent: Agent) -> str:
        s = agent.spool.stats
        lines = [
            "# TYPE thongsuot_agent_results_total counter",
            f"thongsuot_agent_results_total {self.results}",
            "# TYPE thongsuot_agent_results_pushed_total counter",
            f"thongsuot_agent_results_pushed_total {self.pushed}",
            "# TYPE thongsuot_agent_results_refused_total counter",
            f"thongsuot_agent_results_refused_total {self.refused}",
            "# TYPE thongsuot_agent_spool_depth gauge",
            f"thongsuot_agent_spool_depth {s.depth}",
            "# TYPE thongsuot_agent_spool_bytes gauge",
            f"thongsuot_agent_spool_bytes {s.bytes}",
            "# TYPE thongsuot_agent_spool_dropped_total counter",
            f"thongsuot_agent_spool_dropped_total {s.dropped_total}",
            "# TYPE thongsuot_agent_checks gauge",
            f"thongsuot_agent_checks {len(agent.checks)}",
            "# TYPE thongsuot_agent_push_failures_total counter",
        ]
        lines += [
            f'thongsuot_agent_push_failures_total{{reason="{k}"}} {v}'
            for k, v in sorted(self.push_failures.items())
        ]
        lines.append("# TYPE thongsuot_agent_pulls_total counter")
        lines += [
            f'thongsuot_agent_pulls_total{{outcome="{k}"}} {v}'
            for k, v in sorted(self.pulls.items())
        ]
        if self.clock_offset_s is not None:
            lines += [
                "# TYPE thongsuot_agent_clock_offset_seconds gauge",
                f"thongsuot_agent_clock_offset_seconds {self.clock_offset_s:.3f}",
            ]
        if self.last_push_ok is not None:
            lines += [
                "# TYPE thongsuot_agent_last_push_success_timestamp_seconds gauge",
                f"thongsuot_agent_last_push_success_timestamp_seconds {self.last_push_ok:.3f}",
            ]
        return "\n".join(lines) + "\n"


class Agent:
    def __init__(self, cfg: AgentConfig) -> None:
        self.cfg = cfg
        self.spool = Spool(
            cfg.spool_dir, max_age_s=cfg.spool_max_age, max_bytes=cfg.spool_max_bytes
        )
        self.metrics = Metrics()
        self.assignment: Assignment | None = None
        self.checks: dict[int, CheckAssignment] = {}
        self.etag: str | None = None
        self._token = ""
        self._parsed: dict[int, tuple[CheckAssignment, ProbeConfig | str]] = {}
        self._loops: dict[int, asyncio.Task[None]] = {}
        self._stop = asyncio.Event()
        self._push_now = asyncio.Event()
        self._pulled = asyncio.Event()  # set after every pull central answered (200/304)
        self._token_changed = asyncio.Event()
        self._sem = asyncio.Semaphore(cfg.concurrency)
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._limit: int | None = None  # a smaller batch after a 413
        self._clients: ClientPool | None = None
        self._resources: ProbeResources | None = None
        self._central: Central | None = None

    # config ------------------------------------------------------------------------
    @property
    def cache_path(self) -> Path:
        return self.cfg.spool_dir / "config.json"

    def load_token(self) -> None:
        token = read_token(self.cfg.token_file)
        if self._token and token != self._token:
            log.info("token file re-read: a new token is in use")
        self._token = token
        self._token_changed.set()

    def reload_token(self) -> None:
        """SIGHUP: read the token file again; a bad file keeps the old token."""
        try:
            self.load_token()
        except AgentConfigError as exc:
            log.error("SIGHUP: %s; keeping the token in use", exc)

    def _load_cache(self) -> bool:
        try:
            raw = json.loads(self.cache_path.read_text(encoding="utf-8"))
            assignment = Assignment.model_validate(raw["assignment"])
        except FileNotFoundError:
            return False
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("cached config %s unusable: %s", self.cache_path, exc)
            return False
        self.etag = raw.get("etag")
        self.apply(assignment)
        log.info("running on the cached config (%d checks)", len(self.checks))
        return True

    def _save_cache(self, raw: Any, etag: str | None) -> None:
        # it holds the checks' resolved secrets: owner-only, written whole or not at all
        tmp = self.cache_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"etag": etag, "assignment": raw}, f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.cache_path)

    def apply(self, assignment: Assignment) -> None:
        """Run exactly ``assignment.checks``: new loops start, gone loops end."""
        self.assignment = assignment
        self._limit = None
        new = {c.id: c for c in assignment.checks}
        for check_id in set(self.checks) - set(new):
            task = self._loops.pop(check_id, None)
            if task is not None:
                task.cancel()
        self.checks = new
        if not self._stop.is_set():
            for check_id in new:
                if check_id not in self._loops or self._loops[check_id].done():
                    self._loops[check_id] = asyncio.create_task(
                        self._check_loop(check_id), name=f"check-{check_id}"
                    )

    async def pull_once(self) -> Answer:
        assert self._central is not None
        answer = await self._central.pull(self.etag)
        self._note_clock(answer)
        outcome = answer.verdict.value
        if answer.verdict is Verdict.OK:
            try:
                assignment = Assignment.model_validate(answer.body)
            except ValidationError as exc:
                outcome = "invalid"
                log.error("central sent a config this agent cannot read: %s", exc)
            else:
                self.etag = answer.etag
                self.apply(assignment)
                try:
                    self._save_cache(answer.body, answer.etag)
                except OSError as exc:
                    log.error("cannot cache the config in %s: %s", self.cache_path, exc)
                log.info("config from central: %d checks", len(self.checks))
        elif answer.verdict is Verdict.UNAUTHORIZED:
            log.error(
                "central refused the token (401): enrol again or fix %s, then SIGHUP",
                self.cfg.token_file,
            )
        elif answer.verdict is not Verdict.NOT_MODIFIED:
            log.warning("config pull failed: %s", answer.error)
        self.metrics.pulls[outcome] = self.metrics.pulls.get(outcome, 0) + 1
        if answer.verdict in (Verdict.OK, Verdict.NOT_MODIFIED):
            self._pulled.set()
        return answer

    async def _pull_loop(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            answer = await self.pull_once()
            interval = self.assignment.pull_interval_s if self.assignment else 60.0
            if answer.verdict is Verdict.RETRY:  # central away: try again sooner
                delay = min(interval, backoff_delay(attempt))
                attempt += 1
            else:  # answered, or refused (401: never asked again as is sooner)
                attempt, delay = 0, interval
            await self._sleep(delay)

    def _note_clock(self, answer: Answer) -> None:
        if answer.server_time is not None:
            offset = answer.server_time - time.time()
            self.metrics.clock_offset_s = offset

    # probing ------------------------------------------------------------------------
    async def _check_loop(self, check_id: int) -> None:
        last_due: float | None = None
        while not self._stop.is_set():
            check = self.checks.get(check_id)
            if check is None:
                return
            due = next_due(time.time(), last_due, check.phase_s, check.interval_s)
            await asyncio.sleep(max(0.0, due - time.time()))
            check = self.checks.get(check_id)
            if check is None or self._stop.is_set():
                return
            last_due = due
            task = asyncio.create_task(
                self._run(check, slot_of(due, check.phase_s, check.interval_s))
            )
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
            await asyncio.shield(task)  # one run of a check at a time

    def _config(self, check: CheckAssignment) -> ProbeConfig | str:
        known = self._parsed.get(check.id)
        if known is not None and known[0] == check:
            return known[1]
        raw = dict(check.config)
        try:
            spec = probes.get(check.kind)
            parsed: ProbeConfig | str = spec.config_model.model_validate(raw)
        except (KeyError, ValidationError) as exc:
            parsed = f"{type(exc).__name__}: {exc}"
        self._parsed[check.id] = (check, parsed)
        return parsed

    async def _probe(self, check: CheckAssignment) -> ProbeResult:
        config = self._config(check)
        if isinstance(config, str):
            return ProbeResult.down(ErrorKind.CONFIG, f"agent cannot run this check: {config}")
        assert self._clients is not None
        ctx = ProbeContext(
            clients=self._clients,
            timeout=check.timeout_s,
            key=check.key,
            secrets=_resolver(check.secrets),
            resources=self._resources,
        )
        try:
            async with asyncio.timeout(check.timeout_s + 1.0):
                return await probes.get(check.kind).run(config, ctx)
        except TimeoutError:
            return ProbeResult.down(
                ErrorKind.TIMEOUT, f"no answer within {check.timeout_s:g} s", check.timeout_s
            )
        except Exception as exc:  # a probe bug: record it, keep the loop alive
            log.exception("probe %s raised", check.key)
            return ProbeResult.down(ErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}")

    async def _run(self, check: CheckAssignment, slot: int | None) -> None:
        async with self._sem:
            at = time.time()
            result = await self._probe(check)
        row = {
            "uid": uuid.uuid4().hex,
            "check_id": check.id,
            "slot": slot,
            "at": round(at, 6),
            "status": result.status.value,
            "latency_ms": round(result.latency * 1000.0, 3),
            "error_kind": result.error_kind.value if result.error_kind else None,
            "message": result.message,
            "details": result.details,
        }
        dropped = await self.spool.put(row)
        self.metrics.results += 1
        if dropped:
            log.warning(
                "spool full: dropped the %d oldest results (%d in all)",
                dropped,
                self.spool.stats.dropped_total,
            )
        if self.assignment and self.spool.stats.depth >= self._batch_limit():
            self._push_now.set()

    # pushing --------------------------------------------------------------------------
    def _batch_limit(self) -> int:
        full = self.assignment.max_batch if self.assignment else 500
        return min(full, self._limit) if self._limit else full

    async def _push_loop(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            interval = self.assignment.push_interval_s if self.assignment else 5.0
            if not attempt:  # backing off: push_all has slept already
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(interval):
                        await self._push_now.wait()
            self._push_now.clear()
            attempt = await self.push_all(attempt)

    async def push_all(self, attempt: int = 0, *, deadline: float | None = None) -> int:
        """Send batches until the spool is empty or central is away; returns the
        back-off attempt count (0 after a success)."""
        keepalive = True
        while not self._stop.is_set() or deadline is not None:
            if deadline is not None and time.monotonic() > deadline:
                return attempt
            await self.spool.enforce_bounds()
            batch = await self.spool.next_batch(self._batch_limit())
            if batch is None:
                if not keepalive:
                    return 0
                # nothing queued: an empty batch is the keep-alive (central's silence timer)
                batch = Batch(uuid.uuid4().hex, [], [], 0, self._spool_facts())
                ephemeral = True
            else:
                ephemeral = False
            keepalive = False
            assert self._central is not None
            answer = await self._central.push(batch.key, batch.body())
            self._note_clock(answer)
            v = answer.verdict
            if v is Verdict.OK:
                if not ephemeral:
                    await self.spool.acknowledge(batch)
                self.metrics.pushed += len(batch.results)
                self.metrics.last_push_ok = time.time()
                if isinstance(answer.body, dict) and "clock_offset_s" in answer.body:
                    with contextlib.suppress(TypeError, ValueError):
                        self.metrics.clock_offset_s = float(answer.body["clock_offset_s"])
                if attempt:
                    log.info("central is back: results are flowing again")
                attempt = 0
                if ephemeral:
                    return 0
                continue
            self.metrics.fail(v.value)
            if v is Verdict.RETRY:
                delay = (
                    answer.retry_after if answer.retry_after is not None else backoff_delay(attempt)
                )
                attempt += 1
                log.warning(
                    "push failed (%s): %d results kept, next try in %.1f s",
                    answer.error,
                    self.spool.stats.depth,
                    delay,
                )
                await self._sleep(delay, deadline)
                return attempt
            if ephemeral:
                if v in (Verdict.UNAUTHORIZED, Verdict.FORBIDDEN):
                    log.error(
                        "central refused the token (%s): fix %s, then SIGHUP",
                        answer.error,
                        self.cfg.token_file,
                    )
                    # the same token would be refused with results too: wait as below
                    await self._wait_for(self._token_changed, self._pulled, deadline=deadline)
                return attempt
            if v is Verdict.TOO_LARGE:
                self._limit = max(1, len(batch.results) // 2)
                log.warning(
                    "central says a batch of %d is too large: splitting to %d",
                    len(batch.results),
                    self._limit,
                )
                await self.spool.discard_pending(keep=True)
                continue
            if (
                v is Verdict.FORBIDDEN
                and isinstance(answer.body, dict)
                and (answer.body.get("error") == "not_assigned")
            ):
                bad = answer.body.get("check_id")
                keep = [r for r in batch.results if r.get("check_id") != bad]
                self.metrics.refused += len(batch.results) - len(keep)
                log.error(
                    "central refused results of check %s (not assigned to this agent): %d dropped",
                    bad,
                    len(batch.results) - len(keep),
                )
                await self.spool.replace_pending(batch, keep)
                continue
            if v in (Verdict.UNAUTHORIZED, Verdict.FORBIDDEN):
                log.error(
                    "CENTRAL REFUSED THIS AGENT (%s): %d results kept; waiting for a new "
                    "token in %s (SIGHUP) or the next config pull",
                    answer.error,
                    self.spool.stats.depth,
                    self.cfg.token_file,
                )
                await self._wait_for(self._token_changed, self._pulled, deadline=deadline)
                return attempt
            if v is Verdict.CLOCK_SKEW:
                body = answer.body if isinstance(answer.body, dict) else {}
                log.error(
                    "central refused the batch: this clock is %s s off (limit %s s); "
                    "results kept, sent again after the next config pull: fix NTP",
                    body.get("offset_s"),
                    body.get("max_skew_s"),
                )
                await self._wait_for(self._pulled, deadline=deadline)
                return attempt
            # 400, other 4xx: never sent again as is
            self.metrics.refused += len(batch.results)
            log.error(
                "central refused a batch of %d results for good (%s): dropped",
                len(batch.results),
                answer.error,
            )
            await self.spool.discard_pending(keep=False)
        return attempt

    def _spool_facts(self) -> dict[str, Any]:
        s = self.spool.stats
        return {"dropped": 0, "depth": s.depth, "oldest_at": s.oldest_at}

    async def _wait_for(self, *events: asyncio.Event, deadline: float | None = None) -> None:
        for e in events:
            e.clear()
        waits = [asyncio.ensure_future(e.wait()) for e in (*events, self._stop)]
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def _sleep(self, seconds: float, deadline: float | None = None) -> None:
        if deadline is not None:
            seconds = min(seconds, max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()

    # metrics endpoint (loopback) --------------------------------------------------------
    async def _serve_metrics(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5.0)
            while (await asyncio.wait_for(reader.readline(), 5.0)) not in (b"\r\n", b"\n", b""):
                pass
            ok = line.split(b" ")[1:2] == [b"/metrics"]
            body = (self.metrics.exposition(self) if ok else "not found\n").encode()
            head = (
                f"HTTP/1.1 {'200 OK' if ok else '404 Not Found'}\r\n"
                "Content-Type: text/plain; version=0.0.4\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    # the process ------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> int:
        self.load_token()
        await self.spool.open()
        log.info(
            "%s starting: central %s, spool %s (%d results queued)",
            USER_AGENT,
            self.cfg.central_url,
            self.spool.path,
            self.spool.stats.depth,
        )
        self._clients = ClientPool(shards=1, extra_ca_file=None)
        self._resources = ProbeResources()
        self._central = Central(self.cfg, lambda: self._token)
        loop = asyncio.get_running_loop()
        for sig, fn in (
            (signal.SIGHUP, self.reload_token),
            (signal.SIGTERM, self.stop),
            (signal.SIGINT, self.stop),
        ):
            loop.add_signal_handler(sig, fn)
        server = None
        if self.cfg.metrics_port:
            server = await asyncio.start_server(
                self._serve_metrics, "127.0.0.1", self.cfg.metrics_port
            )
        try:
            first = await self.pull_once()
            if first.verdict is not Verdict.OK and not self._load_cache():
                log.warning("no config yet (central: %s): waiting for central", first.error)
            tasks = [
                asyncio.create_task(self._pull_loop(), name="pull"),
                asyncio.create_task(self._push_loop(), name="push"),
            ]
            await self._stop.wait()
            log.info("stopping: finishing runs in flight, one last push")
            for task in self._loops.values():
                task.cancel()
            if self._in_flight:
                await asyncio.wait(self._in_flight, timeout=STOP_GRACE_S)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, *self._loops.values(), return_exceptions=True)
            if self.spool.stats.depth:
                await self.push_all(deadline=time.monotonic() + STOP_GRACE_S)
        finally:
            for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            if server is not None:
                server.close()
            await self._central.aclose()
            await self._clients.aclose()
            await self._resources.aclose()
            await self.spool.close()
        log.info(
            "stopped: %d results made, %d pushed, %d queued in the spool",
            self.metrics.results,
            self.metrics.pushed,
            self.spool.stats.depth,
        )
        return 0
