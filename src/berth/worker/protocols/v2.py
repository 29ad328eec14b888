"""The Open Inference Protocol (KServe V2 / Triton HTTP): health, metadata and infer.

Errors on these routes use the protocol's own body, `{"error": "message"}`, not berth's
`{"error": {"code", "message"}}`: KServe and tritonclient parse that shape.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import berth
from berth.asgi import read_body
from berth.errors import BerthError, InvalidInput, NotFound, NotReady
from berth.runtimes.base import TensorSpec
from berth.worker.http import Guard, json_response, parse_body
from berth.worker.service import ModelService

NUMPY_DATATYPES = {
    "float32": "FP32",
    "float64": "FP64",
    "float16": "FP16",
    "int64": "INT64",
    "int32": "INT32",
}


class V2Tensor(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    data: list[Any]


class V2RequestedOutput(BaseModel):
    name: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class V2InferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    inputs: list[V2Tensor] = Field(min_length=1)
    outputs: list[V2RequestedOutput] | None = None


def v2_error_body(exc: BerthError) -> dict[str, Any]:
    return {"error": exc.message}


def v2_routes(service: ModelService, guard: Guard) -> list[Route]:
    def model_named(request: Request) -> None:
        if request.path_params["model"] != service.name:
            raise NotFound(
                f"no model {request.path_params['model']!r} here; this worker serves {service.name!r}"
            )

    async def server_metadata(request: Request) -> Response:
        return json_response({"name": "berth", "version": berth.__version__, "extensions": []})

    async def live(request: Request) -> Response:
        return json_response({"live": True})

    async def ready(request: Request) -> Response:
        return json_response({"ready": service.ready}, 200 if service.ready else 503)

    async def model_metadata(request: Request) -> Response:
        model_named(request)
        signature = service.runtime.signature()
        return json_response(
            {
                "name": service.name,
                "versions": [service.revision] if service.revision else [],
                "platform": f"berth/{service.runtime.name}",
                "inputs": [_describe(t) for t in signature.inputs],
                "outputs": [_describe(t) for t in signature.outputs],
            }
        )

    async def model_ready(request: Request) -> Response:
        model_named(request)
        if not service.ready:
            raise NotReady(f"model {service.name!r} is not ready")
        return json_response({"name": service.name, "ready": True})

    async def infer(request: Request) -> Response:
        model_named(request)
        body = parse_body(await read_body(request, service.spec.limits.max_request_bytes), V2InferRequest)
        items = _decode_inputs(body, service)
        results = await service.predict(items, body.parameters)
        outputs = encode_outputs(results, service.runtime.signature().outputs)
        if body.outputs is not None:
            outputs = _select(outputs, [o.name for o in body.outputs])
        response: dict[str, Any] = {"model_name": service.name, "outputs": outputs}
        if body.id is not None:
            response["id"] = body.id
        return json_response(response)

    def route(path: str, name: str, endpoint: Any, methods: list[str], public: bool = False) -> Route:
        return Route(path, guard(name, endpoint, public=public, errors=v2_error_body), methods=methods)

    return [
        route("/v2", "v2_server", server_metadata, ["GET"]),
        route("/v2/health/live", "v2_live", live, ["GET"], public=True),
        route("/v2/health/ready", "v2_ready", ready, ["GET"], public=True),
        route("/v2/models/{model}", "v2_model", model_metadata, ["GET"]),
        route("/v2/models/{model}/ready", "v2_model_ready", model_ready, ["GET"]),
        route("/v2/models/{model}/infer", "v2_infer", infer, ["POST"]),
    ]


def _describe(tensor: TensorSpec) -> dict[str, Any]:
    return {"name": tensor.name, "datatype": tensor.datatype, "shape": list(tensor.shape)}


def _decode_inputs(body: V2InferRequest, service: ModelService) -> list[Any]:
    """The one declared input as a list of items, after checking name, datatype and shape."""
    declared = service.runtime.signature().inputs
    if len(body.inputs) != 1:
        raise InvalidInput(f"body.inputs: this model takes one input tensor, got {len(body.inputs)}")
    tensor = body.inputs[0]
    expected = next((t for t in declared if t.name == tensor.name), None)
    if declared and expected is None:
        names = ", ".join(repr(t.name) for t in declared)
        raise InvalidInput(f"body.inputs[0].name: unknown input {tensor.name!r}; this model takes {names}")
    if expected is not None and expected.datatype != tensor.datatype:
        raise InvalidInput(
            f"body.inputs[0].datatype: input {tensor.name!r} takes {expected.datatype}, got {tensor.datatype}"
        )
    data = _flatten(tensor.data)
    if any(dim < 0 for dim in tensor.shape) or math.prod(tensor.shape) != len(data):
        raise InvalidInput(
            f"body.inputs[0].shape: shape {tensor.shape} holds {math.prod(tensor.shape)} elements "
            f"but data has {len(data)}"
        )
    if not data:
        raise InvalidInput("body.inputs[0].data: send at least one element")
    return service.check_inputs(data, "body.inputs[0].data")


def _flatten(data: list[Any]) -> list[Any]:
    if not any(isinstance(item, list) for item in data):
        return data
    return [leaf for item in data for leaf in (_flatten(item) if isinstance(item, list) else [item])]


def encode_outputs(results: list[Any], declared: tuple[TensorSpec, ...]) -> list[dict[str, Any]]:
    """Runtime results (one per input) as V2 output tensors, batch dimension first."""
    first = results[0]
    default_name = declared[0].name if declared else "output"
    if isinstance(first, np.ndarray):
        stacked = np.stack(results)
        if str(stacked.dtype) not in NUMPY_DATATYPES:
            stacked = stacked.astype(np.float32)
        datatype = NUMPY_DATATYPES[str(stacked.dtype)]
        return [_tensor(default_name, datatype, list(stacked.shape), stacked.ravel())]
    if isinstance(first, dict) and all(isinstance(r, dict) and r.keys() == first.keys() for r in results):
        return [_column(key, [r[key] for r in results]) for key in first]
    return [_column(default_name, results)]


def _column(name: str, values: list[Any]) -> dict[str, Any]:
    count = len(values)
    if all(isinstance(v, str) for v in values):
        return _tensor(name, "BYTES", [count], values)
    if all(isinstance(v, bool) for v in values):
        return _tensor(name, "BOOL", [count], values)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return _tensor(name, "INT64", [count], values)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return _tensor(name, "FP32", [count], values)
    # Nested structures (entities, fill-mask candidates) travel as one JSON string per input.
    return _tensor(
        name, "BYTES", [count], [orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY).decode() for v in values]
    )


def _tensor(name: str, datatype: str, shape: list[int], data: Any) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape, "data": data}


def _select(outputs: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    available = {o["name"]: o for o in outputs}
    missing = [n for n in names if n not in available]
    if missing:
        raise InvalidInput(
            f"body.outputs: unknown output {missing[0]!r}; this model returns {', '.join(available)}"
        )
    return [available[n] for n in names]
