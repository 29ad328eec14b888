"""The answers of /v1/completions and /v1/chat/completions: whole objects and server-sent event streams.

A request is a list of choices (each prompt times `n`), each one sequence of the engine. A whole
answer awaits `ModelService.complete` for every choice; a stream sends one chunk per engine delta
that carries text, then each choice's finish chunk, then the usage chunk when asked, then `[DONE]`.
The two routes differ only in the shape of a choice, so each shape is one small `Shape` class.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from starlette.responses import StreamingResponse

from berth.errors import BerthError
from berth.runtimes.base import Params
from berth.runtimes.engine import Delta
from berth.runtimes.outputs import token_counter
from berth.worker.service import ModelService

log = logging.getLogger("berth.worker")

T = TypeVar("T")


@dataclass(frozen=True)
class Choice:
    """One sequence to generate: its prompt, its parameters, and which prompt it answers."""

    prompt: str
    params: Params
    prompt_index: int


class TokenTexts:
    """Each token's own text, for logprobs, from a private copy of the model's tokenizer; special
    tokens (an end of sequence) are "" as they are in the answer's text.

    NOTE: a private copy because the engine thread uses the shared one (see `token_counter`).
    """

    def __init__(self, service: ModelService) -> None:
        self._service = service
        self._backend: Any = None

    def __call__(self, ids: Iterable[int]) -> list[str]:
        engine = self._service.engine
        if engine is None:
            return []
        if self._backend is None:
            self._backend = token_counter(engine.tokenizer) or engine.tokenizer
        return [str(self._backend.decode([i], skip_special_tokens=True)) for i in ids]


Tokens = tuple[list[int], list[float]]  # token ids and their logprobs (empty without logprobs)


class Shape:
    """How a choice looks in a text completion (the chat shape overrides each method)."""

    whole_kind = "text_completion"
    chunk_kind = "text_completion"
    id_prefix = "cmpl"

    def __init__(self, token_texts: TokenTexts, logprobs: bool) -> None:
        self.token_texts = token_texts
        self.logprobs = logprobs
        self._offsets: dict[int, int] = {}

    def whole(self, index: int, text: str, reason: str, tokens: Tokens) -> dict[str, Any]:
        return {
            "index": index,
            "text": text,
            "logprobs": self._logprobs(index, tokens),
            "finish_reason": reason,
        }

    def opening(self, index: int) -> dict[str, Any] | None:
        return None

    def piece(self, index: int, text: str, tokens: Tokens, reason: str | None) -> dict[str, Any]:
        return {
            "index": index,
            "text": text,
            "logprobs": self._logprobs(index, tokens),
            "finish_reason": reason,
        }

    def _logprobs(self, index: int, tokens: Tokens) -> dict[str, Any] | None:
        if not self.logprobs:
            return None
        texts = self.token_texts(tokens[0])
        offset = self._offsets.get(index, 0)
        offsets = []
        for text in texts:
            offsets.append(offset)
            offset += len(text)
        self._offsets[index] = offset
        # NOTE: the engine computes the chosen tokens' logprobs only: there are no alternatives to list.
        return {"tokens": texts, "token_logprobs": tokens[1], "top_logprobs": None, "text_offset": offsets}


class ChatShape(Shape):
    whole_kind = "chat.completion"
    chunk_kind = "chat.completion.chunk"
    id_prefix = "chatcmpl"

    def whole(self, index: int, text: str, reason: str, tokens: Tokens) -> dict[str, Any]:
        message = {"role": "assistant", "content": text}
        return {
            "index": index,
            "message": message,
            "logprobs": self._logprobs(index, tokens),
            "finish_reason": reason,
        }

    def opening(self, index: int) -> dict[str, Any] | None:
        delta = {"role": "assistant", "content": ""}
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": None}

    def piece(self, index: int, text: str, tokens: Tokens, reason: str | None) -> dict[str, Any]:
        delta = {"content": text} if text else {}
        return {
            "index": index,
            "delta": delta,
            "logprobs": self._logprobs(index, tokens),
            "finish_reason": reason,
        }

    def _logprobs(self, index: int, tokens: Tokens) -> dict[str, Any] | None:
        if not self.logprobs:
            return None
        content = [
            {"token": text, "logprob": logprob, "bytes": list(text.encode()), "top_logprobs": []}
            for text, logprob in zip(self.token_texts(tokens[0]), tokens[1], strict=True)
        ]
        return {"content": content}


class _Ledger:
    """One choice's tokens not yet reported in a chunk, cut at what the engine counts as returned
    (`completion_tokens`), so logprobs list exactly the tokens the usage counts."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.logprobs: list[float] = []
        self.reported = 0

    def add(self, delta: Delta) -> None:
        self.ids.extend(delta.token_ids)
        self.logprobs.extend(delta.logprobs or ())

    def take(self, counted: int) -> Tokens:
        size = max(0, counted - self.reported)
        ids, self.ids = self.ids[:size], self.ids[size:]
        logprobs, self.logprobs = self.logprobs[:size], self.logprobs[size:]
        self.reported += len(ids)
        return ids, logprobs


def head(service: ModelService, shape: Shape, kind: str) -> dict[str, Any]:
    """The fields every completion object and chunk starts with."""
    return {
        "id": f"{shape.id_prefix}-{uuid.uuid4().hex}",
        "object": kind,
        "created": int(time.time()),
        "model": service.name,
    }


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


async def whole_answer(service: ModelService, shape: Shape, choices: list[Choice]) -> dict[str, Any]:
    """Every choice generated to its end, as one completion object."""
    results = await _all(service.complete(c.prompt, c.params) for c in choices)
    prompt_tokens: dict[int, int] = {}
    completion_tokens = 0
    answers = []
    for index, (choice, result) in enumerate(zip(choices, results, strict=True)):
        # NOTE: n choices of one prompt read it once, so its tokens count once, as OpenAI bills them.
        prompt_tokens[choice.prompt_index] = int(result["prompt_tokens"])
        counted = int(result["completion_tokens"])
        completion_tokens += counted
        tokens = list(result.get("token_ids") or ())[:counted], list(result.get("logprobs") or ())[:counted]
        answers.append(
            shape.whole(index, str(result["generated_text"]), str(result["finish_reason"]), tokens)
        )
    return {
        **head(service, shape, shape.whole_kind),
        "choices": answers,
        "usage": usage(sum(prompt_tokens.values()), completion_tokens),
    }


async def stream_answer(
    service: ModelService, shape: Shape, choices: list[Choice], *, include_usage: bool
) -> StreamingResponse:
    """Server-sent events: every choice's first delta is awaited here, before the status line, so a
    prompt the engine refuses (too long, a full queue) is a plain 4xx/5xx answer, not an event."""
    streams = [service.generate(c.prompt, c.params) for c in choices]
    try:
        firsts = await _all(anext(s) for s in streams)
    except BaseException:
        await asyncio.gather(*(_close(s) for s in streams), return_exceptions=True)
        raise
    return _sse(_chunks(service, shape, choices, streams, firsts, include_usage))


async def _chunks(
    service: ModelService,
    shape: Shape,
    choices: list[Choice],
    streams: list[AsyncIterator[Delta]],
    firsts: list[Delta],
    include_usage: bool,
) -> AsyncGenerator[dict[str, Any], None]:
    top = head(service, shape, shape.chunk_kind)
    extra = {"usage": None} if include_usage else {}
    prompt_tokens: dict[int, int] = {}
    completion_tokens: dict[int, int] = {}
    ledgers = [_Ledger() for _ in choices]
    for index in range(len(choices)):
        if (opening := shape.opening(index)) is not None:
            yield {**top, "choices": [opening], **extra}
    async with contextlib.aclosing(_merge(streams, firsts)) as merged:
        async for index, delta in merged:
            ledger = ledgers[index]
            ledger.add(delta)
            prompt_tokens[choices[index].prompt_index] = delta.prompt_tokens
            completion_tokens[index] = delta.completion_tokens
            if delta.text:
                piece = shape.piece(index, delta.text, ledger.take(delta.completion_tokens), None)
                yield {**top, "choices": [piece], **extra}
            if delta.finish_reason is not None:
                rest = ledger.take(delta.completion_tokens)  # a last token with no text of its own
                yield {**top, "choices": [shape.piece(index, "", rest, delta.finish_reason)], **extra}
    if include_usage:
        totals = usage(sum(prompt_tokens.values()), sum(completion_tokens.values()))
        yield {**top, "choices": [], "usage": totals}


async def _merge(
    streams: list[AsyncIterator[Delta]], firsts: list[Delta]
) -> AsyncGenerator[tuple[int, Delta], None]:
    """(choice index, delta) from every stream as they come; closing this closes them all."""
    if len(streams) == 1:  # the common case: no tasks, no queue
        try:
            yield 0, firsts[0]
            if firsts[0].finish_reason is None:
                async for delta in streams[0]:
                    yield 0, delta
        finally:
            await _close(streams[0])
        return
    queue: asyncio.Queue[tuple[int, Delta | BaseException | None]] = asyncio.Queue()

    async def pump(index: int, stream: AsyncIterator[Delta]) -> None:
        try:
            async for delta in stream:
                queue.put_nowait((index, delta))
        except Exception as exc:
            queue.put_nowait((index, exc))
        else:
            queue.put_nowait((index, None))
        finally:
            await _close(stream)

    for index, first in enumerate(firsts):
        queue.put_nowait((index, first))
    tasks = [
        asyncio.create_task(pump(i, s)) if first.finish_reason is None else None
        for i, (s, first) in enumerate(zip(streams, firsts, strict=True))
    ]
    running = sum(t is not None for t in tasks)
    try:
        while running or not queue.empty():
            index, item = await queue.get()
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield index, item
    finally:  # a client gone mid-stream: every sequence stops at its next step
        for task in tasks:
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in tasks if t is not None), return_exceptions=True)
        await asyncio.gather(*(_close(s) for s, t in zip(streams, tasks, strict=True) if t is None))


async def _close(stream: AsyncIterator[Delta]) -> None:
    close = getattr(stream, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


async def _all(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """Await them together; the first failure cancels the rest and is raised."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # each sequence's cleanup has run
        raise


def _sse(chunks: AsyncGenerator[dict[str, Any], None]) -> StreamingResponse:
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
        finally:
            await chunks.aclose()
        yield b"data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
