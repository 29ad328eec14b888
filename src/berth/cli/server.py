"""`berth up | down`: start the control plane (in the foreground, or detached with a pidfile) and stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from berth.errors import BerthError, Conflict, RequestTimeout
from berth.net import local_url

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


def up(
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Run in the background.")] = False,
    host: Annotated[str | None, typer.Option(help="Address to bind (default: BERTH_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: BERTH_PORT).")] = None,
) -> None:
    """Start the control plane: REST API, WebSocket progress, supervisor and web UI."""
    from berth.settings import get_settings

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    command = [sys.executable, "-m", "berth.control", "--host", host, "--port", str(port)]
    if not detach:
        os.execv(sys.executable, command)  # noqa: S606 - our own interpreter, arguments as a list
    pidfile = settings.home / "berth.pid"
    running = running_pid(pidfile)
    if running is not None:
        raise Conflict(f"a control plane is already running (pid {running}); stop it with `berth down`")
    # beside logs/, not in it: logs/<name>.log belongs to deployments, and "control-plane" is a valid name
    log_path = settings.home / "control-plane.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    pidfile.write_text(f"{process.pid}\n")
    url = local_url(host, port)
    _wait_ready(process, url, log_path, pidfile)
    typer.echo(f"berth control plane is up at {url} (pid {process.pid}; log {log_path})")


def _wait_ready(process: subprocess.Popen[bytes], url: str, log_path: Path, pidfile: Path) -> None:
    import httpx

    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pidfile.unlink(missing_ok=True)
            raise BerthError(f"the control plane exited with code {process.returncode}; see {log_path}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RequestTimeout(
        f"the control plane (pid {process.pid}) is not ready after {READY_TIMEOUT_S:g} s; see {log_path}"
    )


def down() -> None:
    """Stop the control plane that `berth up -d` started (its workers are drained and stopped)."""
    import psutil

    from berth.settings import get_settings

    pidfile = get_settings().home / "berth.pid"
    pid = running_pid(pidfile)
    if pid is None:
        typer.echo("no control plane started by `berth up -d` is running")
        return
    os.kill(pid, signal.SIGTERM)
    try:
        psutil.Process(pid).wait(timeout=STOP_TIMEOUT_S)
    except psutil.TimeoutExpired:
        # NOTE: it had its chance to drain; a hung control plane must not outlive `berth down`.
        os.kill(pid, signal.SIGKILL)
        typer.echo(f"the control plane did not stop within {STOP_TIMEOUT_S:g} s; killed it", err=True)
    except psutil.NoSuchProcess:
        pass
    pidfile.unlink(missing_ok=True)
    typer.echo(f"stopped the control plane (pid {pid})")


def running_pid(pidfile: Path) -> int | None:
    """The pidfile's process if it is alive and is a berth control plane; a stale pidfile is removed."""
    import psutil

    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        # NOTE: a pid is reused after its process dies; only a process running berth.control counts.
        process = psutil.Process(pid)
        if process.status() != psutil.STATUS_ZOMBIE and "berth.control" in process.cmdline():
            return pid
    except psutil.Error:
        pass
    pidfile.unlink(missing_ok=True)
    return None
