"""Worker processes serving vision models: a DETR detector (/predict as JSON, upload and raw body; V2), a
ViT encoder (OpenAI embeddings, through the real `openai` client) and CLIP (zero-shot labels)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from tests import tiny_vision
from tests.images import BLUE, png
from tests.integration.conftest import WorkerProcess, serve_worker

IMAGE = png((48, 36))
OTHER = png((30, 60), color=BLUE)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    return tmp_path_factory.mktemp("vision-models")


@pytest.fixture(scope="module")
def detector(models: Path) -> Iterator[WorkerProcess]:
    folder = tiny_vision.build_object_detector(models / "detr")
    yield from serve_worker({"name": "detr", "model": {"source": str(folder)}}, models)


@pytest.fixture(scope="module")
def encoder(models: Path) -> Iterator[WorkerProcess]:
    folder = tiny_vision.build_image_encoder(models / "vit")
    yield from serve_worker({"name": "vit", "model": {"source": str(folder)}}, models)


@pytest.fixture(scope="module")
def clip(models: Path) -> Iterator[WorkerProcess]:
    folder = tiny_vision.build_clip(models / "clip")
    yield from serve_worker({"name": "clip", "model": {"source": str(folder)}}, models)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def predict(worker: WorkerProcess, **request: Any) -> httpx.Response:
    return httpx.post(f"{worker.url}/predict", timeout=30, **request)


def refused(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    message: str = response.json()["error"]["message"]
    return message


# object-detection


def test_detection_from_json_an_upload_and_a_raw_body_agree(detector: WorkerProcess) -> None:
    everything = {"threshold": 0.0}
    from_json = predict(detector, json={"image": b64(IMAGE), "parameters": everything})
    assert from_json.status_code == 200, from_json.text
    [objects] = from_json.json()["result"]
    assert len(objects) == tiny_vision.DETR_QUERIES
    for found in objects:
        assert set(found) == {"label", "score", "box"}
        assert 0 <= found["box"]["xmin"] <= found["box"]["xmax"] <= 48
        assert 0 <= found["box"]["ymin"] <= found["box"]["ymax"] <= 36
    files = {"image": ("a.png", IMAGE, "image/png")}
    uploaded = predict(detector, files=files, data={"parameters": orjson.dumps(everything).decode()})
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["result"] == [objects]
    raw = predict(detector, content=IMAGE, headers={"content-type": "image/png"})  # the default threshold
    assert raw.status_code == 200, raw.text
    [kept] = raw.json()["result"]
    assert kept == [o for o in objects if o["score"] > 0.5]


def test_detection_over_v2(detector: WorkerProcess) -> None:
    metadata = httpx.get(f"{detector.url}/v2/models/detr", timeout=10).json()
    assert metadata["inputs"] == [
        {"name": "image", "datatype": "BYTES", "shape": [-1], "parameters": {"content": "image"}}
    ]
    assert metadata["outputs"] == [{"name": "objects", "datatype": "BYTES", "shape": [-1]}]
    request = {
        "inputs": [{"name": "image", "datatype": "BYTES", "shape": [2], "data": [b64(IMAGE), b64(OTHER)]}],
        "parameters": {"threshold": 0.0},
    }
    response = httpx.post(f"{detector.url}/v2/models/detr/infer", json=request, timeout=30)
    assert response.status_code == 200, response.text
    [output] = response.json()["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == ("objects", "BYTES", [2])
    first, second = (orjson.loads(document) for document in output["data"])
    assert len(first) == len(second) == tiny_vision.DETR_QUERIES
    assert all(o["box"]["ymax"] <= 60 and o["box"]["xmax"] <= 30 for o in second)  # the 30x60 image's pixels


def test_bad_detection_requests_are_422s_naming_the_problem(detector: WorkerProcess) -> None:
    assert "this model takes an image, not text" in refused(predict(detector, json={"text": "a cat"}))
    assert "body.image: not base64" in refused(predict(detector, json={"image": "not an image!"}))
    undecodable = predict(detector, json={"image": b64(b"not an image at all")})
    assert "body.image: not a decodable image" in refused(undecodable)
    far = predict(detector, json={"image": b64(IMAGE), "parameters": {"threshold": 2}})
    assert "threshold must be a number from 0 to 1, got 2" in refused(far)
    embeddings = httpx.post(f"{detector.url}/v1/embeddings", json={"input": b64(IMAGE)}, timeout=30)
    assert "this deployment serves object-detection" in refused(embeddings)


# image-feature-extraction, through the OpenAI client


def test_openai_embeddings_of_images_equal_predict(encoder: WorkerProcess) -> None:
    import openai

    inputs = [b64(IMAGE), f"data:image/png;base64,{b64(OTHER)}"]
    with openai.OpenAI(base_url=f"{encoder.url}/v1", api_key="x") as client:
        answer = client.embeddings.create(model="vit", input=inputs)
        with pytest.raises(openai.UnprocessableEntityError) as text:
            client.embeddings.create(model="vit", input=["a photo of a cat"])
    assert "body.input[0]: not a decodable image" in str(text.value)
    assert "this deployment embeds images" in str(text.value)
    vectors = [item.embedding for item in answer.data]
    assert [len(v) for v in vectors] == [32, 32]
    predicted = predict(encoder, json={"inputs": inputs}).json()["result"]
    np.testing.assert_allclose(vectors, predicted, atol=1e-6)
    assert not np.allclose(vectors[0], vectors[1])
    metadata = httpx.get(f"{encoder.url}/v2/models/vit", timeout=10).json()
    assert metadata["outputs"] == [{"name": "embedding", "datatype": "FP32", "shape": [-1, 32]}]


# zero-shot-image-classification


def test_zero_shot_labels_over_predict_and_v2(clip: WorkerProcess) -> None:
    labels = ["cat", "dog", "car"]
    response = predict(clip, json={"image": b64(IMAGE), "parameters": {"candidate_labels": labels}})
    assert response.status_code == 200, response.text
    [ranked] = response.json()["result"]
    assert sorted(r["label"] for r in ranked) == sorted(labels)
    assert sum(r["score"] for r in ranked) == pytest.approx(1.0, abs=1e-5)
    request = {
        "inputs": [{"name": "image", "datatype": "BYTES", "shape": [1], "data": [b64(IMAGE)]}],
        "parameters": {"candidate_labels": labels},
    }
    v2 = httpx.post(f"{clip.url}/v2/models/clip/infer", json=request, timeout=30).json()
    [output] = v2["outputs"]
    assert output["name"] == "classes"
    [document] = output["data"]
    [(label, score)] = [(r["label"], r["score"]) for r in orjson.loads(document)][:1]
    assert label == ranked[0]["label"]
    assert score == pytest.approx(ranked[0]["score"], abs=1e-6)


def test_bad_zero_shot_requests_are_422s_naming_the_parameter(clip: WorkerProcess) -> None:
    missing = predict(clip, json={"image": b64(IMAGE)})
    assert "candidate_labels is required" in refused(missing)
    twice = predict(clip, json={"image": b64(IMAGE), "parameters": {"candidate_labels": ["cat", "cat"]}})
    assert "candidate_labels names 'cat' more than once" in refused(twice)
    empty = predict(clip, json={"image": b64(IMAGE), "parameters": {"candidate_labels": []}})
    assert "candidate_labels must be a non-empty list" in refused(empty)
