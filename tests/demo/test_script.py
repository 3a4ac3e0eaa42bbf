"""The farm script: seeded, reproducible, proportions kept, outages short and staggered."""

from __future__ import annotations

from collections import Counter

import pytest

from app.demo.script import Behaviour, FarmScript
from app.demo.units import demo_units, hung_yen_units


def test_hung_yen_has_104_units_with_diacritics() -> None:
    units = hung_yen_units()
    assert len(units) == 104
    assert units[0].code == "11977"
    assert units[0].name == "Xã Tân Hưng"
    assert Counter(u.kind for u in units) == {"commune": 93, "ward": 11}


def test_demo_units_go_synthetic_beyond_104() -> None:
    units = demo_units(110)
    assert [u.code for u in units[:104]] == [u.code for u in hung_yen_units()]
    assert len({u.code for u in units}) == 110
    assert units[104].code == "900104"


def test_plans_are_reproducible_and_seeded() -> None:
    a = FarmScript.for_units(104, seed=1).plans
    assert a == FarmScript.for_units(104, seed=1).plans
    assert a != FarmScript.for_units(104, seed=2).plans


def test_default_proportions() -> None:
    counts = Counter(p.behaviour for p in FarmScript.for_units(1000).plans.values())
    assert counts == {Behaviour.HEALTHY: 800, Behaviour.SLOW: 100, Behaviour.OUTAGE: 100}


@pytest.mark.parametrize("units", [6, 12, 104, pytest.param(3400, marks=pytest.mark.slow)])
def test_some_unit_is_always_down_and_outages_end_within_two_minutes(units: int) -> None:
    script = FarmScript.for_units(units)
    outage = [c for c, p in script.plans.items() if p.behaviour is Behaviour.OUTAGE]
    assert len(outage) >= 3
    for step in range(0, 2000):  # 200 s in 0.1 s steps
        assert script.down_codes(step / 10), f"nobody down at t={step / 10}"
    for code in outage[:20]:
        run = longest = 0
        for step in range(0, 3000):
            run = run + 1 if script.decide(code, step / 10).down else 0
            longest = max(longest, run)
        assert 0 < longest / 10 <= 120


def test_unknown_codes_get_a_stable_hashed_plan() -> None:
    script = FarmScript()
    plans = [script.plan_for(f"X{i}") for i in range(2000)]
    assert plans == [script.plan_for(f"X{i}") for i in range(2000)]
    share = sum(p.behaviour is Behaviour.OUTAGE for p in plans) / len(plans)
    assert 0.07 < share < 0.13


def test_bad_script_is_refused() -> None:
    with pytest.raises(ValueError, match="down_s"):
        FarmScript(down_s=200)


def test_only_the_first_kiosk_falls_silent_on_the_script() -> None:
    script = FarmScript.for_units(6, beat_pause_at_s=20.0, beat_pause_s=40.0, beat_cycle_s=100.0)
    silent = script.silent_kiosk
    assert silent == "11977"
    quiet = [t for t in range(300) if not script.kiosk_beats(silent, t)]
    assert quiet == [*range(20, 60), *range(120, 160), *range(220, 260)]
    assert all(script.kiosk_beats(c, t) for c in script.codes[1:] for t in range(300))
    assert FarmScript().silent_kiosk is None


def test_sync_lag_grows_during_a_stall_and_recovers() -> None:
    script = FarmScript(sync_every_s=5, sync_stall_at_s=30, sync_stall_s=60, sync_cycle_s=120)
    lag = {t: t - script.last_synced(t) for t in range(0, 400)}
    assert max(lag[t] for t in range(0, 30)) < 5  # healthy: behind by under one sync
    assert lag[89] == 59 and lag[90] == 0  # the longest lag ends with the stall
    assert lag[150] == 0 and lag[209] == 59  # the next cycle
    assert all(script.last_synced(t) <= t for t in range(400))


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [("beat_pause_s", 100.0, "beat_pause_s"), ("sync_stall_s", 500.0, "sync_stall_s")],
)
def test_bad_beat_and_sync_scripts_are_refused(field: str, value: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        FarmScript(**{field: value})  # type: ignore[arg-type]


def test_national_services_stay_healthy_whatever_the_hash() -> None:
    for seed in range(50):
        assert FarmScript(seed=seed).plan_for("national").behaviour is Behaviour.HEALTHY
