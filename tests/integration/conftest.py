"""Real worker processes on free loopback ports, followed through their event lines."""

from __future__ import annotations

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

from berth.events import Event, parse_event_line
from tests.conftest import free_port

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


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    """Every worker a test launches is stopped by PID afterwards, even when the test fails."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()
