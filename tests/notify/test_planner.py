"""The planner on a fixed clock: ``plan(session, PlanInput(now=...))`` at exact instants.

Escalation levels and their timing, reminders, acknowledgement, recovery,
dependency (storm) suppression, the monitor's blindness, canaries, flapping and
maintenance — every decision the live end-to-end tests rely on, without waiting
for a wall clock. Real SQLite and PostgreSQL (the planner reads and writes SQL).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.incidents.repository import acknowledge
from app.models import Check, Flip, Incident, MaintenanceWindow, OutboxNotification
from app.notify.planner import PlanInput, PlanReport, plan
from app.notify.policy import NotifyPolicyDoc, parse_policy
from tests import factories

T0 = datetime(2026, 5, 12, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
KEY = "12337.commune_centre.dvc"
Sent = tuple[str, int, str]  # event, level, recipient


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _policy(**overrides: Any) -> NotifyPolicyDoc:
    """Commune (xa) first, the district (huyen) after 2 min, the province (tinh) after 10."""
    names = ("xa", "huyen", "tinh", "ioc")
    doc: dict[str, Any] = {
        "channels": {n: {"type": "webhook", "url": f"http://127.0.0.1:9/{n}"} for n in names},
        "escalation": {
            "default": {
                "levels": [
                    {"after_s": 0, "channels": ["xa"]},
                    {"after_s": 120, "channels": ["huyen"]},
                    {"after_s": 600, "channels": ["tinh"]},
                ]
            }
        },
        "routes": [{"name": "ioc", "channels": ["ioc"], "events": ["down", "up", "flapping"]}],
        "hold_s": 0,
        "release_after_s": 60,
    }
    return parse_policy(doc | overrides)


POLICY = _policy()


class Clock:
    """Plans at exact instants and returns what each call queued."""

    def __init__(self, sm: async_sessionmaker[AsyncSession], policy: NotifyPolicyDoc) -> None:
        self.sm = sm
        self.policy = policy
        self.seen = 0
        self.report = PlanReport()

    async def plan(self, seconds: float, **kw: Any) -> list[Sent]:
        async with self.sm() as s, s.begin():
            self.report = await plan(s, PlanInput(now=at(seconds), policy=self.policy, **kw))
        rows = await outbox(self.sm)
        new, self.seen = rows[self.seen :], len(rows)
        for row in new:
            assert row.created_at == at(seconds)
        return [(r.event, r.level, r.recipient) for r in new]


async def outbox(sm: async_sessionmaker[AsyncSession]) -> list[OutboxNotification]:
    async with sm() as s:
        stmt = select(OutboxNotification).order_by(OutboxNotification.id)
        return list((await s.scalars(stmt)).all())


async def _check(
    sm: async_sessionmaker[AsyncSession],
    key: str = KEY,
    unit_code: str = "12337",
    **fields: Any,
) -> Check:
    async with sm() as s, s.begin():
        check = await factories.http_check(
            s, f"http://127.0.0.1:9/{key}", key=key, unit_code=unit_code
        )
        for name, value in fields.items():
            setattr(check, name, value)
    return check


async def _open(sm: async_sessionmaker[AsyncSession], check: Check, seconds: float) -> int:
    async with sm() as s, s.begin():
        incident = Incident(
            check_id=check.id,
            unit_id=check.unit_id,
            started_at=at(seconds),
            created_at=at(seconds),
            error_kind="http_status",
            message="HTTP 503",
        )
        s.add(incident)
        await s.flush()
        return incident.id


async def _open_many(
    sm: async_sessionmaker[AsyncSession], checks: list[Check], seconds: float
) -> list[int]:
    async with sm() as s, s.begin():
        rows = [
            Incident(
                check_id=c.id, unit_id=c.unit_id, started_at=at(seconds), created_at=at(seconds)
            )
            for c in checks
        ]
        s.add_all(rows)
        await s.flush()
        return [i.id for i in rows]


async def _close(
    sm: async_sessionmaker[AsyncSession], incident_id: int, seconds: float, by: str = "up"
) -> None:
    async with sm() as s, s.begin():
        incident = await s.get_one(Incident, incident_id)
        incident.ended_at, incident.closed_by = at(seconds), by


async def _incident(sm: async_sessionmaker[AsyncSession], incident_id: int) -> Incident:
    async with sm() as s:
        return await s.get_one(Incident, incident_id)


async def _ack(sm: async_sessionmaker[AsyncSession], incident_id: int, seconds: float) -> None:
    async with sm() as s, s.begin():
        assert await acknowledge(s, incident_id, at(seconds), "Nguyễn Văn Tâm")


async def _paged(
    sm: async_sessionmaker[AsyncSession], policy: NotifyPolicyDoc = POLICY
) -> tuple[int, Clock]:
    """One check's incident, opened and paged at T0."""
    check = await _check(sm)
    incident = await _open(sm, check, 0)
    clock = Clock(sm, policy)
    assert await clock.plan(0) == [("down", 0, "xa"), ("down", 0, "ioc")]
    return incident, clock


# escalation -------------------------------------------------------------------------
async def test_pages_at_level_0_then_escalates_exactly_at_each_after_s(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    check = await _check(sessionmaker)
    incident = await _open(sessionmaker, check, 0)
    clock = Clock(sessionmaker, POLICY)
    assert await clock.plan(0) == [("down", 0, "xa"), ("down", 0, "ioc")]
    assert clock.report.paged == 1
    paged = await _incident(sessionmaker, incident)
    assert (paged.notify_state, paged.paged_at, paged.escalation_level) == ("paged", at(0), 0)
    assert await clock.plan(119.9) == []
    assert await clock.plan(120) == [("escalation", 1, "huyen")]
    assert await clock.plan(120) == []  # planning again (a restart, a replica) adds nothing
    assert await clock.plan(599) == []
    assert await clock.plan(600) == [("escalation", 2, "tinh")]
    assert await clock.plan(86_400) == []  # no level after the last
    assert (await _incident(sessionmaker, incident)).escalation_level == 2


async def test_a_late_tick_sends_every_level_it_passed_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _, clock = await _paged(sessionmaker)
    assert await clock.plan(700) == [("escalation", 1, "huyen"), ("escalation", 2, "tinh")]
    assert await clock.plan(701) == []


async def test_hold_waits_hold_s_and_an_outage_over_by_then_is_never_told(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    check = await _check(sessionmaker)
    clock = Clock(sessionmaker, _policy(hold_s=30))
    short = await _open(sessionmaker, check, 0)
    assert await clock.plan(10) == []
    await _close(sessionmaker, short, 20)
    assert await clock.plan(40) == []
    assert (await _incident(sessionmaker, short)).notify_state == "done"
    long = await _open(sessionmaker, check, 100)
    assert await clock.plan(129.9) == []
    assert (await _incident(sessionmaker, long)).notify_state == "pending"
    assert await clock.plan(130) == [("down", 0, "xa"), ("down", 0, "ioc")]
    assert (await _incident(sessionmaker, long)).paged_at == at(130)  # levels count from here
    assert await clock.plan(249) == []
    assert await clock.plan(250) == [("escalation", 1, "huyen")]


async def test_acknowledgement_stops_escalation(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    incident, clock = await _paged(sessionmaker)
    assert await clock.plan(120) == [("escalation", 1, "huyen")]
    await _ack(sessionmaker, incident, 200)
    assert await clock.plan(600) == []  # level 2 was due: the acknowledgement stopped it
    assert await clock.plan(86_400) == []
    assert (await _incident(sessionmaker, incident)).escalation_level == 1


# reminders ------------------------------------------------------------------------------
def _reminding(every: float) -> NotifyPolicyDoc:
    levels = [{"after_s": 0, "channels": ["xa"]}, {"after_s": 120, "channels": ["huyen"]}]
    return _policy(escalation={"default": {"reminder_every_s": every, "levels": levels}})


async def test_reminders_at_the_interval_to_the_current_level_never_twice(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    incident, clock = await _paged(sessionmaker, _reminding(300))
    assert await clock.plan(60) == []
    assert await clock.plan(120) == [("escalation", 1, "huyen")]
    assert await clock.plan(299.9) == []
    assert await clock.plan(300) == [("reminder", 1, "huyen")]  # the current level's people
    assert await clock.plan(300) == []
    assert await clock.plan(599) == []
    assert await clock.plan(600) == [("reminder", 1, "huyen")]
    assert await clock.plan(1500) == [("reminder", 1, "huyen")]  # missed ticks: one, not three
    rows = [r for r in await outbox(sessionmaker) if r.event == "reminder"]
    assert [int(r.dedupe_key.split(":")[3]) for r in rows] == [1, 2, 5]  # n × 300 s after paging
    assert all(r.payload["incident_state"] == "open" for r in rows)
    await _ack(sessionmaker, incident, 1600)
    assert await clock.plan(1800) == []  # acknowledged: no more reminders
    assert await clock.plan(86_400) == []


async def test_no_reminders_when_the_interval_is_zero(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _, clock = await _paged(sessionmaker, _reminding(0))
    assert await clock.plan(120) == [("escalation", 1, "huyen")]
    assert await clock.plan(86_400) == []


# recovery ---------------------------------------------------------------------------------
async def test_recovery_is_told_once_to_everyone_told_of_the_outage(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    incident, clock = await _paged(sessionmaker)
    await clock.plan(120)
    await _close(sessionmaker, incident, 150)
    assert sorted(await clock.plan(151)) == [("up", 0, "huyen"), ("up", 0, "ioc"), ("up", 0, "xa")]
    assert await clock.plan(152) == []
    assert await clock.plan(600) == []  # over: no more escalation
    [up, *_] = [r for r in await outbox(sessionmaker) if r.event == "up"]
    assert up.payload["incident_state"] == "resolved" and up.payload["duration_s"] == 150
    assert (await _incident(sessionmaker, incident)).notify_state == "done"


async def test_no_recovery_notice_when_it_ends_unknown_or_in_maintenance(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock(sessionmaker, POLICY)
    for n, closed_by in enumerate(("unknown", "maintenance")):
        check = await _check(sessionmaker, key=f"1233{n}.commune_centre.dvc")
        incident = await _open(sessionmaker, check, 1000 * n)
        assert len(await clock.plan(1000 * n)) == 2
        await _close(sessionmaker, incident, 1000 * n + 50, by=closed_by)
        assert await clock.plan(1000 * n + 51) == []


# storm: dependants of a failing parent ------------------------------------------------------
async def test_dependants_of_a_down_parent_are_suppressed_under_its_incident(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The provincial system and its 104 communes fail together: one page, 104 suppressed."""
    async with sessionmaker() as s, s.begin():
        await factories.unit(s, "33", "Tỉnh Hưng Yên", kind="province")
    parent = await _check(sessionmaker, key="33.provincial_system.tthc", unit_code="33")
    async with sessionmaker() as s, s.begin():
        children = [
            await factories.http_check(
                s, f"http://127.0.0.1:9/{n}", key=f"{code}.commune_centre.dvc", unit_code=code
            )
            for n, code in enumerate(str(12000 + n) for n in range(104))
        ]
        for child in children:
            child.depends_on = [parent.key]
    clock = Clock(sessionmaker, POLICY)
    parent_incident = await _open(sessionmaker, parent, 0)
    assert await clock.plan(0) == [("down", 0, "xa"), ("down", 0, "ioc")]
    child_incidents = await _open_many(sessionmaker, children, 1)
    assert await clock.plan(1) == []
    assert clock.report.suppressed == 104
    async with sessionmaker() as s:
        stmt = select(Incident).where(Incident.id.in_(child_incidents))
        states = {
            (i.notify_state, i.suppressed_reason, i.parent_incident_id)
            for i in await s.scalars(stmt)
        }
    assert states == {("suppressed", "parent", parent_incident)}
    assert await clock.plan(120) == [("escalation", 1, "huyen")]  # the parent's only
    assert {e for e, _, _ in await _sent(sessionmaker)} == {"down", "escalation"}


async def _sent(sm: async_sessionmaker[AsyncSession]) -> list[Sent]:
    return [(r.event, r.level, r.recipient) for r in await outbox(sm)]


async def test_a_dependant_waits_for_an_unconfirmed_parent_and_is_paged_if_still_down_after(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    parent = await _check(sessionmaker, key="33.provincial_system.tthc", unit_code="33")
    child = await _check(sessionmaker, depends_on=[parent.key])
    clock = Clock(sessionmaker, POLICY)
    async with sessionmaker() as s, s.begin():
        (await s.get_one(Check, parent.id)).streak_status = "down"  # failing, not confirmed
    child_incident = await _open(sessionmaker, child, 0)
    assert await clock.plan(0) == []
    assert (await _incident(sessionmaker, child_incident)).notify_state == "pending"
    parent_incident = await _open(sessionmaker, parent, 5)
    assert await clock.plan(5) == [("down", 0, "xa"), ("down", 0, "ioc")]  # the parent
    assert (await _incident(sessionmaker, child_incident)).suppressed_reason == "parent"
    await _close(sessionmaker, parent_incident, 100)
    async with sessionmaker() as s, s.begin():
        (await s.get_one(Check, parent.id)).streak_status = "up"
    assert sorted(await clock.plan(101)) == [("up", 0, "ioc"), ("up", 0, "xa")]
    assert await clock.plan(159) == []  # release_after_s = 60 after the parent came back
    assert await clock.plan(160) == [("down", 0, "xa"), ("down", 0, "ioc")]  # still down
    assert clock.report.released == 1
    paged = await _incident(sessionmaker, child_incident)
    assert (paged.notify_state, paged.paged_at) == ("paged", at(160))


# the monitor's own blindness, canaries --------------------------------------------------------
async def test_nothing_is_paged_while_the_monitor_is_blind(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    check = await _check(sessionmaker)
    incident = await _open(sessionmaker, check, 0)
    clock = Clock(sessionmaker, POLICY)
    assert await clock.plan(0, blind=True) == []
    assert (await _incident(sessionmaker, incident)).suppressed_reason == "connectivity"
    assert await clock.plan(30, blind=True) == []
    assert await clock.plan(31) == [("down", 0, "xa"), ("down", 0, "ioc")]  # sight is back
    assert clock.report.released == 1


async def test_a_canary_is_never_paged(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    canary = await _check(sessionmaker, key="33.provincial_wan.gateway", unit_code="33")
    incident = await _open(sessionmaker, canary, 0)
    clock = Clock(sessionmaker, POLICY)
    assert await clock.plan(0, canaries={canary.id}) == []
    assert await clock.plan(86_400, canaries={canary.id}) == []
    assert (await _incident(sessionmaker, incident)).suppressed_reason == "canary"


# flapping --------------------------------------------------------------------------------------
async def _flip(
    sm: async_sessionmaker[AsyncSession], check: Check, seconds: float, new: str
) -> None:
    async with sm() as s, s.begin():
        old = "up" if new == "down" else "down"
        s.add(
            Flip(
                uid=f"{check.id}-{seconds}",
                check_id=check.id,
                at=at(seconds),
                old_state=old,
                new_state=new,
            )
        )


async def test_a_flapping_check_gets_one_notice_then_one_page_once_settled(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Down/up every 10 s (4 flips within 60 s flap); it settles down at +40."""
    check = await _check(sessionmaker, failure_threshold=1)
    clock = Clock(sessionmaker, _policy(flapping={"flips": 4, "within_s": 60}, hold_s=15))
    incidents = []
    for t in (0, 10, 20, 30, 40):
        new = "down" if t % 20 == 0 else "up"
        await _flip(sessionmaker, check, t, new)
        if new == "down":
            incidents.append(await _open(sessionmaker, check, t))
        else:
            await _close(sessionmaker, incidents[-1], t)
        sent = await clock.plan(t)
        if t < 30:
            assert sent == [], t  # held (hold_s), then over before anyone was told
        elif t == 30:
            assert sent == [("flapping", 0, "xa"), ("flapping", 0, "ioc")]
        else:
            assert sent == []  # the same episode: no second notice, no per-flip alert
    *during, last = [await _incident(sessionmaker, i) for i in incidents]
    assert all(i.notify_state == "done" for i in during)
    assert (last.notify_state, last.suppressed_reason) == ("suppressed", "flapping")
    assert await clock.plan(70) == []
    assert await clock.plan(100) == []  # within_s since the last flip: not settled yet
    assert await clock.plan(101) == [("down", 0, "xa"), ("down", 0, "ioc")]  # settled: paged
    assert await clock.plan(102) == []
    [notice] = [r for r in await outbox(sessionmaker) if r.event == "flapping"][:1]
    assert notice.payload["incident_id"] == incidents[1]  # the latest incident when it began


# maintenance ------------------------------------------------------------------------------------
async def test_no_page_inside_a_maintenance_window_and_one_after_it(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    check = await _check(sessionmaker)
    async with sessionmaker() as s, s.begin():
        s.add(
            MaintenanceWindow(
                scope="check",
                target=check.key,
                starts_at=at(-60),
                ends_at=at(300),
                reason="nâng cấp máy chủ",
            )
        )
    incident = await _open(sessionmaker, check, 0)
    clock = Clock(sessionmaker, POLICY)
    assert await clock.plan(0) == []  # the windows are read from SQL at ``now``
    assert (await _incident(sessionmaker, incident)).suppressed_reason == "maintenance"
    assert await clock.plan(299) == []
    assert await clock.plan(300) == [("down", 0, "xa"), ("down", 0, "ioc")]  # over: paged
    assert await clock.plan(301) == []
