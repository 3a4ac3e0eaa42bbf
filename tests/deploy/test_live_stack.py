"""The live stack: thongsuot running the demo (farm over HTTP and HTTPS, kiosks
pushing heartbeats, a lagging sync) under uvicorn on 127.0.0.1, scraped every
second by a real Prometheus that evaluates the repository's rules every second.

Every PromQL expression of every dashboard panel (both languages), every
recording rule and every alerting rule runs through Prometheus's HTTP API: none
may error, and each must return data, except those listed in ``MAY_BE_EMPTY``
with the reason the demo cannot produce their data in a few seconds. Every SQL
panel runs, as the read-only Grafana role, on a PostgreSQL database that a short
live demo run filled.

The scenario, set by the farm script: ten of 24 units are down from the start
(12 of 33 checks fail: a storm for the ThongsuotManyChecksDown alert, over 20%,
yet under the half at which the monitor's connectivity guard would call itself
blind and turn failures into unknown), the first kiosk never beats, the sync to
the national portal is stalled, and the farm's certificate expires in 10 days.
Prometheus (Debian's package, scripts/install-test-deps.sh) must be installed:
a missing binary fails the test.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
import yaml

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.demo.inventory import DemoExtras, heartbeat_key
from app.demo.script import Behaviour, FarmScript, Mode, UnitPlan
from app.demo.stack import demo_stack
from app.demo.units import PROVINCE_CODE, demo_units
from app.reports import rollup
from app.vocab.states import State, state_word
from tests.deploy.test_dashboard_sql import _admin, _run_init_script, _sql_targets, _url
from tests.deploy.tools import DEPLOY, PROMETHEUS_DIR, ROOT, run_tool, stop, wait_http
from tests.support.net import free_port
from tests.support.tools import require_tool

UNITS = 24
CODES = [u.code for u in demo_units(UNITS)]
DOWN = CODES[2:12]  # ten units down from the start
UNIT = CODES[1]  # the unit dashboard's $unit: up, with a beating kiosk
LANGS = ("vi", "en")
DATA_WITHIN_S = 40.0

# Alert expressions the live demo cannot make true in seconds; each is covered
# by the promtool unit tests in deploy/prometheus/tests.
MAY_BE_EMPTY = {
    "ThongsuotCertificateExpiringCritical": "the demo certificate has 10 days left, not < 3",
    "ThongsuotMonitorAbsent": "the thongsuot scrape job is configured",
    "ThongsuotMonitorDown": "the monitor is up (test_monitor_down_alert_matches stops it)",
    "ThongsuotBufferGrowing": "the result buffer stays near empty",
    "ThongsuotBufferDropping": "no result is dropped",
    "ThongsuotDbWriteErrors": "the SQLite writes succeed",
    "ThongsuotSchedulerLate": "scheduling lateness is milliseconds, not > 5 s",
    "ThongsuotSpoolFailing": "the outcome journal can write",
    "ThongsuotSpoolRecordsRejected": "no unreadable journal record",
    "ThongsuotResultsDeadLettered": "the database refuses no result for its data",
    "ThongsuotShardsUnowned": "the demo's one SQLite process holds no shard leases",
}
# 30-day ratios average hourly tiles taken at whole hours (the 1 h-step subquery
# of recording.yml); a stack a few seconds old has no tile yet.
THIRTY_DAYS = "_30d"
# Alerts whose expressions the scenario makes true: Prometheus must hold them
# pending (their "for:" has not passed yet) or firing.
EXPECTED_ALERTS = {
    "ThongsuotCheckDown",
    "ThongsuotHeartbeatMissed",
    "ThongsuotCertificateExpiringSoon",
    "ThongsuotManyChecksDown",
}


def _script() -> FarmScript:
    overrides = {code: UnitPlan(Behaviour.HEALTHY) for code in CODES}
    overrides.update({code: UnitPlan(Behaviour.OUTAGE, Mode.HTTP_503, 0.0) for code in DOWN})
    return FarmScript(
        codes=tuple(CODES),
        overrides=overrides,
        period_s=10_000.0,
        down_s=9_999.0,
        beat_s=0.9,  # the push endpoint allows one beat a second per token
        beat_pause_at_s=0.0,  # the first kiosk is silent from the start
        beat_pause_s=9_999.0,
        beat_cycle_s=10_000.0,
        sync_every_s=1.0,
        sync_stall_at_s=0.0,  # the sync is stalled from the start
        sync_stall_s=9_999.0,
        sync_cycle_s=10_000.0,
    )


EXTRAS = DemoExtras(
    kiosks=3,
    beat_period_s=1.0,
    beat_grace_s=1.0,
    sync_lag_degraded_s=2.0,
    sync_lag_down_s=4.0,
    fast_interval_s=1,
)


# ---- the app, in a thread with its own event loop ---------------------------------


class LiveApp:
    """``demo_stack`` in a background thread, so the tests can stay synchronous."""

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.settings, self.workdir = settings, workdir
        self.base_url = ""
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="live-app", daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            self.stop()
            raise RuntimeError(f"the demo stack did not start: {self._error!r}")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with demo_stack(
            self.settings, UNITS, self.workdir, script=_script(), interval_s=1,
            timeout_s=0.8, extras=EXTRAS, port=0,
        ) as stack:  # fmt: skip
            self.base_url = stack.base_url
            self._ready.set()
            await self._stop.wait()


# ---- Prometheus, configured from the repository's files ---------------------------


def live_prometheus_config(target: str, rule_files: list[str]) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml with the thongsuot job pointed at ``target``,
    everything at 1 s, and no Alertmanager (this test reads alerts from Prometheus)."""
    config: dict[str, Any] = yaml.safe_load(
        (PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8")
    )
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["global"]["external_labels"] = {"province": PROVINCE_CODE}
    config["rule_files"] = rule_files
    config.pop("alerting")
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "thongsuot"]
    job.update(scrape_interval="1s", scrape_timeout="1s")
    job["static_configs"] = [{"targets": [target]}]
    config["scrape_configs"] = [job]
    return config


def fast_rules(tmp: Path) -> list[str]:
    """Copies of the shipped rule files with every group evaluated each second."""
    paths = []
    for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        rules = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in rules["groups"]:
            group["interval"] = "1s"
        copy = tmp / path.name
        copy.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
        paths.append(str(copy))
    return paths


@dataclass
class Live:
    prometheus: str
    app: LiveApp
    config_file: Path
    ready_at: float


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Live]:
    binary = require_tool("prometheus")
    tmp = tmp_path_factory.mktemp("live")
    shutil.copy(sqlite_template, tmp / "thongsuot.db")
    settings = Settings(database_url=f"sqlite:///{tmp / 'thongsuot.db'}", flush_interval_s=0.2)
    app = LiveApp(settings, tmp)
    app.start()
    proc = None
    try:
        target = app.base_url.removeprefix("http://")
        config = live_prometheus_config(target, fast_rules(tmp))
        config_file = tmp / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        port = free_port()
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/-/ready", proc)
        yield Live(base, app, config_file, time.monotonic())
    finally:
        if proc is not None:
            stop(proc)
        app.stop()


# ---- querying ---------------------------------------------------------------------


def query(base: str, expr: str) -> list[dict[str, Any]]:
    """The result of an instant query; an error of any kind fails the test."""
    r = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10)
    body: dict[str, Any] = r.json()
    assert r.status_code == 200 and body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def eventually(live: Live, expr: str) -> list[dict[str, Any]]:
    """Query until there is data or DATA_WITHIN_S since the stack came up has passed."""
    while True:
        result = query(live.prometheus, expr)
        if result or time.monotonic() > live.ready_at + DATA_WITHIN_S:
            return result
        time.sleep(0.5)


def grafana_vars(expr: str) -> str:
    """What Grafana puts in place of the dashboard variables before it sends a query."""
    for var, value in {
        "$__rate_interval": "1m",
        "$__range": "1h",
        "$__interval": "15s",
        "$unit": UNIT,
        "$kind": ".*",  # "All" of a multi-select (allValue)
        "$state": ".*",
    }.items():
        expr = expr.replace(var, value)
    assert "$" not in expr, expr
    return expr


def metric_names(expr: str) -> set[str]:
    """The metrics (and recorded series) an expression reads."""
    bare = re.sub(r'"[^"]*"', '""', expr)  # label values are not names
    names = set(re.findall(r"\bthongsuot[_:][a-z0-9_:]+", bare))
    return names | ({"up"} if re.search(r"\bup\{", bare) else set())


def panel_targets() -> list[tuple[str, str, str]]:
    found = []
    for lang in LANGS:
        for path in sorted((DEPLOY / "grafana" / "dashboards" / lang).glob("*.json")):
            for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
                for t in panel["targets"]:
                    if t["datasource"]["type"] == "prometheus":
                        found.append((f"{lang}/{path.name}", panel["title"], t["expr"]))
    return found


def rules(kind: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            found += [r for r in group["rules"] if kind in r]
    return found


def assert_series_exist(live: Live, expr: str, where: str) -> None:
    for name in metric_names(expr):
        if THIRTY_DAYS not in name:
            assert eventually(live, f"group({name})"), f"{where}: no series {name} in {expr}"


# ---- the tests ----------------------------------------------------------------------


def test_the_generated_config_passes_promtool(live: Live) -> None:
    promtool = require_tool("promtool")
    res = run_tool(promtool, "check", "config", str(live.config_file))
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_live_exposition_passes_promtool_and_has_every_kind(live: Live) -> None:
    text = httpx.get(f"{live.app.base_url}/metrics", timeout=10).text
    res = subprocess.run(
        [require_tool("promtool"), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    kinds = set(re.findall(r'^thongsuot_check_state\{[^}]*probe_kind="(\w+)"', text, re.M))
    assert kinds == {"http", "tls", "freshness", "heartbeat"}


@pytest.mark.slow
def test_every_panel_expression_runs_and_shows_the_demo(live: Live) -> None:
    targets = panel_targets()
    assert len(targets) >= 2 * 30
    for name, title, expr in targets:
        promql = grafana_vars(expr)
        result = (
            eventually(live, promql) if THIRTY_DAYS not in expr else query(live.prometheus, promql)
        )
        if THIRTY_DAYS not in expr:
            assert result, f"{name} / {title}: no data for {promql}"
        assert_series_exist(live, promql, f"{name} / {title}")


def test_national_panels_see_both_demo_national_services(live: Live) -> None:
    [expr] = [
        e for n, _, e in panel_targets() if n == "en/national.json" and "state:severity" in e
    ][:1]
    kinds = {r["metric"]["service_kind"] for r in eventually(live, grafana_vars(expr))}
    assert kinds == {"national_portal", "national_sso"}
    example = yaml.safe_load((ROOT / "examples" / "hung-yen.yaml").read_text(encoding="utf-8"))
    national_kinds = {s["kind"] for s in example["national"]["services"]}
    selector = re.search(r'service_kind=~"([^"]+)"', expr)
    assert selector and set(selector[1].split("|")) == national_kinds


@pytest.mark.slow
def test_every_recording_rule_runs_and_records(live: Live) -> None:
    recording = rules("record")
    assert len(recording) >= 14
    for rule in recording:
        if THIRTY_DAYS in rule["record"]:
            query(live.prometheus, rule["expr"])
            continue
        assert eventually(live, rule["expr"]), f"{rule['record']}: no data for {rule['expr']}"
        assert eventually(live, rule["record"]), f"{rule['record']} was never recorded"


@pytest.mark.slow
def test_every_alert_expression_runs(live: Live) -> None:
    alerting = rules("alert")
    names = {r["alert"] for r in alerting}
    assert set(MAY_BE_EMPTY) <= names, "MAY_BE_EMPTY names an alert that is gone"
    assert names >= EXPECTED_ALERTS
    for rule in alerting:
        if rule["alert"] in MAY_BE_EMPTY:
            query(live.prometheus, rule["expr"])
        else:
            assert eventually(live, rule["expr"]), f"{rule['alert']}: no data for {rule['expr']}"
        assert_series_exist(live, rule["expr"], rule["alert"])


def test_every_rule_evaluates_without_error_and_the_scenario_alerts(live: Live) -> None:
    deadline = live.ready_at + DATA_WITHIN_S
    while True:
        groups = httpx.get(f"{live.prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
        loaded = [r for g in groups for r in g["rules"]]
        active = {
            a["labels"]["alertname"]
            for a in httpx.get(f"{live.prometheus}/api/v1/alerts", timeout=10).json()["data"][
                "alerts"
            ]
        }
        evaluated = all(r["health"] != "unknown" for r in loaded)
        if (evaluated and active >= EXPECTED_ALERTS) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(loaded) == len(rules("record")) + len(rules("alert"))
    bad = [(r["name"], r["health"], r.get("lastError")) for r in loaded if r["health"] != "ok"]
    assert not bad
    assert active >= EXPECTED_ALERTS, f"active alerts: {sorted(active)}"
    assert not active & {
        "ThongsuotMonitorDown",
        "ThongsuotDbWriteErrors",
        "ThongsuotBufferDropping",
    }


def test_heartbeat_and_sync_show_in_the_results_counter(live: Live) -> None:
    for kind, error in (("heartbeat", "missed_heartbeat"), ("freshness", "stale")):
        expr = f'thongsuot_probe_results_total{{probe_kind="{kind}",error_kind="{error}"}}'
        assert eventually(live, expr), expr
    silent = heartbeat_key(CODES[0])
    assert eventually(live, f'thongsuot_check_state{{check="{silent}",state="down"}} == 1')


def test_monitor_down_alert_matches_once_the_app_stops(live: Live) -> None:
    """Last in this module: it stops the app the other tests read."""
    [rule] = [r for r in rules("alert") if r["alert"] == "ThongsuotMonitorDown"]
    assert query(live.prometheus, rule["expr"]) == []
    live.app.stop()
    deadline = time.monotonic() + 15
    while not (result := query(live.prometheus, rule["expr"])):
        assert time.monotonic() < deadline, "up{job=thongsuot} never went to 0"
        time.sleep(0.5)
    assert [r["metric"]["job"] for r in result] == ["thongsuot"]


# ---- SQL panels on a database a live demo run filled ------------------------------


def grafana_sql(raw: str, frm: datetime, to: datetime, unit: str) -> str:
    """Grafana's PostgreSQL macros expanded for the range ``frm``..``to``."""
    a, b = f"'{frm.isoformat()}'", f"'{to.isoformat()}'"
    raw = re.sub(r"\$__timeFilter\(([^)]+)\)", lambda m: f"{m[1]} BETWEEN {a} AND {b}", raw)
    raw = raw.replace("$__timeFrom()", a).replace("$__timeTo()", b).replace("$unit", unit)
    assert "$" not in raw, raw
    return raw


async def _fetch(url: str, sql: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        return [dict(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def _wait_for_incidents(url: str, codes: list[str], within: float = 20.0) -> None:
    sql = (
        "SELECT count(DISTINCT u.code) FROM incident i JOIN unit u ON u.id = i.unit_id"
        " WHERE i.ended_at IS NULL AND u.code = ANY($1::text[])"
    )
    end = time.monotonic() + within
    while time.monotonic() < end:
        conn = await asyncpg.connect(url)
        try:
            if await conn.fetchval(sql, codes) == len(codes):
                return
        finally:
            await conn.close()
        await asyncio.sleep(0.3)
    raise AssertionError(f"no open incident for each of {codes}")


@pytest.mark.postgres
async def test_every_sql_panel_returns_rows_on_a_live_demo_database(
    backend: str, tmp_path: Path
) -> None:
    require_tool("psql")
    db, role = f"thongsuot_live_{time.time_ns()}", f"grafana_ro_live_{time.time_ns()}"
    await _admin(f'CREATE DATABASE "{db}"')
    try:
        await asyncio.to_thread(_run_init_script, db, role)
        await _live_demo_run(db, role, tmp_path)
    finally:
        await _admin(
            f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', f'DROP ROLE IF EXISTS "{role}"'
        )


async def _rollup_tick(url: str) -> None:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await rollup.tick(session, datetime.now(UTC))
    finally:
        await engine.dispose()


async def _live_demo_run(db: str, role: str, tmp_path: Path) -> None:
    settings = Settings(database_url=_url(db), flush_interval_s=0.2)
    frm = datetime.now(UTC) - timedelta(hours=1)
    async with demo_stack(
        settings, 4, tmp_path, script=_script(), interval_s=1, timeout_s=0.8,
        extras=EXTRAS, port=0,
    ):  # fmt: skip
        await _wait_for_incidents(_url(db), [CODES[2], CODES[3]])
    await _rollup_tick(_url(db))  # what the housekeeper does every minute: the SLA panels
    to = datetime.now(UTC) + timedelta(minutes=5)
    targets = _sql_targets()
    assert len(targets) == 8
    results = {}
    for name, title, raw in targets:
        found = await _fetch(_url(db, role), grafana_sql(raw, frm, to, CODES[2]))
        assert found, f"{name} / {title}: no rows on the live demo database"
        results[f"{name[:2]}:{title}"] = found

    def rows(title_part: str) -> list[dict[str, Any]]:
        return next(v for k, v in results.items() if k.startswith("en:") and title_part in k)

    sla = {r["Unit code"]: r for r in rows("Availability per unit")}
    for down in (CODES[2], CODES[3]):  # up only until their first http result came back
        assert float(sla[down]["Availability, 24/7 (%)"]) < 100.0  # minutes round to 0.0
    # the healthy unit: 100 % unless a probe of it timed out on a loaded machine and it
    # really went down (then the panel must say so too)
    healthy_downs = await _fetch(
        _url(db),
        'SELECT count(*) AS n FROM flip f JOIN "check" c ON c.id = f.check_id'
        f" JOIN unit u ON u.id = c.unit_id WHERE u.code = '{CODES[1]}' AND f.new_state = 'down'",
    )
    if healthy_downs[0]["n"] == 0:
        assert float(sla[CODES[1]]["Availability, 24/7 (%)"]) == 100.0
        assert float(sla[CODES[1]]["Down, 24/7 (min)"]) == 0.0
    else:
        assert float(sla[CODES[1]]["Availability, 24/7 (%)"]) < 100.0
    assert len(rows("Open incidents")) >= 2  # one per forced-down unit at least
    # the rollups end the run where the demo monitor stopped (then: unknown), so it is
    # an incident of the period, no longer open
    incidents = {r["Unit code"]: r["Incidents, 24/7"] for r in rows("Incidents per unit")}
    assert incidents[CODES[2]] >= 1
    assert {r["New state"] for r in rows("State changes")} >= {state_word(State.DOWN, "en")}
