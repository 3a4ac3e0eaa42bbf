"""``GET /metrics`` in the Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.monitor.metrics import ProcessMetrics

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    monitor = getattr(request.app.state, "monitor", None)
    if monitor is not None:
        registry = monitor.metrics.registry
    else:
        if getattr(request.app.state, "process_metrics", None) is None:
            request.app.state.process_metrics = ProcessMetrics()
        registry = request.app.state.process_metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
