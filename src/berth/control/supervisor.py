"""The supervisor: one asyncio task that keeps every replica of every running deployment alive.

It notices a worker exiting within `LIVENESS_POLL_S`, probes `/health/ready` every
`HEALTH_INTERVAL_S`, and restarts a replica after `HEALTH_FAILURE_THRESHOLD` consecutive failed
probes. Restarts back off exponentially while a replica keeps crashing; after `MAX_CRASH_RESTARTS`
crashes in a row (or one exit code that a retry cannot fix) it gives up and marks the deployment
failed with the worker's own reason. State changes go to the registry and the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from berth.api.types import DeploymentState, DesiredState
from berth.control import logfiles
from berth.control.bus import Bus
from berth.control.db import utcnow
from berth.control.launcher import NO_PROCESS, WorkerHandle, WorkerTemplate, adopt, spawn_worker
from berth.control.registry import Registry
from berth.errors import (
    BerthError,
    InvalidSpec,
    ModelError,
    ModelNotFound,
    ModelTooLarge,
    PortUnavailable,
    RequestTimeout,
    error_for_exit,
)
from berth.events import Event, Stage
from berth.net import connect_host, port_free
from berth.settings import Settings
from berth.spec import DeploymentSpec

log = logging.getLogger("berth.supervisor")

LIVENESS_POLL_S = 0.5
MAX_CRASH_RESTARTS = 3
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 60.0  # a replica ready this long has stopped crash-looping
READY_TIMEOUT_S = 600.0  # loading a cached model; downloads happen before the worker starts
# Errors that no retry can fix: bad spec/input/policy, not found, too large (exit codes: berth.errors).
FATAL_ERRORS: tuple[type[BerthError], ...] = (InvalidSpec, ModelNotFound, ModelTooLarge)

EventCallback = Callable[[Event], None]


@dataclass
class Replica:
    name: str
    index: int
    port: int
    handle: WorkerHandle
    state: DeploymentState = DeploymentState.DEPLOYING
    restarts: int = 0
    crash_streak: int = 0
    health_failures: int = 0
    ready_at: float | None = None  # monotonic time it last became ready
    log_offset: int = 0  # where this process's output starts in the deployment's log
    task: asyncio.Task[None] | None = field(default=None, repr=False)  # a restart in progress


class Supervisor:
    def __init__(self, settings: Settings, registry: Registry, bus: Bus) -> None:
        self.settings, self.registry, self.bus = settings, registry, bus
        self.connect_host = connect_host(settings.host)  # where workers are reached from here
        self._replicas: dict[str, dict[int, Replica]] = {}
        self._managed: set[str] = set()  # deployments past their deploy, under watch
        self._round_robin: dict[str, int] = {}
        self._specs: dict[str, DeploymentSpec] = {}  # of running deployments: the proxy's hot path
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(5.0), trust_env=False)
        self._monitor: asyncio.Task[None] | None = None
        self.template = (
            WorkerTemplate(settings.home, settings.home / "template.log")
            if settings.preload_workers
            else None
        )
        self._background: set[asyncio.Task[None]] = set()

    # lifecycle

    def start_template(self) -> None:
        """Start the pre-imported template process early; it needs seconds before it can fork."""
        if self.template is not None:
            self.template.start()

    def start(self) -> None:
        self._monitor = asyncio.create_task(self._watch(), name="berth-supervisor")

    async def close(self) -> None:
        """Stop watching and drain every worker; desired states stay, so the next start restores them."""
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        for name in list(self._replicas):
            await self.stop(name, forget=False)
        if self.template is not None:
            self.template.stop()
        await self._http.aclose()

    # what the proxy and the API read

    def spec(self, name: str) -> DeploymentSpec:
        """The spec a deployment runs with, from memory while it runs (a registry read costs ~0.4 ms)."""
        spec = self._specs.get(name)
        return spec if spec is not None else self.registry.spec(name)

    def running(self) -> list[str]:
        """Deployments past their deploy and under watch."""
        return sorted(self._managed)

    def uptime_s(self, name: str) -> float | None:
        """Seconds since the longest-ready replica of `name` became ready."""
        times = [r.ready_at for r in self._replicas.get(name, {}).values() if r.ready_at is not None]
        return round(time.monotonic() - min(times), 1) if times else None

    def ready_ports(self, name: str) -> list[int]:
        return [r.port for r in self._replicas.get(name, {}).values() if r.state is DeploymentState.READY]

    def next_port(self, name: str) -> int | None:
        """Round-robin over ready replicas."""
        ports = self.ready_ports(name)
        if not ports:
            return None
        turn = self._round_robin.get(name, 0)
        self._round_robin[name] = turn + 1
        return ports[turn % len(ports)]

    def processes(self) -> list[tuple[str, int, int | None, int]]:
        """(deployment, replica index, port, pid) of every live worker, for `berth top`."""
        return [
            (r.name, r.index, r.port, r.handle.pid)
            for replicas in self._replicas.values()
            for r in replicas.values()
            if r.handle.alive()
        ]

    # starting and stopping

    async def launch(
        self, spec: DeploymentSpec, index: int, on_event: EventCallback | None = None
    ) -> Replica:
        """Start replica `index` of `spec` and wait until it is ready; raise the worker's own reason."""
        for _ in range(3):  # another process may take a free port between our check and the bind
            replica = self._spawn(spec, index, self._pick_port(spec, index))
            try:
                await self._until_ready(replica, on_event)
                return replica
            except PortUnavailable:
                if spec.port is not None:
                    raise
        raise PortUnavailable(f"could not bind a port in BERTH_WORKER_PORTS={self.settings.worker_ports}")

    def check_ports(self, spec: DeploymentSpec) -> None:
        """Raise `PortUnavailable` now if no port could be given to this spec's replicas."""
        for index in range(spec.replicas if spec.port is not None else 1):
            self._pick_port(spec, index)

    def manage(self, name: str) -> None:
        """Hand a deployed deployment over to the watch loop."""
        self._managed.add(name)

    async def stop(self, name: str, *, forget: bool = True) -> None:
        """Drain and stop every replica of `name` (in-flight requests finish first)."""
        self._managed.discard(name)
        self._specs.pop(name, None)
        replicas = self._replicas.pop(name, {})
        for replica in replicas.values():
            if replica.task is not None and replica.task is not asyncio.current_task():
                replica.task.cancel()
        grace = self._grace(name)
        await asyncio.gather(*(replica.handle.stop(grace) for replica in replicas.values()))
        if not self.registry.exists(name):
            return
        if forget:
            self.registry.drop_replicas(name)
        else:
            for replica in replicas.values():
                self.registry.set_replica(name, replica.index, pid=None, state=DeploymentState.STOPPED)

    async def restart(self, name: str) -> None:
        """Replace each replica's process in turn, waiting for each to be ready before the next."""
        spec = self.registry.spec(name)
        for replica in sorted(self._replicas.get(name, {}).values(), key=lambda r: r.index):
            if replica.task is not None:  # a recovery in progress: this restart supersedes it
                replica.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await replica.task
            # the watch loop leaves a replica alone while it has a task, so it neither probes the
            # process being replaced nor "recovers" it from under this restart
            replica.task = asyncio.current_task()  # type: ignore[assignment]
            try:
                self._set_replica_state(replica, DeploymentState.RESTARTING)
                await replica.handle.stop(self._grace(name))
                await self._respawn(spec, replica)
                replica.health_failures = 0
                self._set_replica_state(replica, DeploymentState.READY)
            except BerthError as exc:
                replica.task = None
                self._recover(replica, exc.message)  # keep trying, with back-off, as after a crash
            finally:
                if replica.task is asyncio.current_task():
                    replica.task = None

    def kill_recorded(self, name: str) -> None:
        """Kill workers a previous control plane recorded for `name` (an interrupted deploy)."""
        for replica in self.registry.get(name).replicas:
            handle = adopt(replica.pid, self.registry.process_started(name, replica.index))
            if handle is not None:
                handle.kill()
        self.registry.drop_replicas(name)

    async def restore(self, name: str) -> None:
        """After a control-plane restart: adopt live workers of `name`, restart dead ones."""
        spec = self.registry.spec(name)
        self._specs[name] = spec
        deployment = self.registry.get(name)
        recorded = {replica.index: replica for replica in deployment.replicas}
        self._replicas[name] = {}
        for index in range(spec.replicas):
            row = recorded.get(index)
            handle = adopt(row.pid, self.registry.process_started(name, index)) if row else None
            port = row.port if row is not None and row.port is not None else self._pick_port(spec, index)
            replica = Replica(name, index, port, handle or NO_PROCESS, restarts=row.restarts if row else 0)
            self._replicas[name][index] = replica
            if handle is not None and await self._probe(port):
                log.info("adopted %s replica %d (pid %d, port %d)", name, index, handle.pid, port)
                self._set_replica_state(replica, DeploymentState.READY)
                replica.ready_at = time.monotonic()
            elif handle is not None:
                replica.health_failures = 1
                self._set_replica_state(replica, DeploymentState.UNHEALTHY)
            else:
                counted = row is not None and row.state is not DeploymentState.STOPPED
                self._recover(replica, "its worker was not running when the control plane started", counted)
        self.manage(name)
        self._refresh(name)

    # internals: processes

    def _spawn(self, spec: DeploymentSpec, index: int, port: int) -> Replica:
        self._specs[spec.name] = spec
        log_file = logfiles.log_path(self.settings.home, spec.name)
        offset = logfiles.size(log_file)
        env = {
            "BERTH_LOG_FORMAT": str(self.settings.log_format),
            "BERTH_LOG_LEVEL": str(self.settings.log_level),
        }
        handle = spawn_worker(
            self._spec_file(spec), self.settings.host, port, log_file, env, self.template, replica=index
        )
        replica = self._replicas.setdefault(spec.name, {}).get(index)
        if replica is None:
            replica = Replica(spec.name, index, port, handle)
            self._replicas[spec.name][index] = replica
        replica.port, replica.handle, replica.ready_at = port, handle, None
        replica.log_offset = offset
        self.registry.set_replica(
            spec.name,
            index,
            pid=handle.pid,
            process_started=handle.process_started,
            port=port,
            state=replica.state,
            restarts=replica.restarts,
            started_at=utcnow(),
        )
        return replica

    async def _until_ready(self, replica: Replica, on_event: EventCallback | None) -> None:
        reader = logfiles.EventReader(logfiles.log_path(self.settings.home, replica.name), replica.log_offset)
        reason: str | None = None
        relayed: set[Stage] = set()

        def relay() -> None:
            nonlocal reason
            for event in reader.read():
                if event.stage is Stage.FAILED:
                    reason = event.message
                elif on_event is not None and event.stage in (Stage.LOADING, Stage.CREATING, Stage.STARTING):
                    relayed.add(event.stage)
                    on_event(event)

        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            relay()
            if not replica.handle.alive():
                relay()
                raise _exit_error(replica, reason, reader.exit_code)
            if await self._probe(replica.port):
                relay()
                if on_event is not None and Stage.STARTING not in relayed:  # it may not be written yet
                    url = f"http://{self.connect_host}:{replica.port}"
                    on_event(Event.at(replica.name, Stage.STARTING, f"listening on {url}"))
                replica.state, replica.ready_at, replica.health_failures = (
                    DeploymentState.READY,
                    time.monotonic(),
                    0,
                )
                self.registry.set_replica(replica.name, replica.index, state=DeploymentState.READY)
                return
            if time.monotonic() > deadline:
                await replica.handle.stop(5)
                raise RequestTimeout(
                    f"the worker did not become ready within {READY_TIMEOUT_S:.0f} s; "
                    f"see `berth logs {replica.name}`"
                )
            await asyncio.sleep(0.05)

    async def _respawn(self, spec: DeploymentSpec, replica: Replica) -> None:
        port = (
            replica.port
            if port_free(self.settings.host, replica.port)
            else self._pick_port(spec, replica.index)
        )
        self._spawn(spec, replica.index, port)
        await self._until_ready(replica, None)

    async def ready_info(self, port: int, timeout_s: float = 2.0) -> dict[str, Any] | None:
        """The worker's readiness body (task, runtime, revision), or None while it is not ready."""
        try:
            response = await self._http.get(
                f"http://{self.connect_host}:{port}/health/ready", timeout=timeout_s
            )
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        return body if isinstance(body, dict) else None

    async def _probe(self, port: int, timeout_s: float = 2.0) -> bool:
        return await self.ready_info(port, timeout_s) is not None

    def _pick_port(self, spec: DeploymentSpec, index: int) -> int:
        host = self.settings.host
        if spec.port is not None:
            port = spec.port + index
            if not port_free(host, port):
                raise PortUnavailable(f"port {port} is already in use; free it or leave `port` unset")
            return port
        taken = {r.port for replicas in self._replicas.values() for r in replicas.values()}
        taken |= {r.port for d in self.registry.list() for r in d.replicas if r.port is not None and r.pid}
        for port in self.settings.worker_port_range:
            if port not in taken and port_free(host, port):
                return port
        raise PortUnavailable(
            f"no free port in BERTH_WORKER_PORTS={self.settings.worker_ports}; "
            "stop a deployment or widen the range"
        )

    def _spec_file(self, spec: DeploymentSpec) -> Path:
        folder = self.settings.home / "deployments" / spec.name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "spec.json"
        # the spec's env may hold tokens: readable by the owner only
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(spec.model_dump_json(indent=2))
        return path

    def _grace(self, name: str) -> float:
        try:
            return self.registry.spec(name).limits.request_timeout_s + 5
        except BerthError:
            return 35.0

    # internals: the watch loop

    async def _watch(self) -> None:
        next_probe = 0.0
        next_rotation = 0.0
        while True:
            await asyncio.sleep(LIVENESS_POLL_S)
            now = time.monotonic()
            probing = now >= next_probe
            if probing:
                next_probe = now + self.settings.health_interval_s
            checks = []
            for name in list(self._managed):
                for replica in list(self._replicas.get(name, {}).values()):
                    if replica.task is not None or replica.state is DeploymentState.FAILED:
                        continue
                    if not replica.handle.alive():
                        self._recover(replica, _exit_reason(replica))
                    elif probing:
                        checks.append(self._health_check(replica))
            if checks:
                await asyncio.gather(*checks)
            if now >= next_rotation:
                next_rotation = now + 30
                for name in list(self._replicas):
                    logfiles.rotate_if_large(logfiles.log_path(self.settings.home, name))

    async def _health_check(self, replica: Replica) -> None:
        if await self._probe(replica.port, timeout_s=min(5.0, self.settings.health_interval_s)):
            replica.health_failures = 0
            if replica.state is DeploymentState.UNHEALTHY:
                self._set_replica_state(replica, DeploymentState.READY)
            return
        if replica.task is not None or not replica.handle.alive():
            return  # already being handled
        replica.health_failures += 1
        threshold = self.settings.health_failure_threshold
        log.warning(
            "%s replica %d failed a health check (%d/%d)",
            replica.name,
            replica.index,
            replica.health_failures,
            threshold,
        )
        if replica.health_failures >= threshold:
            self._recover(replica, f"its readiness probe failed {replica.health_failures} times in a row")
        elif replica.state is not DeploymentState.UNHEALTHY:
            self._set_replica_state(replica, DeploymentState.UNHEALTHY)

    def _recover(self, replica: Replica, reason: str, counted: bool = True) -> None:
        replica.task = asyncio.create_task(self._restart_loop(replica, reason, counted))

    async def _restart_loop(self, replica: Replica, reason: str, counted: bool) -> None:
        spec = self.registry.spec(replica.name)
        try:
            while True:
                log.warning("restarting %s replica %d: %s", replica.name, replica.index, reason)
                self._set_replica_state(replica, DeploymentState.RESTARTING, reason)
                await replica.handle.stop(self._grace(replica.name))
                stable = (
                    replica.ready_at is not None and time.monotonic() - replica.ready_at >= STABLE_AFTER_S
                )
                replica.crash_streak = 1 if stable else replica.crash_streak + 1
                if replica.crash_streak > MAX_CRASH_RESTARTS:
                    self._give_up(
                        replica,
                        f"the worker keeps failing ({reason}); gave up after "
                        f"{MAX_CRASH_RESTARTS} restarts; see `berth logs {replica.name}`",
                    )
                    return
                if counted:
                    replica.restarts += 1
                counted = True
                await asyncio.sleep(backoff_s(replica.crash_streak))
                try:
                    await self._respawn(spec, replica)
                except BerthError as exc:
                    if isinstance(exc, FATAL_ERRORS):
                        self._give_up(replica, exc.message)
                        return
                    reason = exc.message
                    continue
                replica.health_failures = 0
                self._set_replica_state(replica, DeploymentState.READY)
                return
        finally:
            replica.task = None

    def _give_up(self, replica: Replica, reason: str) -> None:
        log.error("%s replica %d failed: %s", replica.name, replica.index, reason)
        self._set_replica_state(replica, DeploymentState.FAILED, reason)

    def _set_replica_state(self, replica: Replica, state: DeploymentState, reason: str | None = None) -> None:
        replica.state = state
        self.registry.set_replica(replica.name, replica.index, state=state, restarts=replica.restarts)
        if state is not DeploymentState.READY or replica.name in self._managed:
            self._refresh(replica.name, reason)

    def _refresh(self, name: str, reason: str | None = None) -> None:
        """Derive the deployment's state from its replicas' and publish a change."""
        if name not in self._managed or not self.registry.exists(name):
            return
        states = {r.state for r in self._replicas.get(name, {}).values()}
        if states == {DeploymentState.READY}:
            state = DeploymentState.READY
        elif DeploymentState.FAILED in states:
            state = DeploymentState.FAILED
        elif DeploymentState.UNHEALTHY in states:
            state = DeploymentState.UNHEALTHY
        else:
            state = DeploymentState.RESTARTING
        current = self.registry.get(name)
        if current.state is state and state is not DeploymentState.FAILED:
            return
        last_error = reason if state is not DeploymentState.READY else current.last_error
        code = ModelError.code if state is DeploymentState.FAILED else current.last_error_code
        self.registry.update(name, state=state, last_error=last_error, last_error_code=code)
        self.bus.state(name, state, last_error, code)
        if state in (DeploymentState.UNHEALTHY, DeploymentState.FAILED, DeploymentState.RESTARTING):
            self._alert(name, state, reason)

    def _alert(self, name: str, state: DeploymentState, reason: str | None) -> None:
        url = self.settings.alert_webhook_url
        if not url:
            return
        body = {"deployment": name, "state": state, "reason": reason, "ts": time.time()}

        async def post() -> None:
            try:
                await self._http.post(url, json=body, timeout=5)
            except httpx.HTTPError as exc:
                log.warning("the alert webhook failed: %s", exc)

        task = asyncio.create_task(post())
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def backoff_s(attempt: int) -> float:
    """1, 2, 4, ... seconds before restart number `attempt`, capped."""
    return float(min(BACKOFF_BASE_S * 2 ** (attempt - 1), BACKOFF_MAX_S))


def _exit_error(replica: Replica, reason: str | None, logged_code: int | None = None) -> BerthError:
    code = replica.handle.exit_code()
    code = logged_code if code is None else code
    return error_for_exit(code)(reason or _exit_reason(replica))


def _exit_reason(replica: Replica) -> str:
    code = replica.handle.exit_code()
    how = (
        f"was killed by signal {-code}"
        if code is not None and code < 0
        else f"exited with code {code}"
        if code is not None
        else "exited"
    )
    return f"the worker {how}; see `berth logs {replica.name}`"


__all__ = ["DesiredState", "Replica", "Supervisor"]
