"""The check's slot grid, shared by the monitor's scheduler and the remote agent.

docs/design.md §4: a check runs at ``phase + k * interval`` where ``phase`` is a stable
offset in ``[0, interval)`` derived from its key; the run scheduled at that time fills
slot ``k``. Pure arithmetic with no imports from the runtime, so the agent
(app/agent/, a small process) and the monitor compute the same grid.
"""

from __future__ import annotations

import math
import zlib


def phase(key: str, interval_s: float) -> float:
    """A stable offset in ``[0, interval)`` so first runs are spread evenly."""
    return (zlib.crc32(key.encode()) % 1_000_003) / 1_000_003 * interval_s


def next_slot_at(now: float, phase_s: float, interval_s: float) -> float:
    """The first time of the grid ``phase_s + k * interval_s`` at or after ``now``."""
    return phase_s + math.ceil((now - phase_s) / interval_s) * interval_s


def slot_of(scheduled: float, phase_s: float, interval_s: float) -> int:
    """The slot ``k`` of a run scheduled at ``scheduled`` (a time of the grid).

    ``floor((t - phase) / interval)`` with half an interval's tolerance for float
    error in ``t``, so a grid time never lands in the slot before its own.
    """
    return math.floor((scheduled - phase_s) / interval_s + 0.5)
