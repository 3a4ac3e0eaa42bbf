"""Grafana dashboards as code for thongsuot.

    python deploy/grafana/generate.py              # both languages
    python deploy/grafana/generate.py --lang en    # English only
    python deploy/grafana/generate.py --out DIR    # somewhere else

Writes ``dashboards/<lang>/<name>.json``. Plain Python; the JSON is Grafana's
dashboard model (schemaVersion 39). State words, their order and the severity
numbers the status grids map come from app.vocab.states. Metric names come from
docs/metrics.md and the recording rules in deploy/prometheus/rules; SQL runs on
the schema of app/models (PostgreSQL datasource, read-only role ``grafana_ro``).
Commit the output; tests/deploy/test_dashboards.py checks it is up to date, and
tests/deploy/test_dashboard_schema.py reads every dashboard, panel option, field config
and Prometheus query back through grafana-foundation-sdk's models (generated from
Grafana 11.6's schema): a field Grafana does not know is dropped there and the test
names it. Plain dicts are kept rather than the SDK's builders because the SQL
(PostgreSQL) queries have no typed model in the SDK, and the committed JSON is what
Grafana provisions either way.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# The state words and order come from the app (app.vocab.states): run from a
# checkout without installing it, too.
sys.path[1:1] = [str(HERE.parents[1])]

from sql import FLIPS_SQL, OPEN_INCIDENTS_SQL, UNIT_INCIDENTS_SQL, UNIT_SLA_SQL  # noqa: E402
from texts import LANGS, state_text, tr  # noqa: E402

from app.vocab.states import BY_SEVERITY, SEVERITY, State  # noqa: E402
from app.vocab.words import UNIT_KINDS  # noqa: E402

Panel = dict[str, Any]
Dashboard = dict[str, Any]

PROM = {"type": "prometheus", "uid": "prometheus"}
PG = {"type": "grafana-postgresql-datasource", "uid": "postgres"}
# National shared services (docs/design.md §1) are the services of the inventory's
# national unit (code "VN" by default, app/inventory/schema.py). Their kinds do
# not all start with "national_", and the service-kind ratios carry no unit
# label, so the panels select the kinds by name.
NATIONAL_KINDS = ("national_portal", "national_sso", "vneid", "paygov", "data_sharing", "emc")
NATIONAL = f'service_kind=~"{"|".join(NATIONAL_KINDS)}"'
UNIT = 'unit="$unit"'
# Series carry the unit code only; names come from the info metric (docs/metrics.md).
NAMES = " * on(unit) group_left(name) thongsuot_unit_info"
OF_KIND = ' * on(unit) group_left(name) thongsuot_unit_info{kind=~"$kind"}'
IN_STATE = ' and on(unit) (count by (unit) (thongsuot_check_state{state=~"$state"} == 1))'


# ---- panel builders -------------------------------------------------------


def prom(expr: str, legend: str = "", *, instant: bool = False, table: bool = False) -> Panel:
    target: Panel = {"datasource": PROM, "expr": expr, "legendFormat": legend}
    if instant:
        target["instant"] = True
        target["range"] = False
    if table:
        target["format"] = "table"
    return target


def sql(raw: str) -> Panel:
    return {
        "datasource": PG,
        "rawQuery": True,
        "editorMode": "code",
        "format": "table",
        "rawSql": raw,
    }


def panel(
    kind: str, title: str, targets: list[Panel], grid: tuple[int, int, int, int], **extra: Any
) -> Panel:
    x, y, w, h = grid
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    p: Panel = {
        "type": kind,
        "title": title,
        "datasource": targets[0]["datasource"],
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": targets,
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {},
    }
    p.update(extra)
    return p


COLOURS: dict[State, str] = {
    State.UP: "green",
    State.DEGRADED: "yellow",
    State.MAINTENANCE: "blue",
    State.UNKNOWN: "gray",
    State.DOWN: "red",
}


def state_mappings(lang: str) -> list[Panel]:
    """Value mappings for the severity numbers of thongsuot:unit_state:worst and
    thongsuot:check_state:severity (recording.yml): app.vocab.states' SEVERITY and words."""
    options = {
        str(SEVERITY[s]): {"text": state_text(lang, s), "color": COLOURS[s], "index": SEVERITY[s]}
        for s in sorted(State, key=SEVERITY.__getitem__)
    }
    return [{"type": "value", "options": options}]


def up_mappings(lang: str) -> list[Panel]:
    """Value mappings for Prometheus' own ``up`` (a scrape, not a check state)."""
    return [
        {
            "type": "value",
            "options": {
                "1": {"text": state_text(lang, State.UP), "color": "green", "index": 0},
                "0": {"text": state_text(lang, State.DOWN), "color": "red", "index": 1},
            },
        }
    ]


def status_grid(
    title: str,
    expr: str,
    legend: str,
    grid: tuple[int, int, int, int],
    mappings: list[Panel],
    lang: str,
    desc: str = "desc.status_grid",
) -> Panel:
    p = panel("stat", title, [prom(expr, legend, instant=True)], grid)
    p["fieldConfig"]["defaults"] = {
        "mappings": mappings,
        "color": {"mode": "thresholds"},
        "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}]},
    }
    p["options"] = {
        "colorMode": "background",
        "graphMode": "none",
        "textMode": "value_and_name",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "orientation": "auto",
        "justifyMode": "center",
    }
    p["description"] = tr(lang, desc)
    return p


def ratio_stat(
    title: str,
    expr: str,
    grid: tuple[int, int, int, int],
    *,
    legend: str = "",
    time_from: str | None = None,
    desc: str = "",
) -> Panel:
    p = panel("stat", title, [prom(expr, legend, instant=True)], grid)
    p["fieldConfig"]["defaults"] = {
        "unit": "percentunit",
        "decimals": 3,
        "min": 0,
        "max": 1,
        "color": {"mode": "thresholds"},
        "thresholds": {
            "mode": "absolute",
            "steps": [
                {"color": "red", "value": None},
                {"color": "orange", "value": 0.99},
                {"color": "green", "value": 0.999},
            ],
        },
    }
    p["options"] = {
        "colorMode": "value",
        "graphMode": "none",
        "textMode": "auto",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
    }
    if time_from is not None:
        p["timeFrom"] = time_from
    if desc:
        p["description"] = desc
    return p


def timeseries(
    title: str, targets: list[Panel], grid: tuple[int, int, int, int], unit: str = "short"
) -> Panel:
    p = panel("timeseries", title, targets, grid)
    p["fieldConfig"]["defaults"] = {"unit": unit}
    p["options"] = {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return p


def table(
    title: str,
    targets: list[Panel],
    grid: tuple[int, int, int, int],
    *,
    unit: str = "short",
    desc: str = "",
) -> Panel:
    p = panel("table", title, targets, grid)
    p["fieldConfig"]["defaults"] = {"unit": unit}
    p["options"] = {"showHeader": True, "cellHeight": "sm"}
    if desc:
        p["description"] = desc
    return p


# Unit selector showing names: query_result() lists the info series as
# ``thongsuot_unit_info{kind="…",name="…",province="…",unit="…"} 1 <ts>`` (labels sorted),
# and the named groups give Grafana the option's text and value.
UNIT_QUERY = 'query_result(thongsuot_unit_info{kind=~"$kind"})'
UNIT_REGEX = '/name="(?<text>[^"]*)".*unit="(?<value>[^"]*)"/'


def unit_variable(lang: str) -> Panel:
    return {
        "name": "unit",
        "label": tr(lang, "var.unit"),
        "type": "query",
        "datasource": PROM,
        "query": {"query": UNIT_QUERY, "refId": "unit", "qryType": 3},
        "regex": UNIT_REGEX,
        "refresh": 2,
        "sort": 5,  # by text (the name), case-insensitive
        "multi": False,
        "includeAll": False,
    }


def custom_variable(name: str, label: str, options: list[tuple[str, str]]) -> Panel:
    """A multi-select of fixed ``(text, value)`` options with "All" = ``.*``."""
    return {
        "name": name,
        "label": label,
        "type": "custom",
        "query": ", ".join(f"{text} : {value}" for text, value in options),
        "options": [{"text": text, "value": value, "selected": False} for text, value in options],
        "current": {"text": ["All"], "value": ["$__all"]},
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
    }


def kind_variable(lang: str) -> Panel:
    """Unit kinds in app.vocab.words' words (xã, phường, ...)."""
    index = 0 if lang == "vi" else 1
    options = [(words[index], kind) for kind, words in UNIT_KINDS.items()]
    return custom_variable("kind", tr(lang, "var.kind"), options)


def state_variable(lang: str) -> Panel:
    """States in app.vocab.states' words, worst first; a unit shows when one of its
    checks is in a chosen state."""
    options = [(state_text(lang, state), str(state)) for state in BY_SEVERITY]
    return custom_variable("state", tr(lang, "var.state"), options)


def dashboard(
    uid: str,
    title: str,
    lang: str,
    panels: list[Panel],
    *,
    time_from: str = "now-24h",
    time_to: str = "now",
    variables: list[Panel] | None = None,
) -> Dashboard:
    for i, p in enumerate(panels, start=1):
        p["id"] = i
    return {
        "uid": f"{uid}-{lang}",
        "title": title,
        "tags": ["thongsuot", lang],
        "timezone": "Asia/Ho_Chi_Minh",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "graphTooltip": 1,
        "refresh": "1m",
        "time": {"from": time_from, "to": time_to},
        "templating": {"list": variables or []},
        "annotations": {"list": []},
        "links": [
            {
                "type": "dashboards",
                "tags": ["thongsuot", lang],
                "asDropdown": True,
                "title": tr(lang, "links"),
            }
        ],
        "panels": panels,
    }


# ---- the dashboards ---------------------------------------------------------


def overview(lang: str) -> Dashboard:
    t: Callable[[str], str] = lambda key: tr(lang, key)  # noqa: E731
    availability = "avg(avg_over_time(thongsuot:unit_availability:ratio_5m[$__range]))"
    panels = [
        status_grid(
            t("p.unit_grid"),
            f"thongsuot:unit_state:worst{OF_KIND}{IN_STATE}",
            "{{name}}",
            (0, 0, 24, 10),
            state_mappings(lang),
            lang,
        ),
        panel(
            "stat",
            t("p.checks_by_state"),
            [prom("thongsuot_checks", "{{state}}", instant=True)],
            (0, 10, 8, 5),
        ),
        panel(
            "stat",
            t("p.open_incidents"),
            [prom("thongsuot_open_incidents", instant=True)],
            (8, 10, 4, 5),
        ),
        ratio_stat(
            t("p.avail_today"),
            availability,
            (12, 10, 6, 5),
            time_from="now/d",
            desc=t("desc.avail_247"),
        ),
        ratio_stat(
            t("p.avail_month"),
            availability,
            (18, 10, 6, 5),
            time_from="now/M",
            desc=t("desc.avail_247"),
        ),
        ratio_stat(
            t("p.worst_units"),
            f"bottomk(10, thongsuot:unit_availability:ratio_1d{OF_KIND})",
            (0, 15, 12, 9),
            legend="{{name}}",
            desc=t("desc.worst_units"),
        ),
        table(
            t("p.certs"),
            [
                prom(
                    "sort((thongsuot_probe_ssl_earliest_cert_expiry - time()) / 86400 < 30)",
                    instant=True,
                    table=True,
                )
            ],
            (12, 15, 12, 9),
            unit="d",
            desc=t("desc.certs"),
        ),
        table(t("p.open_incidents_list"), [sql(OPEN_INCIDENTS_SQL[lang])], (0, 24, 24, 9)),
    ]
    return dashboard(
        "thongsuot-overview",
        t("d.overview"),
        lang,
        panels,
        variables=[kind_variable(lang), state_variable(lang)],
    )


def unit(lang: str) -> Dashboard:
    t: Callable[[str], str] = lambda key: tr(lang, key)  # noqa: E731
    panels = [
        status_grid(
            t("p.unit_state"),
            f"thongsuot:unit_state:worst{{{UNIT}}}{NAMES}",
            "{{name}}",
            (0, 0, 6, 5),
            state_mappings(lang),
            lang,
        ),
        ratio_stat(
            t("p.unit_avail"),
            f"thongsuot:unit_availability:ratio_1h{{{UNIT}}}",
            (6, 0, 6, 5),
            legend="1h",
            desc=t("desc.avail_247"),
        ),
        ratio_stat(
            t("p.unit_avail_1d"),
            f"thongsuot:unit_availability:ratio_1d{{{UNIT}}}",
            (12, 0, 6, 5),
            legend="1d",
            desc=t("desc.avail_247"),
        ),
        ratio_stat(
            t("p.unit_avail_30d"),
            f"thongsuot:unit_availability:ratio_30d{{{UNIT}}}",
            (18, 0, 6, 5),
            legend="30d",
            desc=t("desc.avail_247"),
        ),
        status_grid(
            t("p.check_states"),
            f"thongsuot:check_state:severity{{{UNIT}}}",
            "{{check}}",
            (0, 5, 24, 6),
            state_mappings(lang),
            lang,
            desc="desc.check_grid",
        ),
        panel(
            "state-timeline",
            t("p.check_timeline"),
            [prom(f"thongsuot:check_state:severity{{{UNIT}}}", "{{check}}")],
            (0, 11, 24, 8),
            fieldConfig={"defaults": {"mappings": state_mappings(lang)}, "overrides": []},
        ),
        timeseries(
            t("p.latency"),
            [prom(f"thongsuot_probe_duration_seconds{{{UNIT}}}", "{{check}}")],
            (0, 19, 12, 8),
            unit="s",
        ),
        timeseries(
            t("p.result_age"),
            [
                prom(
                    f"time() - thongsuot_check_last_result_timestamp_seconds{{{UNIT}}}", "{{check}}"
                )
            ],
            (12, 19, 12, 8),
            unit="s",
        ),
        table(
            t("p.check_avail"),
            [
                prom(f"thongsuot:check_availability:ratio_1d{{{UNIT}}}", instant=True, table=True),
                prom(f"thongsuot:check_availability:ratio_30d{{{UNIT}}}", instant=True, table=True),
            ],
            (0, 27, 12, 8),
            unit="percentunit",
        ),
        table(
            t("p.http_status"),
            [prom(f"thongsuot_probe_http_status_code{{{UNIT}}}", instant=True, table=True)],
            (12, 27, 12, 8),
        ),
        table(t("p.flips"), [sql(FLIPS_SQL[lang])], (0, 35, 24, 10)),
    ]
    return dashboard(
        "thongsuot-unit",
        t("d.unit"),
        lang,
        panels,
        variables=[kind_variable(lang), unit_variable(lang)],
    )


def national(lang: str) -> Dashboard:
    t: Callable[[str], str] = lambda key: tr(lang, key)  # noqa: E731
    panels = [
        status_grid(
            t("p.national_state"),
            f"thongsuot:check_state:severity{{{NATIONAL}}}",
            "{{check}}",
            (0, 0, 24, 6),
            state_mappings(lang),
            lang,
            desc="desc.check_grid",
        ),
        ratio_stat(
            t("p.national_avail_1d"),
            f"thongsuot:service_kind_availability:ratio_1d{{{NATIONAL}}}",
            (0, 6, 12, 5),
            legend="{{service_kind}}",
            desc=t("desc.avail_247"),
        ),
        ratio_stat(
            t("p.national_avail_30d"),
            f"thongsuot:service_kind_availability:ratio_30d{{{NATIONAL}}}",
            (12, 6, 12, 5),
            legend="{{service_kind}}",
            desc=t("desc.avail_247"),
        ),
        timeseries(
            t("p.latency"),
            [prom(f"thongsuot_probe_duration_seconds{{{NATIONAL}}}", "{{check}}")],
            (0, 11, 12, 8),
            unit="s",
        ),
        panel(
            "state-timeline",
            t("p.check_timeline"),
            [prom(f"thongsuot:check_state:severity{{{NATIONAL}}}", "{{check}}")],
            (12, 11, 12, 8),
            fieldConfig={"defaults": {"mappings": state_mappings(lang)}, "overrides": []},
        ),
        table(
            t("p.http_status"),
            [prom(f"thongsuot_probe_http_status_code{{{NATIONAL}}}", instant=True, table=True)],
            (0, 19, 12, 8),
        ),
        table(
            t("p.certs"),
            [
                prom(
                    f"(thongsuot_probe_ssl_earliest_cert_expiry{{{NATIONAL}}} - time()) / 86400",
                    instant=True,
                    table=True,
                )
            ],
            (12, 19, 12, 8),
            unit="d",
        ),
    ]
    return dashboard("thongsuot-national", t("d.national"), lang, panels)


def sla(lang: str) -> Dashboard:
    t: Callable[[str], str] = lambda key: tr(lang, key)  # noqa: E731
    panels = [
        table(t("p.sla_units"), [sql(UNIT_SLA_SQL[lang])], (0, 0, 24, 14), desc=t("desc.sla")),
        table(
            t("p.sla_incidents"),
            [sql(UNIT_INCIDENTS_SQL[lang])],
            (0, 14, 24, 10),
            desc=t("desc.sla_incidents"),
        ),
    ]
    return dashboard("thongsuot-sla", t("d.sla"), lang, panels, time_from="now/M", time_to="now/M")


def monitor(lang: str) -> Dashboard:
    t: Callable[[str], str] = lambda key: tr(lang, key)  # noqa: E731
    rate = "[$__rate_interval]"

    def quantiles(metric: str) -> list[Panel]:
        return [
            prom(
                f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket{rate})))",
                f"p{int(q * 100)}",
            )
            for q in (0.5, 0.99)
        ]

    panels = [
        timeseries(
            t("p.probes_rate"),
            [prom(f"sum by (status) (rate(thongsuot_probe_results_total{rate}))", "{{status}}")],
            (0, 0, 12, 8),
            unit="ops",
        ),
        timeseries(
            t("p.errors_rate"),
            [
                prom(
                    f"sum by (probe_kind, error_kind) "
                    f'(rate(thongsuot_probe_results_total{{status="down"}}{rate}))',
                    "{{probe_kind}} {{error_kind}}",
                )
            ],
            (12, 0, 12, 8),
            unit="ops",
        ),
        timeseries(
            t("p.lateness"),
            quantiles("thongsuot_scheduler_lateness_seconds"),
            (0, 8, 12, 8),
            unit="s",
        ),
        timeseries(
            t("p.jobs"),
            [
                prom("thongsuot_scheduler_jobs", t("l.jobs")),
                prom("thongsuot_probes_in_flight", t("l.in_flight")),
            ],
            (12, 8, 12, 8),
        ),
        timeseries(
            t("p.buffer"),
            [
                prom("thongsuot_buffer_depth", t("l.buffer")),
                prom(f"rate(thongsuot_buffer_dropped_total{rate})", t("l.dropped")),
            ],
            (0, 16, 12, 8),
        ),
        timeseries(
            t("p.db_write"), quantiles("thongsuot_db_write_seconds"), (12, 16, 12, 8), unit="s"
        ),
        timeseries(
            t("p.rows"),
            [
                prom(f"sum by (table) (rate(thongsuot_db_rows_written_total{rate}))", "{{table}}"),
                prom(f"rate(thongsuot_db_write_errors_total{rate})", t("l.write_errors")),
            ],
            (0, 24, 12, 8),
            unit="ops",
        ),
        timeseries(
            t("p.flips_rate"),
            [prom(f"sum by (new_state) (rate(thongsuot_flips_total{rate}))", "{{new_state}}")],
            (12, 24, 12, 8),
            unit="ops",
        ),
        status_grid(
            t("p.scrape_up"),
            'up{job="thongsuot"}',
            "{{instance}}",
            (0, 32, 12, 4),
            up_mappings(lang),
            lang,
        ),
        table(
            t("p.build"), [prom("thongsuot_build_info", instant=True, table=True)], (12, 32, 12, 4)
        ),
    ]
    return dashboard("thongsuot-monitor", t("d.monitor"), lang, panels, time_from="now-6h")


DASHBOARDS: dict[str, Callable[[str], Dashboard]] = {
    "overview": overview,
    "unit": unit,
    "national": national,
    "sla": sla,
    "monitor": monitor,
}


def render(lang: str) -> dict[str, str]:
    """File name -> JSON text of every dashboard in ``lang``."""
    return {
        f"{name}.json": json.dumps(build(lang), ensure_ascii=False, indent=2) + "\n"
        for name, build in DASHBOARDS.items()
    }


def write(out: Path, langs: list[str]) -> list[Path]:
    written: list[Path] = []
    for lang in langs:
        folder = out / lang
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in render(lang).items():
            path = folder / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write thongsuot's Grafana dashboards.")
    parser.add_argument("--lang", choices=[*LANGS, "all"], default="all")
    parser.add_argument("--out", type=Path, default=HERE / "dashboards")
    args = parser.parse_args(argv)
    langs = list(LANGS) if args.lang == "all" else [args.lang]
    for path in write(args.out, langs):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
