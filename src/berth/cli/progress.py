"""Progress bars for long work: a deployment's stages (from WebSocket events) and a model pull.

Both draw on stderr so stdout stays clean for scripts, and a bar never goes backwards. A bar appears
with the first message, so an error before any progress (no control plane, a bad spec) is one line.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Self

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from berth.cli.render import err_console, human_bytes

if TYPE_CHECKING:
    from berth.api.types import PullProgressLine
    from berth.client import Message


class _Bar:
    """A Rich progress display that starts drawing with its first update and stops on exit."""

    _progress: Progress

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._progress.live.is_started:
            self._progress.stop()


class DeployProgress(_Bar):
    """A bar driven by a deployment's events: the stage, its percentage, and bytes while downloading."""

    def __init__(self, name: str) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<12}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}"),
            console=err_console,
        )
        self._task = self._progress.add_task("initializing", total=100, detail=f"deploying {name}")
        self.completed = 0.0

    def __call__(self, message: Message) -> None:
        if message.type == "state":
            return
        self._progress.start()
        if message.progress is not None:
            # NOTE: replayed history and retries may report an earlier stage; the bar holds its ground.
            self.completed = max(self.completed, message.progress)
        detail = message.message
        if message.bytes_total:
            detail = f"{human_bytes(message.bytes_done)} / {human_bytes(message.bytes_total)}"
        self._progress.update(
            self._task, completed=self.completed, description=message.stage.value, detail=detail[:48]
        )


class PullProgress(_Bar):
    """A download bar fed by `berth pull`'s NDJSON progress lines."""

    def __init__(self, source: str) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[filename]}"),
            console=err_console,
        )
        self._task = self._progress.add_task(source, total=None, filename="")
        self.done = 0

    def __call__(self, line: PullProgressLine) -> None:
        self._progress.start()
        self.done = max(self.done, line.bytes_done)
        self._progress.update(
            self._task, completed=self.done, total=line.bytes_total or None, filename=line.filename or ""
        )
