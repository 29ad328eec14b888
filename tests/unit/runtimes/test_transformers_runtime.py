from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from berth.errors import InvalidInput, PolicyRefused, UnsupportedModel
from berth.runtimes import Runtime, TransformersRuntime
from berth.spec import Task
from tests.tiny_models import CLASSIFIER_LABELS, ENTITY_LABELS, load_runtime, local_model, make_spec

PARAPHRASES = ("A man is playing a guitar.", "Someone plays an acoustic guitar.")
UNRELATED = "The stock market fell sharply on Monday."
TEXTS = ["short", "a much longer sentence that needs padding when it shares a batch", "Paris is in France."]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# feature-extraction: the real all-MiniLM-L6-v2


def test_minilm_embeddings(tf_minilm: Runtime) -> None:
    assert isinstance(tf_minilm, TransformersRuntime)
    anchor, paraphrase, unrelated = tf_minilm.predict([*PARAPHRASES, UNRELATED], {})
    assert anchor.shape == (384,)
    assert anchor.dtype == np.float32
    assert cosine(anchor, paraphrase) > cosine(anchor, unrelated) + 0.3


def test_minilm_batch_equals_single(tf_minilm: Runtime) -> None:
    batch = tf_minilm.predict(TEXTS, {})
    for text, row in zip(TEXTS, batch, strict=True):
        np.testing.assert_allclose(row, tf_minilm.predict([text], {})[0], atol=1e-5)


def test_mean_pooling_agrees_with_sentence_transformers(tf_minilm: Runtime, st_minilm: Runtime) -> None:
    ours = np.stack(tf_minilm.predict(TEXTS, {}))
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)  # MiniLM's pipeline normalises after pooling
    np.testing.assert_allclose(ours, np.stack(st_minilm.predict(TEXTS, {})), atol=1e-5)


def test_minilm_signature(tf_minilm: Runtime) -> None:
    assert tf_minilm.signature().outputs[0].shape == (-1, 384)


# text-classification


def test_classification_labels_come_from_id2label(classifier: Runtime) -> None:
    results = classifier.predict(TEXTS, {})
    for result in results:
        assert set(result) == {"label", "score"}
        assert result["label"] in CLASSIFIER_LABELS.values()
        assert type(result["score"]) is float
        assert 0.5 <= result["score"] <= 1.0  # top-1 of two classes


def test_classification_top_k(classifier: Runtime) -> None:
    (ranked,) = classifier.predict(["fine"], {"top_k": 5})
    assert sorted(r["label"] for r in ranked) == sorted(CLASSIFIER_LABELS.values())
    assert ranked[0]["score"] >= ranked[1]["score"]
    assert sum(r["score"] for r in ranked) == pytest.approx(1.0, abs=1e-5)


def test_classification_batch_equals_single(classifier: Runtime) -> None:
    batch = classifier.predict(TEXTS, {})
    for text, result in zip(TEXTS, batch, strict=True):
        (single,) = classifier.predict([text], {})
        assert single["label"] == result["label"]
        assert single["score"] == pytest.approx(result["score"], abs=1e-5)


def test_counting_tokens_is_safe_while_the_model_thread_predicts(classifier: Runtime) -> None:
    failures: list[BaseException] = []

    def predict_repeatedly() -> None:
        try:
            for _ in range(30):
                classifier.predict(TEXTS, {})
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=predict_repeatedly)
    thread.start()
    counts = set()
    while thread.is_alive():
        counts.add(classifier.count_tokens("unbelievably tokenization"))
    thread.join()
    assert not failures
    assert counts == {7}


def test_classification_rejects_unknown_params(classifier: Runtime) -> None:
    with pytest.raises(InvalidInput, match="unknown parameter 'max_new_tokens' for text-classification"):
        classifier.validate_params({"max_new_tokens": 3})


# token-classification


def test_entities_are_plain_json_values(token_classifier: Runtime) -> None:
    results = token_classifier.predict(TEXTS, {})
    assert len(results) == len(TEXTS)
    entities = [e for result in results for e in result]
    assert entities, "the seeded tiny model tags some words"
    groups = {label.split("-", 1)[1] for label in ENTITY_LABELS.values() if "-" in label}
    for entity in entities:
        assert set(entity) == {"entity_group", "score", "word", "start", "end"}
        assert entity["entity_group"] in groups
        assert type(entity["score"]) is float
        assert type(entity["start"]) is int
        assert type(entity["end"]) is int


def test_entities_point_into_the_text(token_classifier: Runtime) -> None:
    (entities,) = token_classifier.predict([TEXTS[1]], {})
    for entity in entities:
        assert (
            TEXTS[1][entity["start"] : entity["end"]]
            .lower()
            .startswith(entity["word"].removeprefix("##")[:1])
        )


# fill-mask


def test_fill_mask_candidates(fill_mask: Runtime) -> None:
    results = fill_mask.predict(["Paris is the [MASK] of France.", "I [MASK] you."], {})
    for candidates in results:
        assert len(candidates) == 5
        assert [set(c) for c in candidates] == [{"token_str", "score", "sequence"}] * 5
        scores = [c["score"] for c in candidates]
        assert scores == sorted(scores, reverse=True)
        assert all(type(s) is float for s in scores)
        assert all(c["token_str"].removeprefix("##") in c["sequence"] for c in candidates)
    (top,) = fill_mask.predict(["I [MASK] you."], {"top_k": 2})
    assert len(top) == 2


def test_fill_mask_needs_one_mask_token(fill_mask: Runtime) -> None:
    with pytest.raises(InvalidInput, match=r"must contain the mask token \[MASK\] exactly once"):
        fill_mask.validate_input("no mask here")
    with pytest.raises(InvalidInput, match=r"\[MASK\] exactly once"):
        fill_mask.validate_input("[MASK] and [MASK]")
    assert fill_mask.validate_input(fill_mask.warmup_input()) == fill_mask.warmup_input()


# text-generation


def test_generation_is_greedy_and_returns_only_the_continuation(generator: Runtime) -> None:
    first = generator.predict(["hello world", "the quick brown fox"], {"max_new_tokens": 6})
    again = generator.predict(["hello world", "the quick brown fox"], {"max_new_tokens": 6})
    assert first == again
    for result in first:
        assert set(result) == {"generated_text", "finish_reason", "prompt_tokens", "completion_tokens"}
        assert result["completion_tokens"] <= 6
        assert result["finish_reason"] in {"stop", "length"}
    assert first[0]["prompt_tokens"] == generator.count_tokens("hello world")
    # a batch (left-padded) continues each prompt exactly as it would alone
    assert generator.predict(["hello world"], {"max_new_tokens": 6}) == first[:1]


def test_sampling_with_a_seed_is_reproducible(generator: Runtime) -> None:
    params = {"do_sample": True, "temperature": 0.9, "top_p": 0.95, "seed": 7, "max_new_tokens": 12}
    assert generator.predict(["hi"], params) == generator.predict(["hi"], params)


def test_chat_prompt_uses_the_template(generator: Runtime) -> None:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert generator.chat_prompt(messages) == "<|system|>be brief\n<|user|>hi\n<|assistant|>"


def test_chat_prompt_takes_text_parts(generator: Runtime) -> None:
    parts = [{"type": "text", "text": "h"}, {"type": "text", "text": "i"}]
    assert generator.chat_prompt([{"role": "user", "content": parts}]) == "<|user|>hi\n<|assistant|>"
    with pytest.raises(InvalidInput, match="only text parts are supported by this model, got 'image_url'"):
        generator.chat_prompt([{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}])


def test_chat_prompt_without_a_template(generator: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(generator, TransformersRuntime)
    monkeypatch.setattr(generator._loaded()[1], "chat_template", None)
    with pytest.raises(InvalidInput, match="this model has no chat template"):
        generator.chat_prompt([{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("messages", [[], [{"role": "user"}], "hi", [{"role": "user", "content": 3}]])
def test_chat_prompt_rejects_malformed_messages(generator: Runtime, messages: object) -> None:
    with pytest.raises(InvalidInput, match="messages"):
        generator.chat_prompt(messages)  # type: ignore[arg-type]


def test_generation_input_errors(generator: Runtime) -> None:
    with pytest.raises(InvalidInput, match="must be a string, got dict"):
        generator.validate_input({"text": "hi"})
    with pytest.raises(InvalidInput, match="must not be empty"):
        generator.validate_input("")
    with pytest.raises(InvalidInput, match="max_new_tokens must be an integer"):
        generator.validate_params({"max_new_tokens": -1})
    with pytest.raises(InvalidInput, match="unknown parameter 'max_tokens'"):
        generator.validate_params({"max_tokens": 3})


def test_only_generation_encodes_prompts_and_chats(classifier: Runtime) -> None:
    assert classifier.generation_engine() is None
    with pytest.raises(UnsupportedModel, match="cannot generate text for task text-classification"):
        classifier.encode_prompt("hi")
    with pytest.raises(UnsupportedModel, match="no chat template for task text-classification"):
        classifier.chat_prompt([{"role": "user", "content": "hi"}])


# loading: policies, failures, close


def test_pickle_weights_are_refused_then_loaded_when_allowed(classifier_path: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    folder = tmp_path / "pickled"
    shutil.copytree(classifier_path, folder)
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    with pytest.raises(PolicyRefused, match="pickle format"):
        load_runtime(folder)
    runtime = load_runtime(folder, allow_pickle=True)
    assert runtime.predict(["fine"], {})[0]["label"] in CLASSIFIER_LABELS.values()
    runtime.close()


def test_remote_code_is_refused(classifier_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "remote"
    shutil.copytree(classifier_path, folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForSequenceClassification": "modeling_evil.Evil"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(PolicyRefused, match=r"needs its own Python code to load \(auto_map in config.json\)"):
        load_runtime(folder)


def test_a_folder_that_cannot_load_says_so(classifier_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(classifier_path, folder)
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(UnsupportedModel, match="the transformers runtime cannot load"):
        load_runtime(folder)


def test_close_releases_the_model(classifier_path: Path) -> None:
    runtime = TransformersRuntime(local_model(classifier_path), make_spec(), "cpu", Task.TEXT_CLASSIFICATION)
    runtime.load()
    runtime.close()
    with pytest.raises(UnsupportedModel, match="not loaded"):
        runtime.predict(["a"], {})
