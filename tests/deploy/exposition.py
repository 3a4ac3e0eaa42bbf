"""A fixed, realistic /metrics exposition with every metric of docs/metrics.md,
served by a loopback HTTP server for a real Prometheus to scrape."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.deploy.tools import ROOT

# check, unit, service_kind, probe_kind, state
CHECKS = [
    ("dvcqg.portal", "QG", "national_portal", "http", "up"),
    ("dvcqg.sso", "QG", "national_sso", "tls", "degraded"),
    ("hy.33.portal", "33", "provincial_system", "http", "up"),
    ("hy.33.portal.tls", "33", "provincial_system", "tls", "up"),
    ("hy.11977.web", "11977", "commune_centre", "http", "up"),
    ("hy.11977.gw", "11977", "commune_centre", "tcp", "down"),
    ("hy.11977.hb", "11977", "commune_centre", "heartbeat", "down"),
    ("hy.12337.web", "12337", "commune_centre", "http", "maintenance"),
    ("hy.12364.agent", "12364", "commune_centre", "heartbeat", "unknown"),
]
STATES = ("up", "degraded", "down", "unknown", "maintenance")
# unit -> name, kind, province: thongsuot_unit_info (the names the panels join in)
UNITS = {
    "QG": ("Cổng Dịch vụ công quốc gia", "national", ""),
    "33": ("Tỉnh Hưng Yên", "province", "33"),
    "11977": ("Phường Hiến Nam", "ward", "33"),
    "12337": ("Xã Hoàng Hoa Thám", "commune", "33"),
    "12364": ("Xã Tân Hưng", "commune", "33"),
}
UNIT = "11977"


def documented_metrics() -> set[str]:
    """Metric names in the tables of docs/metrics.md."""
    text = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `(thongsuot_[a-z_]+)`", text, flags=re.MULTILINE))


def _labels(check: str, unit: str, kind: str, probe: str) -> str:
    return f'check="{check}",unit="{unit}",service_kind="{kind}",probe_kind="{probe}"'


def _per_check(now: float) -> list[str]:
    lines: list[str] = [
        f'thongsuot_unit_info{{unit="{u}",name="{n}",kind="{k}",province="{p}"}} 1'
        for u, (n, k, p) in UNITS.items()
    ]
    for check, unit, kind, probe, state in CHECKS:
        base = _labels(check, unit, kind, probe)
        for s in STATES:
            lines.append(f'thongsuot_check_state{{{base},state="{s}"}} {int(s == state)}')
        if state in ("up", "degraded", "down"):
            lines.append(f"thongsuot_check_up{{{base}}} {int(state != 'down')}")
        if state == "unknown":
            continue
        ok = state in ("up", "degraded")
        lines.append(f"thongsuot_probe_success{{{base}}} {int(ok)}")
        lines.append(f"thongsuot_probe_duration_seconds{{{base}}} {0.042 if ok else 5.0}")
        lines.append(f"thongsuot_check_last_result_timestamp_seconds{{{base}}} {now - 12:.3f}")
        if probe == "http":
            lines.append(f"thongsuot_probe_http_status_code{{{base}}} {200 if ok else 503}")
        if probe == "tls":
            lines.append(
                f"thongsuot_probe_ssl_earliest_cert_expiry{{{base}}} {now + 10 * 86400:.0f}"
            )
    return lines


def _histogram(name: str, buckets: list[tuple[str, int]], total: float) -> list[str]:
    lines = [f'{name}_bucket{{le="{le}"}} {n}' for le, n in buckets]
    lines += [f"{name}_sum {total}", f"{name}_count {buckets[-1][1]}"]
    return lines


def _process(tick: int) -> list[str]:
    n = 1000 + 40 * tick  # counters grow between scrapes, so rate() has data
    lines = [
        f'thongsuot_probe_results_total{{probe_kind="http",status="up",error_kind=""}} {n}',
        'thongsuot_probe_results_total{probe_kind="tcp",status="down",'
        f'error_kind="timeout"}} {n // 10}',
        'thongsuot_probe_results_total{probe_kind="heartbeat",status="down",'
        f'error_kind="missed_heartbeat"}} {n // 20}',
        f'thongsuot_flips_total{{new_state="down"}} {3 + tick}',
        f'thongsuot_flips_total{{new_state="up"}} {2 + tick}',
        "thongsuot_scheduler_jobs 8",
        "thongsuot_probes_in_flight 3",
        f"thongsuot_buffer_depth {120 + tick}",
        f"thongsuot_buffer_dropped_total {tick}",
        f'thongsuot_db_rows_written_total{{table="probe_result"}} {n}',
        f'thongsuot_db_rows_written_total{{table="flip"}} {5 + tick}',
        f"thongsuot_db_write_errors_total {tick // 2}",
        "thongsuot_results_dead_lettered_total 0",
        f"thongsuot_results_accepted_total {n}",
        'thongsuot_results_lost_total{reason="disk_full"} 0',
        "thongsuot_spool_healthy 1",
        "thongsuot_spool_rejected_total 0",
        "thongsuot_shards_owned 256",
        "thongsuot_shards_unowned 0",
        "thongsuot_results_fenced_total 0",
        "thongsuot_results_fenced_kept_total 0",
        "thongsuot_probes_fenced_total 0",
        f"thongsuot_push_beats_relayed_total {tick}",
        'thongsuot_agent_clock_offset_seconds{agent="hy-12364-lan"} 0.8',
        f'thongsuot_agent_results_total{{agent="hy-12364-lan"}} {n}',
        'thongsuot_agent_requests_refused_total{reason="clock_skew"} 0',
        "thongsuot_agents_offline_total 0",
        "thongsuot_db_clock_offset_seconds 0.002",
        "thongsuot_slot_lag_seconds 0.004",
        f"thongsuot_lease_renew_success_timestamp_seconds {1_780_000_000 + tick}",
        'thongsuot_checks{state="up"} 3',
        'thongsuot_checks{state="degraded"} 1',
        'thongsuot_checks{state="down"} 2',
        'thongsuot_checks{state="unknown"} 1',
        'thongsuot_checks{state="maintenance"} 1',
        "thongsuot_open_incidents 2",
        'thongsuot_build_info{version="0.1.0"} 1',
    ]
    lateness = [("0.001", n // 2), ("0.01", n - 5), ("0.1", n - 1), ("1.0", n), ("+Inf", n)]
    writes = [("0.001", tick), ("0.01", 4 * tick), ("0.1", 5 * tick), ("+Inf", 5 * tick)]
    lines += _histogram("thongsuot_scheduler_lateness_seconds", lateness, n * 0.002)
    lines += _histogram("thongsuot_db_write_seconds", writes, tick * 0.03)
    relay = [("0.5", tick // 2), ("1.0", tick), ("2.0", tick), ("+Inf", tick)]
    lines += _histogram("thongsuot_push_beat_relay_seconds", relay, tick * 0.8)
    return lines


HELP = {
    "thongsuot_probe_results_total": "counter",
    "thongsuot_flips_total": "counter",
    "thongsuot_buffer_dropped_total": "counter",
    "thongsuot_db_rows_written_total": "counter",
    "thongsuot_db_write_errors_total": "counter",
    "thongsuot_results_dead_lettered_total": "counter",
    "thongsuot_results_accepted_total": "counter",
    "thongsuot_results_lost_total": "counter",
    "thongsuot_spool_rejected_total": "counter",
    "thongsuot_results_fenced_total": "counter",
    "thongsuot_results_fenced_kept_total": "counter",
    "thongsuot_probes_fenced_total": "counter",
    "thongsuot_push_beats_relayed_total": "counter",
    "thongsuot_agent_results_total": "counter",
    "thongsuot_agent_requests_refused_total": "counter",
    "thongsuot_agents_offline_total": "counter",
    "thongsuot_scheduler_lateness_seconds": "histogram",
    "thongsuot_db_write_seconds": "histogram",
    "thongsuot_push_beat_relay_seconds": "histogram",
}


def render(tick: int, now: float | None = None) -> str:
    """The exposition at scrape number ``tick``, with HELP/TYPE for every family."""
    lines = _per_check(time.time() if now is None else now) + _process(tick)
    out: list[str] = []
    seen: set[str] = set()
    for line in sorted(lines, key=_family):
        fam = _family(line)
        if fam not in seen:
            seen.add(fam)
            kind = HELP.get(fam, "gauge")
            out += [f"# HELP {fam} Sample of {fam}.", f"# TYPE {fam} {kind}"]
        out.append(line)
    return "\n".join(out) + "\n"


def _family(line: str) -> str:
    name = re.split(r"[{ ]", line, maxsplit=1)[0]
    for suffix in ("_bucket", "_sum", "_count"):
        stem = name[: -len(suffix)]
        if name.endswith(suffix) and HELP.get(stem) == "histogram":
            return stem
    return name


@contextmanager
def serve() -> Iterator[str]:
    """Serve the exposition on 127.0.0.1 (port 0); yields ``host:port``."""
    counter = {"tick": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            counter["tick"] += 1
            body = render(counter["tick"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
