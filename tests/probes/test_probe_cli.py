"""One-off probing from the console: targets, options, formatting."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from probes.base import ErrorKind, ProbeResult, Status
from probes.cli import build_config, format_result, parse_options, run_once
from tests.support.http import Reply, ScriptedHTTP
from tests.support.net import closed_port


@pytest.fixture
def web() -> Iterator[ScriptedHTTP]:
    """A loopback server on its own loop, as the console calls ``asyncio.run(run_once(...))``."""
    loop = asyncio.new_event_loop()
    server = ScriptedHTTP({"/": Reply(200, "Cổng dịch vụ công"), "/down": Reply(503)})
    loop.run_until_complete(server.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield server
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_run_once_http(web: ScriptedHTTP) -> None:
    ok = asyncio.run(run_once("http", web.url("/"), {"keyword": "dịch vụ công"}, 2.0))
    assert ok.status is Status.UP
    down = asyncio.run(
        run_once("http", web.url("/down"), {"valid_status_codes": "[200, 204]"}, 2.0)
    )
    assert (down.error_kind, down.details["http_status"]) == (ErrorKind.HTTP_STATUS, 503)


def test_run_once_tcp_and_tls_targets() -> None:
    port = closed_port()
    assert (
        asyncio.run(run_once("tcp", f"127.0.0.1:{port}", {}, 1.0)).error_kind is ErrorKind.CONNECT
    )
    assert asyncio.run(run_once("tls", f"[::1]:{port}", {}, 1.0)).error_kind is ErrorKind.CONNECT


def test_run_once_freshness_closes_what_it_opened(tmp_path: Path) -> None:
    """``thongsuot probe freshness`` owns its ProbeResources: the engine (and its
    aiosqlite thread) is gone when run_once returns, also after a runaway query."""
    import sqlite3

    db = tmp_path / "sync.db"
    sqlite3.connect(db).close()
    opts = {"value": "count", "count_down": "9"}
    ok = asyncio.run(run_once("freshness", f"sqlite:///{db}", {**opts, "query": "SELECT 5"}, 2.0))
    assert (ok.status, ok.details["count"]) == (Status.UP, 5)
    runaway = (  # seconds of work, yet finite: a regression fails instead of hanging
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000) "
        "SELECT max(i) FROM n"
    )
    cut = asyncio.run(run_once("freshness", f"sqlite:///{db}", {**opts, "query": runaway}, 0.3))
    assert cut.error_kind is ErrorKind.TIMEOUT  # the statement deadline's or the probe's own
    deadline = time.monotonic() + 2
    while any("_connection_worker_thread" in t.name for t in threading.enumerate()):
        assert time.monotonic() < deadline, threading.enumerate()
        time.sleep(0.02)


def test_targets_and_option_values(tmp_path: Path) -> None:
    assert build_config("tls", "dichvucong.gov.vn", {}).port == 443
    dns = build_config("dns", "hungyen.gov.vn", {"record_type": "MX", "expected": '["mx.vn"]'})
    assert (dns.name, dns.expected) == ("hungyen.gov.vn", ["mx.vn"])
    sql = build_config("freshness", "sqlite:///x.db", {"query": "SELECT 1", "lag_down_s": "60"})
    assert (sql.source, sql.lag_down_s) == ("sql", 60)
    flow_file = tmp_path / "flow.yaml"
    flow_file.write_text("kind: flow\nsteps:\n  - name: home\n    url: http://127.0.0.1/\n")
    assert build_config("flow", str(flow_file), {"budget_s": "5"}).budget_s == 5
    with pytest.raises(ValueError, match="needs a port"):
        build_config("tcp", "127.0.0.1", {})
    with pytest.raises(ValueError, match="pushed"):
        build_config("heartbeat", "x", {})
    with pytest.raises(ValidationError):
        build_config("http", "http://x/", {"colour": "red"})
    with pytest.raises(KeyError, match="unknown probe kind"):
        build_config("gopher", "x", {})
    assert parse_options(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ValueError, match="key=value"):
        parse_options(["novalue"])


def test_format_result_is_technical_without_words() -> None:
    """probes has no words for people (they are app.vocab's; the Vietnamese console
    output is tested in tests/vocab/test_probe_words.py)."""
    result = ProbeResult.down(ErrorKind.CONNECT, "ConnectError: refused", 0.012, ip="127.0.0.1")
    assert format_result(result).splitlines() == [
        "DOWN · connect · 12 ms",
        "ConnectError: refused",
        "  ip: 127.0.0.1",
    ]
    assert format_result(ProbeResult.up(0.5, "HTTP 200")).startswith("UP · 500 ms")
    worded = format_result(
        result, status_words=lambda s: f"<{s.value}>", kind_words=lambda k: f"[{k.value}]"
    )
    assert worded.splitlines()[0] == "<down> · [connect] (connect) · 12 ms"
    assert {s.value for s in Status} == {"up", "degraded", "down"}


def test_probes_stay_pure() -> None:
    """Loading every probe kind pulls in neither the app nor FastAPI (docs/design.md §5)."""
    import subprocess
    import sys

    code = (
        "import sys, probes; probes.kinds(); "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('app', 'fastapi')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
