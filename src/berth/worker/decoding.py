"""Where uploads are decoded: a thread pool that yields the CPU to a running batch.

Images and audio are decoded off the event loop, in threads. Run at normal priority while a batch is
computing, those threads preempt torch's compute threads, and every preemption of one stalls the
others at the next barrier. So a decode that starts while a batch runs does so under Linux's
SCHED_IDLE: it gets the CPU when the model's threads leave it, and the batch it will join waits for
it (`Batcher.preparing`). A decode that starts while the model is idle (one client, or between
batches) runs at normal priority: the model is waiting for it, and under SCHED_IDLE it would wait
for torch's threads to stop spinning after their last batch (+7 to +15 ms at one client on a random
ViT). Elsewhere than Linux both run at normal priority.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

log = logging.getLogger("berth.worker")
T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None


def _never_busy() -> bool:
    return False


_model_busy: Callable[[], bool] = _never_busy
_thread = threading.local()


def watch_model(busy: Callable[[], bool]) -> None:
    """Tell the decoders how to know that a batch is running (the worker's batcher)."""
    global _model_busy
    _model_busy = busy


def _set_priority(yield_cpu: bool) -> None:
    """SCHED_IDLE or back to normal, for this thread only (Linux applies policies per thread)."""
    if getattr(_thread, "yielding", False) == yield_cpu or not hasattr(os, "SCHED_IDLE"):
        return
    policy = os.SCHED_IDLE if yield_cpu else os.SCHED_OTHER
    try:
        os.sched_setscheduler(0, policy, os.sched_param(0))
    except OSError as exc:  # a sandbox may forbid it; decoding still works, at normal priority
        log.debug("a decoding thread keeps its priority: %s", exc)
    _thread.yielding = yield_cpu


def _decode(yield_cpu: bool, function: Callable[..., T], args: tuple[Any, ...]) -> T:
    _set_priority(yield_cpu)
    return function(*args)


def pool() -> ThreadPoolExecutor:
    """The process's decoding pool, made on first use (a worker that takes no files never has one)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1), thread_name_prefix="berth-decode")
    return _pool


async def off_loop(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` on a decoding thread. `await off_loop(decode_image, data, field, limit, "RGB")`"""
    return await asyncio.get_running_loop().run_in_executor(pool(), _decode, _model_busy(), function, args)
