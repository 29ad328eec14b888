"""Model cache routes (list, pull with NDJSON progress, remove) and preflight."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from fastapi.responses import StreamingResponse

from berth.api.types import (
    CachedModel,
    PreflightPublic,
    PullDoneLine,
    PullErrorLine,
    PullProgressLine,
    PullRequest,
    SourceDescription,
)
from berth.control import cache
from berth.control.api.deps import Plane
from berth.errors import BerthError, InvalidSpec
from berth.sourcekind import absolute_source, classify, default_name
from berth.sources import (
    DownloadProgress,
    ResolvedSource,
    SourceKind,
    check_preflight,
    fetch,
    preflight,
    resolve_source,
)
from berth.spec import DeploymentSpec, parse_spec

router = APIRouter(tags=["models"])


@router.post("/preflight", response_model=PreflightPublic, operation_id="preflight")
async def run_preflight(
    spec: Annotated[dict[str, Any], Body(description="a deployment spec, as for /deploy")],
) -> PreflightPublic:
    """What the model needs (parameters, download, memory) and whether this host can run it."""
    parsed = parse_spec(spec)
    source = resolve_source(parsed.model)
    report = await asyncio.to_thread(preflight, parsed, source)
    runtime, task = await asyncio.to_thread(_detect, parsed, source, report.cached)
    return PreflightPublic(
        runtime=runtime or report.runtime,
        task=task or report.task,
        activation_bytes=report.activation_bytes,
        source_kind=source.kind,
        default_name=default_name(absolute_source(parsed.model.source)),
        parameters=report.parameters,
        download_bytes=report.download_bytes,
        memory_bytes=report.memory_bytes,
        dtype=report.dtype,
        device=report.device,
        fits=report.fits,
        reasons=list(report.reasons),
        basis=report.basis,
        cached=report.cached,
    )


@router.get("/sources/describe", response_model=SourceDescription, operation_id="describe_source")
def describe_source(source: Annotated[str, Query(min_length=1)]) -> SourceDescription:
    """The kind of model source a string names and the deployment name it gets when none is given."""
    return SourceDescription(
        source=source, kind=classify(source), default_name=default_name(absolute_source(source))
    )


def _detect(spec: DeploymentSpec, source: ResolvedSource, cached: bool) -> tuple[str | None, str | None]:
    """The runtime and task the worker would pick, when the files are here to read (never downloads)."""
    if source.kind is SourceKind.HUB and not cached:
        return None, None
    from berth.sources.tasks import detect  # reads config files only; no torch

    try:
        runtime, task = detect(fetch(spec, source), spec)
    except BerthError:
        return None, None  # preflight's own answer already says what is wrong
    return runtime.value, task.value


@router.get("/models", response_model=list[CachedModel], operation_id="list_models")
async def list_models(plane: Plane) -> list[CachedModel]:
    """Models in the Hugging Face cache, with the deployments that use each."""
    specs = [plane.registry.spec(d.name) for d in plane.registry.list()]
    return await asyncio.to_thread(cache.cached_models, specs)


@router.post("/models/pull", operation_id="pull_model")
async def pull_model(request: PullRequest) -> StreamingResponse:
    """Pull a hub model into the cache; the answer streams NDJSON progress lines, then the result."""
    spec = DeploymentSpec.model_validate(
        {
            "name": "pull",
            "model": {"source": request.source, "revision": request.revision, "file": request.file},
            "allow_pickle": request.allow_pickle,
            "trust_remote_code": request.trust_remote_code,
        }
    )
    source = resolve_source(spec.model)
    if source.kind is not SourceKind.HUB:
        raise InvalidSpec(
            f"{request.source!r} is not a hub model id; only hub models are pulled into the cache"
        )
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def on_progress(progress: DownloadProgress) -> None:
        line = PullProgressLine(
            bytes_done=progress.bytes_done, bytes_total=progress.bytes_total, filename=progress.filename
        )
        loop.call_soon_threadsafe(lines.put_nowait, line.model_dump_json())

    def pull() -> str:
        check_preflight(preflight(spec, source))
        return fetch(spec, source, on_progress=on_progress).revision or ""

    async def run() -> None:
        try:
            revision = await asyncio.to_thread(pull)
            model = await asyncio.to_thread(cache.find_cached, source.repo_id or request.source)
            if model is None:
                raise BerthError(f"{request.source!r} was pulled but is not in the cache; check HF_HOME")
            await lines.put(PullDoneLine(model=model, revision=revision or None).model_dump_json())
        except BerthError as exc:
            await lines.put(PullErrorLine(error={"code": exc.code, "message": exc.message}).model_dump_json())
        await lines.put(None)

    async def stream() -> AsyncIterator[str]:
        task = asyncio.create_task(run())
        try:
            while (line := await lines.get()) is not None:
                yield line + "\n"
        finally:
            await task

    return StreamingResponse(stream(), media_type="application/x-ndjson")


@router.delete("/models/{model_id:path}", status_code=204, operation_id="remove_model")
async def remove_model(plane: Plane, model_id: str) -> Response:
    """Delete a model from the cache (refused while a deployment uses it)."""
    specs = [plane.registry.spec(d.name) for d in plane.registry.list()]
    await asyncio.to_thread(cache.remove_model, model_id, specs)
    return Response(status_code=204)
