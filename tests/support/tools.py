"""External programs some tests need (promtool, amtool, prometheus, psql, npm, chromium…).

Locally a missing tool skips the test, saying exactly what to run; under CI
(``CI=true``) it fails the test instead, so CI never passes by skipping them.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

INSTALL_HINT = "run scripts/install-test-deps.sh"
HINTS = {  # tools that script does not install
    "psql": "install Debian's postgresql-client",
    "npm": "install Debian's npm, then run scripts/fetch-compose-schema.sh",
}


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def missing(what: str, hint: str = INSTALL_HINT) -> NoReturn:
    """Skip (or, on CI, fail) with ``"<what> not found: <hint>"``."""
    message = f"{what} not found: {hint}"
    if on_ci():
        pytest.fail(message)
    pytest.skip(message)


def require_tool(name: str, hint: str | None = None) -> str:
    """The absolute path of ``name`` on PATH, or skip (fail on CI) saying what to run."""
    path = shutil.which(name)
    if path is None:
        missing(name, hint or HINTS.get(name, INSTALL_HINT))
    return path
