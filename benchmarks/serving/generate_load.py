"""Load for the generation benchmark: closed-loop clients on the `openai` async client, one slice at a time.

A slice opens its clients at once; each sends its next request as soon as the previous one answered.
The measured window starts `warmup` seconds in and lasts `seconds`; at its end the clients send
nothing new and the slice waits for the requests still in flight (up to `DRAIN_LIMIT_S`), so that
no half-finished generation runs on into the next contender's slice. Each request becomes a
`Record` with its times, tokens and text; `generate_stats` turns a slice's records into rates.

Tokens are the server's own count (`usage.completion_tokens`); a stream without a usage chunk is
counted with the model's tokenizer over its text.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import openai

from generate_corpus import Request, count_tokens

DRAIN_LIMIT_S = 120.0
REQUEST_TIMEOUT_S = 300.0


@dataclass
class Record:
    """One request: `start`, `first` (first text, or the answer when not streaming) and `end` are
    seconds on the slice's clock; `error` is None when it succeeded."""

    client: int
    request: Request
    start: float
    first: float
    end: float
    tokens: int
    text: str
    error: str | None = None


@dataclass
class Slice:
    records: list[Record]
    opened: float  # the measured window, on the slice's clock
    closed: float
    cut: int  # requests still running DRAIN_LIMIT_S after the window, abandoned


def make_client(base_url: str) -> openai.AsyncOpenAI:
    # NOTE: no retries, so that a failed request counts as one; a fresh client (and connection pool)
    # per slice, so that no keep-alive connection to a server frozen meanwhile is reused.
    return openai.AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=REQUEST_TIMEOUT_S)


async def send(
    client: openai.AsyncOpenAI, model: str, request: Request, tokenizer: Any
) -> tuple[float, int, str]:
    """One request: (first-text time on perf_counter, completion tokens, text)."""
    common: dict[str, Any] = {"model": model, "max_tokens": request.max_tokens, "temperature": 0}
    if not request.stream:
        if request.kind == "chat":
            chat = await client.chat.completions.create(
                messages=[{"role": "user", "content": request.prompt}], **common
            )
            text, usage = chat.choices[0].message.content or "", chat.usage
        else:
            completion = await client.completions.create(prompt=request.prompt, **common)
            text, usage = completion.choices[0].text, completion.usage
        tokens = usage.completion_tokens if usage else count_tokens(tokenizer, text)
        return time.perf_counter(), tokens, text
    common["stream_options"] = {"include_usage": True}
    pieces: list[str] = []
    first = 0.0
    reported: int | None = None
    if request.kind == "chat":
        chat_stream = await client.chat.completions.create(
            messages=[{"role": "user", "content": request.prompt}], stream=True, **common
        )
        async for chunk in chat_stream:
            piece = chunk.choices[0].delta.content if chunk.choices else None
            reported = chunk.usage.completion_tokens if chunk.usage else reported
            if piece:
                first = first or time.perf_counter()
                pieces.append(piece)
    else:
        stream = await client.completions.create(prompt=request.prompt, stream=True, **common)
        async for part in stream:
            piece = part.choices[0].text if part.choices else None
            reported = part.usage.completion_tokens if part.usage else reported
            if piece:
                first = first or time.perf_counter()
                pieces.append(piece)
    text = "".join(pieces)
    return (
        first or time.perf_counter(),
        reported if reported is not None else count_tokens(tokenizer, text),
        text,
    )


async def closed_loop(
    base_url: str,
    model: str,
    plans: list[list[Request]],
    warmup: float,
    seconds: float,
    tokenizer: Any,
) -> Slice:
    """`len(plans)` clients, client i cycling through `plans[i]`, until the window closes."""
    client = make_client(base_url)
    origin = time.perf_counter()
    opened, closed = warmup, warmup + seconds
    records: list[Record] = []

    async def run(index: int, plan: list[Request]) -> None:
        sent = 0
        while time.perf_counter() - origin < closed:
            request = plan[sent % len(plan)]
            sent += 1
            start = time.perf_counter()
            try:
                first, tokens, text = await send(client, model, request, tokenizer)
                error = None
            # NOTE: any failure of one request (an HTTP error, a broken stream, a malformed answer) is
            # that request's error; it must not end the slice for the other clients.
            except Exception as exc:
                first, tokens, text, error = time.perf_counter(), 0, "", _describe(exc)
            end = time.perf_counter()
            records.append(
                Record(index, request, start - origin, first - origin, end - origin, tokens, text, error)
            )

    tasks = [asyncio.create_task(run(i, plan)) for i, plan in enumerate(plans)]
    try:
        _, pending = await asyncio.wait(tasks, timeout=closed + DRAIN_LIMIT_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    finally:
        await client.close()
    return Slice(records, opened, closed, cut=len(pending))


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    return f"HTTP {status}" if status else type(exc).__name__
