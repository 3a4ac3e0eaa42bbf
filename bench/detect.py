"""Time to detect: from the farm's scripted outage start to the flip's confirmation.

The farm's script (app/demo/script.py) is pure and seeded, so the bench rebuilds
it and knows when every outage unit goes down. The farm's ``/_control/stats``
gives its script time, which maps script time to wall time. After the run, each
outage start is matched with the check's ``down`` flip dated inside that outage
(a flip is dated at the first failing result of its streak); the confirmation is
the moment the ``failure_threshold``-th failing result of that streak came back
(its ``at`` plus its latency).
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@dataclass(slots=True)
class Detection:
    seconds: list[float] = field(default_factory=list)  # one per detected outage
    missed: int = 0  # outages in the window with no down flip inside them

    def line(self, label: str) -> str:
        s = sorted(self.seconds)
        if not s:
            return f"time to detect ({label}): no outage in the window ({self.missed} missed)"
        p50 = s[len(s) // 2]
        p99 = s[min(len(s) - 1, math.ceil(len(s) * 0.99) - 1)]
        return (
            f"time to detect ({label}): median {p50:.1f} s, p99 {p99:.1f} s, "
            f"max {s[-1]:.1f} s over {len(s)} outages ({self.missed} missed)"
        )


def farm_epoch(farm_url: str) -> float:
    """Wall time of the farm's script time 0."""
    before = time.time()
    with urllib.request.urlopen(farm_url.rstrip("/") + "/_control/stats", timeout=10) as r:
        t = float(json.load(r)["t"])
    return (before + time.time()) / 2 - t


def outage_starts(
    units: int, seed: int, epoch: float, t_from: float, t_to: float
) -> dict[str, list[float]]:
    """Wall times of the scripted outage starts in ``[t_from, t_to]``, by unit code."""
    from app.demo.script import Behaviour, FarmScript

    script = FarmScript.for_units(units, seed=seed)
    starts: dict[str, list[float]] = {}
    for code, plan in script.plans.items():
        if plan.behaviour is not Behaviour.OUTAGE:
            continue
        # down while (t + offset) % period < down_s: starts at k * period - offset
        k = math.ceil((t_from - epoch + plan.offset_s) / script.period_s)
        while (at := epoch + k * script.period_s - plan.offset_s) <= t_to:
            starts.setdefault(code, []).append(at)
            k += 1
    return starts


async def detection_times(
    sm: async_sessionmaker[AsyncSession],
    starts: dict[str, list[float]],
    down_s: float,
    failure_threshold: int,
) -> Detection:
    from sqlalchemy import select

    from app.models import Check, Flip, ProbeResult

    found = Detection()
    async with sm() as session:
        checks = (await session.execute(select(Check.id, Check.key))).all()
        by_unit: dict[str, list[int]] = {}
        for check_id, key in checks:
            by_unit.setdefault(key.split(".", 1)[0], []).append(check_id)
        flips = (
            await session.execute(
                select(Flip.check_id, Flip.at).where(Flip.new_state == "down").order_by(Flip.at)
            )
        ).all()
        downs: dict[int, list[datetime]] = {}
        for check_id, at in flips:
            downs.setdefault(check_id, []).append(at)
        for code, times in starts.items():
            for check_id in by_unit.get(code, []):
                for start in times:
                    flip_at = next(
                        (
                            t
                            for t in downs.get(check_id, [])
                            if start - 0.5 <= t.timestamp() < start + down_s
                        ),
                        None,
                    )
                    if flip_at is None:
                        found.missed += 1
                        continue
                    rows = (
                        await session.execute(
                            select(ProbeResult.at, ProbeResult.latency_ms)
                            .where(ProbeResult.check_id == check_id)
                            .where(ProbeResult.at >= flip_at)
                            .order_by(ProbeResult.at)
                            .limit(failure_threshold)
                        )
                    ).all()
                    at, latency_ms = rows[-1]
                    found.seconds.append(at.timestamp() + latency_ms / 1000 - start)
    return found


def main() -> None:
    import argparse

    argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0]).parse_args()
    print("part of bench/run_checks.py: see its --help")


if __name__ == "__main__":
    main()
