"""Process counters and histograms, all in one place, on a registry of their own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from app import __version__

LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
RELAY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ProcessMetrics:
    """Owns a fresh ``CollectorRegistry`` so tests and apps never share state."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.results = Counter(
            "thongsuot_probe_results",
            "Probe results produced.",
            ["probe_kind", "status", "error_kind"],
            registry=r,
        )
        self.flips = Counter("thongsuot_flips", "State changes written.", ["new_state"], registry=r)
        self.lateness = Histogram(
            "thongsuot_scheduler_lateness_seconds",
            "Start of a probe minus its scheduled time.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.jobs = Gauge("thongsuot_scheduler_jobs", "Scheduled checks.", registry=r)
        self.in_flight = Gauge("thongsuot_probes_in_flight", "Probes running now.", registry=r)
        self.buffer_depth = Gauge(
            "thongsuot_buffer_depth", "Results waiting to be written.", registry=r
        )
        self.dropped = Counter(
            "thongsuot_buffer_dropped", "Results dropped because the buffer was full.", registry=r
        )
        self.write_seconds = Histogram(
            "thongsuot_db_write_seconds",
            "Time to write one batch.",
            buckets=WRITE_BUCKETS,
            registry=r,
        )
        self.rows_written = Counter(
            "thongsuot_db_rows_written", "Rows written.", ["table"], registry=r
        )
        self.write_errors = Counter(
            "thongsuot_db_write_errors", "Failed batch writes (retried).", registry=r
        )
        self.dead_lettered = Counter(
            "thongsuot_results_dead_lettered",
            "Results the database refused for their data, set aside in the dead_letter table "
            "so the rest of their batch is written.",
            registry=r,
        )
        self.accepted = Counter(
            "thongsuot_results_accepted",
            "Results taken by the pipeline: on local disk (the journal) unless it is failing.",
            registry=r,
        )
        self.lost = Counter(
            "thongsuot_results_lost",
            "Results neither written nor kept on disk at stop (disk_full, read_only, ...).",
            ["reason"],
            registry=r,
        )
        self.spool_healthy = Gauge(
            "thongsuot_spool_healthy",
            "1 while the outcome journal (spool) can write, 0 while it is failing.",
            registry=r,
        )
        self.spool_rejected = Counter(
            "thongsuot_spool_rejected",
            "Journal/spool records that could not be read back (kept in *.rejected).",
            registry=r,
        )
        self.fenced = Counter(
            "thongsuot_results_fenced",
            "Results whose flip, incident and check state were refused at write: probed "
            "under a shard lease that has since moved to another replica (docs/design.md "
            "§4). Their sample is still stored as history; never retried.",
            registry=r,
        )
        self.fenced_kept = Counter(
            "thongsuot_results_fenced_kept",
            "Samples of fenced results stored as history in probe_result (their slot was "
            "still empty; one the new owner filled is kept once).",
            registry=r,
        )
        self.probes_fenced = Counter(
            "thongsuot_probes_fenced",
            "Scheduled probes not started: this replica's shard leases were not renewed in time.",
            registry=r,
        )
        self.shards_owned = Gauge(
            "thongsuot_shards_owned", "Shards this replica holds a valid lease on.", registry=r
        )
        self.shards_unowned = Gauge(
            "thongsuot_shards_unowned",
            "Shards no replica holds a valid lease on, as of this replica's last renew.",
            registry=r,
        )
        self.db_clock_offset = Gauge(
            "thongsuot_db_clock_offset_seconds",
            "The database's now() minus this host's clock, at the last lease renew.",
            registry=r,
        )
        self.slot_lag = Gauge(
            "thongsuot_slot_lag_seconds",
            "How late the last probe started after its slot's scheduled time.",
            registry=r,
        )
        self.lease_renew_ok = Gauge(
            "thongsuot_lease_renew_success_timestamp_seconds",
            "When the shard leases were last renewed (unix time).",
            registry=r,
        )
        self.push_beats_relayed = Counter(
            "thongsuot_push_beats_relayed",
            "Push beats this process received for a check of a shard it does not hold, "
            "written to push_beat for the shard's owner (docs/design.md §4.1).",
            registry=r,
        )
        self.push_beat_relay_seconds = Histogram(
            "thongsuot_push_beat_relay_seconds",
            "Age of a relayed push beat when this replica (its check's owner) applied it: "
            "receipt by another process to application here.",
            buckets=RELAY_BUCKETS,
            registry=r,
        )
        info = Gauge("thongsuot_build_info", "Build information.", ["version"], registry=r)
        info.labels(version=__version__).set(1)

    def record_write(self, elapsed: float, counts: dict[str, int]) -> None:
        self.write_seconds.observe(elapsed)
        for table, n in counts.items():
            if table == "fenced":
                self.fenced.inc(n)
                continue
            if table == "fenced_kept":
                self.fenced_kept.inc(n)
                continue
            if table == "push_beat":  # relayed beats consumed (deleted), not rows written
                continue
            self.rows_written.labels(table=table).inc(n)
