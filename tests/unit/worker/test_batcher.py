from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from berth.errors import ModelError, QueueFull, RequestTimeout
from berth.worker.batcher import Batcher
from tests.unit.worker.conftest import CharRuntime, make_spec


async def _with_batcher(runtime: CharRuntime, body: Any, lanes: int = 1, **options: Any) -> Any:
    executors = [ThreadPoolExecutor(max_workers=1) for _ in range(lanes)]
    settings = {"max_batch_size": 8, "max_latency_ms": 20, "max_queue": 100} | options
    batcher = Batcher(runtime, executors, **settings)
    batcher.start()
    try:
        return await body(batcher)
    finally:
        await batcher.stop()
        for executor in executors:
            executor.shutdown()


def test_concurrent_requests_share_batches_and_keep_their_own_results() -> None:
    runtime = CharRuntime(make_spec(), delay_s=0.01)
    texts = [f"sentence number {i}" + "a" * i for i in range(20)]

    async def body(batcher: Batcher) -> list[Any]:
        return list(await asyncio.gather(*(batcher.submit(t, {}, 5) for t in texts)))

    results = asyncio.run(_with_batcher(runtime, body))
    assert [int(r[0]) for r in results] == [len(t) for t in texts]
    assert max(len(b) for b in runtime.batches) > 1
    assert all(len(b) <= 8 for b in runtime.batches)
    assert sum(len(b) for b in runtime.batches) == len(texts)


def test_serial_requests_run_one_at_a_time() -> None:
    runtime = CharRuntime(make_spec())

    async def body(batcher: Batcher) -> None:
        for i in range(5):
            result = await batcher.submit("x" * i, {}, 5)
            assert result[0] == i

    asyncio.run(_with_batcher(runtime, body))
    assert [len(b) for b in runtime.batches] == [1] * 5


def test_requests_with_different_parameters_never_share_a_batch() -> None:
    runtime = CharRuntime(make_spec())

    async def body(batcher: Batcher) -> None:
        await asyncio.gather(*(batcher.submit(f"text {i}", {"k": i % 2}, 5) for i in range(10)))

    asyncio.run(_with_batcher(runtime, body))
    for batch in runtime.batches:
        assert len({int(text.split()[1]) % 2 for text in batch}) == 1


def test_a_failing_input_fails_alone() -> None:
    runtime = CharRuntime(make_spec(), delay_s=0.005)

    async def body(batcher: Batcher) -> list[Any]:
        texts = ["fine one", "boom here", "fine two"]
        return list(await asyncio.gather(*(batcher.submit(t, {}, 5) for t in texts), return_exceptions=True))

    first, failed, last = asyncio.run(_with_batcher(runtime, body))
    assert isinstance(failed, ModelError)
    assert "worker log" in failed.message
    assert np.array_equal(first, runtime.predict(["fine one"], {})[0])
    assert np.array_equal(last, runtime.predict(["fine two"], {})[0])


def test_a_full_queue_is_refused_with_a_clear_error() -> None:
    runtime = CharRuntime(make_spec(), delay_s=0.05)

    async def body(batcher: Batcher) -> list[Any]:
        tasks = [asyncio.create_task(batcher.submit(f"t{i}", {}, 5)) for i in range(6)]
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    results = asyncio.run(_with_batcher(runtime, body, max_batch_size=1, max_queue=3))
    refusals = [r for r in results if isinstance(r, QueueFull)]
    assert refusals
    assert "limits.max_queue" in refusals[0].message


def test_a_slow_model_times_out_and_the_queue_moves_on() -> None:
    runtime = CharRuntime(make_spec(), delay_s=0.3)

    async def body(batcher: Batcher) -> list[Any]:
        slow = [asyncio.create_task(batcher.submit(f"t{i}", {}, 0.1)) for i in range(3)]
        outcomes = await asyncio.gather(*slow, return_exceptions=True)
        return [*outcomes, await batcher.submit("after", {}, 5)]

    *timed_out, after = asyncio.run(_with_batcher(runtime, body, max_batch_size=1))
    assert all(isinstance(r, RequestTimeout) for r in timed_out)
    assert "limits.request_timeout_s" in timed_out[0].message
    assert after[0] == len("after")
    assert ["t2"] not in runtime.batches  # timed out while queued: never reached the model


@pytest.mark.parametrize("max_latency_ms", [0, 5])
def test_batches_never_exceed_the_maximum(max_latency_ms: float) -> None:
    runtime = CharRuntime(make_spec(), delay_s=0.002)

    async def body(batcher: Batcher) -> None:
        await asyncio.gather(*(batcher.submit(f"t{i}", {}, 5) for i in range(50)))

    asyncio.run(_with_batcher(runtime, body, max_batch_size=4, max_latency_ms=max_latency_ms))
    assert max(len(b) for b in runtime.batches) <= 4


def test_under_load_the_model_thread_chains_full_batches_itself() -> None:
    runtime = CharRuntime(make_spec(), delay_s=0.02)
    threads: list[int] = []
    predict = runtime.predict

    def recording(inputs: list[Any], params: dict[str, Any]) -> list[Any]:
        threads.append(threading.get_ident())
        return predict(inputs, params)

    runtime.predict = recording  # type: ignore[method-assign]

    async def body(batcher: Batcher) -> list[Any]:
        warm = await asyncio.gather(*(batcher.submit(f"warm {i}", {}, 5) for i in range(4)))
        launched = asyncio.get_running_loop().run_in_executor
        calls = 0

        def counting(*args: Any) -> Any:
            nonlocal calls
            calls += 1
            return launched(*args)

        asyncio.get_running_loop().run_in_executor = counting  # type: ignore[method-assign]
        results = await asyncio.gather(*(batcher.submit("x" * i, {}, 5) for i in range(40)))
        assert calls < 10, f"{calls} trips through the event loop for 10 batches: batches were not chained"
        return [*warm, *results]

    results = asyncio.run(_with_batcher(runtime, body, max_batch_size=4))
    assert [int(r[0]) for r in results[4:]] == list(range(40))
    assert len(set(threads)) == 1  # every batch ran on the one model thread
    assert all(len(b) == 4 for b in runtime.batches)


class LaneRuntime(CharRuntime):
    """Records, per batch, its thread and how many ways the batcher said the cores were shared."""

    def __init__(self, delay_s: float) -> None:
        super().__init__(make_spec(), delay_s=delay_s)
        self.seen: list[tuple[int, int]] = []
        self._sharing = threading.local()
        self.overlapped = False  # two batches ran at once
        self.crowded = False  # a batch told it had every core ran beside another
        self._inside: list[int] = []  # the sharing of each batch running now
        self._count_lock = threading.Lock()

    def set_concurrency(self, sharing: int) -> None:
        self._sharing.value = sharing

    def predict(self, inputs: list[Any], params: dict[str, Any]) -> list[Any]:
        sharing = self._sharing.value
        with self._count_lock:
            self._inside.append(sharing)
            self.overlapped |= len(self._inside) > 1
            self.crowded |= len(self._inside) > 1 and 1 in self._inside
        try:
            self.seen.append((threading.get_ident(), sharing))
            return super().predict(inputs, params)
        finally:
            with self._count_lock:
                self._inside.remove(sharing)


def test_under_load_two_lanes_run_two_batches_at_once_each_told_so() -> None:
    runtime = LaneRuntime(delay_s=0.03)

    async def body(batcher: Batcher) -> list[Any]:
        return list(await asyncio.gather(*(batcher.submit("x" * i, {}, 5) for i in range(48))))

    results = asyncio.run(_with_batcher(runtime, body, lanes=2, max_batch_size=8))
    assert [int(r[0]) for r in results] == list(range(48))  # each request its own result
    assert runtime.overlapped
    first_lane = runtime.seen[0][0]
    assert len({thread for thread, _ in runtime.seen}) == 2
    # the second lane always takes its share only: it never starts threads of its own (batcher.py)
    assert {sharing for thread, sharing in runtime.seen if thread != first_lane} == {2}
    assert 2 in {sharing for thread, sharing in runtime.seen if thread == first_lane}
    assert not runtime.crowded


def test_while_the_first_lane_runs_alone_no_other_lane_starts() -> None:
    runtime = LaneRuntime(delay_s=0.05)

    async def body(batcher: Batcher) -> list[Any]:
        first = asyncio.ensure_future(batcher.submit("alone", {}, 5))  # nothing else waits: every core
        await asyncio.sleep(0.01)
        rest = await asyncio.gather(*(batcher.submit("x" * i, {}, 5) for i in range(6)))
        return [await first, *rest]

    results = asyncio.run(_with_batcher(runtime, body, lanes=2, max_batch_size=4))
    assert [int(r[0]) for r in results] == [5, 0, 1, 2, 3, 4, 5]
    assert runtime.seen[0][1] == 1
    assert not runtime.crowded  # the six waited for it rather than start beside it
    assert runtime.overlapped  # and then filled both lanes (4 + 2), each on its share


def test_serial_traffic_runs_alone_on_the_first_lane_even_after_load() -> None:
    runtime = LaneRuntime(delay_s=0.01)
    serial_from = 0

    async def body(batcher: Batcher) -> None:
        nonlocal serial_from
        await asyncio.gather(*(batcher.submit("x" * i, {}, 5) for i in range(32)))  # both lanes busy
        # NOTE: serial traffic starts once every lane is back. Under CI load the first request after
        # the last answer once found the first lane still out and ran on the second; that is harmless
        # for one request, and this test is about the serial traffic that follows.
        for _ in range(2000):  # at most ~2 s
            if not batcher._lanes_out:
                break
            await asyncio.sleep(0.001)
        serial_from = len(runtime.seen)
        for i in range(6):
            assert (await batcher.submit("x" * i, {}, 5))[0] == i

    asyncio.run(_with_batcher(runtime, body, lanes=2, max_batch_size=4))
    first_lane = runtime.seen[0][0]
    assert len({thread for thread, _ in runtime.seen[:serial_from]}) == 2
    # whichever lane finished last, one client is served alone on the first, with every core
    assert runtime.seen[serial_from:] == [(first_lane, 1)] * 6


def test_a_batch_waits_for_a_request_still_being_decoded() -> None:
    # Decoding an upload takes longer than the arrival gap (and here than max_latency_ms): without
    # `preparing`, "a" would leave alone and "b" would follow in a batch of its own.
    runtime = CharRuntime(make_spec())

    async def decoded_later(batcher: Batcher) -> Any:
        with batcher.preparing(1):
            await asyncio.sleep(0.02)
        return await batcher.submit("b", {}, 5)

    async def body(batcher: Batcher) -> None:
        await asyncio.gather(batcher.submit("x", {}, 5), batcher.submit("y", {}, 5))  # the last batch: 2
        await asyncio.gather(decoded_later(batcher), batcher.submit("a", {}, 5))

    asyncio.run(_with_batcher(runtime, body, max_latency_ms=5))
    assert [sorted(b) for b in runtime.batches] == [["x", "y"], ["a", "b"]]


def test_a_request_that_fails_to_decode_stops_counting() -> None:
    runtime = CharRuntime(make_spec())

    async def undecodable(batcher: Batcher) -> None:
        try:
            with batcher.preparing(1):
                await asyncio.sleep(0.005)
                raise ValueError("not an image")
        except ValueError:
            pass

    async def body(batcher: Batcher) -> None:
        await asyncio.gather(batcher.submit("x", {}, 5), batcher.submit("y", {}, 5))
        await asyncio.gather(undecodable(batcher), batcher.submit("a", {}, 5))
        assert batcher._preparing == 0  # the failed decode no longer counts

    asyncio.run(_with_batcher(runtime, body, max_latency_ms=5))
    assert runtime.batches[-1] == ["a"]
