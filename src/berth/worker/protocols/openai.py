"""OpenAI-compatible routes: `/v1/models`, `/v1/embeddings`, `/v1/completions`, `/v1/chat/completions`.

Embeddings need a feature-extraction model (or an image-feature-extraction one, whose `input` strings
are images as base64 or `data:` URIs) and completions a text-generation one; any other pairing
answers 422 saying which task this deployment serves. The routes only parse and delegate: the
request bodies and their mapping to engine parameters are `openai_requests`, the answers and
server-sent event streams `openai_generation`.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from berth.asgi import read_body
from berth.errors import InvalidInput, NotFound, UnsupportedModel
from berth.spec import Task
from berth.worker.decoding import off_loop
from berth.worker.http import Guard, json_response, parse_body
from berth.worker.images import decode_image
from berth.worker.protocols.openai_generation import (
    ChatShape,
    Choice,
    Shape,
    TokenTexts,
    stream_answer,
    whole_answer,
)
from berth.worker.protocols.openai_requests import (
    COMPLETION_MAX_TOKENS_DEFAULT,
    ChatRequest,
    CompletionRequest,
    choice_params,
    to_params,
)
from berth.worker.protocols.predict_inputs import from_base64
from berth.worker.service import ModelService


class EmbeddingsRequest(BaseModel):
    input: str | list[str] = Field(min_length=1)
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = None


def openai_routes(service: ModelService, guard: Guard) -> list[Route]:
    limit = service.spec.limits.max_request_bytes
    token_texts = TokenTexts(service)

    def require(task: Task, route: str) -> None:
        if service.task != task:
            raise UnsupportedModel(f"this deployment serves {service.task}; {route} needs a {task} model")

    def check_model(model: str | None) -> None:
        if model is not None and model != service.name:
            raise NotFound(f"no model {model!r} here; this worker serves {service.name!r}: set model to it")

    async def models(request: Request) -> Response:
        card = {"id": service.name, "object": "model", "created": _created(), "owned_by": "berth"}
        return json_response({"object": "list", "data": [card]})

    async def embeddings(request: Request) -> Response:
        images = service.task == Task.IMAGE_FEATURE_EXTRACTION
        if not images:
            require(Task.FEATURE_EXTRACTION, "/v1/embeddings")
        body = parse_body(await read_body(request, limit), EmbeddingsRequest)
        check_model(body.model)
        texts = [body.input] if isinstance(body.input, str) else body.input
        if images:  # each input is an image as base64 or a data: URI; no tokens to count
            with service.batcher.preparing(len(texts)):
                items = await _decode_images(service, texts)
            tokens = 0
        else:
            items, tokens = texts, sum(service.runtime.count_tokens(t) for t in texts)
        vectors = await service.predict(service.check_inputs(items, "body.input"), {})
        data = [
            {"object": "embedding", "index": i, "embedding": _encode_vector(v, body.encoding_format)}
            for i, v in enumerate(vectors)
        ]
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return json_response({"object": "list", "data": data, "model": service.name, "usage": usage})

    async def completions(request: Request) -> Response:
        require(Task.TEXT_GENERATION, "/v1/completions")
        body = parse_body(await read_body(request, limit), CompletionRequest)
        check_model(body.model)
        body.check_unsupported()
        logprobs = body.logprobs is not None
        params = to_params(body, body.max_tokens or COMPLETION_MAX_TOKENS_DEFAULT, logprobs=logprobs)
        choices = [
            Choice(prompt, each, index)
            for index, prompt in enumerate(body.prompts)
            for each in choice_params(params, body.n)
        ]
        return await answer(body, Shape(token_texts, logprobs), choices)

    async def chat(request: Request) -> Response:
        require(Task.TEXT_GENERATION, "/v1/chat/completions")
        body = parse_body(await read_body(request, limit), ChatRequest)
        check_model(body.model)
        body.check_unsupported()
        prompt = service.chat_prompt(body.chat_messages())
        logprobs = bool(body.logprobs)
        # NOTE: without a limit a chat answer runs to the engine's default length (or the context's end).
        params = to_params(body, body.max_completion_tokens or body.max_tokens, logprobs=logprobs)
        choices = [Choice(prompt, each, 0) for each in choice_params(params, body.n)]
        return await answer(body, ChatShape(token_texts, logprobs), choices)

    async def answer(body: CompletionRequest | ChatRequest, shape: Shape, choices: list[Choice]) -> Response:
        if body.stream:
            return await stream_answer(service, shape, choices, include_usage=body.include_usage)
        return json_response(await whole_answer(service, shape, choices))

    def route(path: str, name: str, endpoint: Any, method: str) -> Route:
        return Route(path, guard(name, endpoint), methods=[method])

    return [
        route("/v1/models", "openai_models", models, "GET"),
        route("/v1/embeddings", "openai_embeddings", embeddings, "POST"),
        route("/v1/completions", "openai_completions", completions, "POST"),
        route("/v1/chat/completions", "openai_chat", chat, "POST"),
    ]


def _created() -> int:
    return int(time.time())


async def _decode_images(service: ModelService, inputs: list[str]) -> list[Any]:
    """`input` strings as RGB images, decoded the way `/predict` decodes them, each in a thread."""
    limit = service.spec.limits.max_image_pixels
    fields = [f"body.input[{i}]" for i in range(len(inputs))]

    async def decode(text: str, field: str) -> Any:
        try:
            return await off_loop(decode_image, from_base64(text, field), field, limit, "RGB")
        except InvalidInput as exc:  # text is base64 often enough ("a cat" is): say what is expected
            raise InvalidInput(
                f"{exc.message}; this deployment embeds images: send each input as an image in base64 "
                "or a data: URI (data:image/png;base64,...), not text"
            ) from None

    return list(await asyncio.gather(*(decode(t, f) for t, f in zip(inputs, fields, strict=True))))


def _encode_vector(vector: Any, encoding: str) -> Any:
    if encoding == "base64":
        return base64.b64encode(np.asarray(vector, dtype=np.float32).tobytes()).decode()
    return vector
