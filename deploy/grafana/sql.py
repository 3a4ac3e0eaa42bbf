"""SQL of the PostgreSQL panels, on the schema of app/models.

Grafana fills in ``$__timeFrom()``, ``$__timeTo()``, ``$__timeFilter(col)`` and
``$unit``. Column headings and state words are the only parts that differ by
language; the state words and which states count as available come from
app.vocab.states. The SLA panels read the rollups the reports read (the rollup job
applied the state order, maintenance, monitor gaps and calendars), so they give the
XLSX's figures (tests/deploy/test_sla_agrees_with_report.py).
"""

from __future__ import annotations

from app.vocab.states import AVAILABLE, BY_SEVERITY, State, state_minutes, state_word


def state_word_sql(col: str, lang: str) -> str:
    """The word people read for the state in ``col`` (the raw value if unknown)."""
    whens = " ".join(
        f"WHEN '{state}' THEN '{state_word(state, 'en' if lang == 'en' else 'vi')}'"
        for state in BY_SEVERITY
    )
    return f"CASE {col} {whens} ELSE {col} END"


# The SLA dashboard reads the rollups, exactly as the reports do (app/reports/
# report_repository.py): whole local days (Asia/Ho_Chi_Minh) from the day holding
# $__timeFrom() to the day holding $__timeTo(), seconds per state on both clocks with
# maintenance windows, monitor gaps, holidays and office hours already applied by the
# rollup job. Replaying flips here could not know the maintenance windows, the monitor's
# own downtime or the calendars, and so disagreed with the XLSX.
_BOUNDS = """\
bounds AS (
  SELECT d0, d1,
         d0::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS p0,
         d1::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS p1
  FROM (SELECT ($__timeFrom()::timestamptz AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS d0,
               ($__timeTo()::timestamptz AT TIME ZONE 'Asia/Ho_Chi_Minh')::date + 1 AS d1) d
)"""

_UNIT_SLA = """\
WITH BOUNDS,
sums AS (
  SELECT r.entity_id AS unit_id,
         SUM(UP_247) AS up_s, SUM(r.down_s) AS down_s,
         SUM(UP_SH) AS sh_up_s, SUM(r.sh_down_s) AS sh_down_s,
         SUM(r.maintenance_s) AS maintenance_s, SUM(r.unknown_s) AS unknown_s
  FROM rollup_day r CROSS JOIN bounds b
  WHERE r.level = 'unit' AND r.day >= b.d0 AND r.day < b.d1
  GROUP BY r.entity_id
)
SELECT u.code AS "{code}",
       u.name AS "{name}",
       ROUND((100 * sh_up_s / NULLIF(sh_up_s + sh_down_s, 0))::numeric, 3) AS "{availability_sh}",
       ROUND((sh_down_s / 60)::numeric, 1) AS "{down_sh}",
       ROUND((100 * up_s / NULLIF(up_s + down_s, 0))::numeric, 3) AS "{availability_247}",
       ROUND((down_s / 60)::numeric, 1) AS "{down_247}",
       ROUND((maintenance_s / 60)::numeric, 1) AS "{maintenance}",
       ROUND((unknown_s / 60)::numeric, 1) AS "{unknown}"
FROM sums JOIN unit u ON u.id = sums.unit_id
ORDER BY 3 ASC NULLS FIRST, 5 ASC NULLS FIRST, u.code
"""

# Incident figures as the reports count them (docs/reports.md "A report"), from the
# unit-level down runs in outage_day: incidents = runs whose first counted piece is in
# the period, plus the run under way at its start if it has counted time in it; MTTR =
# the mean whole length of the runs that ENDED in the period (open ones never count);
# on service hours only runs with time inside office hours are incidents.
_UNIT_INCIDENTS = """\
WITH BOUNDS,
o AS (
  SELECT o.*, b.p0, b.p1,
         o.run_started_at < b.p0 AS before,
         o.last AND o.run_ended_at > b.p0 AND o.run_ended_at <= b.p1 AS ended
  FROM outage_day o CROSS JOIN bounds b
  WHERE o.level = 'unit' AND o.day >= b.d0 AND o.day < b.d1
),
stats AS (
  SELECT entity_id AS unit_id,
         COUNT(*) FILTER (WHERE NOT before AND first)
           + MAX(CASE WHEN before AND s > 0 THEN 1 ELSE 0 END) AS incidents,
         SUM(run_s) FILTER (WHERE ended AND run_s > 0)
           / NULLIF(COUNT(*) FILTER (WHERE ended AND run_s > 0), 0) AS mttr_s,
         COUNT(*) FILTER (WHERE NOT before AND sh_first)
           + MAX(CASE WHEN before AND sh_s > 0 THEN 1 ELSE 0 END) AS sh_incidents,
         SUM(run_s) FILTER (WHERE ended AND run_sh_s > 0)
           / NULLIF(COUNT(*) FILTER (WHERE ended AND run_sh_s > 0), 0) AS sh_mttr_s,
         GREATEST(
           COALESCE(MAX(run_s) FILTER (WHERE NOT before AND run_ended_at <= p1), 0),
           COALESCE(SUM(s) FILTER (WHERE before), 0),
           COALESCE(SUM(s) FILTER (WHERE NOT before AND (run_ended_at IS NULL
                                                         OR run_ended_at > p1)), 0)
         ) AS longest_s,
         COUNT(DISTINCT run_started_at) FILTER (WHERE run_ended_at IS NULL) AS open
  FROM o GROUP BY entity_id
)
SELECT u.code AS "{code}",
       u.name AS "{name}",
       sh_incidents AS "{incidents_sh}",
       ROUND((sh_mttr_s / 60)::numeric, 1) AS "{mttr_sh}",
       incidents AS "{incidents_247}",
       ROUND((mttr_s / 60)::numeric, 1) AS "{mttr_247}",
       ROUND((longest_s / 60)::numeric, 1) AS "{longest}",
       open AS "{open}"
FROM stats JOIN unit u ON u.id = stats.unit_id
WHERE incidents > 0 OR sh_incidents > 0 OR open > 0
ORDER BY 5 DESC, u.code
"""


def _sum_of(states: frozenset[State], prefix: str) -> str:
    return " + ".join(f"r.{prefix}{state}_s" for state in BY_SEVERITY if state in states)


for _token, _value in {
    "WITH BOUNDS": "WITH " + _BOUNDS,
    "UP_247": _sum_of(AVAILABLE, ""),
    "UP_SH": _sum_of(AVAILABLE, "sh_"),
}.items():
    _UNIT_SLA = _UNIT_SLA.replace(_token, _value)
    _UNIT_INCIDENTS = _UNIT_INCIDENTS.replace(_token, _value)

_OPEN_INCIDENTS = """\
SELECT i.started_at AS "{started}",
       u.code AS "{code}",
       u.name AS "{name}",
       c.name AS "{check}",
       COALESCE(i.error_kind, '') AS "{error_kind}",
       i.message AS "{message}",
       ROUND((EXTRACT(EPOCH FROM now() - i.started_at) / 60)::numeric, 1) AS "{minutes}",
       i.acknowledged_by AS "{acknowledged_by}"
FROM incident i
JOIN unit u ON u.id = i.unit_id
JOIN "check" c ON c.id = i.check_id
WHERE i.ended_at IS NULL
ORDER BY i.started_at
LIMIT 500
"""

_FLIPS = """\
SELECT f.at AS "{at}",
       c.name AS "{check}",
       {old_word} AS "{old_state}",
       {new_word} AS "{new_state}",
       COALESCE(f.error_kind, '') AS "{error_kind}",
       f.reason AS "{reason}"
FROM flip f
JOIN "check" c ON c.id = f.check_id
JOIN unit u ON u.id = c.unit_id
WHERE u.code = '$unit' AND $__timeFilter(f.at)
ORDER BY f.at DESC
LIMIT 500
"""

HEADINGS: dict[str, dict[str, str]] = {
    "vi": {
        "code": "Mã đơn vị",
        "name": "Đơn vị",
        "availability": "Khả dụng (%)",
        "down": state_minutes(State.DOWN, "vi"),
        "availability_sh": "Khả dụng trong giờ hành chính (%)",
        "down_sh": f"{state_word(State.DOWN, 'vi')} trong giờ hành chính (phút)",
        "availability_247": "Khả dụng cả ngày (%)",
        "down_247": f"{state_word(State.DOWN, 'vi')} cả ngày (phút)",
        "incidents_sh": "Số sự cố trong giờ hành chính",
        "mttr_sh": "Khắc phục TB trong giờ hành chính (phút)",
        "incidents_247": "Số sự cố cả ngày",
        "mttr_247": "Khắc phục TB cả ngày (phút)",
        "maintenance": state_minutes(State.MAINTENANCE, "vi"),
        "unknown": state_minutes(State.UNKNOWN, "vi"),
        "incidents": "Số sự cố",
        "mttr": "MTTR (phút)",
        "longest": "Dài nhất (phút)",
        "open": "Đang mở",
        "started": "Bắt đầu",
        "check": "Kiểm tra",
        "error_kind": "Loại lỗi",
        "message": "Thông báo",
        "minutes": "Đã kéo dài (phút)",
        "acknowledged_by": "Người xác nhận",
        "at": "Thời điểm",
        "old_state": "Trạng thái cũ",
        "new_state": "Trạng thái mới",
        "reason": "Lý do",
    },
    "en": {
        "code": "Unit code",
        "name": "Unit",
        "availability": "Availability (%)",
        "down": state_minutes(State.DOWN, "en"),
        "availability_sh": "Availability, service hours (%)",
        "down_sh": f"{state_word(State.DOWN, 'en')}, service hours (min)",
        "availability_247": "Availability, 24/7 (%)",
        "down_247": f"{state_word(State.DOWN, 'en')}, 24/7 (min)",
        "incidents_sh": "Incidents, service hours",
        "mttr_sh": "MTTR, service hours (min)",
        "incidents_247": "Incidents, 24/7",
        "mttr_247": "MTTR, 24/7 (min)",
        "maintenance": state_minutes(State.MAINTENANCE, "en"),
        "unknown": state_minutes(State.UNKNOWN, "en"),
        "incidents": "Incidents",
        "mttr": "MTTR (min)",
        "longest": "Longest (min)",
        "open": "Open",
        "started": "Started",
        "check": "Check",
        "error_kind": "Error kind",
        "message": "Message",
        "minutes": "Lasting (min)",
        "acknowledged_by": "Acknowledged by",
        "at": "At",
        "old_state": "Old state",
        "new_state": "New state",
        "reason": "Reason",
    },
}


def _localise(template: str) -> dict[str, str]:
    return {
        lang: template.format(
            **headings,
            old_word=state_word_sql("f.old_state", lang),
            new_word=state_word_sql("f.new_state", lang),
        )
        for lang, headings in HEADINGS.items()
    }


UNIT_SLA_SQL = _localise(_UNIT_SLA)
UNIT_INCIDENTS_SQL = _localise(_UNIT_INCIDENTS)
OPEN_INCIDENTS_SQL = _localise(_OPEN_INCIDENTS)
FLIPS_SQL = _localise(_FLIPS)
