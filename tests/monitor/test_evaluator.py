from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.monitor.evaluator import CheckState, apply_result
from probes import ErrorKind, ProbeResult

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
UP = ProbeResult.up(0.01)
DOWN = ProbeResult.down(ErrorKind.TIMEOUT, "no answer")
SLOW = ProbeResult.degraded(ErrorKind.LATENCY, "slow")


def run(cs: CheckState, seq: str, step: int = 30) -> list[tuple[str, str, datetime]]:
    """Feed results (u=up, d=down, g=degraded) every ``step`` s; return the flips."""
    flips = []
    by = {"u": UP, "d": DOWN, "g": SLOW}
    for i, ch in enumerate(seq):
        out = apply_result(cs, by[ch], T0 + timedelta(seconds=i * step))
        if out.flip_row:
            f = out.flip_row
            flips.append((f["old_state"], f["new_state"], f["at"]))
    return flips


def at(i: int) -> datetime:
    return T0 + timedelta(seconds=30 * i)


def test_first_up_result_leaves_unknown_immediately() -> None:
    cs = CheckState(1, 1)
    assert run(cs, "u") == [("unknown", "up", at(0))]


def test_down_needs_threshold_and_is_dated_at_first_failure() -> None:
    cs = CheckState(1, 1, failure_threshold=3)
    flips = run(cs, "uuddd")
    assert flips[-1] == ("up", "down", at(2))  # confirmed at index 4, dated at index 2


def test_single_failure_does_not_flip() -> None:
    cs = CheckState(1, 1, failure_threshold=2)
    assert run(cs, "uduud") == [("unknown", "up", at(0))]
    assert cs.state == "up"
    assert cs.streak_status == "down" and cs.streak_count == 1


def test_recovery_threshold_dates_flip_at_first_success() -> None:
    cs = CheckState(1, 1, failure_threshold=2, recovery_threshold=3)
    flips = run(cs, "udduduuu")
    # from unknown, "up" also needs recovery_threshold results, so the first u is not enough
    assert flips == [("unknown", "down", at(1)), ("down", "up", at(5))]


def test_degraded_counts_as_available_and_flips_without_confirmation() -> None:
    cs = CheckState(1, 1)
    flips = run(cs, "uggu")
    assert [f[1] for f in flips] == ["up", "degraded", "up"]


def test_recovery_into_degraded() -> None:
    cs = CheckState(1, 1)
    flips = run(cs, "uddg")
    assert flips[-1] == ("down", "degraded", at(3))


def test_incident_opened_and_closed_with_flip_times() -> None:
    cs = CheckState(7, 3)
    outs = [apply_result(cs, r, at(i)) for i, r in enumerate([UP, DOWN, DOWN, UP])]
    opened = [o.incident_open for o in outs if o.incident_open]
    closed = [o.incident_close for o in outs if o.incident_close]
    assert opened == [
        {
            "check_id": 7,
            "unit_id": 3,
            "started_at": at(1),
            "error_kind": "timeout",
            "message": "no answer",
        }
    ]
    assert closed == [{"check_id": 7, "ended_at": at(3), "closed_by": "up"}]


@pytest.mark.parametrize("threshold", [1, 2, 5])
def test_downtime_is_not_shortened_by_confirmation(threshold: int) -> None:
    cs = CheckState(1, 1, failure_threshold=threshold)
    flips = run(cs, "u" + "d" * 10 + "u")
    down_at = next(f[2] for f in flips if f[1] == "down")
    up_at = next(f[2] for f in flips if f[0] == "down")
    assert (up_at - down_at) == timedelta(seconds=300)
