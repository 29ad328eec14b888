"""The deployer: takes a spec through its progress stages (docs/protocols.md), `initializing` to `completed`.

Validation, preflight and the download run here (huggingface_hub, no torch), so progress is
byte-accurate and a model that cannot fit is refused before anything is fetched. The worker then
loads from the warm cache and reports its own loading/creating/starting stages through its log,
which are relayed. Any failure ends in `failed` with one sentence, every started process stopped
and its port released; the HF cache only ever holds complete files, so nothing needs undoing there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from pydantic import ValidationError

from berth import requirements
from berth.api.types import DeploymentPublic, DeploymentState, DesiredState, SignaturePublic
from berth.control.bus import Bus
from berth.control.registry import Registry
from berth.control.supervisor import (
    FATAL_ERRORS,
    MAX_CRASH_RESTARTS,
    EventCallback,
    Replica,
    Supervisor,
    backoff_s,
)
from berth.control.usage import usage_examples
from berth.errors import BerthError, RequirementsUnmet
from berth.events import DOWNLOAD_SPAN, Event, Stage
from berth.settings import Settings
from berth.sources import (
    DownloadProgress,
    PreflightReport,
    ResolvedSource,
    SourceKind,
    check_preflight,
    fetch,
    preflight,
    resolve_source,
)
from berth.sources.extras import require_runtime_package, require_task_package
from berth.spec import DeploymentSpec, Task

log = logging.getLogger("berth.deployer")


class Deployer:
    def __init__(self, settings: Settings, registry: Registry, bus: Bus, supervisor: Supervisor) -> None:
        self.settings, self.registry, self.bus, self.supervisor = settings, registry, bus, supervisor
        self._runs: dict[str, asyncio.Task[None]] = {}

    # what the API calls

    async def deploy(
        self, spec: DeploymentSpec, *, replace: bool = False, install_requirements: bool = False
    ) -> DeploymentPublic:
        """Register `spec` and start deploying it in the background (409 if the name is taken).

        With `install_requirements`, this run pip-installs the spec's unmet `requirements:`.
        """
        resolve_source(spec.model)  # a missing folder or file is a clear error now, not a failed deploy
        if replace and self.registry.exists(spec.name):
            await self.remove(spec.name)
        elif self.registry.exists(spec.name):
            self.registry.create(spec)  # raises the 409 with its message
        self.supervisor.check_ports(spec)
        deployment = self.registry.create(spec)
        self._start_run(spec, install_requirements=install_requirements)
        return deployment

    async def start(self, name: str) -> DeploymentPublic:
        deployment = self.registry.get(name)
        if name in self._runs or deployment.state in (DeploymentState.READY, DeploymentState.UNHEALTHY):
            return self.registry.update(name, desired_state=DesiredState.RUNNING)
        await self.supervisor.stop(name)
        self.registry.update(
            name,
            state=DeploymentState.DEPLOYING,
            desired_state=DesiredState.RUNNING,
            last_error=None,
            last_error_code=None,
        )
        self.bus.state(name, DeploymentState.DEPLOYING)
        self._start_run(self.registry.spec(name))
        return self.registry.get(name)

    async def stop(self, name: str) -> DeploymentPublic:
        """Cancel a deploy in progress or drain the workers; the deployment stays, stopped."""
        self.registry.get(name)
        await self._cancel(name)
        await self.supervisor.stop(name)
        deployment = self.registry.update(
            name, state=DeploymentState.STOPPED, desired_state=DesiredState.STOPPED
        )
        self.bus.state(name, DeploymentState.STOPPED)
        return deployment

    async def restart(self, name: str) -> DeploymentPublic:
        deployment = self.registry.get(name)
        if name in self._runs or deployment.state not in (
            DeploymentState.READY,
            DeploymentState.UNHEALTHY,
            DeploymentState.RESTARTING,
        ):
            return await self.start(name)
        await self.supervisor.restart(name)
        return self.registry.get(name)

    async def remove(self, name: str) -> None:
        self.registry.get(name)
        await self._cancel(name)
        await self.supervisor.stop(name)
        self.registry.delete(name)
        self.bus.close(name)

    async def restore(self) -> None:
        """At start-up: bring back every deployment that should be running."""
        for deployment in self.registry.list():
            if deployment.desired_state is not DesiredState.RUNNING:
                continue
            if deployment.state is DeploymentState.DEPLOYING:
                log.info("resuming the interrupted deploy of %s", deployment.name)
                self.supervisor.kill_recorded(deployment.name)
                self._start_run(self.registry.spec(deployment.name))
            elif deployment.state is not DeploymentState.FAILED:
                await self.supervisor.restore(deployment.name)

    async def close(self) -> None:
        for name in list(self._runs):
            await self._cancel(name)

    # the stages

    def _start_run(self, spec: DeploymentSpec, *, install_requirements: bool = False) -> None:
        self.registry.clear_events(spec.name)  # a run's history starts at 0 %, never mixes with the last
        self._emit(Event.at(spec.name, Stage.INITIALIZING, f"deployment {spec.name!r} accepted"))
        task = asyncio.create_task(self._run(spec, install_requirements), name=f"deploy-{spec.name}")
        self._runs[spec.name] = task
        task.add_done_callback(
            lambda _: self._runs.pop(spec.name, None) if self._runs.get(spec.name) is task else None
        )

    async def _run(self, spec: DeploymentSpec, install_requirements: bool = False) -> None:
        name = spec.name
        try:
            source, report = await self._validate(spec, install_requirements)
            revision = await self._download(spec, source, report)
            if revision:
                self.registry.update(name, model_revision=revision)
            replicas = [await self._launch(spec, 0, self._emit)]
            if spec.replicas > 1:
                self._emit(Event.at(name, Stage.STARTING, f"starting {spec.replicas - 1} more replicas"))
                replicas += await asyncio.gather(*(self._launch(spec, i) for i in range(1, spec.replicas)))
            endpoint = f"http://{self.supervisor.connect_host}:{replicas[0].port}"
            info = await self.supervisor.ready_info(replicas[0].port) or {}
            signature = _signature(info)
            usage = usage_examples(
                name, endpoint, str(info.get("task", "")), self.settings.api_key is not None, signature
            )
            self.registry.update(
                name,
                state=DeploymentState.READY,
                usage=usage,
                signature=signature,
                last_error=None,
                model_revision=info.get("revision") or revision,
            )
            self.supervisor.manage(name)
            self._emit(Event.at(name, Stage.COMPLETED, f"Deployed! Available at {endpoint}"))
            self.bus.state(name, DeploymentState.READY)
        except asyncio.CancelledError:
            await self.supervisor.stop(name)
            if self.registry.exists(name):
                self._emit(
                    Event(
                        deployment=name, stage=Stage.FAILED, progress=None, message="the deploy was cancelled"
                    )
                )
            raise
        except BerthError as exc:
            await self._fail(name, exc.message, exc.code)
        except Exception:
            log.exception("deploying %s failed unexpectedly", name)
            message = "the deploy failed unexpectedly; the control plane's log has the details"
            await self._fail(name, message, "internal_error")

    async def _launch(
        self, spec: DeploymentSpec, index: int, on_event: EventCallback | None = None
    ) -> Replica:
        """Start a replica, retrying a crash at load a bounded number of times with backoff."""
        for attempt in range(1, MAX_CRASH_RESTARTS + 2):
            try:
                return await self.supervisor.launch(spec, index, on_event=on_event)
            except BerthError as exc:
                if isinstance(exc, FATAL_ERRORS) or attempt > MAX_CRASH_RESTARTS:
                    if attempt > 1:
                        exc.message = f"{exc.message} (after {attempt} attempts)"
                    raise
                delay = backoff_s(attempt)
                log.warning(
                    "%s replica %d failed to start (%s); retrying in %.0f s",
                    spec.name,
                    index,
                    exc.message,
                    delay,
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _validate(
        self, spec: DeploymentSpec, install_requirements: bool = False
    ) -> tuple[ResolvedSource, PreflightReport]:
        self._emit(Event.at(spec.name, Stage.VALIDATING, f"checking {spec.model.source} and whether it fits"))
        source = resolve_source(spec.model)
        if spec.requirements:
            await self._requirements(spec, install_requirements)
        report = await asyncio.to_thread(preflight, spec, source)
        check_preflight(report)
        require_task_package(report.task)  # forecasting's chronos-forecasting, not imported
        require_runtime_package(report.runtime or spec.runtime)  # llama-cpp's llama-cpp-python
        return source, report

    async def _requirements(self, spec: DeploymentSpec, install: bool) -> None:
        """Fail unless the spec's requirements are installed; with `install`, pip-install the unmet ones."""
        constraints = requirements.constraints_file(self.settings.constraints)
        missing = await asyncio.to_thread(requirements.unmet, spec.requirements)
        if not missing:
            return
        if not install:
            raise RequirementsUnmet(requirements.unmet_message(missing, constraints))
        texts = [item.requirement for item in missing]
        through = f" through {constraints}" if constraints else " (no constraints: set BERTH_CONSTRAINTS)"
        self._emit(Event.at(spec.name, Stage.VALIDATING, f"installing {', '.join(texts)}{through}"))
        loop = asyncio.get_running_loop()

        def on_line(line: str) -> None:
            loop.call_soon_threadsafe(self._emit, Event.at(spec.name, Stage.VALIDATING, f"pip: {line}"))

        try:
            await asyncio.to_thread(requirements.install, texts, constraints, on_line)
        except requirements.InstallFailed as exc:
            raise RequirementsUnmet(
                f"installing {', '.join(texts)} failed: {exc.last_error}; fix the requirement or install "
                f"it yourself with `{requirements.install_hint(texts, constraints)}`"
            ) from None
        still = await asyncio.to_thread(requirements.unmet, spec.requirements)
        if still:  # pip succeeded, yet a constraint or a marker left a requirement unmet
            raise RequirementsUnmet(requirements.unmet_message(still, constraints))
        self._emit(Event.at(spec.name, Stage.VALIDATING, f"installed {', '.join(texts)}"))

    async def _download(
        self, spec: DeploymentSpec, source: ResolvedSource, report: PreflightReport
    ) -> str | None:
        name, done_progress = spec.name, DOWNLOAD_SPAN[1]
        if source.kind is not SourceKind.HUB:
            self._emit(_downloading(name, done_progress, f"nothing to download: {source.reference} is local"))
            return None
        if report.cached:
            self._emit(_downloading(name, done_progress, f"{source.reference} is already in the cache"))
        loop = asyncio.get_running_loop()
        last = {"progress": -1.0}

        # NOTE: `fetch` calls back only as often as berth.sources.progress.Throttle lets it; emit each one.
        def on_progress(progress: DownloadProgress) -> None:
            event = Event.download(name, progress.bytes_done, progress.bytes_total, _bytes_message(progress))
            last["progress"] = event.progress or 0
            loop.call_soon_threadsafe(self._emit, event)

        model = await asyncio.to_thread(
            fetch, spec, source, on_progress=on_progress, timeout_s=self.settings.download_timeout_s
        )
        if not report.cached and last["progress"] < done_progress:
            self._emit(_downloading(name, done_progress, "download complete"))
        return model.revision

    async def _fail(self, name: str, reason: str, code: str) -> None:
        log.warning("deploying %s failed: %s", name, reason)
        await self.supervisor.stop(name)
        if not self.registry.exists(name):
            return
        self._emit(Event(deployment=name, stage=Stage.FAILED, progress=None, message=reason))
        self.registry.update(name, state=DeploymentState.FAILED, last_error=reason, last_error_code=code)
        self.bus.state(name, DeploymentState.FAILED, reason, code)

    async def _cancel(self, name: str) -> None:
        task = self._runs.pop(name, None)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _emit(self, event: Event) -> None:
        if self.registry.exists(event.deployment):
            self.bus.event(event)


def _signature(info: dict[str, Any]) -> SignaturePublic | None:
    """The signature in a worker's readiness body; None from a worker too old to report one."""
    try:
        signature = SignaturePublic.model_validate(info["signature"])
    except (KeyError, ValidationError):
        log.warning("the worker reported no readable signature; its usage examples assume text")
        return None
    # NOTE: the task rides in the recorded signature, so the playground knows what `task: auto` became
    # without a column of its own; a task this control plane does not know is left out, not fatal.
    task = info.get("task")
    return signature.model_copy(update={"task": Task(task) if task in set(Task) else None})


def _downloading(name: str, progress: float, message: str) -> Event:
    return Event(deployment=name, stage=Stage.DOWNLOADING, progress=progress, message=message)


def _bytes_message(progress: DownloadProgress) -> str:
    mb = 1024 * 1024
    what = f" ({progress.filename})" if progress.filename else ""
    return f"downloaded {progress.bytes_done / mb:.1f} of {progress.bytes_total / mb:.1f} MiB{what}"
