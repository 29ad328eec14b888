"""Host and process facts (`GET /system`), health probes and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

from berth.api.types import SystemInfo
from berth.control.api.deps import Plane
from berth.errors import NotReady
from berth.system import snapshot

router = APIRouter(tags=["system"])
health = APIRouter(tags=["health"])


@router.get("/system", response_model=SystemInfo, operation_id="system")
async def system(plane: Plane) -> dict[str, Any]:
    """CPU, RAM, disk, GPUs, runtime packages, and per-replica process stats (for `berth top`)."""
    info = await asyncio.to_thread(snapshot, plane.settings.home, plane.supervisor.processes())
    return info.model_dump(mode="json")


@health.get("/health/live", operation_id="live")
async def live() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@health.get("/health/ready", operation_id="ready")
async def ready(plane: Plane) -> dict[str, str]:
    """The registry answers, so the API can serve."""
    try:
        with plane.registry.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        raise NotReady("the registry database does not answer; check BERTH_DATABASE_URL") from exc
    return {"status": "ready"}


@health.get("/metrics", operation_id="metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: deployments by state, replica restarts, proxied requests."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)
