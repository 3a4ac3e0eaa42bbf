"""Outcome records: JSON-safe, round-trip exactly, and a malformed one names its field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.monitor.evaluator import CheckState, Outcome, apply_result, apply_unknown
from app.monitor.records import MalformedRecord, outcome_from_record, outcome_to_record
from app.vocab.states import State
from probes import ErrorKind, ProbeResult

T0 = datetime(2026, 5, 4, 1, 0, tzinfo=UTC)


def _outcomes() -> list[Outcome]:
    cs = CheckState(7, 3, failure_threshold=1)
    down = ProbeResult.down(ErrorKind.CONNECT, "refused", 0.2, code=503, seen=[1, "a"])
    return [
        apply_result(cs, ProbeResult.up(0.01, "ok"), T0),
        apply_result(cs, down, T0 + timedelta(seconds=30)),
        apply_unknown(cs, down, T0 + timedelta(seconds=60), "monitor connectivity"),
        apply_result(cs, ProbeResult.up(0.01), T0 + timedelta(seconds=90)),
    ]


def test_records_round_trip_through_json() -> None:
    for outcome in _outcomes():
        record = outcome_to_record(outcome)
        back = outcome_from_record(json.loads(json.dumps(record)))
        assert back == outcome
        assert back.check_row["state"] is State(outcome.check_row["state"])
        assert back.result_row["at"].tzinfo is UTC


def test_states_are_the_state_enum() -> None:
    flips = [o.flip_row for o in _outcomes() if o.flip_row is not None]
    assert [(f["old_state"], f["new_state"]) for f in flips] == [
        (State.UNKNOWN, State.UP),
        (State.UP, State.DOWN),
        (State.DOWN, State.UNKNOWN),
        (State.UNKNOWN, State.UP),
    ]
    assert all(isinstance(f["new_state"], State) for f in flips)


def _record() -> dict[str, Any]:
    record: dict[str, Any] = json.loads(json.dumps(outcome_to_record(_outcomes()[1])))
    return record


@pytest.mark.parametrize(
    ("change", "names"),
    [
        (lambda r: r.pop("result_row"), "result_row"),
        (lambda r: r["result_row"].update(status="sideways"), "result_row.status"),
        (lambda r: r["check_row"].update(state_since="2026-05-04T01:00:00"), "state_since"),
        (lambda r: r["flip_row"].pop("uid"), "flip_row.uid"),
        (lambda r: r["incident_open"].update(extra=1), "incident_open.extra"),
        (lambda r: r.update(surprise=1), "surprise"),
    ],
)
def test_a_malformed_record_names_its_field(change: Any, names: str) -> None:
    record = _record()
    change(record)
    with pytest.raises(MalformedRecord, match=names.replace(".", r"\.")):
        outcome_from_record(record)


def test_not_an_object_is_malformed() -> None:
    with pytest.raises(MalformedRecord, match="expected an object"):
        outcome_from_record(["result_row"])


def test_a_relayed_beat_keeps_its_push_beat_id_and_older_records_read() -> None:
    """``push_beat_id`` (docs/design.md §4.1) round-trips; a record journaled before it
    existed (no such key) still reads, as an outcome that consumes no row."""
    outcome = _outcomes()[0]
    outcome.push_beat_id = 41
    back = outcome_from_record(json.loads(json.dumps(outcome_to_record(outcome))))
    assert back.push_beat_id == 41 and back.durable
    old = _record()
    old.pop("push_beat_id")
    assert outcome_from_record(old).push_beat_id is None
    with pytest.raises(MalformedRecord, match="push_beat_id"):
        outcome_from_record(_record() | {"push_beat_id": "forty-one"})
