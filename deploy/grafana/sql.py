"""SQL of the PostgreSQL panels, on the schema of app/models.

Grafana fills in ``$__timeFrom()``, ``$__timeTo()``, ``$__timeFilter(col)`` and
``$unit``. Column headings and state words are the only parts that differ by
language. The state order (the rank of each state) and the state words come from
app.vocab.states, so the SLA panel counts a unit's time exactly as accounting does.
"""

from __future__ import annotations

from app.vocab.states import AVAILABLE, BY_SEVERITY, SEVERITY, State, state_minutes, state_word


def rank_sql(col: str) -> str:
    """The severity of the state in ``col`` (docs/design.md §2), worst first:
    ``CASE col WHEN 'down' THEN 4 ... ELSE <unknown> END``."""
    whens = " ".join(f"WHEN '{state}' THEN {SEVERITY[state]}" for state in BY_SEVERITY)
    return f"CASE {col} {whens} ELSE {SEVERITY[State.UNKNOWN]} END"


def state_word_sql(col: str, lang: str) -> str:
    """The word people read for the state in ``col`` (the raw value if unknown)."""
    whens = " ".join(
        f"WHEN '{state}' THEN '{state_word(state, 'en' if lang == 'en' else 'vi')}'"
        for state in BY_SEVERITY
    )
    return f"CASE {col} {whens} ELSE {col} END"


def _ranks(states: frozenset[State]) -> str:
    return ", ".join(str(SEVERITY[s]) for s in BY_SEVERITY if s in states)


_UNIT_AVAILABILITY = """\
WITH bounds AS (
  SELECT $__timeFrom()::timestamptz AS t0,
         LEAST($__timeTo()::timestamptz, now()) AS t1
),
crit AS (
  SELECT c.id AS check_id, c.unit_id
  FROM "check" c
  WHERE c.enabled AND c.critical AND c.retired_at IS NULL
),
events AS (
  -- each critical check's state at the start of the period ...
  SELECT k.check_id, k.unit_id, b.t0 AS at,
         COALESCE((SELECT f.new_state FROM flip f
                   WHERE f.check_id = k.check_id AND f.at <= b.t0
                   ORDER BY f.at DESC LIMIT 1), 'unknown') AS state
  FROM crit k CROSS JOIN bounds b
  UNION ALL
  -- ... and every change inside it
  SELECT k.check_id, k.unit_id, f.at, f.new_state
  FROM crit k JOIN flip f ON f.check_id = k.check_id CROSS JOIN bounds b
  WHERE f.at > b.t0 AND f.at < b.t1
),
ticks AS (SELECT DISTINCT unit_id, at FROM events),
unit_state AS (
  SELECT t.unit_id, t.at, MAX(RANK_S) AS rank
  FROM ticks t
  JOIN LATERAL (
    SELECT DISTINCT ON (e.check_id) e.state
    FROM events e
    WHERE e.unit_id = t.unit_id AND e.at <= t.at
    ORDER BY e.check_id, e.at DESC
  ) s ON true
  GROUP BY t.unit_id, t.at
),
spans AS (
  SELECT us.unit_id, us.rank,
         EXTRACT(EPOCH FROM COALESCE(LEAD(us.at) OVER (PARTITION BY us.unit_id ORDER BY us.at),
                                     b.t1) - us.at) AS seconds
  FROM unit_state us CROSS JOIN bounds b
),
totals AS (
  SELECT unit_id,
         COALESCE(SUM(seconds) FILTER (WHERE rank IN (AVAILABLE_RANKS)), 0) AS up_s,
         COALESCE(SUM(seconds) FILTER (WHERE rank = DOWN_RANK), 0) AS down_s,
         COALESCE(SUM(seconds) FILTER (WHERE rank = MAINTENANCE_RANK), 0) AS maintenance_s,
         COALESCE(SUM(seconds) FILTER (WHERE rank = UNKNOWN_RANK), 0) AS unknown_s
  FROM spans GROUP BY unit_id
)
SELECT u.code AS "{code}",
       u.name AS "{name}",
       ROUND((100 * up_s / NULLIF(up_s + down_s, 0))::numeric, 3) AS "{availability}",
       ROUND((down_s / 60)::numeric, 1) AS "{down}",
       ROUND((maintenance_s / 60)::numeric, 1) AS "{maintenance}",
       ROUND((unknown_s / 60)::numeric, 1) AS "{unknown}"
FROM totals JOIN unit u ON u.id = totals.unit_id
ORDER BY 3 ASC NULLS FIRST, u.code
"""
for _token, _value in {
    "RANK_S": rank_sql("s.state"),
    "AVAILABLE_RANKS": _ranks(AVAILABLE),
    "DOWN_RANK": str(SEVERITY[State.DOWN]),
    "MAINTENANCE_RANK": str(SEVERITY[State.MAINTENANCE]),
    "UNKNOWN_RANK": str(SEVERITY[State.UNKNOWN]),
}.items():
    _UNIT_AVAILABILITY = _UNIT_AVAILABILITY.replace(_token, _value)

_INCIDENT_STATS = """\
SELECT u.code AS "{code}",
       u.name AS "{name}",
       COUNT(*) AS "{incidents}",
       ROUND((AVG(EXTRACT(EPOCH FROM COALESCE(i.ended_at, now()) - i.started_at)) / 60)::numeric, 1)
         AS "{mttr}",
       ROUND((MAX(EXTRACT(EPOCH FROM COALESCE(i.ended_at, now()) - i.started_at)) / 60)::numeric, 1)
         AS "{longest}",
       COUNT(*) FILTER (WHERE i.ended_at IS NULL) AS "{open}"
FROM incident i JOIN unit u ON u.id = i.unit_id
WHERE $__timeFilter(i.started_at)
GROUP BY u.code, u.name
ORDER BY 3 DESC, u.code
"""

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

_HEADINGS: dict[str, dict[str, str]] = {
    "vi": {
        "code": "Mã đơn vị",
        "name": "Đơn vị",
        "availability": "Khả dụng (%)",
        "down": state_minutes(State.DOWN, "vi"),
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
        for lang, headings in _HEADINGS.items()
    }


UNIT_AVAILABILITY_SQL = _localise(_UNIT_AVAILABILITY)
INCIDENT_STATS_SQL = _localise(_INCIDENT_STATS)
OPEN_INCIDENTS_SQL = _localise(_OPEN_INCIDENTS)
FLIPS_SQL = _localise(_FLIPS)
