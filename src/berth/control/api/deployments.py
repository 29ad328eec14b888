"""Deployment routes: deploy, list, inspect, start/stop/restart, remove, events and logs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import PlainTextResponse, StreamingResponse

from berth.api.types import DeploymentPublic, DeploymentStats, EventRecord
from berth.control import logfiles
from berth.control.api.deps import Name, Plane
from berth.spec import parse_spec

router = APIRouter(tags=["deployments"])


@router.post("/deploy", status_code=202, response_model=DeploymentPublic, operation_id="deploy")
async def deploy(
    plane: Plane,
    spec: Annotated[dict[str, Any], Body(description="a deployment spec, as JSON")],
    replace: bool = False,
    install_requirements: Annotated[
        bool, Query(description="pip-install the spec's unmet `requirements:` at validating")
    ] = False,
) -> DeploymentPublic:
    """Deploy a model; progress follows on the WebSocket and the events route."""
    return await plane.deployer.deploy(
        parse_spec(spec), replace=replace, install_requirements=install_requirements
    )


@router.get("/deployments", response_model=list[DeploymentPublic], operation_id="list_deployments")
async def list_deployments(plane: Plane) -> list[DeploymentPublic]:
    """Every deployment, oldest first."""
    return plane.registry.list()


@router.get("/deployments/{name}", response_model=DeploymentPublic, operation_id="get_deployment")
async def get_deployment(plane: Plane, name: Name) -> DeploymentPublic:
    """One deployment, with its replicas."""
    return plane.registry.get(name)


@router.delete("/deployments/{name}", status_code=204, operation_id="remove_deployment")
async def remove_deployment(plane: Plane, name: Name) -> Response:
    """Stop a deployment (draining requests, or cancelling its deploy) and forget it."""
    await plane.deployer.remove(name)
    return Response(status_code=204)


@router.post(
    "/deployments/{name}/start", status_code=202, response_model=DeploymentPublic, operation_id="start"
)
async def start(plane: Plane, name: Name) -> DeploymentPublic:
    """Start a stopped or failed deployment again."""
    return await plane.deployer.start(name)


@router.post("/deployments/{name}/stop", response_model=DeploymentPublic, operation_id="stop")
async def stop(plane: Plane, name: Name) -> DeploymentPublic:
    """Drain and stop a deployment's workers (or cancel its deploy); it stays listed."""
    return await plane.deployer.stop(name)


@router.post(
    "/deployments/{name}/restart", status_code=202, response_model=DeploymentPublic, operation_id="restart"
)
async def restart(plane: Plane, name: Name) -> DeploymentPublic:
    """Restart each replica in turn (or start the deployment if it is not running)."""
    return await plane.deployer.restart(name)


@router.get("/deployments/{name}/stats", response_model=DeploymentStats, operation_id="stats")
async def stats(plane: Plane, name: Name) -> DeploymentStats:
    """Recent traffic: requests/s, errors/s, p50/p95 latency and batch size, every few seconds."""
    plane.registry.get(name)
    return plane.stats.stats(name)


@router.get("/deployments/{name}/events", response_model=list[EventRecord], operation_id="events")
async def events(plane: Plane, name: Name, after: Annotated[int, Query(ge=0)] = 0) -> list[EventRecord]:
    """The latest deploy's progress events, oldest first (after an event id, to poll)."""
    return plane.registry.events(name, after)


@router.get("/deployments/{name}/logs", response_class=PlainTextResponse, operation_id="logs")
async def logs(
    plane: Plane,
    name: Name,
    tail: Annotated[int, Query(ge=0, le=100_000)] = 200,
    follow: bool = False,
) -> Response:
    """The deployment's worker log: the last `tail` lines, then new lines as they come with `follow`."""
    plane.registry.get(name)
    path = logfiles.log_path(plane.settings.home, name)
    lines = logfiles.tail(path, tail)
    if not follow:
        return PlainTextResponse("".join(f"{line}\n" for line in lines))

    async def stream() -> AsyncIterator[str]:
        offset = logfiles.size(path)
        for line in lines:
            yield f"{line}\n"
        async for line in logfiles.follow(path, offset):
            yield f"{line}\n"

    return StreamingResponse(stream(), media_type="text/plain; charset=utf-8")
