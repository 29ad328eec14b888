"""Question answering and zero-shot classification on tiny random BERT models (MiniLM's tokenizer)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes import registry
from berth.runtimes.base import Runtime
from berth.runtimes.text_pairs import TextPairRuntime
from berth.sources.tasks import read_config, task_from_config
from berth.spec import Task
from tests import tiny_models, tiny_seq2seq
from tests.tiny_models import load_runtime, local_model, make_spec

LONG_CONTEXT = " ".join(f"item {i} lies in box {i % 7}." for i in range(150))  # about 1000 tokens
PAIRS = [
    {"question": "Where is Paris?", "context": "Paris is the capital of France, on the Seine."},
    {"question": "Which box holds item 140?", "context": LONG_CONTEXT},
    {"question": "Who?", "context": "Bob."},
]
LABELS = ["sport", "politics", "food", "music"]
TEXTS = ["I love football", "the vote in parliament was close tonight", "pasta"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("text-pairs")
    return {
        "qa": tiny_seq2seq.build_question_answering(root / "qa"),
        "nli": tiny_seq2seq.build_nli(root / "nli"),
        "classifier": tiny_models.build_text_classifier(root / "classifier"),
    }


@pytest.fixture(scope="module")
def qa(folders: dict[str, Path]) -> Iterator[Runtime]:
    runtime = load_runtime(folders["qa"])
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def nli(folders: dict[str, Path]) -> Iterator[Runtime]:
    runtime = load_runtime(folders["nli"])
    yield runtime
    runtime.close()


@pytest.mark.parametrize(
    ("name", "task"), [("qa", Task.QUESTION_ANSWERING), ("nli", Task.ZERO_SHOT_CLASSIFICATION)]
)
def test_detection(folders: dict[str, Path], name: str, task: Task) -> None:
    assert task_from_config(read_config(folders[name])) is task
    assert registry.detect(local_model(folders[name]), make_spec(folders[name])) == (TextPairRuntime, task)


# question-answering


def test_answers_are_spans_of_their_context(qa: Runtime) -> None:
    for pair, result in zip(PAIRS, qa.predict(PAIRS, {}), strict=True):
        assert set(result) == {"answer", "score", "start", "end"}
        assert type(result["score"]) is float
        assert 0 < result["score"] <= 1
        assert type(result["start"]) is int
        assert type(result["end"]) is int
        assert 0 <= result["start"] < result["end"] <= len(pair["context"])
        assert result["answer"] == pair["context"][result["start"] : result["end"]]


def test_qa_batch_equals_single(qa: Runtime) -> None:
    batch = qa.predict(PAIRS, {})
    for pair, result in zip(PAIRS, batch, strict=True):
        (single,) = qa.predict([pair], {})
        assert (single["start"], single["end"]) == (result["start"], result["end"])
        assert single["score"] == pytest.approx(result["score"], rel=1e-4)


def brute_force(qa: Runtime, pair: dict[str, str], max_answer_len: int = 30) -> tuple[float, int, int]:
    """An independent search: each window run alone, every (start, end) pair of its context tokens
    scored as transformers' pipeline scored it; the best (score, start, end) over all windows."""
    import torch

    model, tokenizer = qa._model, qa._tokenizer  # type: ignore[attr-defined]
    windows = tokenizer(
        pair["question"],
        pair["context"],
        truncation="only_second",
        max_length=qa._window,  # type: ignore[attr-defined]
        stride=qa._stride,  # type: ignore[attr-defined]
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    best = (-1.0, 0, 0)
    for w in range(len(windows["input_ids"])):
        context = [i for i, sid in enumerate(windows.sequence_ids(w)) if sid == 1]
        allowed = [0, *context]  # [CLS] and the context share the softmax
        with torch.inference_mode():
            output = model(**{k: torch.tensor([windows[k][w]]) for k in ("input_ids", "token_type_ids")})

        def probabilities(logits: Any, allowed: list[int] = allowed) -> dict[int, float]:
            row = logits[0].double().numpy()[allowed]
            exp = np.exp(row - row.max())
            return dict(zip(allowed, exp / exp.sum(), strict=True))

        p_start, p_end = probabilities(output.start_logits), probabilities(output.end_logits)
        offsets = windows["offset_mapping"][w]
        for s in context:
            for e in context:
                if s <= e < s + max_answer_len and p_start[s] * p_end[e] > best[0]:
                    best = (p_start[s] * p_end[e], offsets[s][0], offsets[e][1])
    return best


@pytest.mark.parametrize("index", [0, 1], ids=["short", "long"])
def test_the_answer_is_the_brute_force_best(qa: Runtime, index: int) -> None:
    score, start, end = brute_force(qa, PAIRS[index])
    (result,) = qa.predict([PAIRS[index]], {})
    assert (result["start"], result["end"]) == (start, end)
    assert result["score"] == pytest.approx(score, rel=1e-4)


def test_a_long_context_is_read_in_several_windows(qa: Runtime) -> None:
    encoded = qa._tokenizer(
        PAIRS[1]["question"],
        LONG_CONTEXT,
        truncation="only_second",
        max_length=384,
        stride=96,
        return_overflowing_tokens=True,
    )  # type: ignore[attr-defined]
    assert len(encoded["input_ids"]) >= 3


def test_max_answer_len_bounds_the_span(qa: Runtime) -> None:
    (one,) = qa.predict([PAIRS[1]], {"max_answer_len": 1})
    assert len(qa._tokenizer.tokenize(one["answer"])) == 1  # type: ignore[attr-defined]
    (free,) = qa.predict([PAIRS[1]], {"max_answer_len": 60})
    assert free["score"] >= one["score"]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"question": "Where?"}, "question-answering needs a context"),
        ({"question": "Where?", "context": "  "}, "question-answering needs a context"),
        ({"context": "Paris."}, "question-answering needs a question"),
        ({"question": "Where?", "context": 3}, "context must be a string, got int"),
        ({"question": "Where?", "context": "x", "answer": "y"}, "unknown key 'answer'"),
        ("Where is Paris?", 'takes an object with "question" and "context", got str'),
        ({"question": "why " * 300, "context": "x"}, "the question is too long"),
    ],
)
def test_bad_qa_inputs(qa: Runtime, item: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        qa.validate_input(item)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_answer_len": 0}, "max_answer_len must be a number of tokens from 1 to 512, got 0"),
        ({"max_answer_len": "5"}, "max_answer_len must be"),
        ({"top_k": 2}, "unknown parameter 'top_k' for question-answering; it takes max_answer_len"),
    ],
)
def test_bad_qa_params(qa: Runtime, params: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        qa.validate_params(params)


def test_qa_signature_and_warmup(qa: Runtime) -> None:
    signature = qa.signature()
    assert [(t.name, t.datatype) for t in signature.inputs] == [("question", "BYTES"), ("context", "BYTES")]
    assert [(t.name, t.datatype) for t in signature.outputs] == [
        ("answer", "BYTES"),
        ("score", "FP32"),
        ("start", "INT64"),
        ("end", "INT64"),
    ]
    assert qa.predict([qa.validate_input(qa.warmup_input())], {})[0]["answer"]


# zero-shot-classification


@pytest.mark.parametrize("multi_label", [False, True])
def test_zero_shot_agrees_with_transformers_pipeline(nli: Runtime, multi_label: bool) -> None:
    from transformers import pipeline

    reference = pipeline(
        "zero-shot-classification",
        model=nli._model,
        tokenizer=nli._tokenizer,
        device="cpu",  # type: ignore[attr-defined]
    )
    params = {"candidate_labels": LABELS, "multi_label": multi_label}
    ours = nli.predict(TEXTS, params)
    theirs = reference(TEXTS, candidate_labels=LABELS, multi_label=multi_label)
    for mine, expected in zip(ours, theirs, strict=True):
        assert [r["label"] for r in mine] == expected["labels"]
        np.testing.assert_allclose([r["score"] for r in mine], expected["scores"], atol=1e-5)


def test_zero_shot_shapes_and_batching(nli: Runtime) -> None:
    params = {"candidate_labels": LABELS, "hypothesis_template": "The topic is {}."}
    batch = nli.predict(TEXTS, params)
    for text, ranked in zip(TEXTS, batch, strict=True):
        assert sorted(r["label"] for r in ranked) == sorted(LABELS)
        scores = [r["score"] for r in ranked]
        assert scores == sorted(scores, reverse=True)
        assert all(type(s) is float for s in scores)
        assert sum(scores) == pytest.approx(1.0, abs=1e-5)
        (single,) = nli.predict([text], params)
        assert [r["label"] for r in single] == [r["label"] for r in ranked]
        np.testing.assert_allclose([r["score"] for r in single], scores, atol=1e-5)
    assert batch != nli.predict(TEXTS, {"candidate_labels": LABELS})  # the template is used


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "zero-shot-classification needs the parameter candidate_labels"),
        ({"candidate_labels": []}, "candidate_labels must be a non-empty list"),
        ({"candidate_labels": "sport,food"}, "candidate_labels must be a non-empty list"),
        ({"candidate_labels": ["a", ""]}, "candidate_labels must be a non-empty list of non-empty strings"),
        ({"candidate_labels": ["a", "b", "a"]}, "names 'a' twice"),
        ({"candidate_labels": [f"l{i}" for i in range(65)]}, "at most 64 labels, got 65"),
        (
            {"candidate_labels": ["a"], "hypothesis_template": "no slot"},
            "hypothesis_template must be a string with one {}",
        ),
        ({"candidate_labels": ["a"], "hypothesis_template": "{x}"}, "hypothesis_template must be"),
        ({"candidate_labels": ["a"], "multi_label": "yes"}, "multi_label must be true or false"),
        ({"candidate_labels": ["a"], "labels": ["a"]}, "unknown parameter 'labels'"),
    ],
)
def test_bad_zero_shot_params(nli: Runtime, params: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        nli.validate_params(params)
    with pytest.raises(InvalidInput, match=message):
        nli.predict(["x"], params)


@pytest.mark.parametrize(("item", "message"), [("", "must not be empty"), (["a"], "must be a string")])
def test_bad_zero_shot_inputs(nli: Runtime, item: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        nli.validate_input(item)


def test_zero_shot_signature(nli: Runtime) -> None:
    signature = nli.signature()
    assert [(t.name, t.datatype) for t in signature.inputs] == [("text", "BYTES")]
    assert [(t.name, t.datatype) for t in signature.outputs] == [("labels", "BYTES")]
    assert nli.warmup_input() is None  # warmed up in load(), where it has candidate labels


def test_a_classifier_without_nli_labels_is_refused_for_zero_shot(folders: dict[str, Path]) -> None:
    with pytest.raises(UnsupportedModel, match="needs an NLI model whose labels include entailment"):
        load_runtime(folders["classifier"], task="zero-shot-classification")
