"""Helpers shared by the deploy tests: repository paths and the Prometheus tools.

The tools come from Debian (``scripts/install-test-deps.sh``). A missing
promtool or prometheus is a failure, not a skip: CI installs them.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
INSTALL_HINT = "run scripts/install-test-deps.sh"


def require_tool(name: str) -> str:
    """The absolute path of ``name`` on PATH; fails the test when it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: {INSTALL_HINT}")
    return path


def run_tool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool, returning its result; the caller asserts on the exit code."""
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def free_port() -> int:
    """A loopback port the kernel picked for a socket bound to port 0."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
