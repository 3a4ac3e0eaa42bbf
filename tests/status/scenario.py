"""A small province for the status page tests (pages, browser, feeds): a national
and a provincial shared system, seven communes and wards in every state, open,
suppressed and past incidents, maintenance now and ahead, and 90 days of rollups."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Check, Incident, IncidentUpdate, MaintenanceWindow, RollupDay, Service, Unit
from app.vocab.fmt import DISPLAY_TZ

TODAY = datetime.now(UTC).astimezone(DISPLAY_TZ).date()
OUTAGE_DAY = TODAY - timedelta(days=3)  # 14 minutes down in service hours


@dataclass
class Built:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    units: dict[str, Unit] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)


async def _unit(
    s: AsyncSession, b: Built, code: str, name: str, kind: str, parent: str | None, **settings: str
) -> Unit:
    u = Unit(
        code=code,
        name=name,
        kind=kind,
        parent_id=b.units[parent].id if parent else None,
        settings=dict(settings),
    )
    s.add(u)
    await s.flush()
    b.units[code] = u
    return u


async def _service(s: AsyncSession, b: Built, u: Unit, key: str, kind: str, name: str) -> Service:
    row = Service(key=key, unit_id=u.id, kind=kind, name=name, contacts=[])
    s.add(row)
    await s.flush()
    b.services[key] = row
    return row


async def _check(s: AsyncSession, b: Built, svc: Service, key: str, name: str, state: str) -> Check:
    row = Check(
        key=key,
        service_id=svc.id,
        unit_id=svc.unit_id,
        name=name,
        kind="http",
        target=f"https://{key}.example.vn/",
        config={"url": f"https://{key}.example.vn/"},
        config_hash=hashlib.sha256(key.encode()).hexdigest(),
        interval_s=60,
        timeout_s=5.0,
        state=state,
        state_since=b.now - timedelta(minutes=75),
    )
    s.add(row)
    await s.flush()
    b.checks[key] = row
    return row


async def build(s: AsyncSession, *, shared_down: bool = False) -> Built:
    """The province; with ``shared_down`` its TTHC system is down and Tân Hưng's
    incident is suppressed under it (else Tân Hưng is suppressed as flapping)."""
    b = Built()
    vn = await _unit(s, b, "VN", "Dịch vụ dùng chung quốc gia", "national", None)
    province = await _unit(s, b, "33", "Hưng Yên", "province", None)
    portal = await _service(s, b, vn, "VN.portal", "national_portal", "Cổng Dịch vụ công quốc gia")
    await _check(s, b, portal, "VN.portal.web", "Trang chủ Cổng Dịch vụ công quốc gia", "up")
    tthc = await _service(s, b, province, "33.tthc", "provincial_system", "Hệ thống TTHC tỉnh")
    await _check(
        s, b, tthc, "33.tthc.web", "Cổng thông tin TTHC tỉnh", "down" if shared_down else "up"
    )
    communes = [
        ("12337", "Hoàng Hoa Thám", "commune", "down"),
        ("12364", "Tân Hưng", "commune", "down"),
        ("12361", "<b>Tiên Hoa</b>", "commune", "up"),
        ("12370", "Bắc Thái Ninh", "ward", "up"),
        ("12371", "Bình Định", "commune", "up"),
        ("12372", "Đông Anh", "commune", "up"),
        ("12373", "Dương Kinh", "special_zone", "up"),
    ]
    extra = {
        "12370": {
            "address": "Số 5 đường Lê Lợi, phường Bắc Thái Ninh",
            "opening_hours": "Thứ Hai–Thứ Sáu 7:30–11:30, 13:30–17:00",
            "hotline": "0221 3861 234",
        }
    }
    for code, name, kind, state in communes:
        u = await _unit(s, b, code, name, kind, "33", **extra.get(code, {}))
        svc = await _service(
            s,
            b,
            u,
            f"{code}.commune_centre",
            "commune_centre",
            f"Trung tâm phục vụ hành chính công {name}",
        )
        await _check(s, b, svc, f"{code}.commune_centre.dvc", "Trang dịch vụ công của xã", state)
    await s.flush()
    if shared_down:
        b.incidents["33"] = _incident(s, b, "33.tthc.web", "connect", b.now - timedelta(minutes=80))
        await s.flush()
    b.incidents["12337"] = _incident(
        s,
        b,
        "12337.commune_centre.dvc",
        "timeout",
        b.now - timedelta(minutes=75),
        message="ReadError: [Errno 104] Connection reset by peer",
    )
    tan_hung = _incident(s, b, "12364.commune_centre.dvc", "connect", b.now - timedelta(minutes=70))
    tan_hung.notify_state = "suppressed"
    if shared_down:
        tan_hung.suppressed_reason = "parent"
        tan_hung.parent_incident_id = b.incidents["33"].id
    else:
        tan_hung.suppressed_reason = "flapping"
    b.incidents["12364"] = tan_hung
    past = _incident(
        s,
        b,
        "12337.commune_centre.dvc",
        "http_status",
        datetime.combine(OUTAGE_DAY, datetime.min.time(), DISPLAY_TZ)
        .replace(hour=9)
        .astimezone(UTC),
    )
    past.ended_at = past.started_at + timedelta(minutes=14)
    past.closed_by = "up"
    b.incidents["past"] = past
    await s.flush()
    s.add(
        IncidentUpdate(
            incident_id=past.id,
            stage="resolved",
            message="Đã thay thiết bị mạng, dịch vụ hoạt động lại",
            created_by="test",
            created_at=past.ended_at,
        )
    )
    s.add_all(
        [
            MaintenanceWindow(
                scope="unit",
                target="12371",
                starts_at=b.now - timedelta(hours=1),
                ends_at=b.now + timedelta(hours=2),
                last_ends_at=b.now + timedelta(hours=2),
                reason="Nâng cấp đường truyền",
            ),
            MaintenanceWindow(
                scope="unit",
                target="12337",
                starts_at=b.now + timedelta(days=1),
                ends_at=b.now + timedelta(days=1, hours=3),
                last_ends_at=b.now + timedelta(days=1, hours=3),
                reason="Thay máy chủ",
            ),
        ]
    )
    _rollups(s, b)
    await s.flush()
    return b


def _incident(
    s: AsyncSession,
    b: Built,
    check_key: str,
    kind: str,
    started: datetime,
    message: str = "",
) -> Incident:
    check = b.checks[check_key]
    row = Incident(
        check_id=check.id,
        unit_id=check.unit_id,
        started_at=started,
        error_kind=kind,
        message=message,
    )
    s.add(row)
    return row


def _rollups(s: AsyncSession, b: Built) -> None:
    """89 whole days up; on OUTAGE_DAY, 12337 (unit and service) down 14 minutes."""
    day_s, sh_s = 86_400.0, 8 * 3_600.0
    targets = [("unit", u.id) for u in b.units.values()] + [
        ("service", v.id) for v in b.services.values()
    ]
    down_ids = {("unit", b.units["12337"].id), ("service", b.services["12337.commune_centre"].id)}
    for level, entity in targets:
        for back in range(1, 90):
            d: date = TODAY - timedelta(days=back)
            down = 840.0 if (level, entity) in down_ids and d == OUTAGE_DAY else 0.0
            s.add(
                RollupDay(
                    level=level,
                    entity_id=entity,
                    day=d,
                    up_s=day_s - down,
                    down_s=down,
                    sh_up_s=sh_s - down,
                    sh_down_s=down,
                )
            )


async def agent_service(
    s: AsyncSession, b: Built, unit_code: str, kind: str, agent: str, state: str
) -> None:
    """A unit's agent liveness service ("Điểm đo tại chỗ"): one check, not critical."""
    service = await _service(
        s, b, b.units[unit_code], f"{unit_code}.agents", kind, "Điểm đo tại chỗ"
    )
    check = await _check(s, b, service, f"agent.{agent}", "Agent", state)
    check.critical = False
