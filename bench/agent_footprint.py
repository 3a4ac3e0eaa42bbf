"""The remote agent's footprint (issue 14): RSS and CPU of ``thongsuot agent run`` with
50 checks at 30 s against loopback targets.

The agent runs as its own process (``python -m app.cli agent run``), exactly as on a
commune's box; the bench process hosts the loopback targets and a central that keeps
the agent protocol (tests/agent/fake_central.py), so their CPU is not counted. After a
warm-up (one interval: every check has run once, the spool and the clients exist) the
agent's CPU is read from /proc/<pid>/stat over ``--duration`` seconds; RSS is VmRSS at
the end and VmHWM (the peak).

    .venv/bin/python -m bench.agent_footprint                   # 50 checks, 30 s, 120 s
    .venv/bin/python -m bench.agent_footprint --checks 200 --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ on sys.path, not the root
    sys.path.insert(0, str(ROOT))

from tests.agent.fake_central import FakeCentral  # noqa: E402
from tests.support.http import Reply, ScriptedHTTP  # noqa: E402

TOKEN = "tsa_bench_" + "x" * 32
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _status_kb(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


async def main(args: argparse.Namespace) -> int:
    target = await ScriptedHTTP(routes={}, handler=lambda _req: Reply(200, "ok")).start()
    checks = [
        {
            "id": 1000 + i,
            "key": f"12337.lan.c{i}",
            "kind": "http",
            "target": target.url(f"/c{i}"),
            "config": {"url": target.url(f"/c{i}")},
            "interval_s": args.interval,
            "timeout_s": 5,
            "retry_interval_s": None,
            "phase_s": (i * args.interval / args.checks) % args.interval,
        }
        for i in range(args.checks)
    ]
    assignment = {
        "agent": "bench",
        "pull_interval_s": 60,
        "push_interval_s": 5,
        "max_batch": 500,
        "checks": checks,
    }
    central = await FakeCentral({TOKEN}, assignment).start()
    with tempfile.TemporaryDirectory(prefix="agent-bench-") as tmp:
        (Path(tmp) / "token").write_text(TOKEN + "\n")
        cfg = Path(tmp) / "agent.toml"
        cfg.write_text(
            f'central_url = "{central.url}"\ntoken_file = "token"\nspool_dir = "spool"\n'
            'log_level = "WARNING"\n'
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.cli", "agent", "run", "--config", str(cfg), cwd=ROOT
        )
        try:
            print(
                f"agent pid {proc.pid}: {args.checks} checks at {args.interval:g} s; "
                f"warm-up {args.interval:g} s, then {args.duration:g} s measured"
            )
            await asyncio.sleep(args.interval + 2)
            cpu0, t0, n0 = _cpu_s(proc.pid), time.monotonic(), len(central.results)
            await asyncio.sleep(args.duration)
            cpu1, t1, n1 = _cpu_s(proc.pid), time.monotonic(), len(central.results)
            rss = _status_kb(proc.pid, "VmRSS") / 1024
            hwm = _status_kb(proc.pid, "VmHWM") / 1024
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await central.close()
        await target.close()
    cpu_pct = (cpu1 - cpu0) / (t1 - t0) * 100
    expected = args.checks * (t1 - t0) / args.interval
    print(
        f"results pushed in the window: {n1 - n0} (expected ~{expected:.0f}); "
        f"duplicates at central: {central.duplicates}"
    )
    print(f"RSS {rss:.1f} MB (peak {hwm:.1f} MB)   target < 80 MB")
    print(
        f"CPU {cpu_pct:.2f}% of one core ({(cpu1 - cpu0) * 1000 / max(1, n1 - n0):.2f} "
        f"ms per result)   target < 2%"
    )
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checks", type=int, default=50)
    p.add_argument("--interval", type=float, default=30.0)
    p.add_argument("--duration", type=float, default=120.0, help="measured seconds (bounded)")
    sys.exit(asyncio.run(main(p.parse_args())))
