"""Deployment progress events: the stages of docs/protocols.md's table, as one typed record.

A worker prints one event per line on stdout (`EVENT_PREFIX` + JSON) so a parent process can follow
its stages; the control plane stores and streams the same records.
"""

from __future__ import annotations

import sys
import time
from enum import StrEnum

from pydantic import BaseModel, Field

EVENT_PREFIX = "@berth-event "


class Stage(StrEnum):
    INITIALIZING = "initializing"
    VALIDATING = "validating"
    DOWNLOADING = "downloading"
    LOADING = "loading"
    CREATING = "creating"
    STARTING = "starting"
    COMPLETED = "completed"
    FAILED = "failed"


STAGE_PROGRESS: dict[Stage, float] = {
    Stage.INITIALIZING: 0,
    Stage.VALIDATING: 10,
    Stage.DOWNLOADING: 15,
    Stage.LOADING: 60,
    Stage.CREATING: 75,
    Stage.STARTING: 85,
    Stage.COMPLETED: 100,
}
DOWNLOAD_SPAN = (15.0, 55.0)


class Event(BaseModel):
    deployment: str
    stage: Stage
    progress: float | None
    message: str
    ts: float = Field(default_factory=time.time)
    bytes_done: int | None = None
    bytes_total: int | None = None

    @classmethod
    def at(cls, deployment: str, stage: Stage, message: str) -> Event:
        return cls(deployment=deployment, stage=stage, progress=STAGE_PROGRESS.get(stage), message=message)

    @classmethod
    def download(cls, deployment: str, done: int, total: int, message: str) -> Event:
        low, high = DOWNLOAD_SPAN
        fraction = done / total if total else 1.0
        return cls(
            deployment=deployment,
            stage=Stage.DOWNLOADING,
            progress=round(low + (high - low) * min(fraction, 1.0), 2),
            message=message,
            bytes_done=done,
            bytes_total=total,
        )


def emit(event: Event) -> None:
    """Write an event line for the parent process (stdout is the event channel; logs go to stderr)."""
    sys.stdout.write(EVENT_PREFIX + event.model_dump_json() + "\n")
    sys.stdout.flush()


def parse_event_line(line: str) -> Event | None:
    if not line.startswith(EVENT_PREFIX):
        return None
    return Event.model_validate_json(line[len(EVENT_PREFIX) :])
