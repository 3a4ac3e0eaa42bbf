"""``GET /metrics`` in the Prometheus text format.

At 50,000 checks the exposition is tens of MB and takes seconds to build, so it is
built in a worker thread (the event loop keeps serving), at most once at a time
(an asyncio lock: concurrent scrapes wait for the one build) and reused for
``THONGSUOT_METRICS_CACHE_S`` seconds (bench/metrics_scale.py measures it).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from app.monitor.metrics import ProcessMetrics

router = APIRouter(tags=["metrics"])
DEFAULT_CACHE_S = 5.0


@dataclass
class ExpositionCache:
    """The last exposition built, when, and how many builds so far."""

    body: bytes | None = None
    built_at: float = 0.0
    builds: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self, registry: CollectorRegistry, max_age_s: float) -> bytes:
        async with self.lock:
            fresh = time.monotonic() - self.built_at < max_age_s
            if self.body is None or not fresh:
                self.body = await asyncio.to_thread(generate_latest, registry)
                self.built_at = time.monotonic()
                self.builds += 1
            return self.body


def _registry(request: Request) -> CollectorRegistry:
    monitor = getattr(request.app.state, "monitor", None)
    if monitor is not None:
        registry: CollectorRegistry = monitor.metrics.registry
        return registry
    if getattr(request.app.state, "process_metrics", None) is None:
        request.app.state.process_metrics = ProcessMetrics()
    process: CollectorRegistry = request.app.state.process_metrics.registry
    return process


def exposition_cache(request: Request) -> ExpositionCache:
    cache = getattr(request.app.state, "metrics_cache", None)
    if cache is None:
        cache = request.app.state.metrics_cache = ExpositionCache()
    assert isinstance(cache, ExpositionCache)
    return cache


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    settings = getattr(request.app.state, "settings", None)
    max_age_s = getattr(settings, "metrics_cache_s", DEFAULT_CACHE_S)
    body = await exposition_cache(request).get(_registry(request), max_age_s)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
