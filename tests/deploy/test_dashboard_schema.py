"""The dashboards against Grafana's schema, through grafana-foundation-sdk (Grafana Labs'
types generated from Grafana 11.6's own schema; no Grafana binary runs here).

deploy/grafana/generate.py builds every dashboard with the SDK's builders. Two checks:

- What the generator builds is the SDK's typed objects all the way down: every
  panel's options are its panel type's ``Options`` model (not a dict slipped in through
  the builders' ``options(object)``), every field config is ``FieldConfig``, every
  query is a Prometheus ``Dataquery`` or our PostgreSQL one (deploy/grafana/postgres.py:
  the SDK has none), every variable a ``VariableModel``.
- The committed JSON reads back through the SDK's models, with their panel and query
  variants registered, without losing or changing a field: a hand edit that Grafana
  does not know (a typo, a field of another panel type or Grafana version) is dropped
  by the model and the test names it. (The models' from_json does not check enum
  values: a colour mode of "rainbow" passes.)

tests/deploy/test_dashboards.py checks that the committed JSON is the generator's
output; the SQL is checked by running it (tests/deploy/test_dashboard_sql.py)."""

from __future__ import annotations

import ast
import importlib
import json
import sys
from types import ModuleType
from typing import Any

import pytest
from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.runtime import UnknownDataquery
from grafana_foundation_sdk.models import (
    common,
    dashboard,
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)

from tests.deploy.test_dashboards import GRAFANA, LANGS, NAMES, _dashboards

PANEL_MODELS: dict[str, Any] = {
    "stat": stat,
    "timeseries": timeseries,
    "table": table,
    "state-timeline": statetimeline,
}


def _generator() -> ModuleType:
    """deploy/grafana/generate.py as a module (it imports its neighbours by name)."""
    if str(GRAFANA) not in sys.path:
        sys.path.insert(0, str(GRAFANA))
    return importlib.import_module("generate")


GENERATE = _generator()
POSTGRES = importlib.import_module("postgres")
plugins.register_default_plugins()  # the SDK's panel and query variants
POSTGRES.register()  # and ours (the generator registers it too)


def _round_trip(model: Any, data: Any) -> Any:
    return json.loads(json.dumps(model.from_json(data), cls=JSONEncoder))


def _lost(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """What of ``ours`` the model dropped or changed (it may add its defaults)."""
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            return [f"{path}: {theirs!r}"]
        lost = [f"{path}/{k}: dropped" for k in ours if k not in theirs]
        return lost + [
            m for k in ours if k in theirs for m in _lost(ours[k], theirs[k], f"{path}/{k}")
        ]
    if isinstance(ours, list):
        if not isinstance(theirs, list) or len(ours) != len(theirs):
            return [f"{path}: {theirs!r}"]
        return [
            m
            for i, pair in enumerate(zip(ours, theirs, strict=True))
            for m in _lost(*pair, f"{path}[{i}]")
        ]
    return [] if ours == theirs else [f"{path}: {ours!r} -> {theirs!r}"]


def _untyped(board: dashboard.Dashboard, *, built: bool = True) -> list[str]:
    """Where a dashboard model holds something other than the SDK's typed objects.

    An override's value is ``object`` in the schema, so from_json leaves it a dict:
    only what the generator ``built`` is held to typed values there (read back, the
    override values are checked against their models by _override_values_lost)."""
    found = []
    for panel in board.panels or []:
        where = f"{board.title} / {panel.title}"
        if not isinstance(panel, dashboard.Panel):
            found.append(f"{where}: {type(panel).__name__} (a row?)")
            continue
        models = PANEL_MODELS.get(panel.type_val)
        if models is None:
            found.append(f"{where}: panel type {panel.type_val} has no model here")
            continue
        if panel.options is not None and not isinstance(panel.options, models.Options):
            found.append(f"{where}: options are {type(panel.options).__name__}")
        config = panel.field_config
        if config is None or not isinstance(config.defaults, dashboard.FieldConfig):
            found.append(f"{where}: no typed field config")
        elif config.defaults.custom is not None and not isinstance(
            config.defaults.custom, models.FieldConfig
        ):
            found.append(f"{where}: custom field config is {type(config.defaults.custom)}")
        for override in config.overrides if config and built else []:
            for prop in override.properties:
                if isinstance(prop.value, dict | list):
                    found.append(f"{where}: override {prop.id_val} is a bare {type(prop.value)}")
        for target in panel.targets or []:
            if not isinstance(target, prometheus.Dataquery | POSTGRES.Dataquery):
                found.append(f"{where}: query is {type(target).__name__}")
    templating = board.templating
    for variable in templating.list_val or [] if templating else []:
        if not isinstance(variable, dashboard.VariableModel):
            found.append(f"{board.title}: variable {type(variable).__name__}")
    return found


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", NAMES)
def test_the_generator_builds_typed_objects(name: str, lang: str) -> None:
    board = GENERATE.DASHBOARDS[name](lang).build()
    assert isinstance(board, dashboard.Dashboard)
    assert board.panels
    assert _untyped(board) == []


@pytest.mark.parametrize("name", [name for name, _ in _dashboards()])
def test_committed_dashboard_reads_back_through_grafanas_schema(name: str) -> None:
    dash = dict(_dashboards())[name]
    board = dashboard.Dashboard.from_json(dash)
    # the variants were applied: options and queries are typed
    assert _untyped(board, built=False) == []
    assert _lost(dash, json.loads(json.dumps(board, cls=JSONEncoder))) == []
    assert _override_values_lost(dash) == []


# What an override's value is, by property id (the schema has it as ``object``).
OVERRIDE_MODELS: dict[str, Any] = {
    "thresholds": dashboard.ThresholdsConfig,
    "color": dashboard.FieldColor,
    "custom.cellOptions": common.TableColorTextCellOptions,
}


def _override_values_lost(dash: dict[str, Any]) -> list[str]:
    lost = []
    for panel in dash["panels"]:
        for override in panel["fieldConfig"]["overrides"]:
            for prop in override["properties"]:
                value = prop["value"]
                if isinstance(value, dict):
                    model = OVERRIDE_MODELS.get(prop["id"])
                    if model is None:
                        lost.append(f"{panel['title']}: no model for {prop['id']}")
                        continue
                    where = f"{panel['title']}/{prop['id']}"
                    lost += _lost(value, _round_trip(model, value), where)
    return lost


def test_sql_queries_have_the_typed_postgres_model() -> None:
    """The SDK has no model for grafana-postgresql-datasource queries; ours reads every
    one back whole, and the SDK's runtime uses it (not its untyped fallback)."""
    seen = 0
    for name, dash in _dashboards():
        board = dashboard.Dashboard.from_json(dash)
        for panel in board.panels or []:
            assert isinstance(panel, dashboard.Panel)
            for target in panel.targets or []:
                assert not isinstance(target, UnknownDataquery), name
                if isinstance(target, POSTGRES.Dataquery):
                    assert target.raw_sql.lstrip().upper().startswith(("SELECT", "WITH")), name
                    seen += 1
    assert seen == 8  # 4 SQL panels x 2 languages
    unknown = {"refId": "A", "rawSql": "SELECT 1", "rawQery": True}
    assert _lost(unknown, _round_trip(POSTGRES.Dataquery, unknown)) == ["/rawQery: dropped"]


def test_sla_overrides_name_columns_the_sql_returns() -> None:
    """The SLA table colours its availability columns by name: the names must be the
    SQL's column headings in that language."""
    for name, dash in _dashboards():
        if not name.endswith("/sla.json"):
            continue
        panel = dash["panels"][0]
        names = [o["matcher"]["options"] for o in panel["fieldConfig"]["overrides"]]
        assert len(names) == 2, name
        for column in names:
            assert f'AS "{column}"' in panel["targets"][0]["rawSql"], (name, column)


def test_the_check_catches_what_grafana_does_not_know() -> None:
    dash = dict(_dashboards())["vi/overview.json"]
    broken = json.loads(json.dumps(dash))
    broken["templating"]["list"][0]["definiton"] = "typo"
    broken["panels"][0]["transparnt"] = True
    broken["panels"][0]["options"]["graphmode"] = "none"
    broken["panels"][0]["targets"][0]["legendFormt"] = "{{name}}"
    lost = _lost(broken, _round_trip(dashboard.Dashboard, broken))
    assert lost == [
        "/templating/list[0]/definiton: dropped",
        "/panels[0]/transparnt: dropped",
        "/panels[0]/targets[0]/legendFormt: dropped",
        "/panels[0]/options/graphmode: dropped",
    ]


def test_an_options_dict_slipped_into_a_builder_is_caught() -> None:
    """The builders accept ``options(object)``: a dict there is not checked against the
    schema, and _untyped says so."""
    panel = GENERATE.counter("x", GENERATE.prom("up"), (0, 0, 4, 4)).build()
    panel.options = {"colorMode": "value"}
    board = dashboard.Dashboard(title="t", panels=[panel])
    assert _untyped(board) == ["t / x: options are dict"]


def test_the_sdk_is_a_build_time_dependency_only() -> None:
    """The dashboards are generated in a checkout; the image and the app never need the
    SDK: it is locked for dev only, and nothing under app/ or probes/ imports it."""
    root = GRAFANA.parents[1]
    locks = {
        name: (root / "requirements" / f"{name}.txt").read_text() for name in ("dev", "runtime")
    }
    assert "grafana-foundation-sdk==" in locks["dev"]
    assert "grafana-foundation-sdk" not in locks["runtime"]
    importers = []
    for path in [*root.joinpath("app").rglob("*.py"), *root.joinpath("probes").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "grafana_foundation_sdk" for n in names):
                importers.append(str(path.relative_to(root)))
    assert importers == []
