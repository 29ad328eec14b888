"""A small in-process runtime for exercising the worker's batching and protocols without torch."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from berth.errors import InvalidInput
from berth.runtimes import build_runtime
from berth.runtimes.base import Params, Runtime, Signature, TensorSpec
from berth.sources.types import LocalModel, ResolvedSource, SourceKind
from berth.spec import DeploymentSpec, Task
from berth.worker.app import create_app
from berth.worker.service import ModelService
from tests.tiny_models import make_spec as predictor_spec
from tests.tiny_models import predictor_model


class CharRuntime(Runtime):
    """Embeds text as [length, vowels, words]; 'boom' makes the model raise; sleeps `delay_s` per batch."""

    name = "test-chars"

    def __init__(
        self, spec: DeploymentSpec, task: Task = Task.FEATURE_EXTRACTION, delay_s: float = 0.0
    ) -> None:
        source = ResolvedSource(
            kind=SourceKind.PYTHON, reference="tests:CharRuntime", target="tests:CharRuntime"
        )
        super().__init__(LocalModel(source=source, path=None), spec, "cpu", task)
        self.delay_s = delay_s
        self.batches: list[list[Any]] = []

    def load(self) -> None:
        pass

    def validate_input(self, item: Any) -> Any:
        if not isinstance(item, str):
            raise InvalidInput(f"must be a string, got {type(item).__name__}")
        return item

    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        self.batches.append(list(inputs))
        time.sleep(self.delay_s)
        if any("boom" in text for text in inputs):
            raise RuntimeError("boom")
        if self.task == Task.TEXT_CLASSIFICATION:
            return [{"label": "LONG" if len(t) > 10 else "SHORT", "score": 0.75} for t in inputs]
        return [
            np.array([len(t), sum(c in "aeiou" for c in t), len(t.split())], dtype=np.float32) for t in inputs
        ]

    def signature(self) -> Signature:
        output = TensorSpec("embedding", "FP32", (-1, 3))
        return Signature(inputs=(TensorSpec("text", "BYTES", (-1,)),), outputs=(output,))


def make_spec(**overrides: Any) -> DeploymentSpec:
    data: dict[str, Any] = {"name": "chars", "model": {"source": "tests:CharRuntime"}}
    data.update(overrides)
    return DeploymentSpec.model_validate(data)


@pytest.fixture
def spec() -> DeploymentSpec:
    return make_spec()


async def serve_predictor(target: str, **fields: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A real ModelService on the predictor `target` (spec `fields` on top), behind httpx over ASGI."""
    spec = predictor_spec(target, name="m", **fields)
    runtime = build_runtime(predictor_model(target), spec)
    runtime.load()
    service = ModelService(spec, runtime, [ThreadPoolExecutor(max_workers=1)])
    service.start()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(service, None)), base_url="http://w"
    ) as client:
        yield client
    await service.drain()


def binary_body(header: dict[str, Any], *blobs: bytes) -> tuple[bytes, dict[str, str]]:
    """A V2 binary-extension body: the JSON header, then the blobs; and its header-length header."""
    json_header = orjson.dumps(header)
    return json_header + b"".join(blobs), {"Inference-Header-Content-Length": str(len(json_header))}


def split_response(response: httpx.Response) -> tuple[dict[str, Any], bytes]:
    """A V2 binary answer's JSON header and the raw data after it."""
    length = int(response.headers["inference-header-content-length"])
    return orjson.loads(response.content[:length]), response.content[length:]
