"""Worker processes serving the other tasks: generation (OpenAI, streamed), classification (V2), ONNX."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests import tiny_models
from tests.integration.conftest import WorkerProcess, launch_worker


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def generator(models: Path) -> Iterator[WorkerProcess]:
    folder = tiny_models.build_causal_lm(models / "lm")
    worker = launch_worker({"name": "tiny-lm", "model": {"source": str(folder)}}, models)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


def test_completions_and_chat(generator: WorkerProcess) -> None:
    completion = httpx.post(
        f"{generator.url}/v1/completions",
        json={"model": "tiny-lm", "prompt": "the cat", "max_tokens": 5, "temperature": 0},
        timeout=30,
    )
    assert completion.status_code == 200, completion.text
    body = completion.json()
    assert body["object"] == "text_completion"
    assert isinstance(body["choices"][0]["text"], str)
    assert body["usage"]["completion_tokens"] <= 5

    chat = {
        "model": "tiny-lm",
        "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 6,
        "temperature": 0,
    }
    reply = httpx.post(f"{generator.url}/v1/chat/completions", json=chat, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["role"] == "assistant"


def test_streamed_chat_joins_to_the_unstreamed_reply(generator: WorkerProcess) -> None:
    chat = {
        "model": "tiny-lm",
        "messages": [{"role": "user", "content": "a story"}],
        "max_tokens": 8,
        "temperature": 0,
    }
    whole = httpx.post(f"{generator.url}/v1/chat/completions", json=chat, timeout=30).json()
    with httpx.stream(
        "POST", f"{generator.url}/v1/chat/completions", json=chat | {"stream": True}, timeout=30
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [orjson.loads(line[6:]) for line in lines[:-1]]
    streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert streamed == whole["choices"][0]["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] in {"stop", "length"}


def test_a_model_without_a_chat_template_refuses_chat_and_completes(models: Path) -> None:
    folder = shutil.copytree(tiny_models.build_causal_lm(models / "lm-base"), models / "lm-no-template")
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    config_file = folder / "tokenizer_config.json"
    config = json.loads(config_file.read_text())
    config.pop("chat_template", None)
    config_file.write_text(json.dumps(config))
    worker = launch_worker({"name": "base-lm", "model": {"source": str(folder)}}, models)
    try:
        worker.wait_ready()
        messages = [{"role": "user", "content": "hello"}]
        chat = httpx.post(f"{worker.url}/v1/chat/completions", json={"messages": messages}, timeout=30)
        assert chat.status_code == 422, chat.text
        assert "no chat template" in chat.json()["error"]["message"]
        assert "/v1/completions" in chat.json()["error"]["message"]
        ollama = httpx.post(
            f"{worker.url}/api/chat", json={"model": "base-lm", "messages": messages}, timeout=30
        )
        assert ollama.status_code == 400, ollama.text
        assert "no chat template" in ollama.json()["error"]
        plain = httpx.post(
            f"{worker.url}/v1/completions",
            json={"prompt": "the cat", "max_tokens": 3, "temperature": 0},
            timeout=30,
        )
        assert plain.status_code == 200, plain.text
    finally:
        worker.stop()


def test_embeddings_route_refuses_a_generation_model(generator: WorkerProcess) -> None:
    response = httpx.post(f"{generator.url}/v1/embeddings", json={"input": "x"}, timeout=30)
    assert response.status_code == 422
    assert "feature-extraction" in response.json()["error"]["message"]


def test_a_classifier_answers_v2_label_and_score_columns(
    models: Path, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    folder = tiny_models.build_text_classifier(models / "classifier")
    worker = launch_worker({"name": "sentiment", "model": {"source": str(folder)}}, tmp_path)
    workers.append(worker)
    worker.wait_ready()
    predicted = httpx.post(f"{worker.url}/predict", json={"text": "I love this product!"}, timeout=30).json()
    [result] = predicted["result"]
    assert result["label"] in {"NEGATIVE", "POSITIVE"}
    request = {
        "inputs": [{"name": "text", "shape": [1], "datatype": "BYTES", "data": ["I love this product!"]}]
    }
    outputs = httpx.post(f"{worker.url}/v2/models/sentiment/infer", json=request, timeout=30).json()[
        "outputs"
    ]
    columns = {o["name"]: o for o in outputs}
    assert columns["label"]["datatype"] == "BYTES"
    assert columns["label"]["data"] == [result["label"]]
    assert columns["score"]["data"][0] == pytest.approx(result["score"], abs=1e-6)


def test_an_onnx_file_is_served(models: Path, workers: list[WorkerProcess], tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    folder = tiny_models.build_text_classifier(models / "onnx-classifier")
    onnx_file = tiny_models.export_onnx(folder, folder / "model.onnx")
    worker = launch_worker({"name": "onnx", "model": {"source": str(onnx_file)}}, tmp_path)
    workers.append(worker)
    worker.wait_ready()
    response = httpx.post(f"{worker.url}/predict", json={"inputs": ["good", "bad"]}, timeout=30)
    assert response.status_code == 200, response.text
    assert [r["label"] in {"NEGATIVE", "POSITIVE"} for r in response.json()["result"]] == [True, True]
