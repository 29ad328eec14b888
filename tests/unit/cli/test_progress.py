"""The deploy progress bar follows WebSocket events and never goes backwards; bench's arithmetic."""

from __future__ import annotations

import time

from berth.api.types import EventMessage, StateMessage
from berth.cli.monitor import summary
from berth.cli.progress import DeployProgress
from berth.events import Stage


def event(stage: Stage, progress: float | None, **extra: int) -> EventMessage:
    return EventMessage(id=1, deployment="minilm", stage=stage, progress=progress, message="m", **extra)


def test_the_bar_never_goes_backwards() -> None:
    bar = DeployProgress("minilm")
    with bar:
        bar(event(Stage.VALIDATING, 10))
        bar(event(Stage.DOWNLOADING, 40, bytes_done=50, bytes_total=100))
        bar(event(Stage.DOWNLOADING, 20, bytes_done=10, bytes_total=100))  # a retry restarts a file
        assert bar.completed == 40
        bar(event(Stage.FAILED, None))
        bar(StateMessage(deployment="minilm", state="ready", ts=time.time()))
        assert bar.completed == 40
        bar(event(Stage.COMPLETED, 100))
    assert bar.completed == 100


def test_bench_summary() -> None:
    latencies = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    result = summary(latencies, wall_s=2.0, concurrency=4)
    assert (result["p50_ms"], result["p90_ms"], result["p99_ms"]) == (50, 90, 99)
    assert result["requests_per_s"] == 50
    assert summary([0.005], 0.005, 1)["p99_ms"] == 5
