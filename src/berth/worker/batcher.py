"""Adaptive batching: group concurrent requests into one model call, off the event loop.

Requests queue on the event loop; one collector task forms a batch and hands it to a free model
thread (a "lane", below), then forms the next. How long to wait for a batch to fill is the whole
game (docs/decisions.md, "Batch collection"):

- dispatch at once when the batch is full, or when as many requests are waiting as the last batch
  held (every client seen last time is back, so waiting longer only adds latency);
- otherwise wait while requests keep arriving, until they pause for `ARRIVAL_GAP_S`, capped at
  `max_latency_ms` after collection began. "Run whatever is waiting" settles into lopsided batches,
  and a fixed wait costs its full length at one client;
- serial traffic (one request waiting, last batch of one) therefore never waits;
- requests still being decoded (an image, an audio clip: `preparing`) count as arriving: the batch
  waits for them, up to `PREPARING_WAIT_S`, instead of leaving without them. Decoding takes a few ms
  per request, longer than the arrival gap, and a batch that leaves without the requests decoding
  behind it splits the traffic for good: a random ViT at 8 clients settled into batches of 1 and 7,
  0.79x the raw pipeline's throughput.

Under load the model thread chains batches itself: when a batch ends and the next is already full
(as many requests waiting as the last batch held), it takes that batch at once and hands the results
to the event loop without waiting for it. Going back through the loop between batches left the model
idle 4-6 ms per ~90 ms batch at 64 clients, while the loop was busy answering the batch just done.
`_lock` guards taking a batch, which both threads do; appending (`submit`) is a single deque
operation and needs no lock.

Lanes: a runtime whose `predict` may run on several threads at once (`Runtime.lanes`) gets that many
model threads, and two batches run side by side, each on its share of the cores
(`Runtime.set_concurrency`). On 2 cores, MiniLM at batch 32 gave ~15 % more throughput as two
single-threaded batches than as one batch on torch's two threads: every op of a two-thread batch
ends in a barrier, and each preemption of one thread (by the event loop, by the clients) stalls the
other. Which batch gets how many cores is decided when it is taken:

- the first lane runs a batch on every core when no other lane is busy and nothing else waits
  ("alone"): one client's latency does not change, and light traffic keeps the old behaviour;
- otherwise every batch gets its share, and the other lanes only ever get their share: OpenMP keeps
  every thread it starts, and once it manages more threads than there are cores it stops
  spin-waiting between ops (a second lane that had once run on both cores added 2-4 ms to every
  one-client request);
- while the first lane runs alone no other lane starts: a third thread preempting one of its two
  stalled it at every barrier, and p99 rose from ~170 to ~770 ms at 32 clients.

The collector takes the first free lane, so light traffic always runs there. With one lane all of
this reduces to the single model thread above.

Only requests with the same parameters share a batch (a parameter may change the call). Text
generation does not come here: it decodes on the runtime's engine (`berth.runtimes.engine`), which
batches at every decoding step instead.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from berth.errors import BerthError, ModelError, QueueFull, RequestTimeout
from berth.runtimes.base import Params, Runtime

log = logging.getLogger("berth.worker")

# NOTE: ~1 ms between arrivals means the clients that were answered last have all come back; measured
# on all-MiniLM-L6-v2, waiting longer gained nothing and shorter split batches.
ARRIVAL_GAP_S = 0.001
# NOTE: how long a batch may wait for requests that are being decoded. A 640x480 JPEG decodes in ~3 ms,
# so 50 ms covers a batch of 16 on 2 cores, and is well under one batch of any image model here.
PREPARING_WAIT_S = 0.05


@dataclass(eq=False)
class _Pending:
    item: Any
    params: Params
    key: bytes
    future: asyncio.Future[Any]
    enqueued: float = field(default_factory=time.perf_counter)


BatchObserver = Callable[[int, float], None]  # (batch size, seconds in the model)
Outcome = tuple[list[_Pending], "list[Any] | Exception", float]  # a batch, its results or error, seconds


class Batcher:
    """Queue items from many requests; run them through `runtime.predict` in adaptive batches."""

    def __init__(
        self,
        runtime: Runtime,
        lanes: Sequence[ThreadPoolExecutor],
        *,
        max_batch_size: int,
        max_latency_ms: float,
        max_queue: int,
        on_batch: BatchObserver | None = None,
    ) -> None:
        self.runtime = runtime
        self.lanes = list(lanes)  # single-thread executors
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_latency_ms / 1000
        self.max_queue = max_queue
        self.on_batch = on_batch
        self._pending: deque[_Pending] = deque()
        self._arrival: asyncio.Future[None] | None = None
        self._last_batch_size = 1
        self._task: asyncio.Task[None] | None = None
        self._free_lanes: asyncio.PriorityQueue[int] = asyncio.PriorityQueue()  # lowest index first
        for index in range(len(self.lanes)):
            self._free_lanes.put_nowait(index)
        self._executing: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()
        self._lanes_out = 0  # lanes taken from `_free_lanes` (collecting or running)
        self._alone = False  # the first lane is running a batch on every core
        self._lane_back = asyncio.Event()
        self._preparing = 0  # items being decoded by the protocols, which will be submitted next
        self._running = 0  # batches computing on model threads now

    @property
    def queue_depth(self) -> int:
        return len(self._pending)

    @property
    def running(self) -> bool:
        """A batch is computing now (decoding yields the CPU to it: `berth.worker.decoding`)."""
        return self._running > 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="berth-batcher")

    async def stop(self) -> None:
        tasks = [*self._executing, *([self._task] if self._task is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def submit(self, item: Any, params: Params, timeout_s: float) -> Any:
        """Queue one item and wait for its result, or raise `QueueFull` / `RequestTimeout`."""
        if len(self._pending) >= self.max_queue:
            raise QueueFull(
                f"the queue is full ({self.max_queue} requests waiting); retry later, "
                "or raise limits.max_queue or replicas"
            )
        loop = asyncio.get_running_loop()
        key = orjson.dumps(params, option=orjson.OPT_SORT_KEYS) if params else b""
        pending = _Pending(item, params, key, loop.create_future())
        self._pending.append(pending)
        self._wake()
        try:
            async with asyncio.timeout(timeout_s):
                return await pending.future
        except TimeoutError:
            pending.future.cancel()  # a batch not yet formed will skip it
            raise RequestTimeout(
                f"no result within {timeout_s:g} s (limits.request_timeout_s); the model is overloaded "
                "or too slow for this input: retry, send smaller inputs or raise the limit"
            ) from None

    @contextmanager
    def preparing(self, count: int) -> Iterator[None]:
        """Around the decoding of `count` items that will be submitted next: a batch being collected
        waits for them (see the top). Leave it before submitting them.

        >>> with batcher.preparing(len(uploads)):
        ...     items = await decode(uploads)
        >>> await batcher.submit(items[0], {}, timeout_s)
        """
        self._preparing += count
        self._wake()
        try:
            yield
        finally:
            self._preparing -= count
            self._wake()

    def _wake(self) -> None:
        if self._arrival is not None and not self._arrival.done():
            self._arrival.set_result(None)

    async def _run(self) -> None:
        while True:
            if not self._pending:
                await self._next_arrival(None)
                continue
            lane = await self._free_lanes.get()
            if not self._take_lane(lane):  # the first lane runs alone: wait for it, not beside it
                self._lane_back.clear()
                self._free_lanes.put_nowait(lane)
                await self._lane_back.wait()
                continue
            batch = await self._collect()
            if not batch:
                self._return_lane(lane)
                continue
            with self._lock:
                sharing = self._sharing_locked(lane)
            task = asyncio.create_task(self._execute_on(lane, batch, sharing))
            self._executing.add(task)
            task.add_done_callback(self._executing.discard)

    async def _execute_on(self, lane: int, batch: list[_Pending], sharing: int) -> None:
        try:
            await self._execute(lane, batch, sharing)
        finally:
            self._return_lane(lane)

    def _take_lane(self, lane: int) -> bool:
        with self._lock:
            if lane and self._alone:
                return False
            self._lanes_out += 1
            return True

    def _return_lane(self, lane: int) -> None:
        with self._lock:
            self._lanes_out -= 1
            if lane == 0:
                self._alone = False
        self._free_lanes.put_nowait(lane)
        self._lane_back.set()

    def _sharing_locked(self, lane: int) -> int:
        """How many ways the cores are shared for the batch `lane` has just taken (see the top)."""
        if lane == 0:
            self._alone = self._lanes_out == 1 and not self._pending
            if self._alone:
                return 1
        return len(self.lanes)

    async def _next_arrival(self, timeout_s: float | None) -> bool:
        """Wait for a new item; False when `timeout_s` passed without one."""
        self._arrival = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout_s):
                await self._arrival
            return True
        except TimeoutError:
            return False
        finally:
            self._arrival = None

    async def _collect(self) -> list[_Pending]:
        if self.max_wait_s > 0 and len(self._pending) < min(self._last_batch_size, self.max_batch_size):
            started = time.perf_counter()
            while len(self._pending) < min(self._last_batch_size, self.max_batch_size):
                elapsed = time.perf_counter() - started
                if self._preparing:  # they will arrive: wait for them, not for a gap
                    remaining = max(self.max_wait_s, PREPARING_WAIT_S) - elapsed
                    timeout = remaining
                else:
                    remaining = self.max_wait_s - elapsed
                    timeout = min(ARRIVAL_GAP_S, remaining)
                if remaining <= 0 or not await self._next_arrival(timeout):
                    break
        return self._take_batch()

    def _take_batch(self) -> list[_Pending]:
        with self._lock:
            return self._take_batch_locked()

    def _take_full_batch(self, lane: int) -> tuple[list[_Pending], int]:
        """On a model thread, after a batch: the next batch if it is already full (else nothing), and
        how many ways it shares the cores."""
        with self._lock:
            if len(self._pending) < min(self._last_batch_size, self.max_batch_size):
                return [], 0
            batch = self._take_batch_locked()
            return batch, self._sharing_locked(lane)

    def _take_batch_locked(self) -> list[_Pending]:
        batch: list[_Pending] = []
        skipped: list[_Pending] = []
        key: bytes | None = None
        while self._pending and len(batch) < self.max_batch_size:
            pending = self._pending.popleft()
            if pending.future.done():  # timed out while waiting
                continue
            if key is None:
                key = pending.key
            if pending.key == key:
                batch.append(pending)
            else:
                skipped.append(pending)
        self._pending.extendleft(reversed(skipped))
        if batch:
            self._last_batch_size = len(batch)
        return batch

    async def _execute(self, lane: int, batch: list[_Pending], sharing: int) -> None:
        loop = asyncio.get_running_loop()
        self._running += 1
        try:
            batch, outcome, seconds = await loop.run_in_executor(
                self.lanes[lane], self._run_chain, loop, batch, lane, sharing
            )
        finally:
            self._running -= 1
        if not isinstance(outcome, Exception):
            self._deliver(batch, outcome, seconds)
            return
        if len(batch) > 1:  # isolate the bad input: retry one by one so the others still succeed
            log.warning("a batch of %d failed (%s); retrying its inputs one by one", len(batch), outcome)
            for pending in batch:
                await self._execute(lane, [pending], sharing)
            return
        if not isinstance(outcome, BerthError):
            log.error("the model failed on an input", exc_info=outcome)
            outcome = ModelError("the model failed on this input; the worker log has the details")
        self._fail_all(batch, outcome)

    def _run_chain(
        self, loop: asyncio.AbstractEventLoop, batch: list[_Pending], lane: int, sharing: int
    ) -> Outcome:
        """On the model thread: run `batch`, and while the next batch is already full, hand these
        results to the loop and run that one. The last batch's outcome goes back as the return value,
        so light traffic takes one trip through the loop per batch, as without chaining."""
        while True:
            started = time.perf_counter()
            try:
                self.runtime.set_concurrency(sharing)
                results = self._predict([pending.item for pending in batch], batch[0].params)
            except Exception as exc:
                return batch, exc, time.perf_counter() - started
            seconds = time.perf_counter() - started
            was_alone = sharing == 1 and len(self.lanes) > 1
            following, sharing = self._take_full_batch(lane)
            if not following:
                return batch, results, seconds
            loop.call_soon_threadsafe(self._deliver, batch, results, seconds)
            if was_alone and sharing > 1:  # the other lanes may start now: wake a waiting collector
                loop.call_soon_threadsafe(self._lane_back.set)
            batch = following

    def _deliver(self, batch: list[_Pending], results: list[Any], seconds: float) -> None:
        if self.on_batch is not None:
            self.on_batch(len(batch), seconds)
        for pending, result in zip(batch, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(result)

    def _predict(self, inputs: list[Any], params: Params) -> list[Any]:
        results = self.runtime.predict(inputs, params)
        if len(results) != len(inputs):
            raise ModelError(
                f"the {self.runtime.name} runtime returned {len(results)} results for {len(inputs)} inputs"
            )
        return results

    @staticmethod
    def _fail_all(batch: list[_Pending], exc: BerthError) -> None:
        for pending in batch:
            if not pending.future.done():
                pending.future.set_exception(exc)
