from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes import Runtime
from berth.runtimes.ranking import MAX_DOCUMENTS, PAIRS_PER_PASS, RankingRuntime, activation
from berth.runtimes.registry import detect
from berth.sources.tasks import read_config, task_from_config
from berth.spec import Task
from tests.tiny_models import load_runtime, local_model, make_spec
from tests.tiny_ranking import IDENTITY, NLI_LABELS, build_cross_encoder, build_sequence_classifier

QUERY = "what is the capital of France?"
DOCUMENTS = [
    "Berlin is the capital of Germany.",
    "Paris is the capital and largest city of France.",
    "cats",
    "The Eiffel Tower stands in Paris, on the Champ de Mars, near the Seine.",
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("ranking")
    return {
        "sigmoid": build_cross_encoder(root / "sigmoid"),
        "identity": build_cross_encoder(root / "identity", activation_fn=IDENTITY),
        "bare": build_cross_encoder(root / "bare", activation_fn=None),
        "two-labels": build_sequence_classifier(root / "two-labels", {0: "NEGATIVE", 1: "POSITIVE"}),
        "nli": build_sequence_classifier(root / "nli", NLI_LABELS),
    }


@pytest.fixture(scope="module")
def reranker(folders: dict[str, Path]) -> Iterator[Runtime]:
    runtime = load_runtime(folders["sigmoid"])
    yield runtime
    runtime.close()


def scores_of(ranked: list[dict[str, Any]]) -> list[float]:
    """A ranked list's scores back in document order."""
    return [entry["score"] for entry in sorted(ranked, key=lambda entry: entry["index"])]


# detection


def test_a_one_label_classifier_is_detected_as_a_cross_encoder(folders: dict[str, Path]) -> None:
    for name in ("sigmoid", "identity", "bare"):
        assert task_from_config(read_config(folders[name])) is Task.TEXT_RANKING, name
        runtime, task = detect(local_model(folders[name]), make_spec(folders[name]))
        assert (runtime, task) == (RankingRuntime, Task.TEXT_RANKING)


def test_two_label_and_nli_classifiers_are_not_rerankers(folders: dict[str, Path]) -> None:
    assert task_from_config(read_config(folders["two-labels"])) is Task.TEXT_CLASSIFICATION
    assert task_from_config(read_config(folders["nli"])) is Task.ZERO_SHOT_CLASSIFICATION


def test_a_two_label_model_forced_to_text_ranking_is_refused(folders: dict[str, Path]) -> None:
    with pytest.raises(UnsupportedModel, match=r"has 2 labels.*task: text-classification"):
        load_runtime(folders["two-labels"], task="text-ranking")


# scores


def test_a_rerank_answers_every_document_best_first(reranker: Runtime) -> None:
    (ranked,) = reranker.predict([{"query": QUERY, "documents": DOCUMENTS}], {})
    assert sorted(entry["index"] for entry in ranked) == list(range(len(DOCUMENTS)))
    assert all(set(entry) == {"index", "score"} and type(entry["score"]) is float for entry in ranked)
    scores = [entry["score"] for entry in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 < score < 1.0 for score in scores)  # a sigmoid


@pytest.mark.parametrize("name", ["sigmoid", "identity", "bare"])
def test_scores_agree_with_sentence_transformers_cross_encoder(folders: dict[str, Path], name: str) -> None:
    sentence_transformers = pytest.importorskip("sentence_transformers")
    ours = load_runtime(folders[name])
    try:
        (ranked,) = ours.predict([{"query": QUERY, "documents": DOCUMENTS}], {})
    finally:
        ours.close()
    theirs = sentence_transformers.CrossEncoder(str(folders[name]), device="cpu")
    expected = theirs.predict([(QUERY, document) for document in DOCUMENTS])
    np.testing.assert_allclose(scores_of(ranked), expected, atol=1e-5)
    if name == "identity":
        assert any(not 0.0 < score < 1.0 for score in expected), "raw logits expected to leave (0, 1)"


def test_batched_equals_one_at_a_time(reranker: Runtime) -> None:
    rng = np.random.default_rng(0)
    words = ["paris", "france", "capital", "city", "river", "tower", "berlin", "cat", "the", "of", "is", "a"]
    items: list[dict[str, Any]] = [
        {"query": f"query {n} " + " ".join(rng.choice(words, n + 1)), "documents": []} for n in range(3)
    ]
    for item in items:  # enough pairs in all for several passes, of very different lengths
        item["documents"] = [" ".join(rng.choice(words, int(rng.integers(1, 60)))) for _ in range(30)]
    items.append({"query": QUERY, "document": DOCUMENTS[1]})
    assert sum(len(i.get("documents", [1])) for i in items) > PAIRS_PER_PASS
    batched = reranker.predict(items, {})
    for item, result in zip(items, batched, strict=True):
        (alone,) = reranker.predict([item], {})
        if "document" in item:
            assert result["score"] == pytest.approx(alone["score"], abs=1e-5)
            continue
        np.testing.assert_allclose(scores_of(result), scores_of(alone), atol=1e-5)


def test_one_pair_scores_what_the_ranked_list_gives_it(reranker: Runtime) -> None:
    ranked, pair = reranker.predict(
        [{"query": QUERY, "documents": DOCUMENTS}, {"query": QUERY, "document": DOCUMENTS[2]}], {}
    )
    assert set(pair) == {"score"}
    assert pair["score"] == pytest.approx(scores_of(ranked)[2], abs=1e-5)


def test_top_n_and_return_documents(reranker: Runtime) -> None:
    (everything,) = reranker.predict([{"query": QUERY, "documents": DOCUMENTS}], {})
    (top,) = reranker.predict(
        [{"query": QUERY, "documents": DOCUMENTS}], {"top_n": 2, "return_documents": True}
    )
    assert [entry["index"] for entry in top] == [entry["index"] for entry in everything[:2]]
    assert [entry["document"] for entry in top] == [DOCUMENTS[entry["index"]] for entry in top]
    (capped,) = reranker.predict([{"query": QUERY, "documents": DOCUMENTS}], {"top_n": 99})
    assert len(capped) == len(DOCUMENTS)


def test_a_document_past_the_model_limit_is_truncated(reranker: Runtime) -> None:
    long = "paris " * 2_000
    (ranked,) = reranker.predict([{"query": QUERY, "documents": [long, "paris"]}], {})
    assert len(ranked) == 2


def test_activation_comes_from_the_sentence_transformers_config() -> None:
    assert activation({}) == "sigmoid"
    assert activation({"sentence_transformers": {"activation_fn": IDENTITY}}) == "identity"
    assert activation({"sbert_ce_default_activation_function": IDENTITY}) == "identity"  # before v4
    assert activation({"sentence_transformers": {"activation_fn": "my.module.Odd"}}) == "sigmoid"


# bad inputs and params


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"query": QUERY, "documents": []}, "rerank needs at least one document"),
        ({"documents": DOCUMENTS}, "query must be a non-empty string"),
        ({"query": "  ", "documents": DOCUMENTS}, "query must be a non-empty string"),
        ("just text", "text-ranking takes .* got str"),
        ({"query": QUERY, "documents": "one"}, "documents must be a list of strings, got str"),
        ({"query": QUERY, "documents": ["ok", 3]}, r"documents\[1\] must be a string, got int"),
        ({"query": QUERY}, 'send either "documents"'),
        ({"query": QUERY, "documents": ["a"], "document": "b"}, 'send either "documents"'),
        ({"query": QUERY, "document": 7}, "document must be a string, got int"),
        ({"query": QUERY, "documents": ["a"], "top_n": 1}, "unknown key 'top_n'"),
        ({"query": QUERY, "documents": ["a"] * (MAX_DOCUMENTS + 1)}, f"at most {MAX_DOCUMENTS} documents"),
    ],
)
def test_bad_inputs_are_refused_with_the_problem_named(reranker: Runtime, item: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        reranker.validate_input(item)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"top_n": 0}, "top_n must be a positive integer"),
        ({"top_n": "3"}, "top_n must be a positive integer"),
        ({"top_n": True}, "top_n must be a positive integer"),
        ({"return_documents": "yes"}, "return_documents must be true or false"),
        ({"top_k": 3}, "unknown parameter 'top_k' for text-ranking; it takes top_n, return_documents"),
    ],
)
def test_bad_params_are_refused(reranker: Runtime, params: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        reranker.validate_params(params)
    with pytest.raises(InvalidInput, match=message):
        reranker.predict([{"query": QUERY, "documents": ["a"]}], params)


# contract


def test_signature_is_query_document_pairs_to_a_score(reranker: Runtime) -> None:
    signature = reranker.signature()
    assert [(t.name, t.datatype, t.shape, t.content) for t in signature.inputs] == [
        ("query", "BYTES", (-1,), None),
        ("document", "BYTES", (-1,), None),
    ]
    assert [(t.name, t.datatype, t.shape) for t in signature.outputs] == [("score", "FP32", (-1,))]


def test_warmup_input_is_a_real_rerank(reranker: Runtime) -> None:
    warmup = reranker.validate_input(reranker.warmup_input())
    (ranked,) = reranker.predict([warmup], {})
    assert len(ranked) == len(warmup["documents"])


def test_count_tokens_counts_wordpieces(reranker: Runtime) -> None:
    assert reranker.count_tokens("paris is lovely") == 3
