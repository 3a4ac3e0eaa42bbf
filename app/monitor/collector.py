"""Per-check metrics rendered on each scrape from the monitor's in-memory state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from app.monitor.unit_info import UnitLabels
from app.vocab.states import AVAILABLE, STATES, State

if TYPE_CHECKING:
    from app.monitor.runtime import Monitor

LABELS = ["check", "unit", "service_kind", "probe_kind"]


class CheckStateCollector(Collector):
    def __init__(self, monitor: Monitor) -> None:
        self._monitor = monitor

    def collect(self) -> Iterator[GaugeMetricFamily]:
        fam = _families()
        counts = dict.fromkeys(STATES, 0)
        # /metrics builds in a worker thread while the loop may add or retire checks:
        # iterate over snapshots (list() of a dict view runs without a thread switch)
        for rc in list(self._monitor.checks.values()):
            cs = self._monitor.states.get(rc.id)
            if cs is None:
                continue
            labels = [rc.key, rc.unit_code, rc.service_kind, rc.kind]
            counts[cs.state] = counts.get(cs.state, 0) + 1
            for state in STATES:
                fam["state"].add_metric([*labels, state], 1.0 if cs.state == state else 0.0)
            if cs.state in AVAILABLE or cs.state == State.DOWN:
                fam["check_up"].add_metric(labels, 1.0 if cs.state in AVAILABLE else 0.0)
            res = cs.last_result
            if res is None or cs.last_result_at is None:
                continue
            fam["success"].add_metric(labels, 1.0 if res.success else 0.0)
            fam["duration"].add_metric(labels, res.latency)
            fam["last"].add_metric(labels, cs.last_result_at.timestamp())
            if "http_status" in res.details:
                fam["http"].add_metric(labels, float(res.details["http_status"] or 0))
            if "cert_expiry" in res.details:
                fam["cert"].add_metric(labels, float(res.details["cert_expiry"]))
        checks = GaugeMetricFamily("thongsuot_checks", "Checks in each state.", labels=["state"])
        for state, n in counts.items():
            checks.add_metric([state], float(n))
        yield from fam.values()
        yield checks
        yield _unit_info(self._monitor)
        yield GaugeMetricFamily(
            "thongsuot_open_incidents",
            "Incidents open now.",
            value=float(
                sum(1 for cs in list(self._monitor.states.values()) if cs.state == State.DOWN)
            ),
        )


def _families() -> dict[str, GaugeMetricFamily]:
    def g(name: str, doc: str, extra: list[str] | None = None) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, labels=LABELS + (extra or []))

    return {
        "success": g("thongsuot_probe_success", "1 if the last result was up or degraded."),
        "duration": g("thongsuot_probe_duration_seconds", "Latency of the last result."),
        "http": g("thongsuot_probe_http_status_code", "HTTP status of the last result."),
        "cert": g("thongsuot_probe_ssl_earliest_cert_expiry", "UNIX time the certificate expires."),
        "state": g("thongsuot_check_state", "1 for the check's current state.", ["state"]),
        "check_up": g("thongsuot_check_up", "1 if the derived state is up or degraded, 0 if down."),
        "last": g("thongsuot_check_last_result_timestamp_seconds", "When the last result arrived."),
    }


def _unit_info(monitor: Monitor) -> GaugeMetricFamily:
    info = GaugeMetricFamily(
        "thongsuot_unit_info",
        "The unit's name, kind and province (value 1): join with * on(unit) group_left(name).",
        labels=["unit", "name", "kind", "province"],
    )
    # reload() replaces the dict whole, so this thread reads one consistent snapshot (the
    # registry also collects once while the Monitor is being built, before it is set)
    units: dict[str, UnitLabels] = getattr(monitor, "unit_labels", {})
    for code, labels in list(units.items()):
        info.add_metric([code, labels.name, labels.kind, labels.province], 1.0)
    return info
