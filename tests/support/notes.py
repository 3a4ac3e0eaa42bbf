"""A realistic notification to render and send in tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.notify.channels.base import Notification

UNIT_NAME = "Phường Hiến Nam"
SERVICE_NAME = "Trung tâm phục vụ hành chính công phường Hiến Nam"
UNIT_PLACE = {"vi": "phường Hiến Nam", "en": "Hiến Nam ward"}
"""How messages name the unit: with its kind, once."""


def make_note(**overrides: Any) -> Notification:
    fields: dict[str, Any] = {
        "event": "down",
        "unit_code": "11893",
        "unit_name": UNIT_NAME,
        "service_kind": "commune_centre",
        "service_name": SERVICE_NAME,
        "check_key": "hien-nam-gateway",
        "check_name": "Đường truyền tới cổng một cửa tỉnh",
        "probe_kind": "http",
        "error_kind": "timeout",
        "message": "không có phản hồi sau 10 giây",
        # 23:50 Vietnam time on 12/05/2026, seen at 02:05 the next day
        "started_at": datetime(2026, 5, 12, 16, 50, tzinfo=UTC),
        "now": datetime(2026, 5, 12, 19, 5, tzinfo=UTC),
        "incident_id": 42,
        "incident_state": "open",
        "severity": "critical",
        "dashboard_url": "https://giamsat.hungyen.gov.vn/incidents/42",
        "api_url": "https://giamsat.hungyen.gov.vn/api/v1/incidents/42",
        "ack_url": "https://giamsat.hungyen.gov.vn/api/v1/incidents/42/ack",
        "lang": "vi",
        "unit_kind": "ward",
        "short_ack_url": "https://giamsat.hungyen.gov.vn/a/7.ABCDEFGHJK",
    }
    fields.update(overrides)
    return Notification(**fields)


def no_secrets(name: str) -> str:
    """A secret resolver with nothing set."""
    raise LookupError(f"secret {name!r} is not set")
