"""The Prometheus configuration, rules and their promtool unit tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.tools import PROMETHEUS_DIR, run_tool
from tests.support.tools import require_tool

RULES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _rules(kind: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in RULES:
        for group in _load(path)["groups"]:
            found.extend(r for r in group["rules"] if kind in r)
    return found


def test_committed_recording_rules_equal_the_generator_output(tmp_path: Path) -> None:
    """recording.yml is generated from app.vocab.states (deploy/prometheus/generate.py)."""
    fresh = tmp_path / "recording.yml"
    res = run_tool(sys.executable, str(PROMETHEUS_DIR / "generate.py"), "--out", str(fresh))
    assert res.returncode == 0, res.stderr
    committed = (PROMETHEUS_DIR / "rules" / "recording.yml").read_text(encoding="utf-8")
    assert committed == fresh.read_text(encoding="utf-8"), "run deploy/prometheus/generate.py"
    check = run_tool(sys.executable, str(PROMETHEUS_DIR / "generate.py"), "--check")
    assert check.returncode == 0, check.stderr


def test_promtool_check_config() -> None:
    promtool = require_tool("promtool")
    res = run_tool(promtool, "check", "config", "prometheus.yml", cwd=PROMETHEUS_DIR)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_promtool_check_rules() -> None:
    promtool = require_tool("promtool")
    assert len(RULES) == 2
    res = run_tool(promtool, "check", "rules", *map(str, RULES))
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.slow
def test_promtool_rule_unit_tests() -> None:
    promtool = require_tool("promtool")
    assert RULE_TESTS, "no promtool unit tests found"
    res = run_tool(
        promtool, "test", "rules", *(p.name for p in RULE_TESTS), cwd=PROMETHEUS_DIR / "tests"
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("SUCCESS") == len(RULE_TESTS), res.stdout


def _tested_alerts() -> dict[str, set[str]]:
    """alertname -> {"firing", "silent"} for the cases the unit tests hold."""
    seen: dict[str, set[str]] = {}
    for path in RULE_TESTS:
        for case in _load(path)["tests"]:
            for t in case.get("alert_rule_test", []):
                kind = "firing" if t.get("exp_alerts") else "silent"
                seen.setdefault(t["alertname"], set()).add(kind)
    return seen


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    tested = _tested_alerts()
    names = [r["alert"] for r in _rules("alert")]
    assert len(names) >= 10
    for name in names:
        assert tested.get(name) == {"firing", "silent"}, name


def test_every_alert_has_vietnamese_annotations_and_severity() -> None:
    for rule in _rules("alert"):
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        text = rule["annotations"]["summary"] + rule["annotations"]["description"]
        assert any(ord(ch) > 0x7F for ch in text), f"{rule['alert']}: not Vietnamese"


def _tested_records() -> set[str]:
    names: set[str] = set()
    for path in RULE_TESTS:
        for case in _load(path)["tests"]:
            for t in case.get("promql_expr_test", []):
                names.add(t["expr"].split("{")[0].strip())
    return names


def test_key_recording_rules_are_unit_tested() -> None:
    records = {r["record"] for r in _rules("record")}
    key = {n for n in records if n.endswith(("_1h", "_1d", "_30d"))}
    key |= {"thongsuot:unit_up:min", "thongsuot:unit_state:worst", "thongsuot:check_state:severity"}
    assert key <= records
    missing = key - _tested_records()
    assert not missing, f"recording rules without a promtool test: {sorted(missing)}"


def test_recording_rules_follow_the_naming_convention() -> None:
    for rule in _rules("record"):
        parts = rule["record"].split(":")
        assert len(parts) == 3, rule["record"]
        assert parts[0] == "thongsuot", rule["record"]
        assert all(parts), rule["record"]
