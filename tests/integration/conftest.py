"""Real worker processes on free loopback ports, followed through their event lines."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from berth import proctitle
from berth.events import Event, parse_event_line
from tests.conftest import free_port
from tests.hub_server import FakeHub

REPO = Path(__file__).resolve().parents[2]


@dataclass
class WorkerProcess:
    process: subprocess.Popen[str]
    port: int
    stderr_path: Path
    events: list[Event] = field(default_factory=list)
    stdout_lines: list[str] = field(default_factory=list)
    _reader: threading.Thread = field(init=False)

    def follow(self) -> None:
        """Read event lines until the process closes stdout; start once, in a thread."""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self.stdout_lines.append(line)
                event = parse_event_line(line)
                if event is not None:
                    self.events.append(event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.stderr()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"worker not ready after {timeout_s} s:\n{self.stderr()}")

    def wait_exit(self, timeout_s: float = 120) -> int:
        code = self.process.wait(timeout=timeout_s)
        self._reader.join(timeout=5)
        return code

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        return self.process.returncode

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def launch_worker(
    spec: dict[str, Any], tmp_path: Path, *, port: int | None = None, env: dict[str, str] | None = None
) -> WorkerProcess:
    """Start `python -m berth.worker` on a spec; its events are collected as they arrive."""
    spec_file = tmp_path / f"{spec.get('name', 'spec')}.yaml"
    spec_file.write_text(yaml.safe_dump(spec))
    port = port or free_port()
    stderr_path = tmp_path / f"{spec.get('name', 'worker')}-{port}.log"
    process_env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), **(env or {})}
    with stderr_path.open("w") as stderr:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "berth.worker", str(spec_file), "--port", str(port)],
            cwd=REPO,
            env=process_env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    worker = WorkerProcess(process, port, stderr_path)
    worker.follow()
    return worker


HUB_REPO_ID = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.fixture
def hub(minilm_path: Path) -> Iterator[FakeHub]:
    """A loopback hub serving the real MiniLM folder as `HUB_REPO_ID`, throttled so progress shows."""
    hub = FakeHub(throttle_bytes_per_s=40_000_000).start()
    hub.add_repo(HUB_REPO_ID, minilm_path)
    yield hub
    hub.stop()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    """Every worker a test launches is stopped by PID afterwards, even when the test fails."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


@dataclass
class ControlPlaneProcess:
    """`python -m berth.control` in a subprocess with its own BERTH_HOME, HF cache and ports."""

    home: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    python: str = sys.executable  # the interpreter it (and so each worker it starts) runs on

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.home / "control-plane.log"

    def start(self, timeout_s: float = 60) -> ControlPlaneProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [self.python, "-m", "berth.control"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"control plane exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"control plane not ready after {timeout_s} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no clean-up runs, as when the machine's OOM killer strikes."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> int | None:
        if "api" in self.__dict__:
            self.__dict__.pop("api").close()
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def worker_log(self, name: str) -> str:
        path = self.home / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @functools.cached_property
    def api(self) -> httpx.Client:
        """An HTTP client on this control plane (with its API key, if any), closed at stop."""
        return httpx.Client(base_url=self.url, timeout=30, headers=self._auth())

    def deployment(self, name: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/api/v1/deployments/{name}", headers=self._auth(), timeout=10)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def wait_state(self, name: str, *states: str, timeout_s: float = 180) -> dict[str, Any]:
        """Poll until the deployment is in one of `states`; fail with its log if it never gets there."""
        deadline = time.monotonic() + timeout_s
        deployment: dict[str, Any] = {}
        while time.monotonic() < deadline:
            deployment = self.deployment(name)
            if deployment["state"] in states:
                return deployment
            time.sleep(0.1)
        raise AssertionError(
            f"{name} is {deployment.get('state')}, not {states}, after {timeout_s} s\n"
            f"{deployment}\n--- worker log ---\n{self.worker_log(name)[-4000:]}\n--- control plane ---\n"
            f"{self.log()[-4000:]}"
        )

    def recorded_pids(self) -> list[int]:
        import sqlite3

        database = self.home / "berth.db"
        if not database.exists():
            return []
        with contextlib.closing(sqlite3.connect(database)) as connection:
            rows = connection.execute("SELECT pid FROM replicas WHERE pid IS NOT NULL").fetchall()
        return [pid for (pid,) in rows]

    def _auth(self) -> dict[str, str]:
        key = self.env.get("BERTH_API_KEY")
        return {"Authorization": f"Bearer {key}"} if key else {}


def worker_port_range(size: int = 16) -> str:
    """A block of ports nobody listens on, so parallel and leftover workers never collide."""
    import random

    for _ in range(100):
        first = random.randint(20000, 60000 - size)
        if all(_port_is_free(port) for port in range(first, first + size)):
            return f"{first}-{first + size - 1}"
    raise RuntimeError("no free block of ports on this machine")


def _port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def plane_env(home: Path, hf_home: Path, port: int, **extra_env: str) -> dict[str, str]:
    """A test control plane's environment: this one's, less any BERTH_ setting, on loopback ports."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("BERTH_")}
    return {
        **inherited,
        "BERTH_HOME": str(home),
        "BERTH_PORT": str(port),
        "BERTH_URL": f"http://127.0.0.1:{port}",
        "BERTH_WORKER_PORTS": worker_port_range(),
        "BERTH_HEALTH_INTERVAL_S": "1",
        # new processes by default: deterministic, and no template importing torch beside each test
        "BERTH_PRELOAD_WORKERS": "false",
        "HF_HOME": str(hf_home),
        "HF_HUB_OFFLINE": "1",
        **extra_env,
    }


@pytest.fixture
def control_plane_factory(tmp_path: Path) -> Iterator[Any]:
    """Start control planes on demand (`factory(**env)`); all are stopped, and their workers killed."""
    started: list[ControlPlaneProcess] = []

    def factory(**extra_env: str) -> ControlPlaneProcess:
        port = free_port()
        home = tmp_path / f"berth-home-{len(started)}"
        plane = ControlPlaneProcess(
            home=home, port=port, env=plane_env(home, tmp_path / "hf", port, **extra_env)
        )
        started.append(plane)
        return plane.start()

    yield factory
    for plane in started:
        plane.stop()
        for pid in plane.recorded_pids():  # workers orphaned by a kill -9 of their control plane
            _kill_worker(pid)


def _kill_worker(pid: int) -> None:
    import psutil

    try:
        process = psutil.Process(pid)
        cmdline = process.cmdline()
        if "berth.worker" in " ".join(cmdline) or proctitle.parse_worker(cmdline) is not None:
            process.kill()
            process.wait(10)
    except psutil.Error:
        pass


@pytest.fixture
def control_plane(control_plane_factory: Any) -> ControlPlaneProcess:
    """One control plane on a free loopback port with a temporary BERTH_HOME and HF cache."""
    plane: ControlPlaneProcess = control_plane_factory()
    return plane


def serve_worker(spec: dict[str, Any], folder: Path) -> Iterator[WorkerProcess]:
    """A ready worker on `spec` for as long as the caller iterates; stopped afterwards (for fixtures)."""
    worker = launch_worker(spec, folder)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()
