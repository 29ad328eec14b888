"""The llama.cpp engine on real tiny GGUF files: many sequences in one batch, each equal to its solo
run; stop strings and token ids, seeded sampling, cancellation, budgets, errors, a K-quant file."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from berth.errors import InvalidInput, QueueFull
from berth.runtimes.base import Runtime
from berth.runtimes.engine import Delta, EngineLimits
from berth.runtimes.generation import GenerationParams
from berth.runtimes.llama_engine import LlamaCppEngine
from tests import tiny_models

pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")

PROMPTS = ("hello world", "the quick brown fox jumps over", "berth serves", "i am fine, thank you! how are")


@pytest.fixture(scope="module")
def gguf_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gguf")


@pytest.fixture(scope="module")
def lm(gguf_root: Path) -> Iterator[Runtime]:
    runtime = _load(tiny_models.build_gguf(gguf_root), max_concurrent_sequences=16, max_batch_tokens=4096)
    yield runtime
    runtime.close()


def _load(path: Path, max_queue: int = 64, **generation: int) -> Runtime:
    return tiny_models.load_runtime(
        path, runtime="llama-cpp", generation=generation, limits={"max_queue": max_queue}
    )


def _engine(runtime: Runtime) -> LlamaCppEngine:
    engine = runtime.generation_engine()
    assert isinstance(engine, LlamaCppEngine)
    return engine


def _run(runtime: Runtime, prompt: str, params: dict[str, object]) -> list[Delta]:
    return _engine(runtime).generate(runtime.encode_prompt(prompt), GenerationParams.parse(params))


def _text(deltas: list[Delta]) -> str:
    return "".join(d.text for d in deltas)


def _ids(deltas: list[Delta]) -> list[int]:
    return [t for d in deltas for t in d.token_ids]


def _wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the engine did not get there in time"
        time.sleep(0.005)


def test_sixteen_concurrent_sequences_each_equal_their_solo_run(lm: Runtime) -> None:
    rng = random.Random(3)
    jobs: list[tuple[str, dict[str, object]]] = []
    for index in range(16):
        params: dict[str, object] = {"max_new_tokens": rng.randint(4, 40)}
        if index % 4 == 1:
            params["repetition_penalty"] = 1.3
        if index % 4 == 2:  # sampled with its own seed: reproducible beside anything
            params.update(temperature=0.8, top_k=30, top_p=0.9, seed=index)
        prompt = PROMPTS[index % len(PROMPTS)] * (1 + index % 3)  # different lengths
        jobs.append((prompt, params))
    solo = [_run(lm, prompt, params) for prompt, params in jobs]
    together: dict[int, list[Delta]] = {}

    def one(index: int) -> None:
        time.sleep(rng.random() * 0.05)  # they join a running batch at different steps
        together[index] = _run(lm, *jobs[index])

    peak = 0
    finished = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not finished.is_set():
            peak = max(peak, _engine(lm).stats().running)
            time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished.set()
    watcher.join()
    assert peak >= 4  # they did share batches (the short ones may finish before the last join)
    for index, deltas in enumerate(solo):
        assert _ids(together[index]) == _ids(deltas), jobs[index]
        assert _text(together[index]) == _text(deltas), jobs[index]
        assert together[index][-1] == deltas[-1]
        assert deltas[-1].completion_tokens == len(_ids(deltas))
    stats = _engine(lm).stats()
    assert (stats.running, stats.kv_tokens) == (0, 0)
    assert stats.generated_tokens >= 2 * sum(len(_ids(d)) for d in solo)


def test_a_prompt_longer_than_a_batch_is_prefilled_in_chunks(lm: Runtime) -> None:
    prompt = "the quick brown fox jumps over the lazy dog. " * 8
    ids = lm.encode_prompt(prompt)
    assert len(ids) > 3 * 16
    whole = _ids(_run(lm, prompt, {"max_new_tokens": 8}))
    limits = EngineLimits(max_sequences=4, max_batch_tokens=512, max_context=512, max_queue=8, gather_s=0.0)
    # NOTE: a second context on the same model, with 16-token batches
    engine = LlamaCppEngine(lm._model, limits, threads=1, batch_tokens=16)  # type: ignore[attr-defined]
    engine.start()
    try:
        results: list[list[Delta]] = [[], []]
        threads = [
            threading.Thread(
                target=lambda i=i: results[i].extend(engine.generate(ids, GenerationParams(max_new_tokens=8)))
            )
            for i in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [_ids(r) for r in results] == [whole, whole]
    finally:
        engine.close()


def test_text_is_whole_characters_and_matches_the_tokens(lm: Runtime) -> None:
    deltas = _run(lm, "caf\u00e9 na\u00efve \u00fcber", {"max_new_tokens": 48})
    text = _text(deltas)
    pieces = b"".join(_engine(lm).tokenizer.piece(t) for t in _ids(deltas))
    whole = pieces.decode("utf-8", "replace")
    # an incomplete character at the very end is never released
    assert whole.startswith(text)
    assert len(whole) - len(text) <= 1
    assert deltas[-1].finish_reason == "length"


def test_an_unstreamed_sequence_gets_one_delta_holding_everything(lm: Runtime) -> None:
    streamed = _run(lm, "hello world", {"max_new_tokens": 16, "stop": ["zz"]})
    whole: list[Delta] = []
    done = threading.Event()

    def sink(item: Delta | BaseException) -> None:
        assert isinstance(item, Delta)
        whole.append(item)
        done.set()

    params = GenerationParams.parse({"max_new_tokens": 16, "stop": ["zz"]})
    _engine(lm).submit(lm.encode_prompt("hello world"), params, sink, stream=False)
    assert done.wait(20)
    [delta] = whole
    assert delta.text == _text(streamed)
    assert list(delta.token_ids) == _ids(streamed)
    assert delta.finish_reason == streamed[-1].finish_reason
    assert delta.first_token_at is not None
    assert streamed[0].first_token_at is None


def test_a_stop_string_ends_the_text_where_it_begins(lm: Runtime) -> None:
    free = _text(_run(lm, "hello world", {"max_new_tokens": 30}))
    stop = free[10:13]
    assert len(stop) == 3
    deltas = _run(lm, "hello world", {"max_new_tokens": 30, "stop": [stop]})
    assert _text(deltas) == free[: free.index(stop)]
    assert deltas[-1].finish_reason == "stop"
    assert deltas[-1].completion_tokens < 30


def test_a_stop_token_id_finishes_with_stop(lm: Runtime) -> None:
    free = _ids(_run(lm, "berth serves", {"max_new_tokens": 20}))
    token = free[6]
    deltas = _run(lm, "berth serves", {"max_new_tokens": 20, "stop_token_ids": [token]})
    assert _ids(deltas) == free[: free.index(token) + 1]
    assert deltas[-1].finish_reason == "stop"


def test_seeded_sampling_repeats_and_another_seed_differs(lm: Runtime) -> None:
    params: dict[str, object] = {"max_new_tokens": 32, "temperature": 1.0, "seed": 7}
    first = _ids(_run(lm, "hello world", params))
    assert _ids(_run(lm, "hello world", params)) == first
    assert _ids(_run(lm, "hello world", {**params, "seed": 8})) != first
    assert first != _ids(_run(lm, "hello world", {"max_new_tokens": 32}))  # not greedy


def test_greedy_logprobs_are_the_most_likely_tokens(lm: Runtime) -> None:
    deltas = _run(lm, "hello world", {"max_new_tokens": 8, "logprobs": True})
    logprobs = [p for d in deltas for p in d.logprobs or ()]
    assert len(logprobs) == 8
    # the argmax of a distribution over V tokens has probability at least 1/V
    assert all(-math.log(_engine(lm).tokenizer.size) <= p <= 0 for p in logprobs)
    assert _run(lm, "hello world", {"max_new_tokens": 8})[-1].logprobs is None


def test_cancel_frees_the_slot_and_its_cells(lm: Runtime) -> None:
    engine = _engine(lm)
    started = threading.Event()

    def sink(item: Delta | BaseException) -> None:
        started.set()

    sequence = engine.submit(lm.encode_prompt("hello world"), GenerationParams(max_new_tokens=400), sink)
    assert started.wait(20)
    assert engine.stats().running == 1
    assert engine.stats().kv_tokens > 0
    sequence.cancel()
    _wait_for(lambda: engine.stats().running == 0)
    assert engine.stats().kv_tokens == 0
    assert _run(lm, "hello world", {"max_new_tokens": 3})[-1].completion_tokens == 3


def test_a_prompt_over_the_context_is_refused(gguf_root: Path) -> None:
    runtime = _load(tiny_models.build_gguf(gguf_root), max_context=32, max_batch_tokens=256)
    try:
        engine = _engine(runtime)
        long = runtime.encode_prompt("the quick brown fox jumps over the lazy dog. " * 6)
        with pytest.raises(InvalidInput, match="context is 32"):
            engine.submit(long, GenerationParams(), print)
        with pytest.raises(InvalidInput, match="exceeds"):
            engine.submit(long[:20], GenerationParams(max_new_tokens=20), print)
        deltas = engine.generate(long[:20], GenerationParams())
        assert deltas[-1].completion_tokens == 12  # the default allowance stops at the context's end
    finally:
        runtime.close()


def test_a_full_queue_is_refused_with_503(gguf_root: Path) -> None:
    runtime = _load(tiny_models.build_gguf(gguf_root), max_queue=1, max_concurrent_sequences=1)
    engine = _engine(runtime)
    release = threading.Event()
    try:
        ids = runtime.encode_prompt("hello world")
        # NOTE: a sink that blocks holds the engine thread, so the first sequence stays running
        engine.submit(ids, GenerationParams(max_new_tokens=50), lambda item: release.wait(20))
        _wait_for(lambda: engine.stats().running == 1)
        engine.submit(ids, GenerationParams(max_new_tokens=2), print)
        with pytest.raises(QueueFull, match="max_queue"):
            engine.submit(ids, GenerationParams(max_new_tokens=2), print)
        assert engine.stats().waiting == 1
    finally:
        release.set()
        runtime.close()


def test_a_k_quant_file_loads_and_generates(gguf_root: Path) -> None:
    from gguf import GGMLQuantizationType, GGUFReader

    path = tiny_models.build_gguf(gguf_root, file_type="Q4_K_M")
    assert path.name == "tiny-Q4_K_M.gguf"
    kinds = {t.tensor_type for t in GGUFReader(path).tensors}
    assert GGMLQuantizationType.Q4_K in kinds or GGMLQuantizationType.Q6_K in kinds
    runtime = _load(path, max_batch_tokens=512)
    try:
        [result] = runtime.predict(["the quick brown"], {"max_new_tokens": 12})
        assert result["finish_reason"] == "length"
        assert result["completion_tokens"] == 12
        assert result["prompt_tokens"] == len(runtime.encode_prompt("the quick brown"))
    finally:
        runtime.close()
