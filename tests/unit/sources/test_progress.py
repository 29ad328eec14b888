from __future__ import annotations

import itertools
import random

from berth.sources.progress import Reporter, Throttle
from berth.sources.types import DownloadProgress

TOTAL = 10_000_000


class Clock:
    """A clock the test moves by hand, so the throttle's interval is checked without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_reports_at_least_every_5_percent_and_on_completion_however_the_bytes_arrive() -> None:
    rng = random.Random(0)
    for _ in range(20):
        clock = Clock()  # frozen: only byte counts can make a report due
        throttle = Throttle(TOTAL, clock=clock)
        done, reported = 0, [0] if throttle.due(0) else []
        while done < TOTAL:
            done = min(TOTAL, done + rng.randint(1, TOTAL // 50))  # chunks of up to 2 %
            if throttle.due(done):
                reported.append(done)
        assert reported[0] == 0
        assert reported[-1] == TOTAL
        assert max(b - a for a, b in itertools.pairwise(reported)) <= TOTAL * 0.05


def test_a_count_that_moved_less_than_a_step_waits_for_the_interval() -> None:
    clock = Clock()
    throttle = Throttle(TOTAL, step=0.05, interval_s=0.5, clock=clock)
    assert throttle.due(0)
    small = TOTAL // 1000
    reports = []
    for i in range(1, 41):  # 40 moves of 0.1 % (4 % in all, under a step), 0.125 s apart: 5 s
        clock.now += 0.125
        if throttle.due(i * small):
            reports.append(clock.now)
    times = [1000.0, *reports]
    assert all(b - a >= 0.5 - 1e-9 for a, b in itertools.pairwise(times))
    assert len(reports) == 10  # one every 0.5 s of the 5 s, never more often


def test_a_stalled_download_reports_nothing_new() -> None:
    clock = Clock()
    throttle = Throttle(TOTAL, clock=clock)
    assert throttle.due(5000)
    clock.now += 60
    assert not throttle.due(5000)
    assert not throttle.due(4000)  # never backwards either


def test_completion_is_reported_once() -> None:
    throttle = Throttle(TOTAL, clock=Clock())
    assert throttle.due(TOTAL - 1)
    assert throttle.due(TOTAL)  # the last byte is less than a step, but completes the download
    assert not throttle.due(TOTAL)


def test_an_empty_download_reports_once() -> None:
    throttle = Throttle(0, clock=Clock())
    assert throttle.due(0)
    assert not throttle.due(0)


def test_the_reporter_calls_back_only_what_the_throttle_lets_through() -> None:
    seen: list[DownloadProgress] = []
    report = Reporter(seen.append, 1000)
    for done in (0, 3, 6, 9, 10, 500, 1000, 1000):
        report(done)
    assert [p.bytes_done for p in seen] == [0, 10, 500, 1000]
    assert {p.bytes_total for p in seen} == {1000}
