"""Per-deployment log files: tail, follow, rotate, and the worker's event lines within them.

Workers append to `logs/<name>.log` themselves (so they outlive the control plane), which rules out
a logging handler that renames files under them. Rotation is therefore copy-then-truncate, as
logrotate's `copytruncate` does: the writer's O_APPEND offset simply restarts at zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from berth.errors import EXIT_PREFIX
from berth.events import Event, parse_event_line

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 3


def log_path(home: Path, name: str) -> Path:
    return home / "logs" / f"{name}.log"


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def tail(path: Path, lines: int) -> list[str]:
    """The last `lines` lines of `path` (reads only the end of a large file)."""
    if lines <= 0 or not path.exists():
        return []
    with path.open("rb") as file:
        file.seek(0, 2)
        end = file.tell()
        block, data = 64 * 1024, b""
        while end > 0 and data.count(b"\n") <= lines:
            start = max(0, end - block)
            file.seek(start)
            data = file.read(end - start) + data
            end = start
    return data.decode("utf-8", errors="replace").splitlines()[-lines:]


async def follow(path: Path, offset: int, poll_s: float = 0.25) -> AsyncIterator[str]:
    """Lines appended to `path` after byte `offset`, forever (cancel to stop); survives rotation."""
    pending = b""
    while True:
        current = size(path)
        if current < offset:  # truncated by rotation: start again from the top
            offset, pending = 0, b""
        if current > offset:
            with path.open("rb") as file:
                file.seek(offset)
                chunk = file.read(current - offset)
            offset += len(chunk)
            *complete, pending = (pending + chunk).split(b"\n")
            for line in complete:
                yield line.decode("utf-8", errors="replace")
        else:
            await asyncio.sleep(poll_s)


class EventReader:
    """Reads the event lines a worker appends to its log file after a given offset."""

    def __init__(self, path: Path, offset: int) -> None:
        self.path, self.offset, self._pending = path, offset, b""
        self.exit_code: int | None = None  # from a forked worker's last line, which no one can wait() for

    def read(self) -> list[Event]:
        current = size(self.path)
        if current < self.offset:  # truncated by rotation: what follows starts at the top
            self.offset, self._pending = 0, b""
        if current <= self.offset:
            return []
        with self.path.open("rb") as file:
            file.seek(self.offset)
            chunk = file.read(current - self.offset)
        self.offset += len(chunk)
        *complete, self._pending = (self._pending + chunk).split(b"\n")
        events = []
        for raw in complete:
            line = raw.decode("utf-8", errors="replace")
            if line.startswith(EXIT_PREFIX):
                with contextlib.suppress(ValueError, AttributeError):
                    self.exit_code = int(json.loads(line[len(EXIT_PREFIX) :]).get("code"))
            elif (event := parse_event_line(line)) is not None:
                events.append(event)
        return events


def rotate_if_large(path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> bool:
    if size(path) <= max_bytes:
        return False
    for index in range(backups - 1, 0, -1):
        older = path.with_name(f"{path.name}.{index}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{index + 1}"))
    shutil.copyfile(path, path.with_name(f"{path.name}.1"))
    with path.open("r+b") as file:
        file.truncate(0)
    return True
