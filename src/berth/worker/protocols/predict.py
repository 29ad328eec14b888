"""`POST /predict`: berth's own shape, `{"text": ...}` or `{"inputs": [...]}`."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.requests import Request
from starlette.responses import Response

from berth.asgi import read_body
from berth.worker.http import Endpoint, json_response, parse_body
from berth.worker.service import ModelService


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    inputs: list[Any] | None = Field(default=None, min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_of(self) -> PredictRequest:
        if (self.text is None) == (self.inputs is None):
            raise ValueError('send exactly one of "text" (one input) or "inputs" (a list)')
        return self


def predict_endpoint(service: ModelService) -> Endpoint:
    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        body = parse_body(await read_body(request, service.spec.limits.max_request_bytes), PredictRequest)
        items = [body.text] if body.inputs is None else body.inputs
        if body.inputs is None:
            checked = service.check_inputs(items, "body.text", indexed=False)
        else:
            checked = service.check_inputs(items, "body.inputs")
        result = await service.predict(checked, body.parameters)
        return json_response(
            {
                "status": "success",
                "result": result,
                "deployment_id": service.name,
                "inference_time_ms": round((time.perf_counter() - started) * 1000, 3),
            }
        )

    return predict
