from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from berth.errors import InvalidInput
from berth.runtimes import Runtime, detect
from berth.runtimes.base import Audio
from berth.runtimes.speech import SpeechRuntime, timestamp_chunks
from berth.sources.tasks import read_config, task_from_config
from berth.spec import Task
from tests.sounds import tone
from tests.tiny_models import load_runtime, local_model, make_spec
from tests.tiny_speech import CTC_VOCAB, SAMPLE_RATE, WHISPER_MAX_TOKENS, build_wav2vec2_ctc, build_whisper

pytest.importorskip("transformers")

RATE = SAMPLE_RATE
# clips of different lengths, so that a batch pads the shorter ones
CLIPS = [
    Audio(np.random.default_rng(0).uniform(-0.5, 0.5, RATE).astype(np.float32), RATE),
    Audio(tone(440, 0.4, RATE), RATE),
    Audio(np.random.default_rng(1).uniform(-0.3, 0.3, round(RATE * 1.7)).astype(np.float32), RATE),
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("speech")
    return {"ctc": build_wav2vec2_ctc(root / "wav2vec2"), "whisper": build_whisper(root / "whisper")}


@pytest.fixture(scope="module")
def ctc(folders: dict[str, Path]) -> Iterator[Runtime]:
    runtime = load_runtime(folders["ctc"])
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def whisper(folders: dict[str, Path]) -> Iterator[Runtime]:
    runtime = load_runtime(folders["whisper"])
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def whisper_batch(whisper: Runtime) -> list[dict[str, str]]:
    return whisper.predict(CLIPS[:2], {})


@pytest.mark.parametrize("kind", ["ctc", "whisper"])
def test_both_folders_are_detected_as_speech_recognition(folders: dict[str, Path], kind: str) -> None:
    folder = folders[kind]
    assert task_from_config(read_config(folder)) is Task.AUTOMATIC_SPEECH_RECOGNITION
    assert detect(local_model(folder), make_spec(folder)) == (
        SpeechRuntime,
        Task.AUTOMATIC_SPEECH_RECOGNITION,
    )


@pytest.mark.parametrize("kind", ["ctc", "whisper"])
def test_signature_takes_audio_at_the_feature_extractors_rate(
    kind: str, ctc: Runtime, whisper: Runtime
) -> None:
    signature = (ctc if kind == "ctc" else whisper).signature()
    [audio] = signature.inputs
    assert (audio.name, audio.datatype, audio.shape, audio.content) == ("audio", "BYTES", (-1,), "audio")
    assert audio.sample_rate == RATE
    assert [(o.name, o.datatype, o.shape) for o in signature.outputs] == [("text", "BYTES", (-1,))]


# CTC (Wav2Vec2)


def test_ctc_spells_with_its_vocabulary(ctc: Runtime) -> None:
    results = ctc.predict(CLIPS, {})
    letters = set("".join(t for t in CTC_VOCAB if len(t) == 1 and t != "|")) | {" "}
    for result in results:
        assert set(result) == {"text"}
        text = result["text"]
        assert isinstance(text, str)
        assert text
        for special in ("<s>", "</s>", "<unk>"):
            text = text.replace(special, "")
        assert set(text) <= letters
        assert "<pad>" not in result["text"]
        assert "|" not in result["text"]


def test_ctc_batch_equals_one_at_a_time(ctc: Runtime) -> None:
    # a short clip padded in the batch must not spell letters from its padding
    assert ctc.predict(CLIPS, {}) == [ctc.predict([clip], {})[0] for clip in CLIPS]


def test_ctc_word_timestamps_cover_the_text(ctc: Runtime) -> None:
    results = ctc.predict(CLIPS, {"return_timestamps": True})
    for clip, result, plain in zip(CLIPS, results, ctc.predict(CLIPS, {}), strict=True):
        assert result["text"] == plain["text"]
        words = result["chunks"]
        assert " ".join(w["text"] for w in words) == result["text"]
        ends = [t for w in words for t in w["timestamp"]]
        assert ends == sorted(ends)
        assert ends[0] >= 0
        assert ends[-1] <= clip.seconds + 0.02


def test_ctc_refuses_whisper_parameters(ctc: Runtime) -> None:
    with pytest.raises(InvalidInput, match=r"unknown parameter 'language'.*it takes return_timestamps"):
        ctc.validate_params({"language": "en"})


def test_ctc_refuses_a_clip_shorter_than_its_convolutions(ctc: Runtime) -> None:
    # kernels 10, 8, 8 and strides 5, 8, 8: one frame needs ((8 - 1) * 8 + 8 - 1) * 5 + 10 = 325 samples
    with pytest.raises(InvalidInput, match=r"the clip is 20\.2 ms long; this model needs at least 20\.3 ms"):
        ctc.validate_input(Audio(np.zeros(324, dtype=np.float32), RATE))
    assert isinstance(ctc.predict([Audio(np.zeros(325, dtype=np.float32), RATE)], {})[0]["text"], str)


# Whisper


def test_whisper_answers_text(whisper_batch: list[dict[str, str]]) -> None:
    for result in whisper_batch:
        assert set(result) == {"text"}
        assert isinstance(result["text"], str)
        assert result["text"]
        assert "<|" not in result["text"]
    assert whisper_batch[0]["text"] != whisper_batch[1]["text"]  # the clips differ, so must their text


def test_whisper_batch_equals_one_at_a_time(whisper: Runtime, whisper_batch: list[dict[str, str]]) -> None:
    assert whisper_batch == [whisper.predict([clip], {})[0] for clip in CLIPS[:2]]


def test_whisper_language_is_per_request(whisper: Runtime, whisper_batch: list[dict[str, str]]) -> None:
    french = whisper.predict(CLIPS[:1], {"language": "fr", "task": "transcribe"})
    assert french != whisper.predict(CLIPS[:1], {"language": "english"})  # the prompt differs
    assert whisper.predict(CLIPS[:1], {}) == whisper_batch[:1]  # and the next request is not French


def test_whisper_segment_timestamps(whisper: Runtime) -> None:
    results = whisper.predict(CLIPS[:2], {"return_timestamps": True})
    for result in results:
        assert set(result) == {"text", "chunks"}
        assert result["chunks"]
        for chunk in result["chunks"]:
            start, end = chunk["timestamp"]
            assert isinstance(chunk["text"], str)
            assert 0.0 <= start <= 30.0
            assert end is None or start <= end <= 30.0


def test_whisper_max_new_tokens_is_capped(whisper: Runtime) -> None:
    [short] = whisper.predict(CLIPS[:1], {"max_new_tokens": 2})
    [whole] = whisper.predict(CLIPS[:1], {"max_new_tokens": 10_000})  # capped, not refused
    assert len(short["text"]) < len(whole["text"])
    assert whisper.validate_params({"max_new_tokens": WHISPER_MAX_TOKENS * 10})


def test_whisper_refuses_a_clip_past_its_window(whisper: Runtime) -> None:
    with pytest.raises(InvalidInput, match=r"the clip is 31\.0 s long; this model transcribes at most 30 s"):
        whisper.validate_input(Audio(np.zeros(31 * RATE, dtype=np.float32), RATE))
    whisper.validate_input(Audio(np.zeros(30 * RATE, dtype=np.float32), RATE))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"return_timestamps": "yes"}, "return_timestamps must be true or false"),
        ({"language": "xx"}, r"language must be one of this model's languages \(en, fr\), got 'xx'"),
        ({"language": "german"}, "language must be one of"),
        ({"task": "summarise"}, 'task must be "transcribe" or "translate"'),
        ({"max_new_tokens": 0}, "max_new_tokens must be a positive integer"),
        ({"top_k": 3}, "unknown parameter 'top_k'"),
    ],
)
def test_whisper_bad_params(whisper: Runtime, params: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        whisper.validate_params(params)


# either model


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("hello", "takes audio, not text"),
        ({"array": [0.1]}, "takes audio: send a WAV"),
        (Audio(np.zeros(0, dtype=np.float32), RATE), "the audio has no samples"),
        (Audio(np.zeros(800, dtype=np.float32), 8_000), "the audio is at 8000 Hz; this model takes 16000 Hz"),
    ],
)
@pytest.mark.parametrize("kind", ["ctc", "whisper"])
def test_bad_inputs(kind: str, item: object, message: str, ctc: Runtime, whisper: Runtime) -> None:
    with pytest.raises(InvalidInput, match=message):
        (ctc if kind == "ctc" else whisper).validate_input(item)


@pytest.mark.parametrize("kind", ["ctc", "whisper"])
def test_warmup_input_is_a_clip_it_transcribes(kind: str, ctc: Runtime, whisper: Runtime) -> None:
    runtime = ctc if kind == "ctc" else whisper
    item = runtime.validate_input(runtime.warmup_input())
    assert isinstance(runtime.predict([item], {})[0]["text"], str)


def test_timestamp_chunks_pair_the_timestamps() -> None:
    words = {5: "hello", 6: " world", 7: " again"}

    def decode(tokens: list[int]) -> str:
        return "".join(words[t] for t in tokens)

    # start, <|0.00|> hello <|1.00|><|1.00|> world <|2.00|> again (cut off), end
    sequence = [1, 10, 5, 60, 60, 6, 110, 7, 2]
    assert timestamp_chunks(
        sequence, decode, first_timestamp=10, step_s=0.02, specials=frozenset({1, 2})
    ) == [
        {"text": "hello", "timestamp": [0.0, 1.0]},
        {"text": "world", "timestamp": [1.0, 2.0]},
        {"text": "again", "timestamp": [2.0, None]},
    ]
