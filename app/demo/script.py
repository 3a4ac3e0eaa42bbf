"""What each simulated unit does, and when: a seeded, reproducible script.

The script is pure: ``FarmScript.decide(name, t)`` says how the unit ``name``
answers at script time ``t`` (seconds). The farm supplies ``t`` from a clock that
tests can replace, so a 100 s outage cycle is checked without waiting for it.
"""

from __future__ import annotations

import enum
import math
import random
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

PROVINCE = "province"
NATIONAL = "national"


class Behaviour(enum.StrEnum):
    HEALTHY = "healthy"
    SLOW = "slow"
    OUTAGE = "outage"
    FLAPPING = "flapping"


class Mode(enum.StrEnum):
    """How a unit that is down fails."""

    HTTP_503 = "503"
    RESET = "reset"  # the connection is reset before any answer
    HANG = "hang"  # the request is read and never answered: the probe times out


@dataclass(frozen=True, slots=True)
class UnitPlan:
    behaviour: Behaviour
    mode: Mode = Mode.HTTP_503
    offset_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Answer:
    """How to answer one request: ``down`` with ``mode``, or up after ``delay_s``."""

    down: bool
    mode: Mode = Mode.HTTP_503
    delay_s: float = 0.0


UP = Answer(down=False)
_MODES = (Mode.HTTP_503, Mode.RESET, Mode.HANG)


@dataclass(frozen=True)
class FarmScript:
    """Which unit behaves how. Units not in ``codes`` get a plan from a seeded hash.

    Outage units are staggered evenly over ``period_s``, so that with at least
    ``period_s / down_s`` of them some unit is always down, and every outage ends
    after ``down_s`` (40 s by default, well within two minutes).
    """

    codes: tuple[str, ...] = ()
    seed: int = 33
    slow_fraction: float = 0.10
    outage_fraction: float = 0.10
    flapping_fraction: float = 0.0
    min_outages: int = 3
    period_s: float = 100.0
    down_s: float = 40.0
    slow_s: float = 1.5
    flap_s: float = 5.0
    hang_max_s: float = 120.0
    province_period_s: float | None = None
    province_down_s: float = 0.0
    overrides: Mapping[str, UnitPlan] = field(default_factory=dict)
    # Heartbeats: demo kiosks beat every beat_s; the first one (``silent_kiosk``)
    # falls silent for beat_pause_s in every beat_cycle_s, from beat_pause_at_s.
    beat_s: float = 2.0
    beat_cycle_s: float = 100.0
    beat_pause_at_s: float = 20.0
    beat_pause_s: float = 40.0
    # Sync to the national portal: a healthy sync runs every sync_every_s; for
    # sync_stall_s in every sync_cycle_s, from sync_stall_at_s, it stalls and the
    # newest synced record grows old.
    sync_every_s: float = 5.0
    sync_cycle_s: float = 120.0
    sync_stall_at_s: float = 30.0
    sync_stall_s: float = 60.0
    # The commune agent's line to the province (app/demo/agent.py): cut for line_cut_s
    # in every line_cycle_s, from line_cut_at_s after the agent starts.
    line_cut_at_s: float = 20.0
    line_cut_s: float = 60.0
    line_cycle_s: float = 240.0

    def __post_init__(self) -> None:
        if not 0 < self.down_s < self.period_s:
            raise ValueError("down_s must be positive and shorter than period_s")
        if self.slow_fraction + self.outage_fraction + self.flapping_fraction > 1:
            raise ValueError("the behaviour fractions add up to more than 1")
        if not 0 <= self.beat_pause_s < self.beat_cycle_s:
            raise ValueError("beat_pause_s must be shorter than beat_cycle_s")
        if not 0 <= self.sync_stall_s < self.sync_cycle_s or self.sync_every_s <= 0:
            raise ValueError("sync_stall_s must be shorter than sync_cycle_s")
        if not 0 <= self.line_cut_s < self.line_cycle_s:
            raise ValueError("line_cut_s must be shorter than line_cycle_s")

    @classmethod
    def for_units(cls, units: int, **kwargs: object) -> FarmScript:
        """The script for the first ``units`` demo units (``app.demo.units``)."""
        from app.demo.units import demo_units

        codes = tuple(u.code for u in demo_units(units))
        return cls(codes=codes, **kwargs)  # type: ignore[arg-type]

    @cached_property
    def plans(self) -> dict[str, UnitPlan]:
        """The plan of every listed code, with exact proportions."""
        order = list(self.codes)
        random.Random(self.seed).shuffle(order)
        n = len(order)
        n_out = min(n, max(round(n * self.outage_fraction), min(self.min_outages, n // 2)))
        n_flap = min(n - n_out, round(n * self.flapping_fraction))
        n_slow = min(n - n_out - n_flap, round(n * self.slow_fraction))
        plans: dict[str, UnitPlan] = {}
        for i, code in enumerate(order[:n_out]):
            offset = i * self.period_s / n_out
            plans[code] = UnitPlan(Behaviour.OUTAGE, _MODES[i % len(_MODES)], offset)
        for i, code in enumerate(order[n_out : n_out + n_flap]):
            plans[code] = UnitPlan(Behaviour.FLAPPING, Mode.HTTP_503, i * self.flap_s / 2)
        for code in order[n_out + n_flap : n_out + n_flap + n_slow]:
            plans[code] = UnitPlan(Behaviour.SLOW)
        for code in order[n_out + n_flap + n_slow :]:
            plans[code] = UnitPlan(Behaviour.HEALTHY)
        return plans

    def plan_for(self, name: str) -> UnitPlan:
        if (plan := self.overrides.get(name)) is not None:
            return plan
        if name == PROVINCE:
            return self._province_plan()
        if name == NATIONAL:
            return UnitPlan(Behaviour.HEALTHY)
        if (plan := self.plans.get(name)) is not None:
            return plan
        return self._hashed_plan(name)

    def _province_plan(self) -> UnitPlan:
        if self.province_period_s is None or self.province_down_s <= 0:
            return UnitPlan(Behaviour.HEALTHY)
        return UnitPlan(Behaviour.OUTAGE, Mode.HTTP_503, 0.0)

    def _hashed_plan(self, name: str) -> UnitPlan:
        h = zlib.crc32(f"{self.seed}:{name}".encode())
        x = (h % 10_000) / 10_000
        offset = (h >> 14) % 1000 / 1000 * self.period_s
        if x < self.outage_fraction:
            return UnitPlan(Behaviour.OUTAGE, _MODES[(h >> 8) % len(_MODES)], offset)
        if x < self.outage_fraction + self.flapping_fraction:
            return UnitPlan(Behaviour.FLAPPING, Mode.HTTP_503, offset)
        if x < self.outage_fraction + self.flapping_fraction + self.slow_fraction:
            return UnitPlan(Behaviour.SLOW)
        return UnitPlan(Behaviour.HEALTHY)

    def decide(self, name: str, t: float) -> Answer:
        """How ``name`` answers at script time ``t`` seconds."""
        plan = self.plan_for(name)
        if plan.behaviour is Behaviour.HEALTHY:
            return UP
        if plan.behaviour is Behaviour.SLOW:
            return Answer(down=False, delay_s=self.slow_s)
        if plan.behaviour is Behaviour.FLAPPING:
            down = int((t + plan.offset_s) // self.flap_s) % 2 == 1
            return Answer(down=True, mode=plan.mode) if down else UP
        return Answer(down=True, mode=plan.mode) if self._in_outage(name, plan, t) else UP

    def _in_outage(self, name: str, plan: UnitPlan, t: float) -> bool:
        if (
            name == PROVINCE
            and self.province_period_s is not None
            and PROVINCE not in self.overrides
        ):
            return (t + plan.offset_s) % self.province_period_s < self.province_down_s
        return (t + plan.offset_s) % self.period_s < self.down_s

    def down_codes(self, t: float) -> list[str]:
        """The listed codes that are down at ``t`` (for banners and tests)."""
        return [c for c in self.codes if self.decide(c, t).down]

    # heartbeats and sync -------------------------------------------------------
    @property
    def silent_kiosk(self) -> str | None:
        """The kiosk that stops beating on the script: the first unit's."""
        return self.codes[0] if self.codes else None

    def kiosk_beats(self, code: str, t: float) -> bool:
        """Whether the kiosk of unit ``code`` sends its beats at script time ``t``."""
        if code != self.silent_kiosk:
            return True
        return (t - self.beat_pause_at_s) % self.beat_cycle_s >= self.beat_pause_s

    def last_synced(self, t: float) -> float:
        """Script time of the newest record synced to the national portal at ``t``."""
        phase = (t - self.sync_stall_at_s) % self.sync_cycle_s
        if phase < self.sync_stall_s and t >= self.sync_stall_at_s:
            return t - phase  # stalled since the stall began
        return math.floor(t / self.sync_every_s) * self.sync_every_s

    # the commune agent's line ---------------------------------------------------
    def line_cut(self, t: float) -> bool:
        """Whether the commune agent's line to central is cut at script time ``t``."""
        if t < self.line_cut_at_s:
            return False
        return (t - self.line_cut_at_s) % self.line_cycle_s < self.line_cut_s
