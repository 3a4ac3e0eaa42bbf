"""The generated dashboards read back through grafana-foundation-sdk's models — Grafana
Labs' types generated from Grafana 11.6's own schema — without losing or changing a
field: the dashboard, every panel's options and custom field config (per panel type) and
every Prometheus query. A field Grafana does not know (a typo, a field of another
panel type or Grafana version) is dropped by the model, and the test names it. The
models' from_json does not check enum values (a colour mode of "rainbow" passes).

The SDK has no model for the PostgreSQL datasource's queries; those are checked by
running them (tests/deploy/test_dashboard_sql.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import (
    dashboard,
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)

from tests.deploy.test_dashboards import _dashboards

PANEL_MODELS: dict[str, Any] = {
    "stat": stat,
    "timeseries": timeseries,
    "table": table,
    "state-timeline": statetimeline,
}


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


@pytest.mark.parametrize("name", [name for name, _ in _dashboards()])
def test_dashboard_fits_grafanas_schema(name: str) -> None:
    dash = dict(_dashboards())[name]
    assert _lost(dash, _round_trip(dashboard.Dashboard, dash)) == []
    for panel in dash["panels"]:
        where = f"{name} / {panel['title']}"
        types = PANEL_MODELS[panel["type"]]  # a panel type without a model fails here
        assert _lost(panel["options"], _round_trip(types.Options, panel["options"])) == [], where
        custom = panel["fieldConfig"]["defaults"].get("custom")
        if custom is not None:
            assert _lost(custom, _round_trip(types.FieldConfig, custom)) == [], where
        for target in panel["targets"]:
            if target["datasource"]["type"] == "prometheus":
                assert _lost(target, _round_trip(prometheus.Dataquery, target)) == [], where


def test_the_check_catches_what_grafana_does_not_know() -> None:
    dash = dict(_dashboards())["vi/overview.json"]
    broken = json.loads(json.dumps(dash))
    broken["templating"]["list"][0]["definiton"] = "typo"
    broken["panels"][0]["transparnt"] = True
    lost = _lost(broken, _round_trip(dashboard.Dashboard, broken))
    assert lost == ["/templating/list[0]/definiton: dropped", "/panels[0]/transparnt: dropped"]
    options = {**dash["panels"][0]["options"], "text": {"titleSize": 12}, "graphmode": "none"}
    assert _lost(options, _round_trip(stat.Options, options)) == ["/graphmode: dropped"]
