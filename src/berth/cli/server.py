"""`berth up | down`: start the control plane (in the foreground, or detached) and stop it.

Either way the control plane records itself in `BERTH_HOME/berth.pid` (`berth.pidfile`), which is how
`berth up -d` refuses a second one and `berth down` finds the one to stop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from berth import pidfile
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
    running = pidfile.running(settings.home)
    if running is not None:
        raise Conflict(pidfile.already_running(running))
    # beside logs/, not in it: logs/<name>.log belongs to deployments, and "control-plane" is a valid name
    log_path = settings.home / "control-plane.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = local_url(host, port)
    _wait_ready(process, url, log_path)
    typer.echo(f"berth control plane is up at {url} (pid {process.pid}; log {log_path})")


def _wait_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    import httpx

    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
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
    """Stop this BERTH_HOME's control plane, however it was started (its workers are drained and stopped)."""
    from berth.settings import get_settings

    home = get_settings().home
    record = pidfile.running(home)
    if record is None:
        typer.echo(f"no control plane is running for BERTH_HOME {home}")
        return
    os.kill(record.pid, signal.SIGTERM)
    # NOTE: polled, not psutil's wait(): a control plane started in a terminal is not our child, and
    # stays a zombie until its own parent reaps it.
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while pidfile.alive(record) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pidfile.alive(record):
        # NOTE: it had its chance to drain; a hung control plane must not outlive `berth down`.
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, signal.SIGKILL)
        typer.echo(f"the control plane did not stop within {STOP_TIMEOUT_S:g} s; killed it", err=True)
    pidfile.remove(home, record)  # a clean exit removed it already; a killed one could not
    typer.echo(f"stopped the control plane (pid {record.pid}, port {record.port})")
