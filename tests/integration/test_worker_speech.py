"""Worker processes serving speech recognition: a tiny Wav2Vec2 (CTC) and a tiny Whisper, over `/predict`
(uploads, raw bodies, base64, raw PCM) and V2, and the bad inputs each must answer 422 naming."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from tests.integration.conftest import WorkerProcess, serve_worker
from tests.sounds import encode, tone, wav
from tests.tiny_speech import build_wav2vec2_ctc, build_whisper

pytest.importorskip("transformers")

CLIP = wav(440, 1.0, 8_000)  # 8 kHz: the worker resamples it to the models' 16 kHz
OTHER = encode(np.random.default_rng(0).uniform(-0.5, 0.5, 12_000).astype(np.float32), 16_000)


@pytest.fixture(scope="module")
def ctc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    folder = tmp_path_factory.mktemp("ctc")
    spec = {"name": "wav2vec2", "model": {"source": str(build_wav2vec2_ctc(folder / "model"))}}
    yield from serve_worker(spec, folder)


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    folder = tmp_path_factory.mktemp("whisper")
    spec = {"name": "whisper", "model": {"source": str(build_whisper(folder / "model"))}}
    yield from serve_worker(spec, folder)


def _post(worker: WorkerProcess, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{worker.url}/predict", timeout=60, **kwargs)


def _texts(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [result["text"] for result in response.json()["result"]]


def _refused(response: httpx.Response, status: int = 422) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"]["message"])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_a_clip_transcribes_the_same_however_it_is_sent(ctc: WorkerProcess) -> None:
    uploaded = _texts(_post(ctc, files={"file": ("hello.wav", CLIP)}))
    assert _texts(_post(ctc, content=CLIP, headers={"content-type": "audio/wav"})) == uploaded
    assert _texts(_post(ctc, json={"audio": f"data:audio/wav;base64,{_b64(CLIP)}"})) == uploaded
    [text] = uploaded
    assert isinstance(text, str)
    assert text


def test_a_batch_answers_each_clip_as_it_would_alone(ctc: WorkerProcess) -> None:
    batch = _texts(_post(ctc, json={"inputs": [_b64(CLIP), _b64(OTHER)]}))
    assert batch == [_texts(_post(ctc, json={"audio": _b64(c)}))[0] for c in (CLIP, OTHER)]
    assert batch[0] != batch[1]


def test_raw_pcm_and_word_timestamps(ctc: WorkerProcess) -> None:
    pcm = {"array": tone(440, 0.5, 16_000).tolist(), "sampling_rate": 16_000}
    response = _post(ctc, json={"audio": pcm, "parameters": {"return_timestamps": True}})
    assert response.status_code == 200, response.text
    [result] = response.json()["result"]
    assert " ".join(chunk["text"] for chunk in result["chunks"]) == result["text"]
    for chunk in result["chunks"]:
        start, end = chunk["timestamp"]
        assert 0.0 <= start <= end <= 0.52


def test_v2_metadata_and_infer(ctc: WorkerProcess) -> None:
    metadata = httpx.get(f"{ctc.url}/v2/models/wav2vec2", timeout=30).json()
    assert metadata["inputs"] == [
        {
            "name": "audio",
            "datatype": "BYTES",
            "shape": [-1],
            "parameters": {"content": "audio", "sample_rate": 16_000},
        }
    ]
    assert metadata["outputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    samples = tone(440, 0.5, 16_000)
    request = {
        "inputs": [
            {"name": "audio", "shape": [2, len(samples)], "datatype": "FP32", "data": samples.tolist() * 2}
        ]
    }
    response = httpx.post(f"{ctc.url}/v2/models/wav2vec2/infer", json=request, timeout=60)
    assert response.status_code == 200, response.text
    [output] = response.json()["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == ("text", "BYTES", [2])
    pcm = {"array": samples.tolist(), "sampling_rate": 16_000}
    assert output["data"] == _texts(_post(ctc, json={"audio": pcm})) * 2
    files = {"inputs": [{"name": "audio", "shape": [1], "datatype": "BYTES", "data": [_b64(CLIP)]}]}
    by_file = httpx.post(f"{ctc.url}/v2/models/wav2vec2/infer", json=files, timeout=60).json()
    assert by_file["outputs"][0]["data"] == _texts(_post(ctc, files={"file": ("a.wav", CLIP)}))


def test_ctc_refusals(ctc: WorkerProcess) -> None:
    assert "this model takes audio, not text" in _refused(_post(ctc, json={"text": "hello there"}))
    empty = _post(ctc, json={"audio": {"array": [], "sampling_rate": 16_000}})
    assert "the audio has no samples" in _refused(empty)
    garbage = _refused(_post(ctc, files={"voice": ("x.wav", b"RIFF....WAVE not really")}))
    assert garbage.startswith("form field 'voice': not decodable audio")
    tiny = _post(ctc, json={"audio": {"array": [0.0] * 100, "sampling_rate": 16_000}})
    assert "this model needs at least 20.3 ms of audio" in _refused(tiny)
    whisper_only = _post(ctc, json={"audio": _b64(CLIP), "parameters": {"language": "en"}})
    assert "unknown parameter 'language'" in _refused(whisper_only)


def test_whisper_transcribes_uploads_with_its_parameters(whisper: WorkerProcess) -> None:
    [plain] = _texts(_post(whisper, files={"file": ("hello.wav", CLIP)}))
    assert plain
    assert _texts(_post(whisper, json={"audio": _b64(CLIP)})) == [plain]
    parameters = {"language": "fr", "task": "translate", "return_timestamps": True, "max_new_tokens": 8}
    response = _post(whisper, json={"audio": _b64(CLIP), "parameters": parameters})
    assert response.status_code == 200, response.text
    [result] = response.json()["result"]
    assert set(result) == {"text", "chunks"}
    for chunk in result["chunks"]:
        assert set(chunk) == {"text", "timestamp"}
        assert 0.0 <= chunk["timestamp"][0] <= 30.0


def test_whisper_v2_infer(whisper: WorkerProcess) -> None:
    [plain] = _texts(_post(whisper, json={"audio": _b64(OTHER)}))
    files = {"inputs": [{"name": "audio", "shape": [1], "datatype": "BYTES", "data": [_b64(OTHER)]}]}
    response = httpx.post(f"{whisper.url}/v2/models/whisper/infer", json=files, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"] == [
        {"name": "text", "datatype": "BYTES", "shape": [1], "data": [plain]}
    ]


def test_whisper_refusals(whisper: WorkerProcess) -> None:
    long = encode(np.zeros(31 * 8_000, dtype=np.float32), 8_000)
    message = _refused(_post(whisper, files={"file": ("long.wav", long)}))
    assert "the clip is 31.0 s long; this model transcribes at most 30 s per clip" in message
    language = _post(whisper, json={"audio": _b64(CLIP), "parameters": {"language": "xx"}})
    assert "language must be one of this model's languages (en, fr)" in _refused(language)
    task = _post(whisper, json={"audio": _b64(CLIP), "parameters": {"task": "summarise"}})
    assert 'task must be "transcribe" or "translate"' in _refused(task)
    assert "this model takes audio, not text" in _refused(_post(whisper, json={"text": "hello"}))
