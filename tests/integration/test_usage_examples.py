"""Every usage example a deployment shows, run as a user would paste it, against a real control plane.

Deployments with different signatures (text, two text inputs, FP32 rows, an image, audio, image in and
a GLB file out, the real all-MiniLM-L6-v2, and a tiny Chronos-Bolt forecaster and CLIP, which need parameters)
are deployed behind an API key; each one's `usage` is read from the API, and every example runs in a
folder holding the files the examples name (curl with bash, Python with this interpreter, the venv's
bin first on PATH). Each must exit 0 and print
(or write) the answer the model gives for that input.
"""

from __future__ import annotations

import ast
import json
import os
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from PIL import Image

from tests.conftest import free_port
from tests.integration.conftest import ControlPlaneProcess, _kill_worker, plane_env

pytestmark = pytest.mark.slow

TEXT = "I love this product!"
IMAGE_SIZE = (6, 4)
PREDICTORS = {
    "echo": "tests.predictors:SlowEcho",
    "pairs": "tests.predictors:PairJoiner",
    "rows": "tests.predictors:RowStats",
    "image-info": "tests.predictors:ImageInfo",
    "audio-info": "tests.predictors:AudioInfo",
    "glb": "tests.predictors:GlbMaker",
}
KINDS = {name: ("curl", "python", "tritonclient") for name in PREDICTORS}
KINDS["minilm"] = ("curl", "python", "openai", "tritonclient")
KINDS["forecast"] = ("curl", "python", "tritonclient")  # tasks whose every request needs parameters,
KINDS["zero-shot-image"] = ("curl", "python", "tritonclient")  # in JSON and beside an uploaded file
CASES = [(name, kind) for name, kinds in KINDS.items() for kind in kinds]


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory, minilm_path: Path) -> Iterator[ControlPlaneProcess]:
    """One secured control plane serving every deployment above, all ready."""
    root = tmp_path_factory.mktemp("usage")
    port = free_port()
    env = plane_env(root / "home", root / "hf", port, BERTH_API_KEY="usage-examples-key")
    control = ControlPlaneProcess(home=root / "home", port=port, env=env).start()
    try:
        from tests.tiny_forecasting import build_chronos_bolt
        from tests.tiny_vision import build_clip

        models = {
            "forecast": build_chronos_bolt(root / "chronos-bolt"),
            "zero-shot-image": build_clip(root / "clip"),
        }
        sources = {
            **PREDICTORS,
            "minilm": str(minilm_path),
            **{name: str(path) for name, path in models.items()},
        }
        for name, source in sources.items():
            accepted = control.api.post("/api/v1/deploy", json={"name": name, "model": {"source": source}})
            assert accepted.status_code == 202, accepted.text
        for name in sources:
            control.wait_state(name, "ready", timeout_s=240)
        yield control
    finally:
        control.stop()
        for pid in control.recorded_pids():
            _kill_worker(pid)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files the examples name, made here: a JPEG, a one-second 440 Hz WAV at 16 kHz, some bytes."""
    cwd = tmp_path_factory.mktemp("examples")
    Image.new("RGB", IMAGE_SIZE, (200, 30, 30)).save(cwd / "example.jpg", format="JPEG")
    seconds = np.arange(16_000, dtype=np.float32) / 16_000
    soundfile.write(cwd / "example.wav", 0.5 * np.sin(2 * np.pi * 440 * seconds), 16_000)
    (cwd / "example.bin").write_bytes(b"\x00berth\xff")
    return cwd


def test_each_deployment_shows_the_examples_its_signature_allows(plane: ControlPlaneProcess) -> None:
    for name, kinds in KINDS.items():
        assert tuple(plane.deployment(name)["usage"]) == kinds, name


def test_the_signature_is_recorded_as_the_worker_reports_it(plane: ControlPlaneProcess) -> None:
    rows = plane.deployment("rows")["signature"]
    assert rows["inputs"] == [
        {"name": "features", "datatype": "FP32", "shape": [-1, 4], "content": None, "media_type": None}
    ]
    assert [o["name"] for o in rows["outputs"]] == ["sum", "scaled"]
    [mesh] = plane.deployment("glb")["signature"]["outputs"]
    assert (mesh["content"], mesh["media_type"]) == ("file", "model/gltf-binary")
    minilm = plane.deployment("minilm")["signature"]
    assert minilm["outputs"][0]["shape"] == [-1, 384]


@pytest.mark.parametrize(("name", "kind"), CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_the_example_runs_and_answers(plane: ControlPlaneProcess, folder: Path, name: str, kind: str) -> None:
    code = plane.deployment(name)["usage"][kind]
    for stale in folder.glob("out.*"):
        stale.unlink()
    command = ["bash", "-c", code] if kind == "curl" else [sys.executable, "-c", code]
    bin_dir = str(Path(sys.executable).parent)
    env = {**plane.env, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    ran = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, f"{code}\n--- stdout ---\n{ran.stdout}\n--- stderr ---\n{ran.stderr}"
    CHECKS[name](kind, ran.stdout, folder)


def _answer(kind: str, stdout: str) -> Any:
    """The first result of a curl (JSON) or berth.Client (a printed dict) answer."""
    body = json.loads(stdout) if kind == "curl" else ast.literal_eval(stdout.strip())
    assert body["status"] == "success", body
    return body["result"][0]


def _check_echo(kind: str, stdout: str, folder: Path) -> None:
    if kind == "tritonclient":
        assert stdout.startswith("output [b'I LOVE THIS PRODUCT!']"), stdout
    else:
        assert _answer(kind, stdout) == TEXT.upper()


def _check_pairs(kind: str, stdout: str, folder: Path) -> None:
    if kind == "tritonclient":
        assert stdout.startswith(f"joined [b'{TEXT} {TEXT}']"), stdout
    else:
        assert _answer(kind, stdout) == f"{TEXT} {TEXT}"


def _check_rows(kind: str, stdout: str, folder: Path) -> None:
    if kind == "tritonclient":
        lines = stdout.splitlines()
        assert lines[0] == "sum [5.]", stdout  # the example's row is 0.5, 1.0, 1.5, 2.0
        assert lines[1].startswith("scaled [[1. 2. 3. 4.]]"), stdout
    else:
        assert _answer(kind, stdout) == {"sum": 5.0, "scaled": [1.0, 2.0, 3.0, 4.0]}


def _check_image(kind: str, stdout: str, folder: Path) -> None:
    if kind == "tritonclient":
        # one V2 output per key of the answer's dict
        assert stdout.splitlines()[:2] == ["size [b'[6,4]']", "mode [b'RGB']"], stdout
    else:
        facts = _answer(kind, stdout)
        assert (facts["size"], facts["mode"]) == (list(IMAGE_SIZE), "RGB")


def _check_audio(kind: str, stdout: str, folder: Path) -> None:
    if kind == "tritonclient":
        lines = stdout.splitlines()
        assert lines[1:3] == ["samples [16000]", "rate [16000]"], stdout
        assert "peak_hz [440.]" in lines, stdout
    else:
        facts = _answer(kind, stdout)
        assert (facts["samples"], facts["rate"]) == (16_000, 16_000)
        assert abs(facts["peak_hz"] - 440) < 5


def _check_glb(kind: str, stdout: str, folder: Path) -> None:
    assert stdout.startswith("wrote out.glb"), stdout
    data = (folder / "out.glb").read_bytes()
    assert data[:4] == b"glTF"
    (length,) = struct.unpack("<I", data[12:16])
    assert json.loads(data[20 : 20 + length]) == {"size": list(IMAGE_SIZE), "mode": "RGB"}


def _check_minilm(kind: str, stdout: str, folder: Path) -> None:
    if kind == "openai":
        assert stdout.startswith("CreateEmbeddingResponse("), stdout
        assert stdout.count("embedding=[") == 1
    elif kind == "tritonclient":
        assert stdout.startswith("embedding [["), stdout
    else:
        embedding = _answer(kind, stdout)
        assert len(embedding) == 384
        assert abs(float(np.linalg.norm(embedding)) - 1.0) < 1e-3  # all-MiniLM-L6-v2 normalises


def _check_forecast(kind: str, stdout: str, folder: Path) -> None:
    if kind == "tritonclient":
        assert stdout.startswith("mean [["), stdout
        assert "quantile_levels [[0.1 0.5 0.9]]" in stdout, stdout
    else:
        forecast = _answer(kind, stdout)
        assert len(forecast["mean"]) == 4  # the example's prediction_length
        assert [len(step) for step in forecast["quantiles"]] == [3] * 4
        assert forecast["quantile_levels"] == [0.1, 0.5, 0.9]


def _check_zero_shot_image(kind: str, stdout: str, folder: Path) -> None:
    if kind == "tritonclient":
        assert stdout.startswith("classes [b'[{"), stdout
        assert "a cat" in stdout, stdout
        assert "a dog" in stdout, stdout
    else:
        ranked = _answer(kind, stdout)
        assert sorted(r["label"] for r in ranked) == ["a cat", "a dog"]  # the example's candidate labels
        assert abs(sum(r["score"] for r in ranked) - 1.0) < 1e-5  # CLIP: a softmax over the labels


CHECKS: dict[str, Callable[[str, str, Path], None]] = {
    "echo": _check_echo,
    "pairs": _check_pairs,
    "rows": _check_rows,
    "image-info": _check_image,
    "audio-info": _check_audio,
    "glb": _check_glb,
    "minilm": _check_minilm,
    "forecast": _check_forecast,
    "zero-shot-image": _check_zero_shot_image,
}
