"""One vocabulary: every surface names and orders the check states as app.vocab.states.

Before, the states were defined in many places and two copies ranked them
differently (Grafana's SQL and the demo console: down > degraded > up >
maintenance > unknown), and the words differed (Grafana "Chậm / Không rõ", the
status page "Chưa rõ", reports "Không xác định"). These tests fail when a copy
comes back: a state word written outside app/vocab, a generated artefact whose
order or words differ, or a worst-state function that disagrees with accounting.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.accounting.availability import overlay, worst_timeline
from app.catalog.service import worst_state as catalog_worst
from app.demo.repository import worst as demo_worst
from app.vocab.lang import Lang
from app.vocab.states import (
    AVAILABLE,
    BY_SEVERITY,
    SEVERITY,
    STATES,
    WORDS,
    State,
    state_word,
    worst,
)
from app.vocab.words import ERROR_KINDS, EVENT_TAGS, UNIT_KINDS
from probes.base import ErrorKind, Status

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
RECORDING = ROOT / "deploy" / "prometheus" / "rules" / "recording.yml"

# ---- (a) no state word outside app/vocab ----------------------------------------

SCANNED = ("app", "deploy", "probes")
SUFFIXES = {".py", ".j2", ".html", ".txt", ".yml", ".yaml"}
SKIPPED = (
    "app/vocab/",  # the one definition
    "deploy/grafana/dashboards/",  # generated from it (compared with the generator below)
)

# Words of the state labels: the vocab's own (capitalised or upper case, as a label
# reads) and the legacy words that once named states, which name no state now.
LABELS = sorted({w for vi, _ in WORDS.values() for w in (vi, vi.upper())})
LEGACY = ["Chậm", "CHẬM", "Không rõ", "không rõ", "KHÔNG RÕ", "Chưa rõ", "chưa rõ", "CHƯA RÕ"]

# (path, text on the line) -> why that line may carry the word.
ALLOWED: dict[tuple[str, str], str] = {
    (
        "app/accounting/availability.py",
        "Suy giảm (chậm nhưng vẫn phục vụ)",
    ): "prose of availability rule 3, kept verbatim in docs/accounting.md; "
    "it explains the state, it does not label one",
    (
        "app/notify/messages/templates/vi/short.txt.j2",
        "Không xác định được {{ unit_name }}",
    ): "a verb phrase ('cannot determine'), the start of the SMS sentence",
    (
        "deploy/prometheus/rules/alerts.yml",
        'summary: "Gián đoạn: {{ $labels.check }}',
    ): "Prometheus alert text is static YAML; the word is WORDS[down] (checked below)",
    (
        "deploy/prometheus/tests/alerts_test.yml",
        'summary: "Gián đoạn: hy.11977.web',
    ): "the promtool expectation of the alert above",
}


def _files() -> list[Path]:
    found = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            rel = path.relative_to(ROOT).as_posix()
            if path.suffix in SUFFIXES and path.is_file() and not rel.startswith(SKIPPED):
                found.append(path)
    return found


def _hits() -> list[tuple[str, str, str]]:
    """(path, word, line) for every state-label word outside app/vocab."""
    pattern = re.compile("|".join(re.escape(w) for w in sorted(LABELS + LEGACY, key=len)[::-1]))
    hits = []
    for path in _files():
        rel = path.relative_to(ROOT).as_posix()
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            for match in pattern.finditer(line):
                hits.append((rel, match[0], line.strip()))
    return hits


def _allowed(rel: str, line: str) -> bool:
    return any(rel == path and text in line for path, text in ALLOWED)


def test_no_state_word_outside_the_vocab() -> None:
    stray = [
        f"{rel}: {word!r} in {line!r}" for rel, word, line in _hits() if not _allowed(rel, line)
    ]
    assert not stray, "state words belong in app/vocab (state_word, WORDS):\n" + "\n".join(stray)


def test_every_allowance_is_still_needed() -> None:
    hits = _hits()
    for (path, text), why in ALLOWED.items():
        assert any(rel == path and text in line for rel, _, line in hits), (path, text, why)


def test_no_legacy_word_anywhere() -> None:
    """The legacy words are not even allowed in prose: they would read as a sixth state."""
    legacy = [(rel, word) for rel, word, _ in _hits() if word in LEGACY]
    assert not legacy, legacy


def test_the_alert_names_the_down_state_with_its_word() -> None:
    alerts = yaml.safe_load((ROOT / "deploy/prometheus/rules/alerts.yml").read_text("utf-8"))
    summaries = [
        r["annotations"]["summary"]
        for g in alerts["groups"]
        for r in g["rules"]
        if r.get("alert") == "ThongsuotCheckDown"
    ]
    assert summaries and all(s.startswith(f"{state_word(State.DOWN)}:") for s in summaries)


def test_the_scan_catches_a_stray_word() -> None:
    """The pattern finds a label in the forms it was written in before."""
    pattern = re.compile("|".join(re.escape(w) for w in LABELS + LEGACY))
    for old in ('"state.degraded": ("Chậm", "Degraded")', '"unknown": ("Chưa rõ", "Unknown")'):
        assert pattern.search(old)
    assert pattern.search('{Status.UP: "HOẠT ĐỘNG"}')


# ---- (b) the generated Grafana SQL and value mappings ------------------------------


LANGS: tuple[Lang, ...] = ("vi", "en")


def _dashboards() -> list[tuple[Lang, str, dict[str, Any]]]:
    return [
        (lang, path.name, json.loads(path.read_text(encoding="utf-8")))
        for lang in LANGS
        for path in sorted((DASHBOARDS / lang).glob("*.json"))
    ]


def _panels() -> list[tuple[Lang, str, dict[str, Any]]]:
    return [(lang, name, panel) for lang, name, dash in _dashboards() for panel in dash["panels"]]


CASE = re.compile(r"CASE (\S+) ((?:WHEN '[^']*' THEN (?:'[^']*'|\d+) ?)+)ELSE (\S+) END")
WHEN = re.compile(r"WHEN '([^']*)' THEN ('[^']*'|\d+)")


def test_grafana_sla_sql_counts_the_vocabs_available_states() -> None:
    """The SLA panels read the rollups, whose unit states the rollup job ranked with
    app.vocab (worst()); the SQL ranks nothing itself and sums exactly the available
    states (up and degraded) as available time, on both clocks."""
    slas = [
        target["rawSql"]
        for _, title, panel in _panels()
        for target in panel["targets"]
        if "rollup_day" in target.get("rawSql", "")
    ]
    assert len(slas) == 2  # the SLA panel, vi and en
    for raw in slas:
        assert not [p for _, whens, _ in CASE.findall(raw) for p in WHEN.findall(whens)]
        for prefix in ("", "sh_"):
            summed = " + ".join(f"r.{prefix}{s}_s" for s in BY_SEVERITY if s in AVAILABLE)
            assert f"SUM({summed}) AS {prefix}up_s" in raw


def test_grafana_state_words_are_the_vocab() -> None:
    seen = 0
    for lang, _, panel in _panels():
        for target in panel["targets"]:
            for _, whens, _ in CASE.findall(target.get("rawSql", "")):
                pairs = WHEN.findall(whens)
                if not pairs[0][1].isdigit():
                    assert pairs == [(s, f"'{state_word(s, lang)}'") for s in BY_SEVERITY]
                    seen += 1
    assert seen == 4  # the flips table's old and new state, vi and en


def _mapped_texts(panel: dict[str, Any]) -> dict[str, str]:
    defaults = panel["fieldConfig"]["defaults"]
    return {
        value: option["text"]
        for mapping in defaults.get("mappings", [])
        for value, option in mapping["options"].items()
    }


def test_status_grids_map_the_severity_numbers_to_the_vocab_words() -> None:
    grids = 0
    for lang, name, panel in _panels():
        exprs = [t["expr"] for t in panel["targets"] if "expr" in t]
        if any(":check_state:severity" in e or ":unit_state:worst" in e for e in exprs):
            expected = {str(SEVERITY[s]): state_word(s, lang) for s in State}
            assert _mapped_texts(panel) == expected, (lang, name, panel["title"])
            grids += 1
    assert grids == 2 * 6  # unit grids (overview, unit), check grids and timelines (unit, national)


def test_no_panel_shows_check_up_as_a_state() -> None:
    """thongsuot_check_up is 1 for degraded too: mapping it to words showed degraded
    as 'Hoạt động'."""
    words = {w for pair in WORDS.values() for w in pair}
    for lang, name, panel in _panels():
        exprs = [t["expr"] for t in panel["targets"] if "expr" in t]
        if any("thongsuot_check_up" in e for e in exprs):
            assert not set(_mapped_texts(panel).values()) & words, (lang, name, panel["title"])


# ---- (c) the recording rules --------------------------------------------------------


def test_recording_rules_rank_states_as_the_vocab() -> None:
    groups = yaml.safe_load(RECORDING.read_text(encoding="utf-8"))["groups"]
    rules = {r["record"]: r["expr"] for g in groups for r in g["rules"]}
    for name in ("thongsuot:unit_state:worst", "thongsuot:check_state:severity"):
        pairs = re.findall(r'thongsuot_check_state\{state="(\w+)"\} \* (\d+)', rules[name])
        assert [s for s, _ in pairs] == list(BY_SEVERITY), name
        assert {s: int(n) for s, n in pairs} == dict(SEVERITY), name


# ---- (d) every worst() agrees with accounting ---------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3])
def test_worst_state_agrees_everywhere(size: int) -> None:
    for states in itertools.product(STATES, repeat=size):
        expected, _ = worst_timeline([(s, []) for s in states])
        assert worst(states) == expected, states
        assert catalog_worst(states) == expected, states
        assert demo_worst(list(states)) == expected, states
    assert catalog_worst([]) == demo_worst([]) == worst_timeline([])[0] == State.UNKNOWN


def test_overlay_and_worst_agree_on_maintenance_over_degraded() -> None:
    """Accounting's overlay lays maintenance over a degraded check; as a unit's
    worst state, maintenance also wins over degraded (and unknown over both)."""
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    initial, flips = overlay("degraded", [], [(t0, t0 + timedelta(hours=1))], "maintenance")
    assert (initial, flips[0][1]) == ("degraded", "maintenance")
    assert worst(["degraded", "maintenance"]) == State.MAINTENANCE
    assert worst(["maintenance", "unknown", "degraded"]) == State.UNKNOWN


# ---- the other word tables -----------------------------------------------------------


def test_every_error_kind_has_vietnamese_and_english_words() -> None:
    for kind in ErrorKind:
        vi, en = ERROR_KINDS[kind.value]
        assert vi and en and vi != en, kind
        assert any(ord(ch) > 0x7F for ch in vi) or " " in vi, kind


def test_every_probe_status_is_a_state() -> None:
    assert {s.value for s in Status} <= {s.value for s in State}


def test_notification_tags_and_unit_kinds() -> None:
    from app.notify.channels.base import Event

    assert {e.value for e in Event} <= set(EVENT_TAGS)
    assert EVENT_TAGS["down"] == tuple(w.upper() for w in WORDS[State.DOWN])
    assert set(UNIT_KINDS) == {"commune", "ward", "special_zone", "province", "national"}


def test_docs_list_the_states_as_the_vocab() -> None:
    """docs/accounting.md's severity table: the order, the numbers and the words."""
    text = (ROOT / "docs" / "accounting.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\w+) \| ([^|]+) \| (\d) \|", text, re.MULTILINE)
    assert [(s, vi.strip(), int(n)) for s, vi, n in rows] == [
        (s.value, WORDS[s][0], SEVERITY[s]) for s in BY_SEVERITY
    ]
