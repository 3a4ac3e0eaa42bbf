"""probes/text.py: outside text made storable, in one place."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from probes import ErrorKind, ProbeResult
from probes.text import DETAIL_ITEMS_LIMIT, DETAIL_TEXT_LIMIT, clean_details, clean_text


def test_clean_text_drops_nul_and_blanks_controls() -> None:
    assert clean_text("a\x00b\x01c\x1bd\x7fe") == "ab c d e"
    assert clean_text("dòng 1\r\n\tdòng 2") == "dòng 1\r\n\tdòng 2"  # tab, CR, LF stay
    assert clean_text("a\ud800b") == "a\ufffdb"
    assert clean_text("x" * 10, 5) == "xxxx…"
    assert clean_text("Dịch vụ công", 12) == "Dịch vụ công"


def test_clean_details_is_json_safe_and_bounded() -> None:
    raw = {
        "body": "a\x00" + "b" * 5000,
        "k\x00ey": {
            "nested": ["x\x00", b"\xffbytes", (1, 2.5)],
            "when": datetime(2026, 5, 4, tzinfo=UTC),
        },
        "nan": float("nan"),
        "many": list(range(1000)),
        "ok": True,
        "none": None,
    }
    out = clean_details(raw)
    text = json.dumps(out, allow_nan=False)  # no NaN, nothing unserialisable
    assert "\\u0000" not in text
    assert len(out["body"]) == DETAIL_TEXT_LIMIT and out["body"].startswith("ab")
    assert out["key"]["nested"] == ["x", "\ufffdbytes", [1, 2.5]]
    assert out["key"]["when"] == "2026-05-04T00:00:00+00:00"
    assert out["nan"] == "nan" and out["ok"] is True and out["none"] is None
    assert len(out["many"]) == DETAIL_ITEMS_LIMIT


def test_clean_details_bounds_depth() -> None:
    deep: dict[str, object] = {}
    node = deep
    for _ in range(50):
        node["d"] = {}
        node = node["d"]  # type: ignore[assignment]
    json.dumps(clean_details(deep))  # bounded: no recursion error, serialisable


def test_probe_results_are_cleaned_on_construction() -> None:
    r = ProbeResult.down(ErrorKind.PROTOCOL, "bad\x00 reply", 0.1, reply="x\x00y")
    assert (r.message, r.details) == ("bad reply", {"reply": "xy"})
    assert ProbeResult.up(0.1, "m" * 400).message == "m" * 299 + "…"
