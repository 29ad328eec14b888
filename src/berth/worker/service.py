"""The worker's data plane: one loaded runtime behind a batcher, whatever protocol asked.

Protocols (predict, V2, OpenAI, Ollama) call this and never the runtime directly, so batching,
timeouts, input checks and metrics are the same on every route. Text generation goes to the runtime's
continuous-batching engine (`berth.runtimes.engine`), every other task through the batcher.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from berth.errors import InvalidInput, NotReady, RequestTimeout, UnsupportedModel
from berth.runtimes.base import Params, Runtime
from berth.runtimes.engine import Delta, TextEngine, result_of
from berth.runtimes.generation import GenerationParams
from berth.spec import DeploymentSpec
from berth.worker import decoding
from berth.worker.batcher import Batcher
from berth.worker.metrics import WorkerMetrics


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
        self.engine: TextEngine | None = runtime.generation_engine()
        if self.engine is not None:
            self.metrics.watch_engine(self.engine.stats)
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
        if self.engine is not None:
            return list(await asyncio.gather(*(self.complete(str(i), params) for i in items)))
        if len(items) == 1:
            return [await self.batcher.submit(items[0], params, self.timeout_s)]
        return list(await asyncio.gather(*(self.batcher.submit(i, params, self.timeout_s) for i in items)))

    async def generate(self, prompt: str, params: Params, *, stream: bool = True) -> AsyncIterator[Delta]:
        """One sequence's deltas as the engine decodes them (the last has a finish_reason); with
        `stream=False`, one delta holding the whole generation.

        Closing the iterator early (a client that disconnected) cancels the sequence at the next step.
        """
        self._check_ready()
        engine = self._require_engine()
        parsed = GenerationParams.parse(params)
        loop = asyncio.get_running_loop()
        deltas: asyncio.Queue[Delta | BaseException] = asyncio.Queue()
        ids = self.runtime.encode_prompt(prompt)
        sequence = engine.submit(
            ids, parsed, lambda item: loop.call_soon_threadsafe(deltas.put_nowait, item), stream=stream
        )
        started = previous = time.perf_counter()
        first = True
        try:
            while True:
                item = await deltas.get()
                if isinstance(item, BaseException):
                    raise item
                now = time.perf_counter()
                count = len(item.token_ids)
                if item.first_token_at is not None:  # the whole generation at once (stream=False)
                    self.metrics.observe_first_token(item.first_token_at - started, min(count, 1))
                    self.metrics.observe_tokens(count - 1, now - item.first_token_at)
                elif first:
                    self.metrics.observe_first_token(now - started, count)
                else:
                    self.metrics.observe_tokens(count, now - previous)
                first = False
                previous = now
                yield item
                if item.finish_reason is not None:
                    return
        finally:
            sequence.cancel()  # a no-op once it finished; else it leaves the batch at the next step

    async def complete(self, prompt: str, params: Params) -> dict[str, Any]:
        """One whole generation: generated_text, finish_reason, prompt_tokens, completion_tokens."""
        deltas: list[Delta] = []
        try:
            async with asyncio.timeout(self.timeout_s):
                async for delta in self.generate(prompt, params, stream=False):
                    deltas.append(delta)
        except TimeoutError:
            raise RequestTimeout(
                f"no answer within {self.timeout_s:g} s (limits.request_timeout_s); ask for fewer tokens, "
                "stream the answer, or raise the limit"
            ) from None
        return result_of(deltas)

    def chat_prompt(self, messages: list[dict[str, Any]]) -> str:
        """The model's chat template over `messages` (422 when it has none)."""
        self._require_engine()
        return self.runtime.chat_prompt(messages)

    def _require_engine(self) -> TextEngine:
        if self.engine is None:
            raise UnsupportedModel(
                f"this deployment serves {self.task}; generating text needs a text-generation model"
            )
        return self.engine

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
