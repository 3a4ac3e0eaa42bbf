"""The production topology at scale: ``thongsuot serve --workers N`` against the farm.

What ``serve`` starts in production runs here unchanged: the real CLI
(``python -m app.cli serve``) with the API and one monitor replica in its main
process and ``N - 1`` monitor-only workers sharing the checks by shard leases
in PostgreSQL (docs/design.md §4.1). The farm runs in its own process
(bench/farmproc.py); the database is the bench's own (created, migrated,
dropped, as in bench/run_checks.py); on SQLite ``--workers`` must be 1.

    .venv/bin/python bench/national.py --checks 2000 --duration 60 --workers 2 \\
        --db postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/national.py --checks 17000 --workers 2 --db postgresql://...
    .venv/bin/python bench/national.py --checks 4000 --duration 90          # SQLite, 1 process

Start-up is timed until every shard is owned by N replicas and the first result
is in SQL. Then, over the window (``--duration`` s):

- probes/s against the expected ``checks / interval``, and the slots missed: the
  slots whose scheduled time falls in the window, exactly per check
  (``phase(key) + k * interval``), against the rows stored for them;
- lateness p50/p99/max, exact: each stored result's start (``at``) minus its
  slot's scheduled time;
- CPU of the whole process tree (main + workers, ``/proc/<pid>/stat`` user +
  system, reaped children included) per probe, peak total RSS of the tree
  (sampled every second);
- batch writes (count, mean, p50/p99 from every process's ``/metrics``
  histogram, scraped at both ends of the window).

It then stops ``serve`` with SIGTERM, as an operator would, and counts results
lost: each replica logs what it ran and wrote at stop; probes run = results
written = rows in ``probe_result``, or the bench exits 1. ``--with-blackbox``
then runs blackbox_exporter against the same farm and targets (bench/blackbox.py)
and prints the CPU per HTTP probe of both and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ on sys.path, not the root
    sys.path.insert(0, str(ROOT))

from bench.run_checks import (  # noqa: E402
    MAX_DURATION_S,
    bench_database,
    http_urls,
    percentile,
    units_for,
    write_inventory,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bench.blackbox import BlackboxReport

Popen = subprocess.Popen[bytes]
STARTUP_LIMIT_S = 600.0
STOP_LIMIT_S = 120.0
STOPPED = re.compile(
    r"monitor stopped: (\d+) probes run, (\d+) results written, (\d+) fenced, "
    r"(\d+) dropped, (\d+) lost, (\d+) left in the buffer"
)
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


# the process tree ---------------------------------------------------------------
def _stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, CPU seconds with reaped children, RSS bytes) of ``pid``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    f = stat.rsplit(")", 1)[1].split()
    cpu = sum(int(x) for x in f[11:15]) / TICK  # utime stime cutime cstime
    return int(f[1]), cpu, int(f[21]) * PAGE


def tree(root: int) -> dict[int, tuple[float, int]]:
    """``{pid: (cpu_s, rss)}`` of ``root`` and its descendants (one /proc scan)."""
    parents: dict[int, list[int]] = {}
    stats: dict[int, tuple[float, int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            parents.setdefault(st[0], []).append(int(entry.name))
            stats[int(entry.name)] = st[1:]
    found: dict[int, tuple[float, int]] = {}
    todo = [root]
    while todo and len(found) < 10_000:
        pid = todo.pop()
        if pid in stats:
            found[pid] = stats[pid]
            todo.extend(parents.get(pid, []))
    return found


@dataclass(slots=True)
class TreeSampler:
    """Samples the tree every second: its CPU now, its peak total RSS, its size."""

    root: int
    peak_rss: int = 0
    processes: int = 0
    cpu_s: float = 0.0

    def sample(self) -> float:
        found = tree(self.root)
        self.processes = len(found)
        self.peak_rss = max(self.peak_rss, sum(rss for _, rss in found.values()))
        self.cpu_s = sum(cpu for cpu, _ in found.values())
        return self.cpu_s

    async def run(self, until: float) -> None:
        while time.monotonic() < until:
            await asyncio.to_thread(self.sample)
            await asyncio.sleep(1.0)


# /metrics of every process ------------------------------------------------------
@dataclass(slots=True)
class Scrape:
    write_buckets: dict[float, float] = field(default_factory=dict)
    write_count: float = 0.0
    write_sum: float = 0.0
    values: dict[str, float] = field(default_factory=dict)
    failed: int = 0  # processes whose /metrics did not answer

    def minus(self, other: Scrape) -> Scrape:
        return Scrape(
            {le: n - other.write_buckets.get(le, 0.0) for le, n in self.write_buckets.items()},
            self.write_count - other.write_count,
            self.write_sum - other.write_sum,
            {k: v - other.values.get(k, 0.0) for k, v in self.values.items()},
            self.failed + other.failed,
        )

    def write_pct(self, p: float) -> float:
        """The upper bound of the bucket holding the p-th percentile of batch writes."""
        want = self.write_count * p / 100
        return next((le for le, n in sorted(self.write_buckets.items()) if n >= want), math.nan)


SUMMED = (
    "thongsuot_probes_fenced_total",
    "thongsuot_results_fenced_total",
    "thongsuot_buffer_dropped_total",
    "thongsuot_buffer_depth",
    "thongsuot_shards_owned",
    "thongsuot_probes_in_flight",
)
AT_END = (SUMMED[3], SUMMED[5], SUMMED[4], SUMMED[0])


async def scrape(ports: list[int]) -> Scrape:
    """Every process's /metrics, added up."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    total = Scrape()
    async with httpx.AsyncClient(timeout=120) as client:
        for port in ports:
            try:
                body = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
            except httpx.HTTPError as exc:  # a figure missing, not the run
                print(f"/metrics on port {port}: {type(exc).__name__}", flush=True)
                total.failed += 1
                continue
            for family in text_string_to_metric_families(body):
                for s in family.samples:
                    if s.name == "thongsuot_db_write_seconds_bucket":
                        le = float(s.labels["le"])
                        total.write_buckets[le] = total.write_buckets.get(le, 0.0) + s.value
                    elif s.name == "thongsuot_db_write_seconds_count":
                        total.write_count += s.value
                    elif s.name == "thongsuot_db_write_seconds_sum":
                        total.write_sum += s.value
                    elif s.name in SUMMED:
                        total.values[s.name] = total.values.get(s.name, 0.0) + s.value
    return total


# the report ---------------------------------------------------------------------
@dataclass(slots=True)
class Report:
    checks: int
    interval_s: int
    workers: int
    backend: str
    startup_owned_s: float
    startup_first_s: float
    startup_every_s: float
    window_s: float
    stored: int  # rows whose slot falls in the window
    expected: int  # slots in the window
    lateness: list[float]
    cpu_s: float
    peak_rss: int
    processes: int
    writes: Scrape
    at_end: Scrape
    stopped: list[tuple[int, ...]]
    rows_total: int
    blackbox: BlackboxReport | None = None
    http_targets: int = 0
    missed_due: list[float] = field(default_factory=list)  # s after the window's start

    @property
    def probes_run(self) -> int:
        return sum(s[0] for s in self.stopped)

    @property
    def written(self) -> int:
        return sum(s[1] for s in self.stopped)

    @property
    def lost(self) -> bool:
        complete = len(self.stopped) >= self.workers
        # a fenced outcome (its shard moved) still has its result written, as history;
        # only its state effects are refused, and a slot the new owner already stored
        # keeps that row: so every fenced result may or may not add a row
        stored = self.written - self.fenced <= self.rows_total <= self.written
        return not (complete and self.probes_run == self.written and stored)

    @property
    def fenced(self) -> int:
        return sum(s[2] for s in self.stopped)

    @property
    def cpu_ms_per_probe(self) -> float:
        return self.cpu_s * 1000 / self.stored if self.stored else math.nan

    def lines(self) -> list[str]:
        lat = sorted(self.lateness)
        rate, expected = self.stored / self.window_s, self.checks / self.interval_s
        w = self.writes
        return [
            f"topology: thongsuot serve --workers {self.workers} on {self.backend}, "
            f"{self.processes} processes in the tree",
            f"checks: {self.checks} at {self.interval_s} s (expected {expected:,.1f} probes/s)",
            (
                f"start-up: all shards owned in {self.startup_owned_s:.1f} s, "
                if self.backend == "PostgreSQL"
                else "start-up (no shards on SQLite): "
            )
            + f"first result stored at {self.startup_first_s:.1f} s, "
            f"every check's first at {self.startup_every_s:.1f} s",
            f"window: {self.window_s:.1f} s; slots {self.expected}, stored {self.stored}, "
            f"missed {self.expected - self.stored}",
            self._missed_line(),
            f"probes/s: {rate:,.1f} = {rate / expected * 100:.2f}% of expected",
            f"lateness (start - slot, from SQL): p50 {percentile(lat, 50) * 1000:.1f} ms, "
            f"p99 {percentile(lat, 99) * 1000:.1f} ms, "
            f"max {(lat[-1] if lat else math.nan) * 1000:.1f} ms ({len(lat)} results)",
            f"CPU (process tree): {self.cpu_s:.1f} s = {self.cpu_ms_per_probe:.2f} CPU-ms per "
            f"probe ({self.cpu_s / self.window_s * 100:.0f}% of a core)",
            f"peak RSS (process tree, sum): {self.peak_rss / 2**20:.0f} MB",
            f"batch writes: {w.write_count:.0f}, mean {_ratio(w.write_sum, w.write_count):.1f} "
            f"ms, p50 <= {w.write_pct(50) * 1000:.0f} ms, p99 <= {w.write_pct(99) * 1000:.0f} ms",
            "at the window's end: buffer {:.0f}, in flight {:.0f}, shards owned {:.0f}, "
            "probes fenced {:.0f} since start".format(
                *(self.at_end.values.get(k, math.nan) for k in AT_END),
            ),
            "in the window: probes fenced (lease not renewed in time) {:.0f}, results fenced "
            "{:.0f}, dropped from the buffer {:.0f}".format(
                *(self.writes.values.get(k, math.nan) for k in SUMMED[:3])
            ),
            f"results (SIGTERM, {len(self.stopped)} of {self.workers} replicas reported): "
            f"probes run {self.probes_run}, written {self.written} (of which {self.fenced} "
            "fenced: stored as history, their state effects refused as their shard had moved), "
            f"rows in the database {self.rows_total} -> "
            + ("LOST RESULTS" if self.lost else "none lost"),
            *self._blackbox_lines(),
        ]

    def _missed_line(self) -> str:
        """Where the missed slots fall: a miss at the window's edges is a bench
        artefact (start-up, stop); one between them is a slot the monitor skipped."""
        edge = self.interval_s
        first = sum(1 for d in self.missed_due if d < edge)
        last = sum(1 for d in self.missed_due if d >= self.window_s - edge)
        return (
            f"missed slots by when they were due: first {edge} s {first}, "
            f"last {edge} s {last}, between {len(self.missed_due) - first - last}"
        )

    def _blackbox_lines(self) -> list[str]:
        ours = self.cpu_ms_per_probe
        lines = [f"thongsuot CPU: {ours:.2f} CPU-ms per HTTP probe, all in (every process)"]
        if self.blackbox is None:
            return lines
        theirs = self.blackbox.cpu_ms_per_probe
        return [
            *lines,
            *self.blackbox.lines(self.interval_s, self.http_targets),
            f"ratio thongsuot / blackbox_exporter: {ours / theirs:.2f}",
        ]


def _ratio(total_s: float, count: float) -> float:
    return total_s * 1000 / count if count else math.nan


# the run ------------------------------------------------------------------------
def _free_ports(n: int, attempts: int = 50) -> int:
    """A port p such that p .. p + n - 1 are free on 127.0.0.1."""
    for _ in range(attempts):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base + n > 65_535:
            continue
        try:
            for port in range(base, base + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {n} consecutive free ports")


async def run(args: argparse.Namespace) -> Report:
    from bench.farmproc import FarmProcess

    units = units_for(args.checks, args.checks_per_unit)
    with tempfile.TemporaryDirectory(prefix="thongsuot-national-") as tmpdir:
        tmp = Path(tmpdir)
        async with FarmProcess(units, seed=args.seed) as farm, bench_database(args.db, tmp) as url:
            inventory = write_inventory(tmp, farm.url(), units, args)
            report = await _measure(args, url, inventory, tmp)
            if args.with_blackbox:
                from app.demo.inventory import KEYWORD
                from bench.blackbox import run_blackbox

                urls = http_urls(inventory)
                seconds = args.blackbox_duration or min(args.duration, 120.0)
                print(f"blackbox_exporter: {len(urls)} targets for {seconds:.0f} s ...", flush=True)
                report.blackbox = await run_blackbox(
                    urls, args.interval, seconds, args.timeout, KEYWORD
                )
                report.http_targets = len(urls)
            return report


def _serve(args: argparse.Namespace, url: str, inventory: Path, tmp: Path, port: int) -> Popen:
    env = {
        **os.environ,
        "THONGSUOT_DATA_DIR": str(tmp / "data"),
        "THONGSUOT_MAX_CONCURRENCY": str(args.concurrency),
        "THONGSUOT_HOST": "127.0.0.1",
    }
    cmd = [
        sys.executable, "-m", "app.cli", "serve", "--db", url, "--inventory", str(inventory),
        "--port", str(port), "--workers", str(args.workers),
    ]  # fmt: skip
    log = (args.serve_log or tmp / "serve.log").open("wb")
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


async def _measure(args: argparse.Namespace, url: str, inventory: Path, tmp: Path) -> Report:
    from app.db import make_engine

    port = _free_ports(args.workers)
    engine = make_engine(url)
    t0 = time.monotonic()
    print(f"serve --workers {args.workers} starting at {time.strftime('%H:%M:%S')}", flush=True)
    proc = _serve(args, url, inventory, tmp, port)
    sampler = TreeSampler(proc.pid)
    try:
        owned_s, first_s, every_s = await _wait_ready(engine, proc, args.workers, t0)
        print(
            f"ready at {time.strftime('%H:%M:%S')}: shards owned at {owned_s:.1f} s, "
            f"first result at {first_s:.1f} s, every check's first at {every_s:.1f} s",
            flush=True,
        )
        await asyncio.sleep(args.warmup)
        ports = [port + i for i in range(args.workers)]
        duration = min(args.duration, MAX_DURATION_S)
        before = await scrape(ports)
        cpu0, w0, m0 = await asyncio.to_thread(sampler.sample), time.time(), time.monotonic()
        sampling = asyncio.create_task(sampler.run(m0 + duration + 2))
        await _progress(engine, sampler, proc, w0, m0, duration)
        cpu1, w1 = await asyncio.to_thread(sampler.sample), time.time()
        sampling.cancel()
        after = await scrape(ports)
        await asyncio.sleep(args.tail)  # late slots of the window's end still run
        processes = sampler.processes
        await _stop(proc)
        stopped = [tuple(int(x) for x in m.groups()) for m in _stopped_lines(args, tmp)]
        checks, stored, expected, lateness, rows, missed = await _window(engine, w0, w1)
    finally:
        if proc.poll() is None:
            await _stop(proc)
        await engine.dispose()
    return Report(
        checks=checks, interval_s=args.interval, workers=args.workers,
        backend="SQLite" if url.startswith("sqlite") else "PostgreSQL",
        startup_owned_s=owned_s, startup_first_s=first_s, startup_every_s=every_s,
        window_s=w1 - w0, stored=stored,
        expected=expected, lateness=lateness, cpu_s=cpu1 - cpu0, peak_rss=sampler.peak_rss,
        processes=processes, writes=after.minus(before), at_end=after, stopped=stopped,
        rows_total=rows, missed_due=missed,
    )  # fmt: skip


async def _wait_ready(
    engine: AsyncEngine, proc: Popen, workers: int, t0: float, *, every_check: bool = True
) -> tuple[float, float, float]:
    """Seconds until every shard is owned by ``workers`` replicas (0 on SQLite, which
    has no leases), until the first result is stored and until every check has stored
    one (unless not ``every_check``: checks others probe, agents' for instance). The
    window starts after the last: a replica schedules its checks over some seconds,
    each from its next slot on, so a window opened at the first result counted the
    not yet scheduled checks' first slots as missed (~3,500 at 17,000)."""
    from sqlalchemy import text

    pg = engine.dialect.name == "postgresql"
    owned = None if pg else 0.0
    first: float | None = None
    every: float | None = None if every_check else 0.0
    while (elapsed := time.monotonic() - t0) < STARTUP_LIMIT_S:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited with status {proc.returncode} while starting")
        try:
            async with engine.connect() as conn:
                if owned is None:
                    row = (
                        await conn.execute(
                            text(
                                "SELECT count(*), count(DISTINCT owner) FROM shard_lease "
                                "WHERE shard >= 0 AND owner IS NOT NULL AND expires_at > now()"
                            )
                        )
                    ).one()
                    shards = (
                        await conn.execute(
                            text("SELECT count(*) FROM shard_lease WHERE shard >= 0")
                        )
                    ).scalar_one()
                    if row[0] == shards and row[1] == workers:
                        owned = elapsed
                if (
                    first is None
                    and (await conn.execute(text("SELECT 1 FROM probe_result LIMIT 1"))).first()
                ):
                    first = elapsed
                if first is not None and every is None and await _all_probed(conn):
                    every = elapsed
        except Exception as exc:  # the tables appear once serve has migrated
            print(f"  waiting for the database: {type(exc).__name__}", flush=True)
        if owned is not None and every is not None and first is not None:
            return owned, first, every
        await asyncio.sleep(0.5 if first is None else 2.0)
    raise RuntimeError(f"not ready within {STARTUP_LIMIT_S:.0f} s")


async def _all_probed(conn: Any) -> bool:
    """Whether every enabled check has stored a result."""
    from sqlalchemy import distinct, func, select

    from app.models import Check, ProbeResult

    enabled = select(func.count()).select_from(Check).where(Check.enabled.is_(True))
    probed = select(func.count(distinct(ProbeResult.check_id)))
    return bool(
        (await conn.execute(probed)).scalar_one() >= (await conn.execute(enabled)).scalar_one()
    )


async def _progress(
    engine: AsyncEngine,
    sampler: TreeSampler,
    proc: Popen,
    w0: float,
    m0: float,
    duration: float,
    *,
    agents_only: bool = False,
) -> None:
    """Every 10 s of the window: rows stored (only the agents' with ``agents_only``),
    the tree's CPU and peak RSS; fails if serve exits."""
    from datetime import UTC, datetime

    from sqlalchemy import func, select

    from app.models import ProbeResult

    since = datetime.fromtimestamp(w0, UTC)
    cpu0 = sampler.cpu_s
    end = m0 + duration
    while (left := end - time.monotonic()) > 0:
        await asyncio.sleep(min(10.0, left))
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited with status {proc.returncode} during the window")
        async with engine.connect() as conn:
            where = [ProbeResult.at >= since]
            if agents_only:
                where.append(ProbeResult.vantage != "central")
            rows = (await conn.execute(select(func.count()).where(*where))).scalar_one()
        t = time.monotonic() - m0
        what = "agent results stored" if agents_only else "stored"
        print(
            f"  t={t:5.0f} s  {what} {rows:>8} ({rows / t:7.1f}/s)  "
            f"CPU {(sampler.cpu_s - cpu0) / t * 100:4.0f}%  "
            f"RSS {sampler.peak_rss / 2**20:5.0f} MB peak",
            flush=True,
        )


async def _stop(proc: Popen) -> None:
    """SIGTERM, as an operator stops serve; SIGKILL to its group after STOP_LIMIT_S."""
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.to_thread(proc.wait, STOP_LIMIT_S)
    except subprocess.TimeoutExpired:
        print("serve did not stop within the limit: killed", flush=True)
        os.killpg(proc.pid, signal.SIGKILL)
        await asyncio.to_thread(proc.wait, 10)


def _stopped_lines(args: argparse.Namespace, tmp: Path) -> list[re.Match[str]]:
    log = args.serve_log or tmp / "serve.log"
    text = log.read_text(encoding="utf-8", errors="replace")
    return [m for line in text.splitlines() if (m := STOPPED.search(line))]


async def _window(
    engine: AsyncEngine, w0: float, w1: float
) -> tuple[int, int, int, list[float], int, list[float]]:
    """(checks, results stored for slots in the window, slots in the window, their
    lateness in seconds, all rows, when each missed slot was due: seconds after w0)."""
    from sqlalchemy import func, select

    from app.models import Check, ProbeResult
    from app.monitor.scheduler import phase

    async with engine.connect() as conn:
        grid = {
            cid: (phase(key, iv), iv)
            for cid, key, iv in await conn.execute(
                select(Check.id, Check.key, Check.interval_s).where(Check.enabled.is_(True))
            )
        }
        rows = (await conn.execute(select(func.count()).select_from(ProbeResult))).scalar_one()
        stmt = select(ProbeResult.check_id, ProbeResult.slot, ProbeResult.at).where(
            ProbeResult.slot.is_not(None)
        )
        stored, lateness = 0, []
        filled: set[tuple[int, int]] = set()
        for cid, slot, at in await conn.execute(stmt):
            ph, iv = grid[cid]
            due = ph + (slot or 0) * iv  # never None: the query excludes those
            if w0 <= due < w1:
                stored += 1
                lateness.append(at.timestamp() - due)
                filled.add((cid, slot or 0))
    expected, missed = 0, []
    for cid, (ph, iv) in grid.items():
        first, end = math.ceil((w0 - ph) / iv), math.ceil((w1 - ph) / iv)
        expected += end - first
        missed += [ph + k * iv - w0 for k in range(first, end) if (cid, k) not in filled]
    return len(grid), stored, expected, lateness, int(rows), missed


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="thongsuot serve --workers N against the demo farm")
    p.add_argument("--checks", type=int, default=17_000, help="number of checks (default 17000)")
    p.add_argument("--workers", type=int, default=2, help="serve --workers (default 2)")
    p.add_argument("--interval", type=int, default=30, help="check interval in seconds")
    p.add_argument("--duration", type=float, default=600.0, help="window in seconds (max 3600)")
    p.add_argument("--db", default=None, help="postgresql://... admin URL (default: temp SQLite)")
    p.add_argument("--timeout", type=float, default=None, help="probe timeout (min(5, I/2) s)")
    p.add_argument("--checks-per-unit", type=int, default=5)
    p.add_argument("--concurrency", type=int, default=500, help="max probes in flight, each")
    p.add_argument("--seed", type=int, default=33)
    p.add_argument("--warmup", type=float, default=5.0, help="seconds after ready (default 5)")
    p.add_argument("--tail", type=float, default=5.0, help="seconds before SIGTERM (default 5)")
    p.add_argument("--serve-log", type=Path, default=None, help="keep serve's log in this file")
    p.add_argument(
        "--with-blackbox", action="store_true", help="blackbox_exporter side by side, after"
    )
    p.add_argument(
        "--blackbox-duration", type=float, default=None, help="seconds (min(duration, 120))"
    )
    args = p.parse_args(argv)
    if args.checks < 2 or args.duration <= 0 or args.workers < 1:
        p.error("need at least 2 checks, a positive duration and at least one worker")
    if args.workers > 1 and (args.db is None or args.db.startswith("sqlite")):
        p.error("SQLite allows one monitor process: --workers 1, or --db postgresql://...")
    if args.timeout is None:
        args.timeout = min(5.0, args.interval / 2)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from bench.farmproc import run_bench

    if (report := run_bench(run(args))) is None:
        return 130
    print("\n".join(report.lines()))
    return 1 if report.lost else 0


if __name__ == "__main__":
    sys.exit(main())
