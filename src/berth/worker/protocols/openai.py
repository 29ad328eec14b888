"""OpenAI-compatible routes: `/v1/models`, `/v1/embeddings`, `/v1/completions`, `/v1/chat/completions`.

Embeddings need a feature-extraction model (or an image-feature-extraction one, whose `input` strings
are images as base64 or `data:` URIs) and completions a text-generation one; any other pairing
answers 422 saying which task this deployment serves. `stream: true` answers server-sent events.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

import numpy as np
import orjson
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from berth.asgi import read_body
from berth.errors import BerthError, InvalidInput, NotFound, UnsupportedModel
from berth.runtimes.base import Params
from berth.spec import Task
from berth.worker.decoding import off_loop
from berth.worker.http import Guard, json_response, parse_body
from berth.worker.images import decode_image
from berth.worker.protocols.predict_inputs import from_base64
from berth.worker.service import ModelService

log = logging.getLogger("berth.worker")


class EmbeddingsRequest(BaseModel):
    input: str | list[str] = Field(min_length=1)
    model: str | None = None
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = None


class _Sampling(BaseModel):
    model: str | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=4096)
    temperature: float = Field(default=1.0, ge=0, le=2)
    top_p: float = Field(default=1.0, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    user: str | None = None


class CompletionRequest(_Sampling):
    prompt: str | list[str] = Field(min_length=1)


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str


class ChatRequest(_Sampling):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=4096)


def openai_routes(service: ModelService, guard: Guard) -> list[Route]:
    limit = service.spec.limits.max_request_bytes

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
        prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
        params = _generation_params(body, body.max_tokens or 16)
        if body.stream:
            if len(prompts) != 1:
                raise InvalidInput("body.prompt: streaming answers one prompt at a time")
            [prompt] = service.check_inputs(prompts, "body.prompt", indexed=False)
            return _sse(_completion_chunks(service, prompt, params, body.stop))
        return json_response(await _complete(service, prompts, params, body.stop, chat=False))

    async def chat(request: Request) -> Response:
        require(Task.TEXT_GENERATION, "/v1/chat/completions")
        body = parse_body(await read_body(request, limit), ChatRequest)
        check_model(body.model)
        messages = [m.model_dump() for m in body.messages]
        prompt = await service.batcher.call(service.runtime.chat_prompt, messages)
        params = _generation_params(body, body.max_completion_tokens or body.max_tokens or 128)
        if body.stream:
            [prompt] = service.check_inputs([prompt], "body.messages", indexed=False)
            return _sse(_chat_chunks(service, prompt, params, body.stop))
        return json_response(await _complete(service, [prompt], params, body.stop, chat=True))

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


def _head(service: ModelService, kind: str) -> dict[str, Any]:
    """The fields every completion object and chunk starts with."""
    prefix = "chatcmpl" if kind.startswith("chat.") else "cmpl"
    return {
        "id": f"{prefix}-{uuid.uuid4().hex}",
        "object": kind,
        "created": _created(),
        "model": service.name,
    }


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


def _generation_params(body: _Sampling, max_tokens: int) -> Params:
    params: Params = {"max_new_tokens": max_tokens}
    if body.temperature > 0:
        params.update(do_sample=True, temperature=body.temperature, top_p=body.top_p)
    else:
        params["do_sample"] = False
    if body.seed is not None:
        params["seed"] = body.seed
    return params


def _cut_at_stop(text: str, stop: str | list[str] | None) -> tuple[str, bool]:
    stops = [stop] if isinstance(stop, str) else (stop or [])
    cut = min((i for s in stops if s and (i := text.find(s)) >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def _finish_reason(service: ModelService, text: str, params: Params, stopped: bool) -> str:
    if stopped:
        return "stop"
    return "length" if service.runtime.count_tokens(text) >= params["max_new_tokens"] else "stop"


async def _complete(
    service: ModelService, prompts: list[str], params: Params, stop: str | list[str] | None, *, chat: bool
) -> dict[str, Any]:
    outputs = await service.predict(service.check_inputs(prompts, "body.prompt"), params)
    choices = []
    prompt_tokens = completion_tokens = 0
    for index, output in enumerate(outputs):
        text, stopped = _cut_at_stop(str(output["generated_text"]), stop)
        # Generation runtimes report their own token counts and finish reason; others are estimated.
        prompt_tokens += output.get("prompt_tokens", service.runtime.count_tokens(prompts[index]))
        completion_tokens += output.get("completion_tokens", service.runtime.count_tokens(text))
        reason = (
            "stop" if stopped else output.get("finish_reason") or _finish_reason(service, text, params, False)
        )
        if chat:
            choices.append(
                {"index": index, "message": {"role": "assistant", "content": text}, "finish_reason": reason}
            )
        else:
            choices.append({"index": index, "text": text, "logprobs": None, "finish_reason": reason})
    return {
        **_head(service, "chat.completion" if chat else "text_completion"),
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


async def _stream_text(
    service: ModelService, prompt: str, params: Params, stop: str | list[str] | None
) -> AsyncIterator[tuple[str, str | None]]:
    """(piece, None) while generating, then ("", finish_reason) once."""
    text = ""
    async for piece in service.stream(prompt, params):
        cut, stopped = _cut_at_stop(text + piece, stop)
        if cut[len(text) :]:
            yield cut[len(text) :], None
        text = cut
        if stopped:
            yield "", "stop"
            return
    yield "", _finish_reason(service, text, params, stopped=False)


async def _completion_chunks(
    service: ModelService, prompt: str, params: Params, stop: str | list[str] | None
) -> AsyncIterator[dict[str, Any]]:
    head = _head(service, "text_completion")
    async for piece, reason in _stream_text(service, prompt, params, stop):
        yield {**head, "choices": [{"index": 0, "text": piece, "logprobs": None, "finish_reason": reason}]}


async def _chat_chunks(
    service: ModelService, prompt: str, params: Params, stop: str | list[str] | None
) -> AsyncIterator[dict[str, Any]]:
    head = _head(service, "chat.completion.chunk")
    yield {
        **head,
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
    }
    async for piece, reason in _stream_text(service, prompt, params, stop):
        delta = {"content": piece} if piece else {}
        yield {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}


def _sse(chunks: AsyncIterator[dict[str, Any]]) -> StreamingResponse:
    async def events() -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                yield b"data: " + orjson.dumps(chunk) + b"\n\n"
        except BerthError as exc:  # the status line is sent already: the error travels as an event
            yield b"data: " + orjson.dumps(exc.to_dict()) + b"\n\n"
        except Exception:
            log.exception("generation failed while streaming")
            failure = BerthError("generation failed; the worker log has the details")
            yield b"data: " + orjson.dumps(failure.to_dict()) + b"\n\n"
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
