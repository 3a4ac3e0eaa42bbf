"""Helpers shared by the deploy tests: repository paths and the Prometheus tools.

The tools come from Debian (``scripts/install-test-deps.sh``). A missing
promtool or prometheus is a failure, not a skip: CI installs them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

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
