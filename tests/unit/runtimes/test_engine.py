"""The continuous-batching engine on real tiny models (GPT-2 and a GQA Llama): many sequences at once,
each with its own parameters, equal to their solo runs; cancellation, stop strings, budgets, errors."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.errors import InvalidInput, QueueFull
from berth.runtimes.base import Runtime
from berth.runtimes.engine import Delta, Engine
from berth.runtimes.generation import GenerationParams
from tests import tiny_models

PROMPTS = ("hello world", "the quick brown fox jumps over", "berth serves", "i am fine, thank you! how are")


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def lm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    folder = tmp_path_factory.mktemp(request.param)
    build = tiny_models.build_causal_lm if request.param == "gpt2" else tiny_models.build_llama
    runtime = tiny_models.load_runtime(build(folder / "model"), task="text-generation")
    yield runtime
    runtime.close()


def _engine(runtime: Runtime) -> Engine:
    engine = runtime.generation_engine()
    assert engine is not None
    return engine


def _run(runtime: Runtime, prompt: str, params: dict[str, object]) -> list[Delta]:
    return _engine(runtime).generate(runtime.encode_prompt(prompt), GenerationParams.parse(params))


def _text(deltas: list[Delta]) -> str:
    return "".join(d.text for d in deltas)


def test_sixteen_concurrent_sequences_each_equal_their_solo_run(lm: Runtime) -> None:
    rng = random.Random(3)
    jobs: list[tuple[str, dict[str, object]]] = []
    for index in range(16):
        params: dict[str, object] = {"max_new_tokens": rng.randint(4, 40)}
        if index % 4 == 1:
            params["repetition_penalty"] = 1.3
        if index % 4 == 2:  # sampled with its own seed: reproducible beside anything
            params.update(temperature=0.8, top_k=30, top_p=0.9, seed=index)
        jobs.append((PROMPTS[index % len(PROMPTS)], params))
    solo = [_run(lm, prompt, params) for prompt, params in jobs]
    together: dict[int, list[Delta]] = {}

    def one(index: int) -> None:
        time.sleep(rng.random() * 0.05)  # they join a running batch at different steps
        together[index] = _run(lm, *jobs[index])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, deltas in enumerate(solo):
        assert _text(together[index]) == _text(deltas), jobs[index]
        assert together[index][-1] == deltas[-1]
        assert deltas[-1].completion_tokens == sum(len(d.token_ids) for d in deltas)
    assert _engine(lm).stats().running == 0


def test_deltas_are_single_tokens_and_the_last_one_finishes(lm: Runtime) -> None:
    deltas = _run(lm, "hello world", {"max_new_tokens": 12})
    assert all(len(d.token_ids) == 1 for d in deltas)  # an ASCII vocabulary: no held UTF-8
    assert [d.finish_reason for d in deltas[:-1]] == [None] * (len(deltas) - 1)
    assert deltas[-1].finish_reason in {"stop", "length"}
    assert deltas[-1].prompt_tokens == len(lm.encode_prompt("hello world"))


def test_a_sequence_not_streamed_gets_one_delta_equal_to_the_stream(lm: Runtime) -> None:
    engine = _engine(lm)
    params = GenerationParams.parse({"max_new_tokens": 20, "stop": ["ab"], "logprobs": True})
    streamed = engine.generate(lm.encode_prompt("hello world"), params)
    got: list[Delta | BaseException] = []
    done = threading.Event()

    def sink(item: Delta | BaseException) -> None:
        got.append(item)
        if not isinstance(item, Delta) or item.finish_reason is not None:
            done.set()

    started = time.perf_counter()
    engine.submit(lm.encode_prompt("hello world"), params, sink, stream=False)
    assert done.wait(60)
    [whole] = got
    assert isinstance(whole, Delta)
    assert whole.text == _text(streamed)
    assert whole.token_ids == tuple(t for d in streamed for t in d.token_ids)
    assert whole.logprobs is not None
    assert len(whole.logprobs) == len(whole.token_ids)
    assert (whole.finish_reason, whole.completion_tokens) == (
        streamed[-1].finish_reason,
        streamed[-1].completion_tokens,
    )
    assert whole.first_token_at is not None
    assert started < whole.first_token_at < time.perf_counter()
    assert all(d.first_token_at is None for d in streamed)


def test_a_stop_string_trims_the_text_and_the_token_count(lm: Runtime) -> None:
    full = _text(_run(lm, "hello world", {"max_new_tokens": 30}))
    stop = full[len(full) // 2 : len(full) // 2 + 2]
    deltas = _run(lm, "hello world", {"max_new_tokens": 30, "stop": [stop]})
    assert _text(deltas) == full[: full.index(stop)]
    assert deltas[-1].finish_reason == "stop"
    assert deltas[-1].completion_tokens < 30
    assert stop not in "".join(d.text for d in deltas)


def test_seeds_are_per_request(lm: Runtime) -> None:
    params = {"max_new_tokens": 16, "temperature": 1.0, "seed": 5}
    assert _text(_run(lm, "hi", params)) == _text(_run(lm, "hi", params))
    others = {_text(_run(lm, "hi", params | {"seed": seed})) for seed in range(6)}
    assert len(others) > 1


def test_logprobs_come_with_each_token(lm: Runtime) -> None:
    deltas = _run(lm, "hi", {"max_new_tokens": 5, "logprobs": True})
    values = [p for d in deltas for p in d.logprobs or ()]
    assert len(values) == sum(len(d.token_ids) for d in deltas)
    assert all(v <= 0 for v in values)


def test_cancelling_frees_the_row_at_the_next_step(lm: Runtime) -> None:
    engine = _engine(lm)
    got: list[object] = []
    sequence = engine.submit(lm.encode_prompt("hello"), GenerationParams(max_new_tokens=200), got.append)
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        time.sleep(0.005)
    sequence.cancel()
    while engine.stats().running and time.monotonic() < deadline:
        time.sleep(0.005)
    assert engine.stats().running == 0
    assert len(got) < 200
    assert _run(lm, "hello world", {"max_new_tokens": 3})[-1].finish_reason is not None


def test_a_prompt_over_the_context_is_refused(lm: Runtime) -> None:
    engine = _engine(lm)
    context = engine.limits.max_context
    with pytest.raises(InvalidInput, match=f"context of {context} tokens"):
        engine.submit([1] * 10, GenerationParams(max_new_tokens=context), print)
    with pytest.raises(InvalidInput, match=f"the prompt is {context} tokens"):
        engine.submit([1] * context, GenerationParams(), print)
    with pytest.raises(InvalidInput, match="below the vocabulary size"):
        engine.submit([1], GenerationParams(stop_token_ids=(10**9,)), print)
    # unset, max tokens is whatever room is left
    deltas = engine.generate([1] * (context - 3), GenerationParams())
    assert deltas[-1].completion_tokens <= 3


def test_the_budget_and_the_queue_bound_the_engine(tmp_path: Path) -> None:
    folder = tiny_models.build_llama(tmp_path / "llama")
    generation = {"max_concurrent_sequences": 3, "max_batch_tokens": 128}
    runtime = tiny_models.load_runtime(
        folder, task="text-generation", generation=generation, limits={"max_queue": 4}
    )
    try:
        engine = _engine(runtime)
        seen: list[tuple[int, int]] = []
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                stats = engine.stats()
                seen.append((stats.running, stats.kv_tokens))
                time.sleep(0.001)

        watcher = threading.Thread(target=watch)
        watcher.start()
        done = threading.Semaphore(0)
        ids = runtime.encode_prompt("hello world")
        params = GenerationParams(max_new_tokens=30)
        sequences = [
            engine.submit(ids, params, lambda d: isinstance(d, Delta) and d.finish_reason and done.release())
            for _ in range(4)
        ]
        for _ in range(4 - engine.stats().waiting):  # fill the queue behind the three running
            engine.submit(ids, params, print)
        with pytest.raises(QueueFull, match=r"limits\.max_queue"):
            engine.submit(ids, params, print)
        for _ in sequences:
            assert done.acquire(timeout=60)
        stop.set()
        watcher.join()
        assert max(running for running, _ in seen) <= 3
        assert max(tokens for _, tokens in seen) <= 128
    finally:
        runtime.close()
