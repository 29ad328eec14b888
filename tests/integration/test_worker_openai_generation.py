"""The official `openai` client against a worker serving a tiny Llama: chat and completions, whole
and streamed, usage, n, stop strings, sampling parameters, logprobs, refusals and concurrency."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests import tiny_models
from tests.integration.conftest import WorkerProcess, launch_worker

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello world, how are you today?"}]
PROMPT = "the quick brown fox"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    return tiny_models.build_llama(tmp_path_factory.mktemp("models") / "llama")


@pytest.fixture(scope="module")
def worker(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    process = launch_worker({"name": "llama", "model": {"source": str(folder)}}, tmp_path_factory.mktemp("w"))
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def client(worker: WorkerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{worker.url}/v1", api_key="unused", max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


def _count(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def test_chat_whole_and_streamed_agree_and_count_their_tokens(client: openai.OpenAI, tokenizer: Any) -> None:
    whole = client.chat.completions.create(model="llama", messages=HELLO, max_tokens=12, temperature=0)
    [choice] = whole.choices
    assert whole.object == "chat.completion"
    assert choice.message.role == "assistant"
    rendered = tokenizer.apply_chat_template(HELLO, tokenize=False, add_generation_prompt=True)
    assert whole.usage is not None
    assert whole.usage.prompt_tokens == _count(tokenizer, rendered)
    assert choice.finish_reason in {"stop", "length"}
    if choice.finish_reason == "length":
        assert whole.usage.completion_tokens == 12

    stream = client.chat.completions.create(
        model="llama",
        messages=HELLO,
        max_tokens=12,
        temperature=0,
        logprobs=True,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == choice.message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1  # token by token
    [reason] = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert reason == choice.finish_reason
    *_, last = chunks
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (
        whole.usage.prompt_tokens,
        whole.usage.completion_tokens,
    )
    streamed = [
        t for c in chunks if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content or []
    ]
    assert len(streamed) == last.usage.completion_tokens
    assert all(t.logprob <= 0 for t in streamed)


def test_completions_whole_and_streamed(client: openai.OpenAI, tokenizer: Any) -> None:
    whole = client.completions.create(model="llama", prompt=PROMPT, max_tokens=10, temperature=0, logprobs=1)
    [choice] = whole.choices
    assert whole.object == "text_completion"
    assert whole.usage is not None
    assert whole.usage.prompt_tokens == _count(tokenizer, PROMPT)
    assert choice.logprobs is not None
    assert len(choice.logprobs.token_logprobs or []) == whole.usage.completion_tokens
    assert "".join(choice.logprobs.tokens or []) == choice.text
    stream = client.completions.create(
        model="llama", prompt=PROMPT, max_tokens=10, temperature=0, stream=True
    )
    assert "".join(c.choices[0].text for c in stream) == choice.text


def test_n_choices_greedy_are_equal_and_seeded_ones_follow_seed_plus_index(client: openai.OpenAI) -> None:
    greedy = client.chat.completions.create(model="llama", messages=HELLO, max_tokens=8, temperature=0, n=2)
    assert [c.index for c in greedy.choices] == [0, 1]
    assert greedy.choices[0].message.content == greedy.choices[1].message.content

    def sampled(seed: int, n: int = 1) -> list[str]:
        answer = client.completions.create(model="llama", prompt=PROMPT, max_tokens=12, seed=seed, n=n)
        return [c.text for c in sorted(answer.choices, key=lambda c: c.index)]

    assert sampled(7, n=2) == sampled(7) + sampled(8)

    stream = client.completions.create(model="llama", prompt=PROMPT, max_tokens=12, seed=7, n=2, stream=True)
    texts = ["", ""]
    for chunk in stream:
        for c in chunk.choices:
            texts[c.index] += c.text
    assert texts == sampled(7, n=2)


def test_a_stop_string_trims_the_text_and_the_token_count(client: openai.OpenAI) -> None:
    full = client.completions.create(
        model="llama", prompt=PROMPT, max_tokens=24, temperature=0, logprobs=0, stream=True
    )
    text, tokens, offsets = "", [], []
    for chunk in full:
        for c in chunk.choices:
            text += c.text
            tokens += c.logprobs.tokens or [] if c.logprobs else []
            offsets += c.logprobs.text_offset or [] if c.logprobs else []
    assert "".join(tokens) == text
    assert offsets == [sum(len(t) for t in tokens[:i]) for i in range(len(tokens))]
    # a two-character stop string that first occurs where a token past the first few starts
    cut = next(o for o in offsets[3:] if text.find(text[o : o + 2]) == o and o + 2 <= len(text))
    stop = text[cut : cut + 2]
    stopped = client.completions.create(
        model="llama", prompt=PROMPT, max_tokens=24, temperature=0, stop=[stop]
    )
    assert stopped.choices[0].text == text[:cut]
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.usage is not None
    assert stopped.usage.completion_tokens == sum(1 for o in offsets if o < cut)
    streamed = client.completions.create(
        model="llama", prompt=PROMPT, max_tokens=24, temperature=0, stop=stop, stream=True
    )
    assert "".join(c.choices[0].text for c in streamed if c.choices) == text[:cut]


def test_top_k_one_samples_greedily_and_repetition_penalty_changes_greedy_text(client: openai.OpenAI) -> None:
    def text(**extra: Any) -> str:
        answer = client.completions.create(model="llama", prompt=PROMPT, max_tokens=16, **extra)
        return str(answer.choices[0].text)

    greedy = text(temperature=0)
    assert text(temperature=1.5, seed=3, extra_body={"top_k": 1}) == greedy
    assert text(temperature=0, extra_body={"repetition_penalty": 5.0}) != greedy


@pytest.mark.parametrize(
    ("route", "body", "fragment"),
    [
        ("chat", {"messages": HELLO, "extra_body": {"colour": "red"}}, "body.colour: unknown field"),
        ("chat", {"messages": HELLO, "max_tokens": -1}, "body.max_tokens"),
        ("chat", {"messages": HELLO, "temperature": 3}, "body.temperature"),
        ("chat", {"messages": []}, "body.messages"),
        ("chat", {"messages": HELLO, "n": 9}, "body.n"),
        ("chat", {"messages": HELLO, "presence_penalty": 0.5}, "repetition_penalty"),
        ("chat", {"messages": HELLO, "logprobs": True, "top_logprobs": 2}, "top_logprobs is not supported"),
        ("chat", {"messages": HELLO, "stop": ["a", "b", "c", "d", "e"]}, "body.stop"),
        (
            "chat",
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "'image_url' are not supported",
        ),
        ("completions", {"prompt": PROMPT, "logprobs": 2}, "body.logprobs"),
        ("completions", {"prompt": PROMPT, "echo": True}, "echo is not supported"),
        ("completions", {"prompt": "the quick brown fox " * 200, "max_tokens": 4}, "context"),
        ("completions", {"prompt": "the quick brown fox " * 200, "stream": True}, "context"),
        ("completions", {"prompt": PROMPT, "max_tokens": 100_000}, "context"),
    ],
)
def test_bad_requests_are_4xx_with_a_clear_message(
    client: openai.OpenAI, route: str, body: dict[str, Any], fragment: str
) -> None:
    create: Any = client.chat.completions.create if route == "chat" else client.completions.create
    with pytest.raises((openai.BadRequestError, openai.UnprocessableEntityError)) as caught:
        create(model="llama", **body)  # a stream refused before its first event raises here too
    assert isinstance(caught.value.body, dict)
    assert fragment in caught.value.body["message"]


def test_presence_penalty_zero_and_text_parts_are_accepted(client: openai.OpenAI) -> None:
    parts: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": [{"type": "text", "text": "hello world, how are you today?"}]}
    ]
    with_parts = client.chat.completions.create(
        model="llama", messages=parts, max_tokens=6, temperature=0, presence_penalty=0, frequency_penalty=0
    )
    plain = client.chat.completions.create(model="llama", messages=HELLO, max_tokens=6, temperature=0)
    assert with_parts.choices[0].message.content == plain.choices[0].message.content


def test_eight_concurrent_clients_get_their_solo_answers(worker: WorkerProcess) -> None:
    requests = [(f"{PROMPT} {'jumps ' * i}", 4 + 3 * i, i % 2 == 0) for i in range(8)]

    async def one(api: openai.AsyncOpenAI, prompt: str, max_tokens: int, stream: bool) -> str:
        if stream:
            chunks = await api.completions.create(
                model="llama", prompt=prompt, max_tokens=max_tokens, temperature=0, stream=True
            )
            return "".join([c.choices[0].text async for c in chunks if c.choices])
        answer = await api.completions.create(
            model="llama", prompt=prompt, max_tokens=max_tokens, temperature=0
        )
        return answer.choices[0].text

    async def run() -> tuple[list[str], list[str]]:
        async with openai.AsyncOpenAI(base_url=f"{worker.url}/v1", api_key="unused", max_retries=0) as api:
            solo = [await one(api, *r) for r in requests]
            together = await asyncio.gather(*(one(api, *r) for r in requests))
        return solo, list(together)

    solo, together = asyncio.run(run())
    assert together == solo
    assert len(set(solo)) > 1


def _metric(worker: WorkerProcess, name: str) -> float:
    """One unlabelled-or-single-series value from the worker's Prometheus text."""
    text = httpx.get(f"{worker.url}/metrics", timeout=10).text
    [value] = re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE)
    return float(value)


def test_a_client_that_disconnects_cancels_every_choice(client: openai.OpenAI, worker: WorkerProcess) -> None:
    started = time.monotonic()
    forty = client.completions.create(model="llama", prompt=PROMPT, max_tokens=40, temperature=0)
    assert forty.choices[0].finish_reason == "length"
    forty_tokens_s = time.monotonic() - started
    stream = client.chat.completions.create(
        model="llama", messages=HELLO, max_tokens=480, temperature=0, n=2, stream=True
    )
    chunks = [chunk for _, chunk in zip(range(6), stream, strict=False)]
    stream.close()
    assert not any(c.choices and c.choices[0].finish_reason for c in chunks)
    # left running, the two sequences would decode ~470 more steps: about ten times the forty tokens
    deadline = time.monotonic() + 2 * forty_tokens_s + 1
    while _metric(worker, "berth_sequences_running") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _metric(worker, "berth_sequences_running") == 0
