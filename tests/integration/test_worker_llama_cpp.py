"""A real worker serving a tiny GGUF model through llama.cpp (`runtime: llama-cpp`), reached by the
official OpenAI and Ollama clients and by `/predict`.

Greedy decoding everywhere outputs are compared, so every route must give the same tokens for the same
prompt; chat expectations come from the GGUF's chat template rendered here with Jinja.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import ollama
import openai
import pytest

from berth.events import parse_event_line
from tests import tiny_models
from tests.integration.conftest import WorkerProcess, launch_worker

pytest.importorskip("llama_cpp")

PROMPT = "the quick brown fox"
CONTEXT = 128


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    folder = tmp_path_factory.mktemp("gguf")
    tiny_models.build_gguf(folder, file_type="Q8_0")
    tiny_models.build_gguf(folder, file_type="F16")  # a second file: model.file picks one
    spec = {
        "name": "tiny-gguf",
        "model": {"source": str(folder), "file": "*Q8_0.gguf"},
        "runtime": "llama-cpp",
        "task": "text-generation",
        "generation": {"max_concurrent_sequences": 8, "max_batch_tokens": 2048, "max_context": CONTEXT},
    }
    started = launch_worker(spec, tmp_path_factory.mktemp("worker"))
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def client(worker: WorkerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{worker.url}/v1", api_key="unused", max_retries=0, timeout=60)


def _predict(url: str, prompt: str, max_new_tokens: int) -> dict[str, object]:
    response = httpx.post(
        f"{url}/predict", json={"text": prompt, "parameters": {"max_new_tokens": max_new_tokens}}, timeout=60
    )
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()["result"][0]
    return result


def _templated(messages: list[dict[str, str]]) -> str:
    import jinja2

    template = jinja2.Environment(autoescape=False).from_string(tiny_models.GGUF_CHAT_TEMPLATE)
    return template.render(messages=messages, add_generation_prompt=True)


def test_openai_completions_whole_and_streamed_match_predict(
    client: openai.OpenAI, worker: WorkerProcess
) -> None:
    expected = _predict(worker.url, PROMPT, 12)
    whole = client.completions.create(model="tiny-gguf", prompt=PROMPT, max_tokens=12, temperature=0)
    assert whole.choices[0].text == expected["generated_text"]
    assert whole.choices[0].finish_reason == expected["finish_reason"]
    assert whole.usage is not None
    assert whole.usage.completion_tokens == expected["completion_tokens"]
    assert whole.usage.prompt_tokens == expected["prompt_tokens"]
    stream = client.completions.create(
        model="tiny-gguf", prompt=PROMPT, max_tokens=12, temperature=0, stream=True
    )
    assert "".join(chunk.choices[0].text for chunk in stream if chunk.choices) == whole.choices[0].text


def test_openai_chat_renders_the_gguf_chat_template(client: openai.OpenAI, worker: WorkerProcess) -> None:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello world"}]
    expected = _predict(worker.url, _templated(messages), 10)
    whole = client.chat.completions.create(
        model="tiny-gguf",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello world"}],
        max_tokens=10,
        temperature=0,
    )
    assert whole.choices[0].message.content == expected["generated_text"]
    assert whole.usage is not None
    assert whole.usage.prompt_tokens == expected["prompt_tokens"]
    stream = client.chat.completions.create(
        model="tiny-gguf",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello world"}],
        max_tokens=10,
        temperature=0,
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == whole.choices[0].message.content


def test_ollama_generate_and_chat_match_predict(worker: WorkerProcess) -> None:
    options = {"temperature": 0, "num_predict": 12}
    messages = [{"role": "user", "content": "hello world"}]
    with ollama.Client(host=worker.url, timeout=60) as client:
        answer = client.generate("tiny-gguf", PROMPT, raw=True, options=options)
        assert answer.response == _predict(worker.url, PROMPT, 12)["generated_text"]
        parts = list(client.generate("tiny-gguf", PROMPT, raw=True, options=options, stream=True))
        assert "".join(p.response or "" for p in parts) == answer.response
        assert parts[-1].done
        chat = client.chat("tiny-gguf", messages=messages, options=options)
        assert chat.message.content == _predict(worker.url, _templated(messages), 12)["generated_text"]
        streamed = list(client.chat("tiny-gguf", messages=messages, options=options, stream=True))
        assert "".join(p.message.content or "" for p in streamed) == chat.message.content


def test_eight_concurrent_clients_get_their_solo_answers(worker: WorkerProcess) -> None:
    prompts = [PROMPT * (1 + i % 3) + str(i) for i in range(8)]
    solo = [_predict(worker.url, p, 8 + i)["generated_text"] for i, p in enumerate(prompts)]

    async def all_at_once() -> list[str]:
        async with openai.AsyncOpenAI(base_url=f"{worker.url}/v1", api_key="unused", max_retries=0) as api:
            answers = await asyncio.gather(
                *(
                    api.completions.create(model="tiny-gguf", prompt=p, max_tokens=8 + i, temperature=0)
                    for i, p in enumerate(prompts)
                )
            )
        return [a.choices[0].text for a in answers]

    assert asyncio.run(all_at_once()) == solo


def test_a_prompt_over_the_context_is_422(client: openai.OpenAI, worker: WorkerProcess) -> None:
    long = "the quick brown fox jumps over the lazy dog. " * 20
    response = httpx.post(f"{worker.url}/predict", json={"text": long}, timeout=60)
    assert response.status_code == 422
    assert f"context is {CONTEXT}" in response.text
    with pytest.raises(openai.UnprocessableEntityError, match="context"):
        client.completions.create(model="tiny-gguf", prompt=long, max_tokens=4)
    assert _predict(worker.url, PROMPT, 2)["completion_tokens"] == 2  # the worker serves on


def test_the_worker_log_holds_no_llama_cpp_chatter_on_stdout(worker: WorkerProcess) -> None:
    # stdout carries the worker's event lines only: llama.cpp's log went to Python logging
    lines = [line for line in worker.stdout_lines if line.strip()]
    assert lines
    assert all(parse_event_line(line) is not None for line in lines), lines
    assert "llama_model_loader" not in worker.stderr()  # nor to stderr, below debug level
