"""The encoder-decoder runtime on tiny random T5, BART and Marian models (MiniLM's real tokenizer)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from berth.errors import InvalidInput
from berth.runtimes import registry
from berth.runtimes.base import Runtime
from berth.runtimes.seq2seq import Seq2SeqRuntime
from berth.sources.tasks import read_config, task_from_config
from berth.spec import Task
from tests import tiny_seq2seq
from tests.tiny_models import load_runtime, local_model, make_spec

TEXTS = ["hello world", "a much longer sentence about the weather in paris, which needs padding", "berth"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("seq2seq")
    return {
        "t5": tiny_seq2seq.build_t5(root / "t5"),
        "bart": tiny_seq2seq.build_bart(root / "bart"),
        "marian": tiny_seq2seq.build_marian(root / "marian"),
    }


@pytest.fixture(scope="module")
def t5(folders: dict[str, Path]) -> Iterator[Runtime]:
    runtime = load_runtime(folders["t5"])
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def bart(folders: dict[str, Path]) -> Iterator[Runtime]:
    runtime = load_runtime(folders["bart"])
    yield runtime
    runtime.close()


@pytest.mark.parametrize(
    ("name", "task"),
    [("t5", Task.TEXT2TEXT_GENERATION), ("bart", Task.TEXT2TEXT_GENERATION), ("marian", Task.TRANSLATION)],
)
def test_detection(folders: dict[str, Path], name: str, task: Task) -> None:
    assert task_from_config(read_config(folders[name])) is task
    assert registry.detect(local_model(folders[name]), make_spec(folders[name])) == (Seq2SeqRuntime, task)


def test_a_marian_config_is_translation() -> None:
    config = {"architectures": ["MarianMTModel"], "model_type": "marian"}
    assert task_from_config(config) is Task.TRANSLATION


def test_text2text_answers_generated_text(t5: Runtime) -> None:
    results = t5.predict(TEXTS, {"max_new_tokens": 6})
    assert [list(r) for r in results] == [["generated_text"]] * len(TEXTS)
    assert all(isinstance(r["generated_text"], str) and r["generated_text"] for r in results)
    assert len({r["generated_text"] for r in results}) > 1  # the inputs matter


@pytest.mark.parametrize("params", [{"max_new_tokens": 6}, {"max_new_tokens": 5, "num_beams": 3}])
def test_batch_equals_single(t5: Runtime, params: dict[str, int]) -> None:
    batch = t5.predict(TEXTS, params)
    assert batch == [t5.predict([text], params)[0] for text in TEXTS]


def test_max_new_tokens_bounds_the_answer(t5: Runtime) -> None:
    (short,) = t5.predict([TEXTS[1]], {"max_new_tokens": 3})
    (longer,) = t5.predict([TEXTS[1]], {"max_new_tokens": 10})
    assert longer["generated_text"].startswith(short["generated_text"])  # greedy: the same first tokens
    assert len(short["generated_text"].split()) <= 3 < len(longer["generated_text"].split())


def test_a_seed_makes_sampling_repeatable(t5: Runtime) -> None:
    params = {"max_new_tokens": 4, "do_sample": True, "temperature": 1.5, "seed": 7}
    assert t5.predict(TEXTS[:2], params) == t5.predict(TEXTS[:2], params)


@pytest.mark.parametrize(
    ("task", "key", "prefix"),
    [
        (Task.SUMMARIZATION, "summary_text", "summarize: "),
        (Task.TRANSLATION, "translation_text", "translate English to German: "),
    ],
)
def test_t5_task_prefix(folders: dict[str, Path], t5: Runtime, task: Task, key: str, prefix: str) -> None:
    runtime = load_runtime(folders["t5"], task=task.value)
    try:
        assert runtime.signature().outputs[0].name == key
        results = runtime.predict(TEXTS, {"max_new_tokens": 6})
        expected = t5.predict([prefix + text for text in TEXTS], {"max_new_tokens": 6})
        assert [r[key] for r in results] == [e["generated_text"] for e in expected]
        assert runtime.predict([prefix + TEXTS[0]], {"max_new_tokens": 6}) == results[:1]  # never twice
    finally:
        runtime.close()


def test_a_model_without_prefixes_takes_the_text_as_it_is(folders: dict[str, Path], bart: Runtime) -> None:
    runtime = load_runtime(folders["bart"], task="summarization")
    try:
        summary = runtime.predict(TEXTS, {"max_new_tokens": 4})
        assert [s["summary_text"] for s in summary] == [
            g["generated_text"] for g in bart.predict(TEXTS, {"max_new_tokens": 4})
        ]
    finally:
        runtime.close()


def test_long_text_is_truncated_at_the_encoders_positions(bart: Runtime) -> None:
    long_text = " ".join(["word"] * 200)  # 200 tokens; this BART has 64 positions
    (answer,) = bart.predict([long_text], {"max_new_tokens": 4})
    assert answer == bart.predict([long_text + " and more"], {"max_new_tokens": 4})[0]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_new_tokens": 1025}, "max_new_tokens must be an integer from 1 to 1024, got 1025"),
        ({"max_new_tokens": 0}, "max_new_tokens must be an integer from 1 to 1024"),
        ({"max_new_tokens": "9"}, "max_new_tokens must be an integer"),
        ({"num_beams": 9}, "num_beams must be an integer from 1 to 8, got 9"),
        ({"num_beams": True}, "num_beams must be an integer"),
        ({"top_p": 2}, "top_p must be at most 1"),
        ({"top_k": 2}, "unknown parameter 'top_k' for text2text-generation"),
    ],
)
def test_bad_params(t5: Runtime, params: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        t5.validate_params(params)
    with pytest.raises(InvalidInput, match=message):
        t5.predict(["x"], params)


def test_a_decoder_with_learned_positions_caps_max_new_tokens(bart: Runtime) -> None:
    with pytest.raises(InvalidInput, match="from 1 to 64, got 65"):
        bart.validate_params({"max_new_tokens": 65})
    (answer,) = bart.predict(["x"], {"max_new_tokens": 64})
    assert isinstance(answer["generated_text"], str)


@pytest.mark.parametrize(
    ("item", "message"),
    [("", "the text must not be empty"), ("   ", "must not be empty"), (3, "must be a string, got int")],
)
def test_bad_inputs(t5: Runtime, item: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        t5.validate_input(item)


def test_signature_and_warmup(t5: Runtime) -> None:
    signature = t5.signature()
    assert [(t.name, t.datatype, t.shape) for t in signature.inputs] == [("text", "BYTES", (-1,))]
    assert [(t.name, t.datatype, t.shape) for t in signature.outputs] == [("generated_text", "BYTES", (-1,))]
    warm = t5.warmup_input()
    assert t5.predict([t5.validate_input(warm)], {"max_new_tokens": 2})[0]["generated_text"]
