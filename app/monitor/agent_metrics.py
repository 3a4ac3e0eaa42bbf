"""Metrics of remote agents (docs/agents.md), on the monitor's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class AgentMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.clock_offset = Gauge(
            "thongsuot_agent_clock_offset_seconds",
            "Server time minus the agent's clock, measured on its last request.",
            ["agent"],
            registry=registry,
        )
        self.results = Counter(
            "thongsuot_agent_results",
            "Results accepted from agents (duplicates not counted).",
            ["agent"],
            registry=registry,
        )
        self.refused = Counter(
            "thongsuot_agent_requests_refused",
            "Agent requests refused, by reason (unauthorized, not_assigned, clock_skew, "
            "too_large, busy).",
            ["reason"],
            registry=registry,
        )
        self.offline = Counter(
            "thongsuot_agents_offline",
            "Times an agent went silent (its liveness check flipped down).",
            registry=registry,
        )
