"""Every bench script runs as the docs write it: ``python bench/<name>.py``.

The README's command once failed on a fresh clone with ``No module named 'bench'``
because only ``python -m bench.run_checks`` put the repository root on sys.path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(
    p for p in (ROOT / "bench").glob("*.py") if p.name not in {"__init__.py", "farmproc.py"}
)


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_bench_script_runs_by_its_path_from_anywhere(script: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(script), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


TINY_RUN = ("--checks", "6", "--interval", "2", "--duration", "4")


@pytest.mark.slow
def test_run_checks_runs_briefly_by_its_path(tmp_path: Path) -> None:
    """A real (tiny) run: the farm, the monitor and the report, as README writes it."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run_checks.py"), *TINY_RUN],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "probes/s" in done.stdout


@pytest.mark.slow
def test_national_runs_serve_workers_briefly_by_its_path(backend: str, tmp_path: Path) -> None:
    """The production topology, tiny: the real ``serve --workers`` (2 on PostgreSQL,
    1 on SQLite) against the farm; every replica's tally at SIGTERM is read and
    probes run = written = rows, or the bench exits 1."""
    from tests.conftest import PG_ADMIN

    workers = 2 if backend == "postgresql" else 1
    db = ("--db", PG_ADMIN) if backend == "postgresql" else ()
    lease = {"THONGSUOT_LEASE_S": "4", "THONGSUOT_LEASE_RENEW_S": "1"}  # start-up in seconds
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "national.py"), *TINY_RUN, *db,
         "--workers", str(workers), "--warmup", "1", "--tail", "1"],
        cwd=tmp_path,
        env={**os.environ, **lease},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{workers} of {workers} replicas reported" in done.stdout, done.stdout
    assert "none lost" in done.stdout
    assert f"serve --workers {workers} on" in done.stdout


def _marked(mark: str) -> list[int]:
    """The processes whose environment carries ``mark`` (the bench and its children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if mark.encode() in environ:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_sigterm_to_the_bench_stops_serve_and_the_farm(tmp_path: Path) -> None:
    """A bench ended by SIGTERM (``timeout`` does that) stops what it started, as
    Ctrl-C does; it used to die at once and leave ``serve`` and the farm running."""
    mark = f"THONGSUOT_TEST_MARK_{uuid.uuid4().hex}"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "national.py"), *TINY_RUN, "--workers", "1",
         "--duration", "60"],
        cwd=tmp_path, env={**os.environ, mark: "1"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # serve is up once the bench says it is ready
            if line.startswith("ready at"):
                break
        assert len(_marked(mark)) >= 3, "the bench, the farm and serve"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 130
        deadline = time.monotonic() + 30
        while _marked(mark) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _marked(mark) == []
    finally:
        for pid in _marked(mark):
            os.kill(pid, signal.SIGKILL)
        proc.kill()


@pytest.mark.slow
def test_agents_bench_runs_briefly_by_its_path(backend: str, tmp_path: Path) -> None:
    """Remote agents, tiny: the real ``serve``, agents enrolled through the API and run
    by the agent's own code in a driver process; every result made is one row of its
    vantage, or the bench exits 1."""
    from tests.conftest import PG_ADMIN

    db = ("--db", PG_ADMIN) if backend == "postgresql" else ()
    lease = {"THONGSUOT_LEASE_S": "4", "THONGSUOT_LEASE_RENEW_S": "1"}  # start-up in seconds
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "agents.py"), "--agents", "3",
         "--checks-per-agent", "2", "--interval", "2", "--duration", "6", "--warmup", "4",
         "--tail", "1", *db],
        cwd=tmp_path,
        env={**os.environ, **lease},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "exactly once" in done.stdout, done.stdout
    assert "3 agents x 2 checks at 2 s" in done.stdout
    assert "CPU-ms per result" in done.stdout and "round trip" in done.stdout
