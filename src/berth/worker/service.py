"""The worker's data plane: one loaded runtime behind a batcher, whatever protocol asked.

Protocols (predict, V2, OpenAI) call this and never the runtime directly, so batching, timeouts,
input checks and metrics are the same on every route.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from berth.errors import InvalidInput, NotReady
from berth.runtimes.base import Params, Runtime
from berth.spec import DeploymentSpec
from berth.worker import decoding
from berth.worker.batcher import Batcher
from berth.worker.metrics import WorkerMetrics

_DONE = object()


class ModelService:
    def __init__(self, spec: DeploymentSpec, runtime: Runtime, lanes: list[ThreadPoolExecutor]) -> None:
        self.spec = spec
        self.runtime = runtime
        self.name = spec.name
        self.revision = runtime.model.revision  # the hub commit served, when the model came from a hub
        self.timeout_s = spec.limits.request_timeout_s
        self.batcher = Batcher(
            runtime,
            lanes,
            max_batch_size=spec.batching.max_batch_size,
            max_latency_ms=spec.batching.max_latency_ms,
            max_queue=spec.limits.max_queue,
        )
        self.metrics = WorkerMetrics(spec.name, lambda: self.batcher.queue_depth)
        self.batcher.on_batch = self.metrics.observe_batch
        decoding.watch_model(lambda: self.batcher.running)  # decodes yield the CPU to a running batch
        self.ready = False

    @property
    def task(self) -> str:
        return str(self.runtime.task)

    def check_inputs(self, items: list[Any], field: str, *, indexed: bool = True) -> list[Any]:
        """Validate each input on the event loop, before queueing, naming the bad one."""
        checked = []
        for index, item in enumerate(items):
            try:
                checked.append(self.runtime.validate_input(item))
            except InvalidInput as exc:
                where = f"{field}[{index}]" if indexed else field
                raise InvalidInput(f"{where}: {exc.message}") from None
        return checked

    async def predict(self, items: list[Any], params: Params) -> list[Any]:
        """Run each item through the batcher (they may share batches with other requests)."""
        self._check_ready()
        # NOTE: even when empty: a task with a required parameter (forecasting's prediction_length)
        # refuses its absence here, before queueing, rather than failing the batch it would join.
        params = self.runtime.validate_params(params)
        if len(items) == 1:
            return [await self.batcher.submit(items[0], params, self.timeout_s)]
        return list(await asyncio.gather(*(self.batcher.submit(i, params, self.timeout_s) for i in items)))

    async def stream(self, item: Any, params: Params) -> AsyncIterator[str]:
        """Yield generated pieces; each step runs on the model thread, like a batch."""
        self._check_ready()
        params = self.runtime.validate_params(params)
        pieces = await self.batcher.call(self.runtime.stream, item, params)
        try:
            while (piece := await self.batcher.call(next, pieces, _DONE)) is not _DONE:
                yield str(piece)
        finally:  # a client that disconnects mid-stream stops the generation too
            close = getattr(pieces, "close", None)
            if close is not None:
                await self.batcher.call(close)

    def _check_ready(self) -> None:
        if not self.ready:
            raise NotReady(
                f"deployment {self.name!r} is not ready (starting or shutting down); retry shortly"
            )

    def start(self) -> None:
        self.batcher.start()
        self.ready = True

    async def drain(self) -> None:
        """Refuse new work and stop the batcher once queued items are answered."""
        self.ready = False
        while self.batcher.queue_depth:  # noqa: ASYNC110 - a short poll, once, at shutdown
            await asyncio.sleep(0.01)
        await self.batcher.stop()
