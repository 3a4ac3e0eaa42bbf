"""Grafana dashboards as code: the committed JSON is the generator's output, every
PromQL expression (panels and rules) runs on a real Prometheus, every metric is
documented, and the provisioning files point at the datasources the panels use."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.deploy import exposition
from tests.deploy.tools import DEPLOY, PROMETHEUS_DIR, run_tool, stop, wait_http
from tests.support.net import free_port
from tests.support.tools import require_tool

GRAFANA = DEPLOY / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
LANGS = ("vi", "en")
NAMES = ("overview", "unit", "national", "sla", "monitor")
# What Grafana puts in place of its variables before a query is sent.
PROM_VARS = {
    "$__rate_interval": "1m",
    "$__range": "1h",
    "$__interval": "15s",
    "$unit": exposition.UNIT,
    "$kind": ".*",  # "All" of a multi-select (allValue)
    "$state": ".*",
}


def _dashboards() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{lang}/{path.name}", json.loads(path.read_text(encoding="utf-8")))
        for lang in LANGS
        for path in sorted((DASHBOARDS / lang).glob("*.json"))
    ]


def _targets(kind: str) -> list[tuple[str, str, str]]:
    """(dashboard, panel title, query) for every target of a datasource type."""
    key = "expr" if kind == "prometheus" else "rawSql"
    found = []
    for name, dash in _dashboards():
        for panel in dash["panels"]:
            for target in panel["targets"]:
                if target["datasource"]["type"] == kind:
                    found.append((name, panel["title"], target[key]))
    return found


def _rule_exprs() -> list[str]:
    exprs = []
    for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            exprs += [rule["expr"] for rule in group["rules"]]
    return exprs


def _recorded() -> set[str]:
    names = set()
    for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            names |= {r["record"] for r in group["rules"] if "record" in r}
    return names


def prom_query(expr: str) -> str:
    for var, value in PROM_VARS.items():
        expr = expr.replace(var, value)
    assert "$" not in expr, expr
    return expr


# ---- generated files ---------------------------------------------------------


def test_committed_dashboards_equal_the_generator_output(tmp_path: Path) -> None:
    res = run_tool(sys.executable, str(GRAFANA / "generate.py"), "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    for lang in LANGS:
        fresh = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / lang).glob("*.json")}
        committed = {
            p.name: p.read_text(encoding="utf-8") for p in (DASHBOARDS / lang).glob("*.json")
        }
        assert sorted(fresh) == sorted(f"{n}.json" for n in NAMES)
        assert committed == fresh, f"run deploy/grafana/generate.py ({lang} is stale)"


def test_lang_flag_writes_one_language(tmp_path: Path) -> None:
    res = run_tool(
        sys.executable, str(GRAFANA / "generate.py"), "--lang", "en", "--out", str(tmp_path)
    )
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["en"]
    en = json.loads((tmp_path / "en" / "overview.json").read_text(encoding="utf-8"))
    vi = json.loads((DASHBOARDS / "vi" / "overview.json").read_text(encoding="utf-8"))
    assert en["title"] == "thongsuot · Province overview"
    assert vi["title"] == "thongsuot · Tổng quan toàn tỉnh"
    assert en["uid"] != vi["uid"]
    assert [p["gridPos"] for p in en["panels"]] == [p["gridPos"] for p in vi["panels"]]


def test_dashboards_are_well_formed() -> None:
    uids = set()
    for name, dash in _dashboards():
        uids.add(dash["uid"])
        assert dash["timezone"] == "Asia/Ho_Chi_Minh", name
        assert dash["panels"], name
        ids = [p["id"] for p in dash["panels"]]
        assert len(ids) == len(set(ids)), name
        for panel in dash["panels"]:
            assert panel["title"] and panel["targets"], (name, panel)
            assert {t["refId"] for t in panel["targets"]} == {
                chr(65 + i) for i in range(len(panel["targets"]))
            }
    assert len(uids) == len(LANGS) * len(NAMES)


def test_vietnamese_titles_carry_diacritics() -> None:
    for name, dash in _dashboards():
        if name.startswith("vi/"):
            titles = [dash["title"]] + [p["title"] for p in dash["panels"]]
            assert any(re.search(r"[^\x00-\x7f]", t) for t in titles), name


def test_panels_use_only_provisioned_datasources() -> None:
    prov = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "datasources.yml").read_text(encoding="utf-8")
    )
    provisioned = {(d["type"], d["uid"]) for d in prov["datasources"]}
    for name, dash in _dashboards():
        for panel in dash["panels"]:
            for target in panel["targets"]:
                ds = target["datasource"]
                assert (ds["type"], ds["uid"]) in provisioned, (name, panel["title"])
    pg = next(d for d in prov["datasources"] if d["uid"] == "postgres")
    assert pg["user"] == "grafana_ro"
    assert pg["secureJsonData"]["password"] == "${GRAFANA_RO_PASSWORD}"


def test_dashboard_provider_paths_hold_the_generated_dashboards() -> None:
    prov = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "dashboards.yml").read_text(encoding="utf-8")
    )
    paths = sorted(p["options"]["path"] for p in prov["providers"])
    assert paths == [f"/var/lib/grafana/dashboards/{lang}" for lang in sorted(LANGS)]


def test_only_documented_metrics_are_used() -> None:
    documented = exposition.documented_metrics()
    allowed = documented | _recorded() | {"up"}
    exprs = [q for _, _, q in _targets("prometheus")] + _rule_exprs()
    for expr in exprs:
        for name in re.findall(r"\bthongsuot[_:][a-z0-9_:]+", expr):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            assert name in allowed or base in allowed, f"{name} is not in docs/metrics.md"


def test_exposition_covers_docs_metrics_and_passes_promtool() -> None:
    text = exposition.render(1)
    for name in exposition.documented_metrics():
        assert re.search(rf"^{name}(_bucket|_sum|_count)?[{{ ]", text, re.MULTILINE), name
    assert len(exposition.documented_metrics()) >= 20
    res = subprocess.run(
        [require_tool("promtool"), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr


# ---- PromQL on a real Prometheus ----------------------------------------------


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_tool("prometheus")
    tmp = tmp_path_factory.mktemp("prometheus")
    with exposition.serve() as target:
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": _fast_rules(tmp),
            "scrape_configs": [
                {"job_name": "thongsuot", "static_configs": [{"targets": [target]}]}
            ],
        }
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
        port = free_port()
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{base}/-/ready", proc)
            _wait_for_scrapes(base, 2)
            yield base
        finally:
            stop(proc)


def _fast_rules(tmp: Path) -> list[str]:
    """The shipped rules with every group evaluated each second, so the test
    need not wait for the 5 m and 1 h groups."""
    paths = []
    for path in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        rules = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in rules["groups"]:
            group["interval"] = "1s"
        copy = tmp / path.name
        copy.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
        paths.append(str(copy))
    return paths


def _wait_for_scrapes(base: str, count: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    query = 'count_over_time(thongsuot_build_info{job="thongsuot"}[1m])'
    while time.monotonic() < deadline:
        result = _query(base, query)["data"]["result"]
        if result and float(result[0]["value"][1]) >= count:
            return
        time.sleep(0.2)
    pytest.fail(f"Prometheus did not scrape the exposition {count} times")


def _query(base: str, expr: str) -> dict[str, Any]:
    r = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10)
    body: dict[str, Any] = r.json()
    assert r.status_code == 200 and body["status"] == "success", (expr, body)
    return body


@pytest.mark.slow
def test_every_panel_query_runs(prometheus: str) -> None:
    targets = _targets("prometheus")
    assert len(targets) >= 40
    recorded = _recorded()
    for name, title, expr in targets:
        result = _query(prometheus, prom_query(expr))["data"]["result"]
        uses_recorded = any(r in expr for r in recorded)
        # Raw metrics are in the sample, so those panels must show something.
        if not uses_recorded:
            assert result, f"{name} / {title}: no data for {expr}"


@pytest.mark.slow
def test_every_rule_expression_runs(prometheus: str) -> None:
    exprs = _rule_exprs()
    assert len(exprs) >= 20
    for expr in exprs:
        _query(prometheus, expr)


def test_status_grid_rule_sees_the_down_unit(prometheus: str) -> None:
    """The recording rules load and evaluate on the sample (15 s group)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        result = _query(prometheus, "thongsuot:unit_state:worst")["data"]["result"]
        if result:
            got = {r["metric"]["unit"]: float(r["value"][1]) for r in result}
            assert got == {"QG": 1.0, "33": 0.0, "11977": 4.0, "12337": 2.0, "12364": 3.0}
            return
        time.sleep(0.5)
    pytest.fail("thongsuot:unit_state:worst was never recorded")


def _grafana_regex(regex: str) -> re.Pattern[str]:
    """A variable's ``/…/`` regex as Python reads it (JS named groups ``(?<x>``)."""
    return re.compile(regex.strip("/").replace("(?<", "(?P<"))


def _query_result_lines(result: list[dict[str, Any]]) -> list[str]:
    """query_result() as Grafana lists it: ``name{label="value",…} value timestamp``,
    labels sorted by name."""
    lines = []
    for r in result:
        metric = dict(r["metric"])
        name = metric.pop("__name__", "")
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(metric.items()))
        lines.append(f"{name}{{{labels}}} {r['value'][1]} {r['value'][0]}")
    return lines


def test_unit_selector_shows_names(prometheus: str) -> None:
    for name, dash in _dashboards():
        for var in dash["templating"]["list"]:
            if var["name"] != "unit":
                continue
            m = re.fullmatch(r"query_result\((.+)\)", var["query"]["query"])
            assert m, var
            result = _query(prometheus, prom_query(m[1]))["data"]["result"]
            options = {}
            for line in _query_result_lines(result):
                found = _grafana_regex(var["regex"]).search(line)
                assert found, (var["regex"], line)
                options[found["value"]] = found["text"]
            assert options == {u: n for u, (n, _, _) in exposition.UNITS.items()}, name


def test_kind_and_state_selectors_use_the_vocabulary() -> None:
    from app.vocab.states import BY_SEVERITY, state_word
    from app.vocab.words import UNIT_KINDS

    for name, dash in _dashboards():
        lang = name[:2]
        variables = {v["name"]: v for v in dash["templating"]["list"]}
        if "kind" in variables:
            kinds = {o["value"]: o["text"] for o in variables["kind"]["options"]}
            assert kinds == {k: w[0 if lang == "vi" else 1] for k, w in UNIT_KINDS.items()}
        if "state" in variables:
            states = [(o["value"], o["text"]) for o in variables["state"]["options"]]
            assert states == [(str(s), state_word(s, lang)) for s in BY_SEVERITY]  # type: ignore[arg-type]
        for var in variables.values():
            if var["type"] == "custom":
                assert var["multi"] and var["includeAll"] and var["allValue"] == ".*"
    overview = dict(_dashboards())["vi/overview.json"]
    assert {v["name"] for v in overview["templating"]["list"]} == {"kind", "state"}


def test_unit_panels_are_labelled_with_names() -> None:
    """Panels that list units show their names (joined from thongsuot_unit_info)."""
    for name, dash in _dashboards():
        for panel in dash["panels"]:
            for target in panel["targets"]:
                if target.get("legendFormat") == "{{unit}}":
                    raise AssertionError(f"{name} / {panel['title']}: a bare unit code")
                if "{{name}}" in target.get("legendFormat", ""):
                    assert "group_left(name) thongsuot_unit_info" in target["expr"]


def test_every_state_mapping_names_degraded() -> None:
    """Degraded reads "Suy giảm" (vi) / "Degraded" (en) wherever states are mapped."""
    from app.vocab.states import SEVERITY, State, state_word

    seen = 0
    for name, dash in _dashboards():
        word = state_word(State.DEGRADED, name[:2])  # type: ignore[arg-type]
        for panel in dash["panels"]:
            for mapping in panel["fieldConfig"]["defaults"].get("mappings", []):
                options = mapping.get("options", {})
                if str(SEVERITY[State.DOWN]) in options:  # a state mapping
                    assert options[str(SEVERITY[State.DEGRADED])]["text"] == word, name
                    seen += 1
    assert seen >= 10


def test_the_live_unit_names_reach_a_panel(prometheus: str) -> None:
    expr = next(e for n, t, e in _targets("prometheus") if "group_left(name)" in e)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        result = _query(prometheus, prom_query(expr))["data"]["result"]
        if result:
            names = {r["metric"]["name"] for r in result}
            assert names <= {n for n, _, _ in exposition.UNITS.values()} and names
            return
        time.sleep(0.5)
    pytest.fail(f"no named series for {expr}")
