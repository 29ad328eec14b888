"""Model folders and loaded runtimes, built once per session: real weights, nothing mocked.

No hub is reachable, and none is needed: every runtime loads with `local_files_only=True`.
NOTE: HF_HUB_OFFLINE is deliberately not set here: huggingface_hub reads it once, at import, so
setting it would leak into the sources tests' loopback hub for the rest of the session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from berth.runtimes import Runtime
from tests import tiny_models


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="session")
def classifier_path(tiny_root: Path) -> Path:
    return tiny_models.build_text_classifier(tiny_root / "classifier")


@pytest.fixture(scope="session")
def token_classifier_path(tiny_root: Path) -> Path:
    return tiny_models.build_token_classifier(tiny_root / "token-classifier")


@pytest.fixture(scope="session")
def fill_mask_path(tiny_root: Path) -> Path:
    return tiny_models.build_fill_mask(tiny_root / "fill-mask")


@pytest.fixture(scope="session")
def causal_lm_path(tiny_root: Path) -> Path:
    return tiny_models.build_causal_lm(tiny_root / "causal-lm")


@pytest.fixture(scope="session")
def onnx_classifier_file(tiny_root: Path, classifier_path: Path) -> Path:
    pytest.importorskip("onnxruntime")
    return tiny_models.export_onnx(classifier_path, tiny_root / "classifier-onnx" / "model.onnx")


@pytest.fixture(scope="session")
def onnx_minilm_file(tiny_root: Path, minilm_path: Path) -> Path:
    pytest.importorskip("onnxruntime")
    return tiny_models.export_onnx(minilm_path, tiny_root / "minilm-onnx" / "model.onnx")


def _serve(path: Path, **spec_fields: Any) -> Iterator[Runtime]:
    runtime = tiny_models.load_runtime(path, **spec_fields)
    yield runtime
    runtime.close()


@pytest.fixture(scope="session")
def st_minilm(minilm_path: Path) -> Iterator[Runtime]:
    pytest.importorskip("sentence_transformers")
    yield from _serve(minilm_path)


@pytest.fixture(scope="session")
def tf_minilm(minilm_path: Path) -> Iterator[Runtime]:
    pytest.importorskip("transformers")
    yield from _serve(minilm_path, runtime="transformers")


@pytest.fixture(scope="session")
def classifier(classifier_path: Path) -> Iterator[Runtime]:
    yield from _serve(classifier_path)


@pytest.fixture(scope="session")
def token_classifier(token_classifier_path: Path) -> Iterator[Runtime]:
    yield from _serve(token_classifier_path)


@pytest.fixture(scope="session")
def fill_mask(fill_mask_path: Path) -> Iterator[Runtime]:
    yield from _serve(fill_mask_path)


@pytest.fixture(scope="session")
def generator(causal_lm_path: Path) -> Iterator[Runtime]:
    yield from _serve(causal_lm_path)


@pytest.fixture(scope="session")
def onnx_classifier(onnx_classifier_file: Path) -> Iterator[Runtime]:
    yield from _serve(onnx_classifier_file)


@pytest.fixture(scope="session")
def onnx_minilm(onnx_minilm_file: Path) -> Iterator[Runtime]:
    yield from _serve(onnx_minilm_file)
