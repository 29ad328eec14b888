"""The Open Inference Protocol (KServe V2 / Triton HTTP): health, metadata and infer.

This module only parses, delegates to `ModelService` and formats. Bodies are JSON, or JSON plus raw
tensor data with the binary tensor data extension (`v2_binary`); the protocol's parameters are read
in `v2_types`, inputs become the runtime's items in `v2_inputs`, and results become output tensors in
`v2_outputs`. Errors on these routes use the protocol's own body, `{"error": "message"}`, not berth's
`{"error": {"code", "message"}}`: KServe and tritonclient parse that shape.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import berth
from berth.asgi import read_body
from berth.errors import BerthError, MalformedRequest, NotFound, NotReady
from berth.runtimes.base import TensorSpec
from berth.worker.http import JSON_OPTIONS, Guard, json_response, parse_body
from berth.worker.protocols.v2_binary import BINARY_MEDIA_TYPE, HEADER_LENGTH, split_body
from berth.worker.protocols.v2_inputs import input_arrays, model_inputs
from berth.worker.protocols.v2_media import MEDIA_CONTENT
from berth.worker.protocols.v2_outputs import output_tensors, pick, render
from berth.worker.protocols.v2_types import OutputRequest, V2InferRequest
from berth.worker.service import ModelService

EXTENSIONS = ["binary_tensor_data", "classification"]


def v2_error_body(exc: BerthError) -> dict[str, Any]:
    return {"error": exc.message}


def v2_routes(service: ModelService, guard: Guard) -> list[Route]:
    def model_named(request: Request) -> None:
        if request.path_params["model"] != service.name:
            raise NotFound(
                f"no model {request.path_params['model']!r} here; this worker serves {service.name!r}"
            )

    async def server_metadata(request: Request) -> Response:
        return json_response({"name": "berth", "version": berth.__version__, "extensions": EXTENSIONS})

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
        raw = await read_body(request, service.spec.limits.max_request_bytes)
        header_length = request.headers.get(HEADER_LENGTH)
        if header_length is None and request.headers.get("content-type", "").startswith(BINARY_MEDIA_TYPE):
            raise MalformedRequest(
                f"a binary V2 body needs the {HEADER_LENGTH} header (the JSON header's length in bytes)"
            )
        header, binary = split_body(raw, header_length)
        body = parse_body(header, V2InferRequest)
        signature = service.runtime.signature()
        binary_default = body.binary_outputs()
        requested = (
            None
            if body.outputs is None
            else [OutputRequest.parse(o, i, binary_default) for i, o in enumerate(body.outputs)]
        )
        arrays = input_arrays(body, binary)
        if any(tensor.content in MEDIA_CONTENT for tensor in signature.inputs):
            with service.batcher.preparing(arrays[0].shape[0] if arrays and arrays[0].ndim else 1):
                items = await model_inputs(body.inputs, arrays, signature.inputs, service.spec.limits)
        else:
            items = await model_inputs(body.inputs, arrays, signature.inputs, service.spec.limits)
        items = service.check_inputs(items, "row")
        results = await service.predict(items, body.model_parameters())
        outputs = pick(output_tensors(results, signature.outputs), requested)
        binary_names = (
            {o.name for o in outputs if binary_default}
            if requested is None
            else {want.name for want in requested if want.binary}
        )
        entries, data = render(outputs, binary_names)
        response: dict[str, Any] = {"model_name": service.name, "outputs": entries}
        if service.revision:
            response["model_version"] = service.revision
        if body.id is not None:
            response["id"] = body.id
        if not binary_names:
            return json_response(response)
        json_header = orjson.dumps(response, option=JSON_OPTIONS)
        return Response(
            json_header + data,
            media_type=BINARY_MEDIA_TYPE,
            headers={HEADER_LENGTH: str(len(json_header))},
        )

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
    # NOTE: the first dimension is always the batch, reported as -1 whatever a runtime wrote there.
    described: dict[str, Any] = {
        "name": tensor.name,
        "datatype": tensor.datatype,
        "shape": [-1, *tensor.shape[1:]],
    }
    # NOTE: V2 metadata tensors may carry `parameters`; there a BYTES tensor says what it holds.
    parameters = {
        key: value
        for key, value in (
            ("content", tensor.content),
            ("media_type", tensor.media_type),
            ("sample_rate", tensor.sample_rate if tensor.content == "audio" else None),
        )
        if value is not None
    }
    if parameters and tensor.datatype == "BYTES":
        described["parameters"] = parameters
    return described
