"""Process titles: what `ps` and `top` show for each berth process.

Without them every berth process reads `python -m ...`, and a worker forked from the template even
shows the template's command line, so an operator cannot tell the template from the workers or one
replica from another. Each process names itself as it becomes what it is:

    berth control :8000            the control plane, foreground or `berth up -d`
    berth template                 the process that pre-imports torch and forks workers
    berth worker minilm[0] :8100   replica 0 of `minilm`, forked or started cold

The title replaces the command line in `/proc/PID/cmdline`, so whatever finds berth processes by
their command line (`berth down`, the tests) matches these titles, through the functions below.
"""

from __future__ import annotations

import re

TEMPLATE = "berth template"
_CONTROL_TITLE = re.compile(r"berth control :(?P<port>\d+)")
_WORKER_TITLE = re.compile(r"berth worker (?P<name>[a-z0-9-]+)\[(?P<replica>\d+)\] :(?P<port>\d+)")


def control(port: int) -> str:
    return f"berth control :{port}"


def worker(name: str, replica: int, port: int) -> str:
    return f"berth worker {name}[{replica}] :{port}"


def set_title(title: str) -> None:
    """Name this process `title` in `ps` (its command line) and in `top` (its first 15 characters)."""
    import setproctitle

    setproctitle.setproctitle(title)


def of(cmdline: list[str]) -> str:
    """A process's title from psutil's `cmdline()`, which pads a set title with empty strings."""
    return " ".join(part for part in cmdline if part)


def is_control_plane(cmdline: list[str]) -> bool:
    """Whether a process's command line is a berth control plane's title."""
    return _CONTROL_TITLE.fullmatch(of(cmdline)) is not None


def parse_worker(cmdline: list[str]) -> tuple[str, int, int] | None:
    """(deployment, replica, port) of a berth worker's title; None for any other process."""
    match = _WORKER_TITLE.fullmatch(of(cmdline))
    return (match["name"], int(match["replica"]), int(match["port"])) if match else None
