"""The inventory parses of ``thongsuot serve``'s start-up, in CPU-seconds.

``serve`` reads the inventory before it starts anything (the push checks decide the
worker count, app/cli.py) and the monitor's first sync needs it again
(app/monitor/runtime.py ``_sync_inventory``). A ruamel round-trip parse of the
national inventory costs ~36 CPU-s; this bench writes the demo inventory
(bench/run_checks.py's ``write_inventory``), then runs both steps as serve does,
and the second one also as it was before serve handed its parse over:

    .venv/bin/python bench/startup_parse.py --checks 17000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ on sys.path, not the root
    sys.path.insert(0, str(ROOT))

from app.cli import _parse_inventory, _push_checks  # noqa: E402
from app.inventory.loader import parse_bytes, read_bytes  # noqa: E402
from bench import run_checks  # noqa: E402

T = TypeVar("T")


def cpu(step: Callable[[], T]) -> tuple[T, float]:
    """``step()`` and the CPU-seconds (user + system) it took in this process."""
    start = time.process_time()
    done = step()
    return done, time.process_time() - start


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checks", type=int, default=17_000, help="checks (default 17000)")
    args = p.parse_args(argv)
    demo = run_checks.parse_args(["--checks", str(args.checks)])
    units = run_checks.units_for(demo.checks, demo.checks_per_unit)
    with tempfile.TemporaryDirectory(prefix="thongsuot-bench-") as tmp:
        path = run_checks.write_inventory(Path(tmp), "http://127.0.0.1:9", units, demo)
        print(f"inventory: {path.stat().st_size:,} bytes, {units:,} units")
        parsed, serve_s = cpu(lambda: _parse_inventory(path))
        if parsed is None:
            return 1
        print(f"serve: parse + push checks ({_push_checks(parsed.flat)}): {serve_s:.1f} CPU-s")
        (_, flat), taken_s = cpu(lambda: parse_bytes(path, read_bytes(path), parsed))
        print(f"monitor's first sync, serve's parse handed over: {taken_s:.2f} CPU-s")
        (_, again), again_s = cpu(lambda: parse_bytes(path, read_bytes(path)))
        print(f"monitor's first sync, parsing again (before): {again_s:.1f} CPU-s")
        assert len(flat.checks) == len(again.checks)
        print(f"start-up parse path: {serve_s + again_s:.1f} → {serve_s + taken_s:.1f} CPU-s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
