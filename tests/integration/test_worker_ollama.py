"""The Ollama API of real worker processes, through the official `ollama` Python client.

A tiny random Llama generates (greedy where outputs are compared, so every route must give the same
tokens for the same prompt), and the real all-MiniLM-L6-v2 embeds. Expectations come from outside the
Ollama routes: `/predict`'s generation, the tokenizer's own chat template, `/v1/embeddings`' vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import ollama
import pytest

from tests import tiny_models
from tests.integration.conftest import WorkerProcess, launch_worker

GREEDY = {"temperature": 0, "num_predict": 16}
PROMPT = "the quick brown fox"


@pytest.fixture(scope="module")
def llama_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    return tiny_models.build_llama(tmp_path_factory.mktemp("models") / "llama")


@pytest.fixture(scope="module")
def workers(
    llama_folder: Path, minilm_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, WorkerProcess]]:
    """Both workers, started together so their start-ups overlap."""
    folder = tmp_path_factory.mktemp("workers")
    specs = {
        "tiny-llama": {"name": "tiny-llama", "model": {"source": str(llama_folder)}},
        "minilm": {"name": "minilm", "model": {"source": str(minilm_path)}},
    }
    started = {name: launch_worker(spec, folder) for name, spec in specs.items()}
    try:
        for worker in started.values():
            worker.wait_ready()
        yield started
    finally:
        for worker in started.values():
            worker.stop()


@pytest.fixture(scope="module")
def llama(workers: dict[str, WorkerProcess]) -> WorkerProcess:
    return workers["tiny-llama"]


@pytest.fixture(scope="module")
def minilm(workers: dict[str, WorkerProcess]) -> WorkerProcess:
    return workers["minilm"]


@pytest.fixture(scope="module")
def client(llama: WorkerProcess) -> Iterator[ollama.Client]:
    with ollama.Client(host=llama.url, timeout=60) as client:
        yield client


def _predict(url: str, prompt: str, max_new_tokens: int) -> str:
    response = httpx.post(
        f"{url}/predict",
        json={"text": prompt, "parameters": {"max_new_tokens": max_new_tokens}},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["result"][0]["generated_text"])


def _templated(messages: list[dict[str, str]]) -> str:
    """The tiny models' chat template rendered here, as transformers renders it (Jinja)."""
    import jinja2

    template = jinja2.Environment(autoescape=False).from_string(tiny_models.CHAT_TEMPLATE)
    return template.render(messages=messages, add_generation_prompt=True)


def _status(call: Callable[[], Any]) -> int:
    def whole() -> None:
        result = call()
        if isinstance(result, Iterator):  # a stream sends its request when first read
            list(result)

    with pytest.raises(ollama.ResponseError) as caught:
        whole()
    return int(caught.value.status_code)


def test_raw_generate_matches_predict_and_reports_counts(client: ollama.Client, llama: WorkerProcess) -> None:
    answer = client.generate("tiny-llama", PROMPT, raw=True, options={**GREEDY, "num_predict": 12})
    assert answer.response == _predict(llama.url, PROMPT, 12)
    assert answer.done
    assert answer.done_reason in ("stop", "length")
    assert answer.eval_count is not None
    assert 1 <= answer.eval_count <= 12
    assert answer.prompt_eval_count is not None
    assert answer.prompt_eval_count >= 4
    assert answer.total_duration is not None
    assert answer.total_duration >= (answer.eval_duration or 0) > 0
    assert answer.model == "tiny-llama"


def test_generate_applies_the_chat_template_and_the_latest_tag_names_the_model(
    client: ollama.Client,
) -> None:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": PROMPT}]
    expected = client.generate("tiny-llama", _templated(messages), raw=True, options=GREEDY)
    answer = client.generate("tiny-llama:latest", PROMPT, system="be brief", options=GREEDY)
    assert answer.response == expected.response
    assert answer.model == "tiny-llama:latest"  # echoed as the client named it


def test_streamed_generate_and_chat_add_up_to_the_whole_answer(
    client: ollama.Client,
) -> None:
    options = {**GREEDY, "num_predict": 16}
    whole = client.generate("tiny-llama", PROMPT, raw=True, options=options)
    parts = list(client.generate("tiny-llama", PROMPT, raw=True, options=options, stream=True))
    assert [p.done for p in parts] == [False] * (len(parts) - 1) + [True]
    assert "".join(p.response or "" for p in parts) == whole.response
    assert parts[-1].eval_count == whole.eval_count
    assert parts[-1].done_reason == whole.done_reason
    assert (parts[-1].prompt_eval_duration or 0) > 0

    messages = [{"role": "user", "content": "hello world"}]
    chat = client.chat("tiny-llama", messages=messages, options=options)
    raw = client.generate("tiny-llama", _templated(messages), raw=True, options=options)
    assert chat.message.role == "assistant"
    assert chat.message.content == raw.response
    streamed = list(client.chat("tiny-llama", messages=messages, options=options, stream=True))
    assert "".join(p.message.content or "" for p in streamed) == chat.message.content
    assert streamed[-1].done
    assert streamed[-1].eval_count == chat.eval_count


def test_num_predict_bounds_the_answer_and_stop_trims_it(client: ollama.Client) -> None:
    long = client.generate("tiny-llama", PROMPT, raw=True, options={**GREEDY, "num_predict": 24})
    short = client.generate("tiny-llama", PROMPT, raw=True, options={**GREEDY, "num_predict": 3})
    text = str(long.response)
    assert short.eval_count is not None
    assert short.eval_count <= 3
    assert text.startswith(str(short.response))
    assert len(text) > len(str(short.response))
    if short.eval_count == 3:
        assert short.done_reason == "length"
    stop = text[len(text) // 2 : len(text) // 2 + 2]
    assert stop, f"the greedy answer is too short to cut: {text!r}"
    cut = client.generate(
        "tiny-llama", PROMPT, raw=True, options={**GREEDY, "num_predict": 24, "stop": [stop]}
    )
    assert cut.response == text[: text.find(stop)]
    assert cut.done_reason == "stop"


def test_a_seed_makes_sampling_repeatable(client: ollama.Client) -> None:
    def sample(seed: int) -> str:
        options = {"temperature": 1.5, "top_k": 0, "top_p": 1.0, "seed": seed, "num_predict": 12}
        return str(client.generate("tiny-llama", PROMPT, raw=True, options=options).response)

    assert sample(7) == sample(7)
    assert len({sample(seed) for seed in range(4)}) > 1  # it does sample: seeds differ


def test_model_listings(client: ollama.Client, llama: WorkerProcess) -> None:
    [model] = client.list().models
    assert model.model == "tiny-llama:latest"
    assert model.details is not None
    assert model.details.family == "llama"
    assert model.details.format == "safetensors"
    assert model.details.quantization_level == "F32"
    assert model.size is not None
    assert model.size > 0
    assert model.digest
    shown = client.show("tiny-llama")
    assert shown.capabilities == ["completion"]
    assert shown.modelinfo is not None
    assert shown.modelinfo["llama.context_length"] == 512
    assert shown.modelinfo["general.parameter_count"] > 0
    [loaded] = client.ps().models
    assert loaded.model == "tiny-llama:latest"
    assert loaded.size_vram == 0
    assert loaded.context_length == 512
    version = httpx.get(f"{llama.url}/api/version").json()["version"]
    assert [int(part) for part in version.split(".")] >= [0, 5, 0]
    root = httpx.get(llama.url)
    assert (root.status_code, root.text, root.headers["content-type"].split(";")[0]) == (
        200,
        "Ollama is running",
        "text/plain",
    )
    head = httpx.head(llama.url)
    assert head.status_code == 200
    assert head.content == b""


def test_empty_prompt_or_messages_load_the_model_as_on_ollama(client: ollama.Client) -> None:
    loaded = client.chat("tiny-llama", messages=[])
    assert loaded.done_reason == "load"
    assert loaded.eval_count is None
    assert client.generate("tiny-llama").done_reason == "load"


def test_bad_requests_are_clear_client_errors(client: ollama.Client) -> None:
    said = "hello"
    assert _status(lambda: client.generate("nope", said)) == 404
    assert _status(lambda: client.show("nope:latest")) == 404
    assert _status(lambda: client.generate("tiny-llama", said, options={"temperature": "hot"})) == 400
    assert _status(lambda: client.generate("tiny-llama", said, options={"temprature": 0.5})) == 400
    assert _status(lambda: client.generate("tiny-llama", said, options={"mirostat": 2})) == 400
    assert _status(lambda: client.generate("tiny-llama", said, format="json")) == 400
    assert _status(lambda: client.generate("tiny-llama", said, images=[b"\x89PNG"])) == 400
    assert _status(lambda: client.chat("tiny-llama", messages=[{"role": "robot", "content": said}])) == 400
    too_long = "the quick brown fox " * 400  # past the 512-token context
    # streamed too: the status comes before the first line
    assert _status(lambda: client.generate("tiny-llama", too_long, raw=True, stream=True)) == 400
    with pytest.raises(ollama.ResponseError) as caught:
        client.generate("tiny-llama", said, options={"temperature": "hot"})
    assert "temperature" in caught.value.error
    # runtime knobs Ollama's own server uses are accepted and change nothing
    knobs = {**GREEDY, "num_predict": 4, "num_ctx": 4096, "num_thread": 2, "num_gpu": 0, "mirostat": 0}
    plain = client.generate("tiny-llama", PROMPT, raw=True, options={**GREEDY, "num_predict": 4})
    assert client.generate("tiny-llama", PROMPT, raw=True, options=knobs).response == plain.response


def test_embed_matches_openai_embeddings(minilm: WorkerProcess) -> None:
    sentences = ["A man is playing a guitar.", "The stock market fell sharply today."]
    openai = httpx.post(
        f"{minilm.url}/v1/embeddings", json={"model": "minilm", "input": sentences}, timeout=30
    )
    assert openai.status_code == 200, openai.text
    expected = np.array([row["embedding"] for row in openai.json()["data"]])
    with ollama.Client(host=minilm.url) as client:
        both = client.embed("minilm", sentences)
        one = client.embed("minilm:latest", sentences[0])
        legacy = client.embeddings("minilm", sentences[1])
        assert np.allclose(np.array(both.embeddings), expected, atol=1e-5)
        assert np.allclose(one.embeddings[0], expected[0], atol=1e-5)
        assert np.allclose(legacy.embedding, expected[1], atol=1e-5)
        assert both.prompt_eval_count is not None
        assert both.prompt_eval_count > 0
        assert client.show("minilm").capabilities == ["embedding"]
        assert _status(lambda: client.chat("minilm", messages=[{"role": "user", "content": "hi"}])) == 400
        assert _status(lambda: client.generate("minilm", "hi")) == 400
        assert _status(lambda: client.embed("nope", "hi")) == 404
