from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes import OnnxRuntime, Runtime
from berth.spec import Task
from tests.tiny_models import local_model, make_spec

TEXTS = [
    "short",
    "a much longer sentence that needs padding when it shares a batch",
    "Berth exports the same model to ONNX.",
]


def test_classifier_matches_torch(onnx_classifier: Runtime, classifier: Runtime) -> None:
    assert isinstance(onnx_classifier, OnnxRuntime)
    for ours, theirs in zip(
        onnx_classifier.predict(TEXTS, {"top_k": 2}), classifier.predict(TEXTS, {"top_k": 2}), strict=True
    ):
        assert [r["label"] for r in ours] == [r["label"] for r in theirs]
        np.testing.assert_allclose([r["score"] for r in ours], [r["score"] for r in theirs], atol=1e-4)


def test_classifier_labels_come_from_the_config(onnx_classifier: Runtime) -> None:
    (result,) = onnx_classifier.predict(["fine"], {})
    assert result["label"] in {"NEGATIVE", "POSITIVE"}
    assert isinstance(result["score"], float)


def test_minilm_matches_the_transformers_runtime(onnx_minilm: Runtime, tf_minilm: Runtime) -> None:
    ours = np.stack(onnx_minilm.predict(TEXTS, {}))
    assert ours.shape == (3, 384)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, np.stack(tf_minilm.predict(TEXTS, {})), atol=1e-4)


def test_batch_equals_single(onnx_minilm: Runtime) -> None:
    batch = onnx_minilm.predict(TEXTS, {})
    for text, row in zip(TEXTS, batch, strict=True):
        np.testing.assert_allclose(row, onnx_minilm.predict([text], {})[0], atol=1e-5)


def test_signature_and_helpers(onnx_minilm: Runtime, onnx_classifier: Runtime) -> None:
    assert onnx_minilm.signature().outputs[0].shape == (-1, 384)
    assert [o.name for o in onnx_classifier.signature().outputs] == ["label", "score"]
    assert onnx_minilm.count_tokens("unbelievably tokenization") == 7  # WordPiece pieces


def test_rejects_non_text_and_unknown_params(onnx_classifier: Runtime) -> None:
    with pytest.raises(InvalidInput, match="must be a string"):
        onnx_classifier.validate_input(["a"])
    with pytest.raises(InvalidInput, match="unknown parameter"):
        onnx_classifier.predict(["a"], {"temperature": 1})


def test_half_precision_is_refused(onnx_minilm_file: Path) -> None:
    runtime = OnnxRuntime(
        local_model(onnx_minilm_file), make_spec(dtype="float16"), "cpu", Task.FEATURE_EXTRACTION
    )
    with pytest.raises(UnsupportedModel, match="leave dtype: auto"):
        runtime.load()


def test_missing_tokenizer_is_named(onnx_minilm_file: Path, tmp_path: Path) -> None:
    shutil.copy(onnx_minilm_file, tmp_path / "model.onnx")
    runtime = OnnxRuntime(local_model(tmp_path / "model.onnx"), make_spec(), "cpu", Task.FEATURE_EXTRACTION)
    with pytest.raises(UnsupportedModel, match=r"needs a tokenizer\.json beside model\.onnx"):
        runtime.load()


def test_cuda_without_a_cuda_provider_is_refused(onnx_minilm_file: Path) -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has a CUDA provider")
    runtime = OnnxRuntime(local_model(onnx_minilm_file), make_spec(), "cuda", Task.FEATURE_EXTRACTION)
    with pytest.raises(UnsupportedModel, match="no CUDA provider"):
        runtime.load()
