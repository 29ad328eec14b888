"""Fixtures for model sources: an isolated HF cache, a fake hub on loopback, and tiny model folders."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from berth.spec import DeploymentSpec
from tests.hub_server import FakeHub

MINILM_REPO = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_PARAMETERS = 22_713_216
DTYPE_SIZES = {"F32": 4, "F16": 2, "BF16": 2}


def make_spec(source: str = MINILM_REPO, **overrides: Any) -> DeploymentSpec:
    return DeploymentSpec.model_validate({"name": "test", "model": {"source": source}, **overrides})


def write_safetensors(
    path: Path, tensors: dict[str, tuple[str, list[int]]], *, with_data: bool = True
) -> None:
    """A safetensors file of zeros; `with_data=False` writes only the header (a 'huge' model in bytes)."""
    header: dict[str, Any] = {}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        size = DTYPE_SIZES[dtype]
        for dim in shape:
            size *= dim
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        if with_data:
            f.write(bytes(offset))


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


TINY_CONFIG = {"model_type": "bert", "hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 16}


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    """A folder with a real (tiny) safetensors file, its config and a tokenizer."""
    folder = tmp_path / "tiny"
    write_json(folder / "config.json", TINY_CONFIG)
    write_json(folder / "tokenizer.json", {"version": "1.0"})
    (folder / "README.md").write_text("# tiny\n")
    write_safetensors(
        folder / "model.safetensors", {"embeddings": ("F32", [16, 8]), "dense": ("F32", [8, 8])}
    )
    return folder


@pytest.fixture
def huge_model(tmp_path: Path) -> Path:
    """A header that declares 30 billion bf16 parameters (60 GB) in a file of a few hundred bytes."""
    folder = tmp_path / "huge"
    write_json(folder / "config.json", {"model_type": "llama", "hidden_size": 8192})
    write_safetensors(
        folder / "model.safetensors", {"layers": ("BF16", [30, 1_000_000_000])}, with_data=False
    )
    return folder


@pytest.fixture
def pickle_model(tmp_path: Path) -> Path:
    folder = tmp_path / "pickled"
    write_json(folder / "config.json", TINY_CONFIG)
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04pickle" * 100)
    (folder / "training_args.bin").write_bytes(b"\x80\x04args")
    return folder


@pytest.fixture
def remote_code_model(tmp_path: Path) -> Path:
    folder = tmp_path / "remote-code"
    write_json(folder / "config.json", {**TINY_CONFIG, "auto_map": {"AutoModel": "modeling_custom.Custom"}})
    (folder / "modeling_custom.py").write_text("import os  # would run on load\n")
    write_safetensors(folder / "model.safetensors", {"dense": ("F32", [8, 8])})
    return folder


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HF cache per test, online: tests never touch the user's cache."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_DOWNLOAD_TIMEOUT", raising=False)
    # NOTE: huggingface_hub freezes HF_HUB_OFFLINE at import; a run started offline must not leak in.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    return cache


@pytest.fixture
def fake_hub(
    hf_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    minilm_path: Path,
    huge_model: Path,
    pickle_model: Path,
    remote_code_model: Path,
) -> Iterator[FakeHub]:
    """A fake hub on 127.0.0.1 serving MiniLM and the tiny folders; HF_ENDPOINT points at it."""
    hub = FakeHub().start()
    hub.add_repo(MINILM_REPO, minilm_path, with_safetensors_info=True)
    hub.add_repo("tiny/huge", huge_model)
    hub.add_repo("tiny/pickled", pickle_model)
    hub.add_repo("tiny/remote-code", remote_code_model)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    yield hub
    hub.stop()


@pytest.fixture
def closed_endpoint(hf_cache: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """HF_ENDPOINT pointing at a loopback port nobody listens on."""
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("HF_ENDPOINT", url)
    return url
