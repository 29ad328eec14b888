"""A worker's life: validate, preflight, fetch, load, warm up, serve, drain — reporting each stage.

Stages go to stdout as event lines (`berth.events`) so a parent can follow them; logs go to stderr.
The model is loaded and warmed up on the one thread that will serve it (warming on another
thread doubled batch-1 latency: docs/decisions.md), and the port is bound only once the model is
ready, so a listening worker is a ready worker.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import uvicorn

from berth import proctitle
from berth.errors import BerthError, PortUnavailable
from berth.events import Event, Stage, emit
from berth.runtimes.base import Runtime
from berth.server import GracefulServer
from berth.settings import Settings
from berth.sources import SourceKind, check_preflight, fetch, preflight, resolve_source
from berth.sources.types import DownloadProgress, ProgressCallback
from berth.spec import DeploymentSpec
from berth.worker.app import create_app
from berth.worker.service import ModelService

log = logging.getLogger("berth.worker")


def run_worker(
    spec: DeploymentSpec, settings: Settings, host: str, port: int | None, replica: int = 0
) -> int:
    """Serve `spec` as its replica `replica` until SIGTERM/SIGINT; return the process exit code."""
    try:
        sock = bind(host, port or spec.port, settings.worker_port_range)
        proctitle.set_title(proctitle.worker(spec.name, replica, sock.getsockname()[1]))
        runtime, lanes = prepare(spec, settings)
    except BerthError as exc:
        log.error("%s", exc.message)
        emit(Event(deployment=spec.name, stage=Stage.FAILED, progress=None, message=exc.message))
        return exc.exit_code
    except Exception:
        log.exception("the worker failed to start")
        message = "the worker failed to start; its log has the details"
        emit(Event(deployment=spec.name, stage=Stage.FAILED, progress=None, message=message))
        return 1
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve(spec, settings, runtime, lanes, sock))
    finally:
        lanes[0].submit(runtime.close).result()
        for lane in lanes:
            lane.shutdown()
    return 0


def prepare(spec: DeploymentSpec, settings: Settings) -> tuple[Runtime, list[ThreadPoolExecutor]]:
    """Everything before serving: the validating → creating stages. Returns the runtime and its model
    threads ("lanes", berth.worker.batcher), each warmed up on itself."""
    from berth.runtimes import build_runtime  # imports nothing heavy until a runtime loads

    name = spec.name
    emit(Event.at(name, Stage.VALIDATING, f"checking {spec.model.source}"))
    source = resolve_source(spec.model)
    if source.kind is not SourceKind.HUB:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing to fetch: never wait on a hub
    report = preflight(spec, source)
    check_preflight(report)
    model = fetch(spec, source, on_progress=_download_reporter(name), timeout_s=settings.download_timeout_s)

    first = ThreadPoolExecutor(max_workers=1, thread_name_prefix="berth-model")
    runtime = build_runtime(model, spec)
    emit(Event.at(name, Stage.LOADING, f"loading weights onto {runtime.device} ({runtime.name} runtime)"))
    first.submit(runtime.load).result()
    lanes = [first]
    lanes += [ThreadPoolExecutor(1, thread_name_prefix=f"berth-model-{i}") for i in range(1, runtime.lanes())]
    emit(Event.at(name, Stage.CREATING, f"warming up the {runtime.task} pipeline"))
    for index, lane in enumerate(lanes):  # the first call at a thread count is slow: warm each one used
        # only the first lane ever runs alone (berth.worker.batcher)
        for sharing in sorted({1, len(lanes)} if index == 0 else {len(lanes)}):
            lane.submit(_warm_up, runtime, sharing).result()
    # NOTE: the libraries and the loaded model are millions of objects that live as long as the
    # process; each full collection walked them all (~220 ms with MiniLM, the p99 of a loaded worker).
    # Freezing moves them out of the collector's sight, so it scans only what serving allocates.
    gc.collect()
    gc.freeze()
    return runtime, lanes


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # Windows: the default loop
        return None
    return uvloop.new_event_loop


def _warm_up(runtime: Runtime, sharing: int) -> None:
    item = runtime.warmup_input()
    if item is not None:
        runtime.set_concurrency(sharing)
        runtime.predict([runtime.validate_input(item)], runtime.warmup_params())


def _download_reporter(name: str) -> ProgressCallback:
    # NOTE: `fetch` calls back only as often as berth.sources.progress.Throttle lets it; emit each one.
    def report(progress: DownloadProgress) -> None:
        message = f"downloaded {progress.bytes_done} of {progress.bytes_total} bytes"
        emit(Event.download(name, progress.bytes_done, progress.bytes_total, message))

    return report


def bind(host: str, port: int | None, pool: range) -> socket.socket:
    """A socket bound to `port`, or to the first free port of `pool` when none is asked for.

    Bound before the model loads, so the port is ours; it listens only once the model is ready, so
    until then a probe is refused at once rather than left waiting.
    """
    candidates = [port] if port else list(pool)
    for candidate in candidates:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError:
            sock.close()
            continue
        return sock
    if port:
        raise PortUnavailable(f"port {port} on {host} is in use; stop what uses it or choose another port")
    raise PortUnavailable(
        f"no free port in {pool.start}-{pool.stop - 1} (BERTH_WORKER_PORTS) on {host}; "
        "stop other deployments or widen the range"
    )


async def _serve(
    spec: DeploymentSpec,
    settings: Settings,
    runtime: Runtime,
    lanes: list[ThreadPoolExecutor],
    sock: socket.socket,
) -> None:
    service = ModelService(spec, runtime, lanes)
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    app = create_app(service, api_key)
    config = uvicorn.Config(
        app,
        http="httptools",
        lifespan="on",
        access_log=False,
        proxy_headers=False,  # the worker reads no client address: skip the middleware
        server_header=False,
        log_config=None,
        timeout_graceful_shutdown=int(spec.limits.request_timeout_s) + 1,
        timeout_keep_alive=30,
    )
    server = GracefulServer(config)
    host, port = sock.getsockname()[:2]
    endpoint = f"http://{host if ':' not in host else f'[{host}]'}:{port}"

    async def announce() -> None:
        while not server.started:  # noqa: ASYNC110 - uvicorn signals start-up with a flag only
            await asyncio.sleep(0.005)
        emit(Event.at(spec.name, Stage.STARTING, f"listening on {endpoint}"))
        emit(Event.at(spec.name, Stage.COMPLETED, f"ready at {endpoint}/predict"))
        log.info("deployment %s ready at %s (%s, %s)", spec.name, endpoint, runtime.name, runtime.device)

    sock.listen(2048)
    announcer = asyncio.create_task(announce())
    await server.serve(sockets=[sock])
    announcer.cancel()
