"""Byte-accurate progress of one pull, fed by huggingface_hub's progress bars.

`snapshot_download` reports through a `tqdm_class`: it makes aggregate byte bars and feeds them each
chunk its download threads receive. `PullProgress.bar_class()` is a tqdm look-alike that turns those
updates into one monotone byte count; the caller's thread waits on it and calls the user's callback,
so callbacks never run on a download thread. Setting `cancel()` makes the next chunk abort the pull.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from berth.sources.types import DownloadProgress, ProgressCallback

REPORT_STEP = 0.01  # report at least every 1 % of the total (the contract is 5 %)
REPORT_INTERVAL_S = 0.5  # ... and, while bytes keep arriving, at most this long apart in between


class PullCancelled(Exception):
    """Raised inside a download thread to stop a pull that timed out or whose caller gave up."""


class PullProgress:
    def __init__(self, total: int) -> None:
        self.total = total
        self._present = 0  # bytes already in the cache when the current attempt began
        self._bars: dict[int, int] = {}  # byte bar → bytes it counted in this attempt
        self._high = 0  # the highest count reported: progress never goes back
        self._finished = False
        self._cancelled = False
        self._cond = threading.Condition()

    @property
    def done(self) -> int:
        with self._cond:
            return self._high

    @property
    def finished(self) -> bool:
        with self._cond:
            return self._finished

    def new_attempt(self, present: int) -> None:
        """Start counting again from what the cache holds now (a failed file restarts from zero)."""
        with self._cond:
            self._present = present
            self._bars.clear()
            self._bump()

    def finish(self) -> None:
        with self._cond:
            self._finished = True
            self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def sleep(self, seconds: float) -> None:
        """Wait between attempts, but wake up (and raise) as soon as the pull is cancelled."""
        with self._cond:
            self._cond.wait_for(lambda: self._cancelled, timeout=seconds)
            if self._cancelled:
                raise PullCancelled

    def wait(self, seconds: float) -> int:
        """Block until the count moves, the pull ends, or `seconds` pass; return the count."""
        with self._cond:
            seen = self._high
            self._cond.wait_for(lambda: self._high != seen or self._finished, timeout=seconds)
            return self._high

    def bar_class(self) -> type[Any]:
        """A tqdm look-alike for `snapshot_download(tqdm_class=...)` that counts into this progress."""
        return bar_class(self._add)

    def _add(self, bar: int, n: int) -> None:
        with self._cond:
            if self._cancelled:
                raise PullCancelled
            self._bars[bar] = self._bars.get(bar, 0) + n
            self._bump()

    def _bump(self) -> None:
        # Hub keeps two byte bars fed the same chunks (network and disk), so take the larger, not the sum.
        count = min(self.total, self._present + max(self._bars.values(), default=0))
        if count > self._high:
            self._high = count
            self._cond.notify_all()


def bar_class(sink: Callable[[int, int], None] | None = None) -> type[Any]:
    """A tqdm look-alike that draws nothing and hands each byte bar's updates to `sink(bar_id, n)`."""

    class _Bar:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.n: float = kwargs.get("initial") or 0
            self.total: float | None = kwargs.get("total")
            self.desc: str = kwargs.get("desc") or ""
            # NOTE: only byte bars count; `hf_thread_map` also makes a bar of files fetched.
            self._sink = sink if kwargs.get("unit") == "B" else None
            if self.n and self._sink is not None:
                self._sink(id(self), int(self.n))

        def update(self, n: float | None = 1) -> None:
            self.n += n or 0
            if self._sink is not None:
                self._sink(id(self), int(n or 0))

        def __enter__(self) -> _Bar:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        @property
        def format_dict(self) -> dict[str, Any]:
            return {"n": self.n, "total": self.total, "rate": None}

        def __getattr__(self, name: str) -> Callable[..., None]:
            # refresh, close, set_description(_str), set_postfix(_str), ...: nothing to draw.
            if name.startswith("_"):
                raise AttributeError(name)
            return _ignore

    return _Bar


class Throttle:
    """Which byte counts of a download are worth reporting: berth's one download-progress throttle.

    The first count, every `step` of the total, and the completed total are always due; a count
    that moved less than `step` is due only once `interval_s` has passed since the last one reported.
    A count that did not move is never due, so a stalled download reports nothing new.

    >>> throttle = Throttle(1000)
    >>> [throttle.due(n) for n in (0, 4, 10, 1000, 1000)]
    [True, False, True, True, False]
    """

    def __init__(
        self,
        total: int,
        *,
        step: float = REPORT_STEP,
        interval_s: float = REPORT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.step = max(1, int(total * step))
        self.interval_s = interval_s
        self._clock = clock
        self.last: int | None = None
        self._last_at = 0.0

    def due(self, done: int) -> bool:
        """Whether to report `done` now; when it is, it becomes the last count reported."""
        now = self._clock()
        last = self.last
        if last is not None and done <= last:
            return False
        moved_a_step = last is None or done >= self.total or done >= last + self.step
        if moved_a_step or now - self._last_at >= self.interval_s:
            self.last, self._last_at = done, now
            return True
        return False


class Reporter:
    """Calls the user's callback with monotone byte counts, as often as the `Throttle` lets it."""

    def __init__(self, callback: ProgressCallback | None, total: int) -> None:
        self.callback = callback
        self.throttle = Throttle(total)

    def __call__(self, done: int) -> None:
        if self.callback is not None and self.throttle.due(done):
            self.callback(DownloadProgress(bytes_done=done, bytes_total=self.throttle.total))


def _ignore(*args: Any, **kwargs: Any) -> None:
    return None
