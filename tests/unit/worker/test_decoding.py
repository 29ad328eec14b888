from __future__ import annotations

import asyncio
import os
import sys

import pytest

from berth.worker import decoding

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SCHED_IDLE is Linux's")


def _policy() -> int:
    return os.sched_getscheduler(0)


def test_a_decode_yields_the_cpu_only_while_a_batch_runs() -> None:
    busy = [True]
    decoding.watch_model(lambda: busy[0])

    async def policies() -> list[int]:
        seen = [await decoding.off_loop(_policy)]
        busy[0] = False
        seen.append(await decoding.off_loop(_policy))
        busy[0] = True
        seen.append(await decoding.off_loop(_policy))
        return seen

    try:
        assert asyncio.run(policies()) == [os.SCHED_IDLE, os.SCHED_OTHER, os.SCHED_IDLE]
    finally:
        decoding.watch_model(lambda: False)
        decoding.pool().submit(decoding._set_priority, False).result()
