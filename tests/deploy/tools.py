"""Helpers shared by the deploy tests: repository paths and the Prometheus tools.

The tools come from Debian (``scripts/install-test-deps.sh``); ask for one with
:func:`tests.support.tools.require_tool` (a skip locally, a failure on CI).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"


def run_tool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool, returning its result; the caller asserts on the exit code."""
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Poll ``url`` until it answers 200; fail with the process' output otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    out = proc.communicate()[0].decode(errors="replace")
    pytest.fail(f"{url} did not come up:\n{out[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
