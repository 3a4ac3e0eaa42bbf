"""Remote agents at scale (issue 14): N agents against one central ``thongsuot serve``.

    .venv/bin/python bench/agents.py --db postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/agents.py --agents 100 --checks-per-agent 20 --interval 30 \\
        --duration 180 --db postgresql://...

The central runs as in production: the real CLI (``python -m app.cli serve``, one
process) on a bench database of its own (created, migrated, dropped: see
bench/run_checks.py), with an inventory that declares ``--agents`` agents under
``agents:`` and gives each ``--checks-per-agent`` HTTP checks ``location: <agent>``
against the loopback farm (bench/farmproc.py, its own process). Each agent is
enrolled through the API (``POST /api/v1/agents`` with a write token from
``thongsuot token create``).

The agents are the agent's own code (app/agent/runner.py ``Agent``: config pull
with ETag, slot scheduler, SQLite spool, pusher and its retry rules), many
instances in one asyncio loop per driver process (``--agent-procs``, default 2),
each with its own token file and spool directory: 100 agent processes would take
~6 GB. The only instrument added is a ``Central`` subclass that times each
``POST /api/v1/agent/results`` round trip.

Over the window (``--duration`` s, default 180) it reports:

- results/s stored from the agents (rows whose ``at`` falls in the window) against
  the expected ``agents * checks / interval``;
- central CPU (``serve``'s process tree, /proc user + system) per result stored,
  and the CPU of the bench database's PostgreSQL backends beside it;
- ingest latency: the POST round trip as the agents see it (p50/p99/max), and the
  age of a result when its row is first seen in SQL (polled every 0.5 s: probe
  time + wait in the spool for the next push, up to ``push_interval_s`` + POST +
  central's batch writer);
- peak RSS of the central.

Then the agents stop (each drains its spool), ``serve`` is stopped with SIGTERM (it
flushes), and rows from the agents are counted against the results the agents
made: rows = results made - left in spools, no uid twice, or the bench exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ on sys.path, not the root
    sys.path.insert(0, str(ROOT))

from bench.national import (  # noqa: E402
    TreeSampler,
    _free_ports,
    _progress,
    _serve,
    _stop,
    _wait_ready,
)
from bench.run_checks import MAX_DURATION_S, bench_database, percentile  # noqa: E402

PER_UNIT_MAX = 8  # the demo farm's service paths per unit (app/demo/inventory.py)
TICK = os.sysconf("SC_CLK_TCK")


def agent_name(i: int) -> str:
    return f"bench-{i:03d}"


# the agents' side (a driver process) ---------------------------------------------
def drive(spec_path: Path) -> int:
    """Run the agents listed in ``spec_path`` until stdin closes; write what they saw."""
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    for a in spec["agents"]:
        Path(a["spool_dir"]).mkdir(parents=True, exist_ok=True)
    return asyncio.run(_drive(spec))


async def _drive(spec: dict[str, Any]) -> int:
    import logging

    from app.agent import runner
    from app.agent.central import Answer, Central
    from app.agent.config import AgentConfig

    logging.basicConfig(level=logging.ERROR, format="%(asctime)s agent %(message)s")
    pushes: list[tuple[float, float, int, int, int, int]] = []

    class TimedCentral(Central):
        """The agent's own client; each results POST is timed (wall, seconds, size,
        status, accepted, duplicates)."""

        async def push(self, key: str, body: dict[str, Any]) -> Answer:
            wall, t0 = time.time(), time.perf_counter()
            answer = await super().push(key, body)
            took = time.perf_counter() - t0
            b = answer.body if isinstance(answer.body, dict) else {}
            acc, dup = int(b.get("accepted", 0) or 0), int(b.get("duplicates", 0) or 0)
            pushes.append((wall, took, len(body["results"]), answer.status or 0, acc, dup))
            return answer

    runner.Central = TimedCentral  # type: ignore[attr-defined]  # the instrument, nothing else
    agents = []
    for a in spec["agents"]:
        cfg = AgentConfig(
            central_url=spec["central_url"],
            token_file=Path(a["token_file"]),
            spool_dir=Path(a["spool_dir"]),
            name=a["name"],
            concurrency=spec.get("concurrency", 20),
            log_level="ERROR",
        )
        agents.append(runner.Agent(cfg))
    tasks = [asyncio.create_task(agent.run()) for agent in agents]
    lags: list[tuple[float, float]] = []

    async def loop_lag() -> None:  # how late a 0.1 s timer fires: this loop's own delay
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.1)
            lags.append((time.time(), time.perf_counter() - t0 - 0.1))

    lagging = asyncio.create_task(loop_lag())
    print(json.dumps({"started": len(agents)}), flush=True)
    await asyncio.to_thread(sys.stdin.buffer.read)  # the bench closes our stdin to stop us
    for agent in agents:
        agent.stop()
    await asyncio.gather(*tasks, return_exceptions=True)
    lagging.cancel()
    out = {
        "lags": lags,
        "made": sum(a.metrics.results for a in agents),
        "pushed": sum(a.metrics.pushed for a in agents),
        "left": sum(a.spool.stats.depth for a in agents),
        "dropped": sum(a.spool.stats.dropped_total for a in agents),
        "refused": sum(a.metrics.refused for a in agents),
        "pushes": pushes,
    }
    await asyncio.to_thread(Path(spec["out"]).write_text, json.dumps(out), encoding="utf-8")
    return 0


# the central's side ----------------------------------------------------------------
def write_inventory(tmp: Path, farm_url: str, args: argparse.Namespace) -> tuple[Path, int]:
    """The demo inventory with ``agents:`` and every commune check at its agent;
    returns the path and the number of units."""
    from app.demo.inventory import demo_inventory_data, dump_yaml

    per_unit = min(PER_UNIT_MAX, args.checks_per_agent)
    units_per_agent = math.ceil(args.checks_per_agent / per_unit)
    units = args.agents * units_per_agent
    data = demo_inventory_data(
        farm_url, units, args.interval, timeout_s=args.timeout, checks_per_unit=per_unit
    )
    data["agents"] = []
    for i in range(args.agents):
        mine = data["units"][i * units_per_agent : (i + 1) * units_per_agent]
        left = args.checks_per_agent
        for unit in mine:
            checks = unit["services"][0]["checks"]
            del checks[left:]
            left -= len(checks)
            for check in checks:
                check["location"] = agent_name(i)
                check.pop("depends_on", None)  # the provincial check is central's, not theirs
        data["agents"].append({"name": agent_name(i), "units": [u["code"] for u in mine]})
    path = tmp / "agents-inventory.yaml"
    path.write_text(dump_yaml(data), encoding="utf-8")
    return path, units


async def enrol(url: str, base: str, names: list[str], tmp: Path) -> dict[str, str]:
    """A write token by the CLI, then each agent's first token by ``POST /api/v1/agents``."""
    import httpx

    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app.cli", "token", "create", "bench-agents", "--db", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    write = done.stdout.strip()
    tokens: dict[str, str] = {}
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {write}"}, timeout=30
    ) as client:
        for name in names:
            r = await client.post("/api/v1/agents", json={"name": name})
            if r.status_code != 201:
                raise RuntimeError(f"enrolling {name}: HTTP {r.status_code} {r.text[:200]}")
            tokens[name] = r.json()["token"]
            (tmp / f"{name}.token").write_text(tokens[name] + "\n", encoding="utf-8")
            os.chmod(tmp / f"{name}.token", 0o600)
    return tokens


@dataclass(slots=True)
class Driver:
    proc: asyncio.subprocess.Process
    out: Path


async def start_drivers(
    args: argparse.Namespace, base: str, names: list[str], tmp: Path
) -> list[Driver]:
    procs = max(1, min(args.agent_procs, len(names)))
    drivers = []
    for p in range(procs):
        mine = names[p::procs]
        out = tmp / f"driver-{p}.json"
        spec: dict[str, Any] = {
            "central_url": base,
            "out": str(out),
            "agents": [
                {
                    "name": n,
                    "token_file": str(tmp / f"{n}.token"),
                    "spool_dir": str(tmp / "spools" / n),
                }
                for n in mine
            ],
        }
        spec_path = tmp / f"driver-{p}.spec.json"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(SCRIPT), "--drive", str(spec_path),
            cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
        if not line:
            raise RuntimeError("an agent driver exited before starting its agents")
        drivers.append(Driver(proc, out))
    return drivers


async def stop_drivers(drivers: list[Driver]) -> list[dict[str, Any]]:
    for d in drivers:
        assert d.proc.stdin is not None
        d.proc.stdin.close()
    outs = []
    for d in drivers:
        try:
            await asyncio.wait_for(d.proc.wait(), 60)
        except TimeoutError:
            d.proc.kill()
            await d.proc.wait()
        outs.append(json.loads(d.out.read_text(encoding="utf-8")) if d.out.exists() else {})
    return outs


def _backend_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) of PostgreSQL backends, by pid."""
    found = {}
    for pid in pids:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(f[11]) + int(f[12])) / TICK
    return found


@dataclass(slots=True)
class DbCpu:
    """CPU of the bench database's PostgreSQL backends over the window: those open at
    its start count from there, those opened during it count whole."""

    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)

    @property
    def cpu_s(self) -> float:
        return sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items())

    async def sample(self, engine: Any, *, first: bool = False) -> None:
        from sqlalchemy import text

        async with engine.connect() as conn:
            pids = list(
                (
                    await conn.execute(
                        text(
                            "SELECT pid FROM pg_stat_activity WHERE datname = "
                            "current_database() AND pid <> pg_backend_pid()"
                        )
                    )
                ).scalars()
            )
        found = _backend_cpu(pids)
        if first:
            self.first = dict(found)
        self.last.update(found)

    async def run(self, engine: Any, until: float) -> None:
        while time.monotonic() < until:
            await asyncio.sleep(1.0)
            await self.sample(engine)


@dataclass(slots=True)
class Ages:
    """Each agent result's age when its row is first seen in SQL (polled)."""

    ages: list[float] = field(default_factory=list)
    last_id: int = 0

    async def run(self, engine: Any, until: float, every: float = 0.5) -> None:
        from sqlalchemy import func, select

        from app.models import ProbeResult

        async with engine.connect() as conn:
            first = await conn.execute(select(func.coalesce(func.max(ProbeResult.id), 0)))
            self.last_id = int(first.scalar_one())
            await conn.commit()
            while time.monotonic() < until:
                await asyncio.sleep(every)
                now = time.time()
                stmt = (
                    select(ProbeResult.id, ProbeResult.at)
                    .where(ProbeResult.id > self.last_id, ProbeResult.vantage != "central")
                    .order_by(ProbeResult.id)
                )
                for rid, at in (await conn.execute(stmt)).all():
                    self.last_id = max(self.last_id, int(rid))
                    self.ages.append(now - at.timestamp())
                await conn.commit()


@dataclass(slots=True)
class Report:
    agents: int
    checks_per_agent: int
    interval_s: int
    backend: str
    window_s: float
    stored: int
    cpu_s: float
    db_cpu_s: float | None
    db_backends: int
    peak_rss: int
    round_trips: list[float]
    pushes: int
    statuses: dict[int, int]
    ages: list[float]
    loop_lags: list[float]
    made: int
    left: int
    dropped: int
    refused: int
    accepted: int
    duplicates: int
    rows: int
    distinct_uids: int

    @property
    def lost(self) -> bool:
        return not (self.rows == self.distinct_uids == self.made - self.left - self.dropped)

    def lines(self) -> list[str]:
        expected = self.agents * self.checks_per_agent / self.interval_s
        rate = self.stored / self.window_s
        rt, ages, lag = sorted(self.round_trips), sorted(self.ages), sorted(self.loop_lags)
        per = self.cpu_s * 1000 / self.stored if self.stored else math.nan
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        lines = [
            f"central: thongsuot serve (1 process) on {self.backend}; {self.agents} agents x "
            f"{self.checks_per_agent} checks at {self.interval_s} s",
            f"window: {self.window_s:.1f} s",
            f"results/s stored from agents: {rate:,.1f} (expected {expected:,.1f}: "
            f"{rate / expected * 100:.1f}%), {self.stored} rows",
            f"central CPU: {self.cpu_s:.1f} s = {per:.2f} CPU-ms per result "
            f"({self.cpu_s / self.window_s * 100:.0f}% of a core)",
        ]
        if self.db_cpu_s is not None:
            db_per = self.db_cpu_s * 1000 / self.stored if self.stored else math.nan
            lines.append(
                f"PostgreSQL ({self.db_backends} backends of the bench database seen, sampled "
                f"every second): {self.db_cpu_s:.1f} s = "
                f"{db_per:.2f} CPU-ms per result"
            )
        lines += [
            f"central peak RSS: {self.peak_rss / 2**20:.0f} MB",
            f"POST /api/v1/agent/results round trip ({len(rt)} pushes with results, "
            f"{self.pushes} in all; status {codes}): p50 {percentile(rt, 50) * 1000:.1f} ms, "
            f"p99 {percentile(rt, 99) * 1000:.1f} ms, "
            f"max {(rt[-1] if rt else math.nan) * 1000:.1f} ms",
            f"agent drivers' event-loop lag (a 0.1 s timer, {len(lag)} samples): "
            f"p50 {percentile(lag, 50) * 1000:.0f} ms, p99 {percentile(lag, 99) * 1000:.0f} ms, "
            f"max {(lag[-1] if lag else math.nan) * 1000:.0f} ms",
            f"result age when its row is first seen in SQL ({len(ages)} rows, polled every "
            f"0.5 s): p50 {percentile(ages, 50):.2f} s, p99 {percentile(ages, 99):.2f} s, "
            f"max {(ages[-1] if ages else math.nan):.2f} s",
            f"exactly once: agents made {self.made}, left in spools {self.left}, dropped "
            f"{self.dropped}, refused {self.refused}; central accepted {self.accepted}, "
            f"duplicates {self.duplicates}; rows from agents {self.rows} ({self.distinct_uids} "
            "distinct uids) -> " + ("LOST OR DOUBLED RESULTS" if self.lost else "exactly once"),
        ]
        return lines


async def run(args: argparse.Namespace) -> Report:
    from bench.farmproc import FarmProcess

    with tempfile.TemporaryDirectory(prefix="thongsuot-agents-") as tmpdir:
        tmp = Path(tmpdir)
        per_unit = min(PER_UNIT_MAX, args.checks_per_agent)
        units = args.agents * math.ceil(args.checks_per_agent / per_unit)
        async with FarmProcess(units, seed=args.seed) as farm, bench_database(args.db, tmp) as url:
            inventory, _ = write_inventory(tmp, farm.url(), args)
            return await _measure(args, url, inventory, tmp)


async def _measure(args: argparse.Namespace, url: str, inventory: Path, tmp: Path) -> Report:
    from sqlalchemy import func, select

    from app.db import make_engine
    from app.models import ProbeResult

    port = _free_ports(1)
    base = f"http://127.0.0.1:{port}"
    engine = make_engine(url)
    args.workers = 1
    t0 = time.monotonic()
    proc = _serve(args, url, inventory, tmp, port)
    sampler = TreeSampler(proc.pid)
    drivers: list[Driver] = []
    pg = url.startswith("postgresql")
    try:
        await _wait_ready(engine, proc, 1, t0, every_check=False)  # agents probe them
        names = [agent_name(i) for i in range(args.agents)]
        await enrol(url, base, names, tmp)
        print(f"central ready, {len(names)} agents enrolled at {time.strftime('%H:%M:%S')}")
        drivers = await start_drivers(args, base, names, tmp)
        await asyncio.sleep(args.warmup)
        duration = min(args.duration, MAX_DURATION_S)
        db = DbCpu()
        if pg:
            await db.sample(engine, first=True)
        cpu0, w0, m0 = await asyncio.to_thread(sampler.sample), time.time(), time.monotonic()
        ages = Ages()
        sampling = asyncio.create_task(sampler.run(m0 + duration))
        polling = asyncio.create_task(ages.run(engine, m0 + duration))
        db_sampling = asyncio.create_task(db.run(engine, m0 + duration)) if pg else None
        await _progress(engine, sampler, proc, w0, m0, duration, agents_only=True)
        cpu1, w1 = await asyncio.to_thread(sampler.sample), time.time()
        await asyncio.gather(sampling, polling, *([db_sampling] if db_sampling else []))
        outs = await stop_drivers(drivers)
        drivers = []
        await asyncio.sleep(args.tail)
        await _stop(proc)
        from datetime import UTC, datetime

        agent_rows = ProbeResult.vantage != "central"
        async with engine.connect() as conn:
            stored = (
                await conn.execute(
                    select(func.count()).where(
                        agent_rows,
                        ProbeResult.at >= datetime.fromtimestamp(w0, UTC),
                        ProbeResult.at < datetime.fromtimestamp(w1, UTC),
                    )
                )
            ).scalar_one()
            rows, uids = (
                await conn.execute(
                    select(func.count(), func.count(ProbeResult.uid.distinct())).where(agent_rows)
                )
            ).one()
    finally:
        for d in drivers:
            d.proc.kill()
            await d.proc.wait()
        if proc.poll() is None:
            await _stop(proc)
        await engine.dispose()
    pushes = [p for out in outs for p in out.get("pushes", [])]
    in_window = [p for p in pushes if w0 <= p[0] < w1]
    statuses: dict[int, int] = {}
    for p in in_window:
        statuses[p[3]] = statuses.get(p[3], 0) + 1
    return Report(
        agents=args.agents, checks_per_agent=args.checks_per_agent, interval_s=args.interval,
        backend="PostgreSQL" if pg else "SQLite", window_s=w1 - w0, stored=int(stored),
        cpu_s=cpu1 - cpu0,
        db_cpu_s=db.cpu_s if pg else None,
        db_backends=len(db.last),
        peak_rss=sampler.peak_rss,
        round_trips=[p[1] for p in in_window if p[2] and p[3] == 200],
        pushes=len(in_window), statuses=statuses, ages=ages.ages,
        loop_lags=[lag for o in outs for t, lag in o.get("lags", []) if w0 <= t < w1],
        made=sum(o.get("made", 0) for o in outs), left=sum(o.get("left", 0) for o in outs),
        dropped=sum(o.get("dropped", 0) for o in outs),
        refused=sum(o.get("refused", 0) for o in outs),
        accepted=sum(p[4] for p in pushes), duplicates=sum(p[5] for p in pushes),
        rows=int(rows), distinct_uids=int(uids),
    )  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="N remote agents against one central thongsuot")
    p.add_argument("--agents", type=int, default=100, help="agents (default 100)")
    p.add_argument("--checks-per-agent", type=int, default=20, help="checks each (default 20)")
    p.add_argument("--interval", type=int, default=30, help="check interval in seconds")
    p.add_argument("--duration", type=float, default=180.0, help="window in seconds (max 3600)")
    p.add_argument("--db", default=None, help="postgresql://... admin URL (default: temp SQLite)")
    p.add_argument("--timeout", type=float, default=None, help="probe timeout (min(5, I/2) s)")
    p.add_argument("--agent-procs", type=int, default=4, help="agent driver processes")
    p.add_argument("--warmup", type=float, default=None, help="seconds before the window")
    p.add_argument("--tail", type=float, default=3.0, help="seconds before SIGTERM (default 3)")
    p.add_argument("--concurrency", type=int, default=500, help="central's max probes in flight")
    p.add_argument("--seed", type=int, default=33)
    p.add_argument("--serve-log", type=Path, default=None, help="keep serve's log in this file")
    p.add_argument("--drive", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.drive is None and (args.agents < 1 or args.checks_per_agent < 1 or args.duration <= 0):
        p.error("need at least one agent, one check each and a positive duration")
    if args.timeout is None:
        args.timeout = min(5.0, args.interval / 2)
    if args.warmup is None:  # the first config pull, then every check's first slot
        args.warmup = min(float(args.interval) + 5.0, 40.0)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.drive is not None:
        return drive(args.drive)
    from bench.farmproc import run_bench

    if (report := run_bench(run(args))) is None:
        return 130
    print("\n".join(report.lines()))
    return 1 if report.lost else 0


if __name__ == "__main__":
    sys.exit(main())
