"""``thongsuot demo`` (issue 11.5): the banner leads with /status and says how to get an
API token; Ctrl-C, which the banner tells you to press, stops with one goodbye line
instead of a 34-line traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_ctrl_c_stops_with_one_line(tmp_path: Path) -> None:
    port = str(_free_port())
    env = os.environ | {"THONGSUOT_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    db = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--units", "3", "--port", port, "--db", db],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "the demo ended before its banner"
            banner.append(line.rstrip("\n"))
            if "Ctrl-C" in line:
                break
        links = [line for line in banner if "http://" in line or "https://" in line]
        assert "/status" in links[0], banner  # the README's first link comes first
        assert any("thongsuot token create" in line and db in line for line in banner)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert err.strip().splitlines() == ["Đã dừng bản chạy thử thongsuot. Tạm biệt."], err
