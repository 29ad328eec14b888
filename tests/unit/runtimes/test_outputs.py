from __future__ import annotations

import numpy as np
import pytest

from berth.errors import InvalidInput
from berth.runtimes.outputs import (
    check_params,
    classification_outputs,
    mean_pool,
    require_text,
    softmax,
    text_signature,
    top_k_param,
)
from berth.spec import Task


def test_softmax_rows_sum_to_one() -> None:
    probabilities = softmax(np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 0.0]], dtype=np.float32))
    np.testing.assert_allclose(probabilities.sum(axis=1), [1.0, 1.0], rtol=1e-6)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities[1], [0.5, 0.5, 0.0], atol=1e-6)


def test_mean_pool_ignores_padding() -> None:
    hidden = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]], dtype=np.float32)
    pooled = mean_pool(hidden, np.array([[1, 1, 0]], dtype=np.int64))
    np.testing.assert_allclose(pooled, [[2.0, 3.0]])


def test_classification_top1_and_top_k() -> None:
    rows = np.array([[0.2, 0.8], [0.6, 0.4]], dtype=np.float32)
    labels = {0: "NEGATIVE", 1: "POSITIVE"}
    top1 = classification_outputs(rows, labels, None)
    assert top1[0]["label"] == "POSITIVE"
    assert top1[1] == {"label": "NEGATIVE", "score": pytest.approx(0.6)}
    ranked = classification_outputs(rows, labels, 2)
    assert [r["label"] for r in ranked[0]] == ["POSITIVE", "NEGATIVE"]
    assert all(isinstance(r["score"], float) for r in ranked[0])


def test_top_k_is_validated_and_capped() -> None:
    assert top_k_param({}, None, 2) is None
    assert top_k_param({"top_k": 9}, None, 2) == 2
    for bad in (0, -1, "3", True, 1.5):
        with pytest.raises(InvalidInput, match="top_k must be a positive integer"):
            top_k_param({"top_k": bad}, None, 2)


def test_unknown_params_are_named() -> None:
    check_params({"top_k": 1}, ("top_k",), Task.TEXT_CLASSIFICATION)
    with pytest.raises(
        InvalidInput, match="unknown parameter 'topk' for text-classification; it takes top_k"
    ):
        check_params({"topk": 1}, ("top_k",), Task.TEXT_CLASSIFICATION)
    with pytest.raises(InvalidInput, match="it takes none"):
        check_params({"x": 1}, (), Task.FEATURE_EXTRACTION)


@pytest.mark.parametrize("item", [1, None, ["a"], {"text": "a"}, b"bytes"])
def test_text_tasks_take_strings_only(item: object) -> None:
    with pytest.raises(InvalidInput, match="must be a string, got"):
        require_text(item)


def test_signatures_name_their_tensors() -> None:
    embedding = text_signature(Task.FEATURE_EXTRACTION, 384)
    assert embedding.inputs[0].name == "text"
    assert embedding.inputs[0].datatype == "BYTES"
    assert (embedding.outputs[0].name, embedding.outputs[0].shape) == ("embedding", (-1, 384))
    assert [o.name for o in text_signature(Task.TEXT_CLASSIFICATION).outputs] == ["label", "score"]
    assert text_signature(Task.TOKEN_CLASSIFICATION).outputs[0].name == "entities"
    assert text_signature(Task.FILL_MASK).outputs[0].name == "predictions"
    assert text_signature(Task.TEXT_GENERATION).outputs[0].name == "generated_text"
