"""Ollama-compatible routes, so Ollama's clients (and apps given OLLAMA_HOST) talk to a worker unchanged.

`/api/generate` and `/api/chat` generate through `ModelService.generate` (streaming, NDJSON, the
default as on Ollama) or `ModelService.complete` (`"stream": false`); `/api/embed` and the legacy
`/api/embeddings` embed through the batcher like `/v1/embeddings`. The model is named by the
deployment's name, with or without Ollama's `:latest` tag. Errors take Ollama's shape,
`{"error": "..."}`, and a request berth cannot serve is a 400 as it is on Ollama (422 on berth's other
routes); an unknown model is a 404. Durations are nanoseconds; there is no load time, since the
model is loaded before the port listens. Request bodies and `options`: `ollama_types.py`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from berth.asgi import read_body
from berth.errors import BerthError, InvalidInput, MalformedRequest, NotFound, UnsupportedModel
from berth.runtimes.base import Params
from berth.spec import Task
from berth.worker.http import Endpoint, Guard, json_response, log, parse_body
from berth.worker.protocols.ollama_card import describe
from berth.worker.protocols.ollama_types import (
    ChatRequest,
    EmbeddingsRequest,
    EmbedRequest,
    GenerateRequest,
    ShowRequest,
    generation_params,
)
from berth.worker.service import ModelService

# NOTE: the Ollama release whose API these routes follow; some clients check it before using a feature.
OLLAMA_VERSION = "0.12.0"
NDJSON = "application/x-ndjson"

Frame = Callable[[str], dict[str, Any]]  # a piece of text as the route's chunk fields


def ollama_error(exc: BerthError) -> dict[str, Any]:
    return {"error": exc.message}


def ollama_routes(service: ModelService, guard: Guard) -> list[Route]:
    limit = service.spec.limits.max_request_bytes
    card = describe(service)
    templated: list[bool] = []  # whether the model has a chat template, found on first use

    def check_model(model: str | None) -> str:
        if not model:
            raise InvalidInput(f"body.model: model is required; this server serves {service.name!r}")
        if model not in (service.name, card.tag):
            raise NotFound(
                f"model {model!r} not found; this server serves {service.name!r} (or {card.tag!r})"
            )
        return model

    def require(task: Task, what: str) -> None:
        if service.task != task:
            raise UnsupportedModel(f"{service.name!r} does not support {what}; it serves {service.task}")

    def has_template() -> bool:
        if not templated:
            try:
                service.chat_prompt([{"role": "user", "content": "hello"}])
                templated.append(True)
            except InvalidInput:
                templated.append(False)
        return templated[0]

    async def root(request: Request) -> Response:
        return PlainTextResponse("Ollama is running")

    async def version(request: Request) -> Response:
        return json_response({"version": OLLAMA_VERSION})

    async def tags(request: Request) -> Response:
        return json_response({"models": [card.listing()]})

    async def running(request: Request) -> Response:
        return json_response({"models": [card.running(service.runtime.device.startswith("cuda"))]})

    async def show(request: Request) -> Response:
        body = parse_body(await read_body(request, limit), ShowRequest)
        check_model(body.model)
        return json_response(
            {
                "modelfile": f"# served by berth\nFROM {service.spec.model.source}\n",
                "parameters": "",
                "template": "",
                "details": card.details(),
                "model_info": card.model_info(),
                "capabilities": card.capabilities(),
                "modified_at": card.modified_at,
            }
        )

    async def generate(request: Request) -> Response:
        started = time.perf_counter()
        body = parse_body(await read_body(request, limit), GenerateRequest)
        model = check_model(body.model)
        require(Task.TEXT_GENERATION, "generate")
        body.refuse_unsupported()
        params = generation_params(body.options)
        if not body.prompt:  # Ollama's way to load a model: this one is loaded already
            return json_response(_loaded(model, {"response": ""}))
        if body.raw:
            prompt = body.prompt
        elif not has_template():
            # NOTE: Ollama's default template is the bare prompt and drops `system`; kept here as a
            # first paragraph instead, since a client that sends one means it to be read
            prompt = f"{body.system}\n\n{body.prompt}" if body.system else body.prompt
        else:
            messages = [{"role": "system", "content": body.system}] if body.system else []
            prompt = service.chat_prompt([*messages, {"role": "user", "content": body.prompt}])

        def frame(text: str) -> dict[str, Any]:
            return {"model": model, "created_at": _now(), "response": text}

        if body.stream:
            return await _stream(service, prompt, params, frame, started)
        return json_response(await _complete(service, prompt, params, frame, started))

    async def chat(request: Request) -> Response:
        started = time.perf_counter()
        body = parse_body(await read_body(request, limit), ChatRequest)
        model = check_model(body.model)
        require(Task.TEXT_GENERATION, "chat")
        body.refuse_unsupported()
        params = generation_params(body.options)
        if not body.messages:  # Ollama's way to load a model: this one is loaded already
            return json_response(_loaded(model, {"message": {"role": "assistant", "content": ""}}))
        prompt = service.chat_prompt([{"role": m.role, "content": m.content} for m in body.messages])

        def frame(text: str) -> dict[str, Any]:
            return {"model": model, "created_at": _now(), "message": {"role": "assistant", "content": text}}

        if body.stream:
            return await _stream(service, prompt, params, frame, started)
        return json_response(await _complete(service, prompt, params, frame, started))

    async def embed(request: Request) -> Response:
        started = time.perf_counter()
        body = parse_body(await read_body(request, limit), EmbedRequest)
        model = check_model(body.model)
        require(Task.FEATURE_EXTRACTION, "embeddings")
        if body.dimensions is not None:
            raise InvalidInput("body.dimensions: berth does not shorten embeddings; remove the field")
        texts = [body.input] if isinstance(body.input, str) else body.input
        vectors = await service.predict(service.check_inputs(texts, "body.input"), {}) if texts else []
        return json_response(
            {
                "model": model,
                "embeddings": vectors,
                "total_duration": _ns(time.perf_counter() - started),
                "load_duration": 0,
                "prompt_eval_count": sum(service.runtime.count_tokens(t) for t in texts),
            }
        )

    async def embeddings(request: Request) -> Response:
        body = parse_body(await read_body(request, limit), EmbeddingsRequest)
        check_model(body.model)
        require(Task.FEATURE_EXTRACTION, "embeddings")
        if not body.prompt:  # as on Ollama: no text, no vector
            return json_response({"embedding": []})
        [vector] = await service.predict(service.check_inputs([body.prompt], "body.prompt"), {})
        return json_response({"embedding": vector})

    def route(path: str, name: str, endpoint: Endpoint, method: str, public: bool = False) -> Route:
        guarded = guard(name, _ollama_statuses(endpoint), public=public, errors=ollama_error)
        return Route(path, guarded, methods=[method])

    return [
        # NOTE: GET routes answer HEAD too (Starlette adds it): `HEAD /` is Ollama's liveness probe
        route("/", "ollama_root", root, "GET", public=True),
        route("/api/version", "ollama_version", version, "GET"),
        route("/api/tags", "ollama_tags", tags, "GET"),
        route("/api/ps", "ollama_ps", running, "GET"),
        route("/api/show", "ollama_show", show, "POST"),
        route("/api/generate", "ollama_generate", generate, "POST"),
        route("/api/chat", "ollama_chat", chat, "POST"),
        route("/api/embed", "ollama_embed", embed, "POST"),
        route("/api/embeddings", "ollama_embeddings", embeddings, "POST"),
    ]


def _ollama_statuses(endpoint: Endpoint) -> Endpoint:
    """Ollama answers 400 to every request it cannot serve, where berth's own routes answer 422."""

    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except BerthError as exc:
            if exc.status_code == 422:
                raise MalformedRequest(exc.message) from None
            raise

    return wrapped


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


def _loaded(model: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"model": model, "created_at": _now(), **fields, "done": True, "done_reason": "load"}


def _done(
    frame: Frame, text: str, reason: str, started: float, first: float, prompt_tokens: int, tokens: int
) -> dict[str, Any]:
    """The last object: the text not sent yet, why generation ended, counts and durations."""
    ended = time.perf_counter()
    return {
        **frame(text),
        "done": True,
        "done_reason": reason,
        "total_duration": _ns(ended - started),
        "load_duration": 0,
        "prompt_eval_count": prompt_tokens,
        "prompt_eval_duration": _ns(first - started),
        "eval_count": tokens,
        "eval_duration": _ns(ended - first),
    }


async def _complete(
    service: ModelService, prompt: str, params: Params, frame: Frame, started: float
) -> dict[str, Any]:
    result = await service.complete(prompt, params)
    # NOTE: a whole generation reports no first-token time, so its evaluation time includes the prompt's
    return _done(
        frame,
        str(result["generated_text"]),
        str(result["finish_reason"]),
        started,
        started,
        int(result["prompt_tokens"]),
        int(result["completion_tokens"]),
    )


async def _stream(
    service: ModelService, prompt: str, params: Params, frame: Frame, started: float
) -> Response:
    """NDJSON: one object per piece of text, then the last with `done: true` and the statistics."""
    deltas = service.generate(prompt, params)
    # NOTE: the first step runs before the status line is sent, so a prompt over the context, bad
    # parameters or a full queue still answer with their status rather than a 200 that fails.
    try:
        first = await anext(deltas)
    except BaseException:
        await _close(deltas)
        raise
    first_at = time.perf_counter()

    async def lines() -> AsyncIterator[bytes]:
        delta = first
        try:
            while True:
                if delta.finish_reason is not None:
                    last = _done(
                        frame,
                        delta.text,
                        delta.finish_reason,
                        started,
                        first_at,
                        delta.prompt_tokens,
                        delta.completion_tokens,
                    )
                    yield orjson.dumps(last) + b"\n"
                    return
                if delta.text:
                    yield orjson.dumps({**frame(delta.text), "done": False}) + b"\n"
                delta = await anext(deltas)
        except BerthError as exc:  # the status line is sent already: the error travels as a line
            yield orjson.dumps(ollama_error(exc)) + b"\n"
        except Exception:
            log.exception("generation failed while streaming")
            yield orjson.dumps({"error": "generation failed; the worker log has the details"}) + b"\n"
        finally:  # a client that disconnects stops the generation at its next step
            await _close(deltas)

    return StreamingResponse(lines(), media_type=NDJSON)


async def _close(deltas: AsyncIterator[Any]) -> None:
    close: Callable[[], Awaitable[None]] | None = getattr(deltas, "aclose", None)
    if close is not None:
        await close()
