"""Starting, watching and stopping worker processes, including ones adopted after a restart.

Workers run in their own session with their output appended straight to the deployment's log
file, so a control plane that dies (even by `kill -9`) leaves them serving, and the next control
plane adopts them by pid. A pid is trusted only with the process start time recorded beside it:
a recycled pid belongs to someone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass
class WorkerHandle:
    pid: int
    process_started: float
    popen: subprocess.Popen[bytes] | None = None  # None for an adopted worker (not our child)

    def alive(self) -> bool:
        if self.pid <= 0:
            return False
        if self.popen is not None:
            return self.popen.poll() is None
        return _same_process_alive(self.pid, self.process_started)

    def exit_code(self) -> int | None:
        """The exit status of a child we started (negative: killed by that signal); None if unknown."""
        return self.popen.poll() if self.popen is not None else None

    async def stop(self, grace_s: float) -> None:
        """SIGTERM (the worker drains in-flight requests), then SIGKILL after `grace_s`."""
        if not self.alive():
            return
        self._signal(signal.SIGTERM)
        self._signal(signal.SIGCONT)  # a stopped (hung) process must run to act on SIGTERM
        deadline = asyncio.get_running_loop().time() + grace_s
        # NOTE: an adopted worker is not our child, so there is nothing to await but polling.
        while self.alive() and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if self.alive():
            self._signal(signal.SIGKILL)
            while self.alive():  # noqa: ASYNC110
                await asyncio.sleep(0.02)

    def kill(self) -> None:
        if self.alive():
            self._signal(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait()

    def _signal(self, signum: int) -> None:
        if self.pid <= 0:  # never signal a process group or every process
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)


NO_PROCESS = WorkerHandle(pid=-1, process_started=0.0)  # a replica whose worker is gone


def spawn_worker(
    spec_file: Path,
    host: str,
    port: int,
    log_file: Path,
    env: dict[str, str],
    template: WorkerTemplate | None = None,
    replica: int = 0,
) -> WorkerHandle:
    """Start a worker for replica `replica`, forked from `template` when it is up, else as a new process.

    Its stdout and stderr go to `log_file` either way.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    argv = [str(spec_file), "--host", host, "--port", str(port), "--replica", str(replica)]
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    if template is not None:
        pid = template.fork(argv, log_file, full_env)
        if pid is not None:
            return WorkerHandle(pid=pid, process_started=_start_time(pid))
    command = [sys.executable, "-m", "berth.worker", *argv]
    with log_file.open("ab") as log:  # the child keeps its own descriptor; O_APPEND keeps lines whole
        popen = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=full_env,
            start_new_session=True,  # survives the control plane; Ctrl-C in its terminal is not ours
        )
    return WorkerHandle(pid=popen.pid, process_started=_start_time(popen.pid), popen=popen)


class WorkerTemplate:
    """The control plane's side of `berth.worker.template`: start it, ask it for workers, stop it."""

    def __init__(self, home: Path, log_file: Path) -> None:
        digest = hashlib.sha1(str(home.resolve()).encode(), usedforsecurity=False).hexdigest()[:12]
        # AF_UNIX paths are limited to ~107 bytes, which a deep BERTH_HOME can exceed
        self.socket_path = Path(tempfile.gettempdir()) / f"berth-{os.getuid()}-{digest}.sock"
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start importing in the background; until it listens, workers start as new processes."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "berth.worker.template", str(self.socket_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def fork(self, argv: list[str], log_file: Path, env: dict[str, str]) -> int | None:
        """A forked worker's pid, or None when the template is not (yet) serving."""
        if self._process is None or self._process.poll() is not None:
            return None
        request = {"argv": argv, "log_file": str(log_file), "env": env}
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(10)
                connection.connect(str(self.socket_path))
                connection.sendall(json.dumps(request).encode() + b"\n")
                answer = json.loads(connection.makefile("rb").readline() or b"{}")
        except (OSError, ValueError):
            return None
        pid = answer.get("pid")
        return pid if isinstance(pid, int) and pid > 0 else None

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()


def adopt(pid: int | None, process_started: float | None) -> WorkerHandle | None:
    """A handle on a worker a previous control plane started, if that very process still runs."""
    if pid is None or process_started is None or not _same_process_alive(pid, process_started):
        return None
    return WorkerHandle(pid=pid, process_started=process_started)


def _start_time(pid: int) -> float:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return 0.0


def _same_process_alive(pid: int, process_started: float) -> bool:
    try:
        process = psutil.Process(pid)
        same = abs(process.create_time() - process_started) < 0.01
        return bool(same and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False
