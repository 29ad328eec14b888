"""`POST /predict`: berth's own shape, `{"text": ...}`, `{"image": ...}`, `{"audio": ...}` or
`{"inputs": [...]}`, or files.

A JSON body takes the path it always had: pydantic straight from the bytes, no other parsing. Other
bodies (multipart uploads, a raw image or clip) and inputs the predictor declares as images, audio
or files are read in `predict_inputs`; whether the answer is JSON or a binary output's raw bytes is
decided in `predict_outputs`, from `Accept` and `?format=`.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.requests import Request
from starlette.responses import Response

from berth.asgi import read_body
from berth.errors import InvalidInput
from berth.worker.http import Endpoint, json_response, parse_body
from berth.worker.protocols.predict_inputs import JSON_MEDIA_TYPES, BinaryInputs, media_type, read_upload
from berth.worker.protocols.predict_outputs import negotiate, raw_response
from berth.worker.service import ModelService


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    image: str | None = None  # base64 or a data: URI, for a model that takes an image
    audio: str | dict[str, Any] | None = None  # base64, a data: URI or {"array", "sampling_rate"} PCM
    inputs: list[Any] | None = Field(default=None, min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_of(self) -> PredictRequest:
        given = (self.text, self.image, self.audio, self.inputs)
        if sum(value is not None for value in given) != 1:
            raise ValueError('send exactly one of "text" (one input), "image", "audio" or "inputs" (a list)')
        return self


def predict_endpoint(service: ModelService) -> Endpoint:
    limits = service.spec.limits
    binary = BinaryInputs.of(service.runtime.signature(), limits)

    async def inputs(request: Request) -> tuple[list[Any], str, bool, dict[str, Any]]:
        """The request's items (decoded where the model takes images, audio or files), for messages the
        field they came from and whether it is a list, and the request parameters."""
        raw = await read_body(request, limits.max_request_bytes)
        content_type = request.headers.get("content-type")
        fields: list[str] | None = None
        # NOTE: JSON is told apart with one header lookup: text requests pay nothing for files.
        if (
            content_type is None
            or content_type.startswith("application/json")
            or (media := media_type(content_type)) in JSON_MEDIA_TYPES
        ):
            body = parse_body(raw, PredictRequest)
            items, field, indexed = _json_inputs(body, binary)
            params = body.parameters
        else:
            upload = await read_upload(request.headers, media, raw)
            items, fields, params = list(upload.items), upload.fields, upload.parameters
            field, indexed = ("files", True) if len(items) > 1 or fields[0] != "body" else ("body", False)
        if binary is not None:
            if fields is None:
                fields = [f"{field}[{i}]" for i in range(len(items))] if indexed else [field]
            items = await binary.decode(items, fields)
        return items, field, indexed, params

    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        wanted = negotiate(request.headers.get("accept"), request.scope["query_string"])
        if binary is None:
            items, field, indexed, params = await inputs(request)
        else:
            # NOTE: from the first byte: an upload's body and its decoding take longer than the batcher's
            # arrival gap, and a batch collected meanwhile waits for this request (batcher.preparing).
            with service.batcher.preparing(1):
                items, field, indexed, params = await inputs(request)
        checked = service.check_inputs(items, field, indexed=indexed)
        result = await service.predict(checked, params)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
        if wanted is not None:
            headers = {"x-deployment-id": service.name, "x-inference-time-ms": str(elapsed_ms)}
            response = raw_response(result, wanted, headers)
            if response is not None:
                return response
        return json_response(
            {
                "status": "success",
                "result": result,
                "deployment_id": service.name,
                "inference_time_ms": elapsed_ms,
            }
        )

    return predict


def _json_inputs(body: PredictRequest, binary: BinaryInputs | None) -> tuple[list[Any], str, bool]:
    """A JSON body's items, the field they came from, and whether each is named by its index."""
    if body.inputs is not None:
        return body.inputs, "body.inputs", True
    if body.text is not None:
        kind = binary.single.content if binary is not None and binary.single is not None else None
        if kind in ("image", "audio"):  # a model whose one input is an image or a clip
            article = "an image" if kind == "image" else "audio"
            raise InvalidInput(
                f"body.text: this model takes {article}, not text; "
                f'send {{"{kind}": base64}} or upload the file'
            )
        return [body.text], "body.text", False
    if body.audio is not None:
        if binary is None or not binary.takes_audio:
            raise InvalidInput('body.audio: this model takes no audio; send "text" or "inputs"')
        return [body.audio], "body.audio", False
    if binary is None or not binary.takes_image:
        raise InvalidInput('body.image: this model takes no image; send "text" or "inputs"')
    return [body.image], "body.image", False
