"""The control plane's record of itself, `BERTH_HOME/berth.pid`: who serves this home, and on which port.

The control plane writes it as it starts, however it was started (`berth up` in a terminal,
`berth up -d`, `python -m berth.control`), and removes it on a clean exit; `berth up -d` and
`berth down` read it. A pid alone proves nothing once its process has died (pids are reused), so
the record keeps the process's start time beside it, as the supervisor does for workers, and a
process counts only if both match and its title says it is a control plane. A record that fails
those checks (the control plane was killed with `kill -9`) is stale and is removed when read.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ValidationError

from berth import proctitle

FILENAME = "berth.pid"


class ControlPlaneRecord(BaseModel):
    pid: int
    port: int
    host: str
    started: float  # the process's start time, as psutil reports it


def path(home: Path) -> Path:
    return home / FILENAME


def write(home: Path, host: str, port: int) -> ControlPlaneRecord:
    """Record this process as `home`'s control plane (atomically: a reader sees the old or the new)."""
    import psutil

    record = ControlPlaneRecord(pid=os.getpid(), port=port, host=host, started=psutil.Process().create_time())
    home.mkdir(parents=True, exist_ok=True)
    partial = path(home).with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(record.model_dump_json() + "\n")
    partial.replace(path(home))
    return record


def remove(home: Path, record: ControlPlaneRecord) -> None:
    """Remove the record if it is still `record` (another control plane may have written its own since)."""
    if _read(home) == record:
        path(home).unlink(missing_ok=True)


def running(home: Path) -> ControlPlaneRecord | None:
    """The record of `home`'s control plane if that very process still runs; a stale record is removed."""
    record = _read(home)
    if record is None:
        if path(home).exists():  # unreadable (an older format or a torn write): nobody to stop
            path(home).unlink(missing_ok=True)
        return None
    if alive(record):
        return record
    remove(home, record)
    return None


def already_running(record: ControlPlaneRecord) -> str:
    """The one line for a second control plane on the same home (`berth up`, `berth up -d`)."""
    return (
        f"a control plane is already running for this BERTH_HOME (pid {record.pid}, port {record.port}); "
        "stop it with `berth down`"
    )


def _read(home: Path) -> ControlPlaneRecord | None:
    try:
        return ControlPlaneRecord.model_validate_json(path(home).read_text())
    except (OSError, ValidationError):
        return None


def alive(record: ControlPlaneRecord) -> bool:
    """Whether the process `record` names still runs (a zombie, exited but not yet reaped, does not)."""
    import psutil

    if record.pid <= 0:
        return False
    try:
        process = psutil.Process(record.pid)
        # NOTE: the same start time (the supervisor's rule for adopting workers) rules out a reused
        # pid; the title rules out a process that merely started in the same 10 ms.
        return bool(
            abs(process.create_time() - record.started) < 0.01
            and process.status() != psutil.STATUS_ZOMBIE
            and proctitle.is_control_plane(process.cmdline())
        )
    except psutil.Error:
        return False
