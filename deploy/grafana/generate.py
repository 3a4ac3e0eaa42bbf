"""Grafana dashboards as code for thongsuot, built with grafana-foundation-sdk.

    python deploy/grafana/generate.py              # both languages
    python deploy/grafana/generate.py --lang en    # English only
    python deploy/grafana/generate.py --out DIR    # somewhere else

Writes ``dashboards/<lang>/<name>.json``. Every dashboard, panel, field config,
threshold, value mapping, override, variable and Prometheus query is made with the
builders of grafana-foundation-sdk: Grafana Labs' types generated from Grafana's own
schema (the pinned build is for Grafana 11.6, dashboard schemaVersion 41), so a field
Grafana does not have, or a value of the wrong type, is an error here (mypy --strict
and the models) rather than a panel Grafana silently ignores. No Grafana binary runs
in this repository; the schema is the check. The SDK is a build-time (dev) dependency:
the app never imports it, the committed JSON is what Grafana provisions.

What the SDK cannot express, and what is done instead:

- Queries of the PostgreSQL datasource (``grafana-postgresql-datasource``): the SDK
  has no model for them (the plugin's query type is TypeScript in Grafana's frontend,
  with no CUE schema to generate from). postgres.py implements the few fields used as
  the SDK's own types are written (a ``Dataquery`` variant and its builder).
- The Prometheus query variable's query (``{"query", "refId", "qryType"}``): the SDK
  types a variable's query as ``str | dict[str, object]`` (it depends on the
  datasource), and has no model for Prometheus' variable query; it stays a dict.
- A table override's values (``DynamicConfigValue.value``) are ``object`` in the
  schema; they are made from the SDK's models (``ThresholdsConfig``, ``FieldColor``,
  ``TableColorTextCellOptions``) so they are still typed where they are built.

State words, their order and the severity numbers the status grids map come from
app.vocab.states. Metric names come from docs/metrics.md and the recording rules in
deploy/prometheus/rules; SQL runs on the schema of app/models (PostgreSQL datasource,
read-only role ``grafana_ro``). Commit the output: tests/deploy/test_dashboards.py
checks it is up to date, and tests/deploy/test_dashboard_schema.py reads it back
through the SDK's models.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
# The state words and order come from the app (app.vocab.states): run from a
# checkout without installing it, too.
sys.path[1:1] = [str(HERE.parents[1])]

import postgres  # noqa: E402
from grafana_foundation_sdk.builders import common as cb  # noqa: E402
from grafana_foundation_sdk.builders import dashboard as db  # noqa: E402
from grafana_foundation_sdk.builders import (  # noqa: E402
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.cog import builder as cogbuilder  # noqa: E402
from grafana_foundation_sdk.cog import variants as cogvariants  # noqa: E402
from grafana_foundation_sdk.cog.encoder import JSONEncoder  # noqa: E402
from grafana_foundation_sdk.models import common  # noqa: E402
from grafana_foundation_sdk.models import dashboard as dm  # noqa: E402
from grafana_foundation_sdk.models import prometheus as pm  # noqa: E402
from sql import (  # noqa: E402
    FLIPS_SQL,
    HEADINGS,
    OPEN_INCIDENTS_SQL,
    UNIT_INCIDENTS_SQL,
    UNIT_SLA_SQL,
)
from texts import LANGS, state_text, tr  # noqa: E402

from app.vocab.states import BY_SEVERITY, SEVERITY, State  # noqa: E402
from app.vocab.words import UNIT_KINDS  # noqa: E402

PanelBuilder = stat.Panel | timeseries.Panel | table.Panel | statetimeline.Panel
Query = prometheus.Dataquery | postgres.DataqueryBuilder
Grid = tuple[int, int, int, int]

postgres.register()

PROM = dm.DataSourceRef(type_val="prometheus", uid="prometheus")
PG = dm.DataSourceRef(type_val=postgres.TYPE, uid="postgres")
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


# ---- queries ----------------------------------------------------------------


def prom(
    expr: str, legend: str = "", *, instant: bool = False, as_table: bool = False
) -> prometheus.Dataquery:
    query = prometheus.Dataquery().datasource(PROM).expr(expr).legend_format(legend)
    if instant:
        query.instant()
    if as_table:
        query.format(pm.PromQueryFormat.TABLE)
    return query


def sql(raw: str) -> postgres.DataqueryBuilder:
    return (
        postgres.DataqueryBuilder()
        .datasource(PG)
        .editor_mode(postgres.SqlEditorMode.CODE)
        .format(postgres.SqlFormat.TABLE)
        .raw_sql(raw)
    )


# ---- panels -----------------------------------------------------------------


P = TypeVar("P", stat.Panel, timeseries.Panel, table.Panel, statetimeline.Panel)


def place(panel: P, title: str, targets: Sequence[Query], grid: Grid, desc: str = "") -> P:
    """Title, position, datasource (the first query's) and queries, lettered A, B, ..."""
    x, y, w, h = grid
    panel.title(title).grid_pos(dm.GridPos(x=x, y=y, w=w, h=h))
    panel.datasource(targets[0].build().datasource or PROM)
    queries: list[cogbuilder.Builder[cogvariants.Dataquery]] = [
        t.ref_id(chr(ord("A") + i)) for i, t in enumerate(targets)
    ]
    panel.targets(queries)
    if desc:
        panel.description(desc)
    return panel


COLOURS: dict[State, str] = {
    State.UP: "green",
    State.DEGRADED: "yellow",
    State.MAINTENANCE: "blue",
    State.UNKNOWN: "gray",
    State.DOWN: "red",
}


def state_mappings(lang: str) -> list[dm.ValueMapping]:
    """Value mappings for the severity numbers of thongsuot:unit_state:worst and
    thongsuot:check_state:severity (recording.yml): app.vocab.states' SEVERITY and words."""
    options = {
        str(SEVERITY[s]): dm.ValueMappingResult(
            text=state_text(lang, s), color=COLOURS[s], index=SEVERITY[s]
        )
        for s in sorted(State, key=SEVERITY.__getitem__)
    }
    return [dm.ValueMap(options=options)]


def up_mappings(lang: str) -> list[dm.ValueMapping]:
    """Value mappings for Prometheus' own ``up`` (a scrape, not a check state)."""
    return [
        dm.ValueMap(
            options={
                "1": dm.ValueMappingResult(text=state_text(lang, State.UP), color="green", index=0),
                "0": dm.ValueMappingResult(text=state_text(lang, State.DOWN), color="red", index=1),
            }
        )
    ]


def steps(*pairs: tuple[str, float | None]) -> db.ThresholdsConfig:
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(color=colour, value=value) for colour, value in pairs])
    )


def by_thresholds() -> db.FieldColor:
    return db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS)


def last_value() -> cb.ReduceDataOptions:
    return cb.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)


def counter(title: str, query: prometheus.Dataquery, grid: Grid) -> stat.Panel:
    """A plain number (Grafana's stat defaults)."""
    return place(stat.Panel(), title, [query], grid).unit("short")


def status_grid(
    title: str,
    expr: str,
    legend: str,
    grid: Grid,
    mappings: list[dm.ValueMapping],
    lang: str,
    desc: str = "desc.status_grid",
) -> stat.Panel:
    return (
        place(stat.Panel(), title, [prom(expr, legend, instant=True)], grid, tr(lang, desc))
        .mappings(mappings)
        .color_scheme(by_thresholds())
        .thresholds(steps(("green", None)))
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .text_mode(common.BigValueTextMode.VALUE_AND_NAME)
        .reduce_options(last_value())
        .orientation(common.VizOrientation.AUTO)
        .justify_mode(common.BigValueJustifyMode.CENTER)
    )


# Availability colours: red under 99%, orange under 99.9%, green from 99.9%.
AVAILABILITY = (("red", None), ("orange", 0.99), ("green", 0.999))


def ratio_stat(
    title: str,
    expr: str,
    grid: Grid,
    *,
    legend: str = "",
    time_from: str | None = None,
    desc: str = "",
) -> stat.Panel:
    panel = (
        place(stat.Panel(), title, [prom(expr, legend, instant=True)], grid, desc)
        .unit("percentunit")
        .decimals(3)
        .min(0)
        .max(1)
        .color_scheme(by_thresholds())
        .thresholds(steps(*AVAILABILITY))
        .color_mode(common.BigValueColorMode.VALUE)
        .graph_mode(common.BigValueGraphMode.NONE)
        .text_mode(common.BigValueTextMode.AUTO)
        .reduce_options(last_value())
    )
    if time_from is not None:
        panel.time_from(time_from)
    return panel


def graph(
    title: str, targets: Sequence[Query], grid: Grid, unit: str = "short"
) -> timeseries.Panel:
    return (
        place(timeseries.Panel(), title, targets, grid)
        .unit(unit)
        .legend(
            cb.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(
            cb.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
    )


def timeline(title: str, query: prometheus.Dataquery, grid: Grid, lang: str) -> statetimeline.Panel:
    return place(statetimeline.Panel(), title, [query], grid).mappings(state_mappings(lang))


def grid_table(
    title: str, targets: Sequence[Query], grid: Grid, *, unit: str = "short", desc: str = ""
) -> table.Panel:
    return (
        place(table.Panel(), title, targets, grid, desc)
        .unit(unit)
        .show_header(True)
        .cell_height(common.TableCellHeight.SM)
    )


def availability_columns(panel: table.Panel, columns: Sequence[str]) -> table.Panel:
    """The SLA table's availability columns (percent, 0-100, from SQL) in the ratio
    panels' colours, the rest of the table left plain."""
    percent = tuple((colour, None if v is None else v * 100) for colour, v in AVAILABILITY)
    for column in columns:
        panel.override_by_name(
            column,
            [
                dm.DynamicConfigValue(id_val="unit", value="percent"),
                dm.DynamicConfigValue(id_val="decimals", value=3),
                dm.DynamicConfigValue(id_val="thresholds", value=steps(*percent).build()),
                dm.DynamicConfigValue(id_val="color", value=by_thresholds().build()),
                dm.DynamicConfigValue(
                    id_val="custom.cellOptions", value=common.TableColorTextCellOptions()
                ),
            ],
        )
    return panel


# ---- variables --------------------------------------------------------------

# Unit selector showing names: query_result() lists the info series as
# ``thongsuot_unit_info{kind="…",name="…",province="…",unit="…"} 1 <ts>`` (labels sorted),
# and the named groups give Grafana the option's text and value.
UNIT_QUERY = 'query_result(thongsuot_unit_info{kind=~"$kind"})'
UNIT_REGEX = '/name="(?<text>[^"]*)".*unit="(?<value>[^"]*)"/'


def unit_variable(lang: str) -> db.QueryVariable:
    return (
        db.QueryVariable("unit")
        .label(tr(lang, "var.unit"))
        .datasource(PROM)
        # Prometheus' variable query (qryType 3: a classic query); the SDK has no model
        # for it and types a variable's query as str | dict.
        .query({"query": UNIT_QUERY, "refId": "unit", "qryType": 3})
        .regex(UNIT_REGEX)
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)  # by text, the name
        .multi(False)
        .include_all(False)
    )


def custom_variable(name: str, label: str, options: list[tuple[str, str]]) -> db.CustomVariable:
    """A multi-select of fixed ``(text, value)`` options with "All" = ``.*``."""
    return (
        db.CustomVariable(name)
        .label(label)
        .values(", ".join(f"{text} : {value}" for text, value in options))
        .options(
            [dm.VariableOption(text=text, value=value, selected=False) for text, value in options]
        )
        .current(dm.VariableOption(text=["All"], value=["$__all"]))
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )


def kind_variable(lang: str) -> db.CustomVariable:
    """Unit kinds in app.vocab.words' words (xã, phường, ...)."""
    index = 0 if lang == "vi" else 1
    options = [(words[index], kind) for kind, words in UNIT_KINDS.items()]
    return custom_variable("kind", tr(lang, "var.kind"), options)


def state_variable(lang: str) -> db.CustomVariable:
    """States in app.vocab.states' words, worst first; a unit shows when one of its
    checks is in a chosen state."""
    options = [(state_text(lang, state), str(state)) for state in BY_SEVERITY]
    return custom_variable("state", tr(lang, "var.state"), options)


def dashboard(
    uid: str,
    title: str,
    lang: str,
    panels: list[PanelBuilder],
    *,
    time_from: str = "now-24h",
    time_to: str = "now",
    variables: Sequence[db.QueryVariable | db.CustomVariable] = (),
) -> db.Dashboard:
    board = (
        db.Dashboard(title)
        .uid(f"{uid}-{lang}")
        .tags(["thongsuot", lang])
        .timezone("Asia/Ho_Chi_Minh")
        .version(1)
        .readonly()  # provisioned from files: the files stay the truth
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .refresh("1m")
        .time(time_from, time_to)
        .variables(list(variables))
        .annotations([])
        .link(
            db.DashboardLink(tr(lang, "links"))
            .type(dm.DashboardLinkType.DASHBOARDS)
            .tags(["thongsuot", lang])
            .as_dropdown(True)
        )
    )
    # with_panel() places a panel whose gridPos is (0, 0) after the previous one; only
    # the first panel of each dashboard sits at (0, 0), where that puts it anyway.
    for i, panel in enumerate(panels, start=1):
        board.with_panel(panel.id(i))
    return board


# ---- the dashboards ---------------------------------------------------------


def overview(lang: str) -> db.Dashboard:
    t: Callable[[str], str] = lambda key: tr(lang, key)  # noqa: E731
    availability = "avg(avg_over_time(thongsuot:unit_availability:ratio_5m[$__range]))"
    panels: list[PanelBuilder] = [
        status_grid(
            t("p.unit_grid"),
            f"thongsuot:unit_state:worst{OF_KIND}{IN_STATE}",
            "{{name}}",
            (0, 0, 24, 10),
            state_mappings(lang),
            lang,
        ),
        counter(
            t("p.checks_by_state"),
            prom("thongsuot_checks", "{{state}}", instant=True),
            (0, 10, 8, 5),
        ),
        counter(
            t("p.open_incidents"),
            prom("thongsuot_open_incidents", instant=True),
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
        grid_table(
            t("p.certs"),
            [
                prom(
                    "sort((thongsuot_probe_ssl_earliest_cert_expiry - time()) / 86400 < 30)",
                    instant=True,
                    as_table=True,
                )
            ],
            (12, 15, 12, 9),
            unit="d",
            desc=t("desc.certs"),
        ),
        grid_table(t("p.open_incidents_list"), [sql(OPEN_INCIDENTS_SQL[lang])], (0, 24, 24, 9)),
    ]
    return dashboard(
        "thongsuot-overview",
        t("d.overview"),
        lang,
        panels,
        variables=[kind_variable(lang), state_variable(lang)],
    )


def unit(lang: str) -> db.Dashboard:
    t: Callable[[str], str] = lambda key: tr(lang, key)  # noqa: E731
    panels: list[PanelBuilder] = [
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
        timeline(
            t("p.check_timeline"),
            prom(f"thongsuot:check_state:severity{{{UNIT}}}", "{{check}}"),
            (0, 11, 24, 8),
            lang,
        ),
        graph(
            t("p.latency"),
            [prom(f"thongsuot_probe_duration_seconds{{{UNIT}}}", "{{check}}")],
            (0, 19, 12, 8),
            unit="s",
        ),
        graph(
            t("p.result_age"),
            [
                prom(
                    f"time() - thongsuot_check_last_result_timestamp_seconds{{{UNIT}}}", "{{check}}"
                )
            ],
            (12, 19, 12, 8),
            unit="s",
        ),
        grid_table(
            t("p.check_avail"),
            [
                prom(
                    f"thongsuot:check_availability:ratio_1d{{{UNIT}}}", instant=True, as_table=True
                ),
                prom(
                    f"thongsuot:check_availability:ratio_30d{{{UNIT}}}", instant=True, as_table=True
                ),
            ],
            (0, 27, 12, 8),
            unit="percentunit",
        ),
        grid_table(
            t("p.http_status"),
            [prom(f"thongsuot_probe_http_status_code{{{UNIT}}}", instant=True, as_table=True)],
            (12, 27, 12, 8),
        ),
        grid_table(t("p.flips"), [sql(FLIPS_SQL[lang])], (0, 35, 24, 10)),
    ]
    return dashboard(
        "thongsuot-unit",
        t("d.unit"),
        lang,
        panels,
        variables=[kind_variable(lang), unit_variable(lang)],
    )


def national(lang: str) -> db.Dashboard:
    t: Callable[[str], str] = lambda key: tr(lang, key)  # noqa: E731
    panels: list[PanelBuilder] = [
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
        graph(
            t("p.latency"),
            [prom(f"thongsuot_probe_duration_seconds{{{NATIONAL}}}", "{{check}}")],
            (0, 11, 12, 8),
            unit="s",
        ),
        timeline(
            t("p.check_timeline"),
            prom(f"thongsuot:check_state:severity{{{NATIONAL}}}", "{{check}}"),
            (12, 11, 12, 8),
            lang,
        ),
        grid_table(
            t("p.http_status"),
            [prom(f"thongsuot_probe_http_status_code{{{NATIONAL}}}", instant=True, as_table=True)],
            (0, 19, 12, 8),
        ),
        grid_table(
            t("p.certs"),
            [
                prom(
                    f"(thongsuot_probe_ssl_earliest_cert_expiry{{{NATIONAL}}} - time()) / 86400",
                    instant=True,
                    as_table=True,
                )
            ],
            (12, 19, 12, 8),
            unit="d",
        ),
    ]
    return dashboard("thongsuot-national", t("d.national"), lang, panels)


def sla(lang: str) -> db.Dashboard:
    t: Callable[[str], str] = lambda key: tr(lang, key)  # noqa: E731
    panels: list[PanelBuilder] = [
        availability_columns(
            grid_table(
                t("p.sla_units"), [sql(UNIT_SLA_SQL[lang])], (0, 0, 24, 14), desc=t("desc.sla")
            ),
            [HEADINGS[lang]["availability_sh"], HEADINGS[lang]["availability_247"]],
        ),
        grid_table(
            t("p.sla_incidents"),
            [sql(UNIT_INCIDENTS_SQL[lang])],
            (0, 14, 24, 10),
            desc=t("desc.sla_incidents"),
        ),
    ]
    return dashboard("thongsuot-sla", t("d.sla"), lang, panels, time_from="now/M", time_to="now/M")


def monitor(lang: str) -> db.Dashboard:
    t: Callable[[str], str] = lambda key: tr(lang, key)  # noqa: E731
    rate = "[$__rate_interval]"

    def quantiles(metric: str) -> list[Query]:
        return [
            prom(
                f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket{rate})))",
                f"p{int(q * 100)}",
            )
            for q in (0.5, 0.99)
        ]

    panels: list[PanelBuilder] = [
        graph(
            t("p.probes_rate"),
            [prom(f"sum by (status) (rate(thongsuot_probe_results_total{rate}))", "{{status}}")],
            (0, 0, 12, 8),
            unit="ops",
        ),
        graph(
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
        graph(
            t("p.lateness"),
            quantiles("thongsuot_scheduler_lateness_seconds"),
            (0, 8, 12, 8),
            unit="s",
        ),
        graph(
            t("p.jobs"),
            [
                prom("thongsuot_scheduler_jobs", t("l.jobs")),
                prom("thongsuot_probes_in_flight", t("l.in_flight")),
            ],
            (12, 8, 12, 8),
        ),
        graph(
            t("p.buffer"),
            [
                prom("thongsuot_buffer_depth", t("l.buffer")),
                prom(f"rate(thongsuot_buffer_dropped_total{rate})", t("l.dropped")),
            ],
            (0, 16, 12, 8),
        ),
        graph(t("p.db_write"), quantiles("thongsuot_db_write_seconds"), (12, 16, 12, 8), unit="s"),
        graph(
            t("p.rows"),
            [
                prom(f"sum by (table) (rate(thongsuot_db_rows_written_total{rate}))", "{{table}}"),
                prom(f"rate(thongsuot_db_write_errors_total{rate})", t("l.write_errors")),
            ],
            (0, 24, 12, 8),
            unit="ops",
        ),
        graph(
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
        grid_table(
            t("p.build"),
            [prom("thongsuot_build_info", instant=True, as_table=True)],
            (12, 32, 12, 4),
        ),
    ]
    return dashboard("thongsuot-monitor", t("d.monitor"), lang, panels, time_from="now-6h")


DASHBOARDS: dict[str, Callable[[str], db.Dashboard]] = {
    "overview": overview,
    "unit": unit,
    "national": national,
    "sla": sla,
    "monitor": monitor,
}


def render(lang: str) -> dict[str, str]:
    """File name -> JSON text of every dashboard in ``lang``."""
    return {
        f"{name}.json": json.dumps(
            build(lang).build(), cls=JSONEncoder, ensure_ascii=False, indent=2
        )
        + "\n"
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
