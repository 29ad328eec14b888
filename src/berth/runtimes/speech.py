"""Speech in, text out (automatic-speech-recognition): CTC models (Wav2Vec2, HuBERT, WavLM) and speech
sequence-to-sequence models (Whisper).

The worker decodes each upload into an `Audio` at the rate the signature declares (the feature
extractor's), so a batch arrives as mono float32 clips at the model's rate. A CTC batch is padded by
the feature extractor, goes through one forward pass, and each clip's frames (its padding cut off)
are decoded greedily; a seq2seq batch is one `generate` call. Output per input: `{"text": str}`, and
with `return_timestamps: true` also `"chunks": [{"text", "timestamp": [start_s, end_s]}]` (words for
CTC, segments for Whisper).

NOTE: a clip longer than Whisper's window (30 s) is refused with a 422 naming the limit rather than
cut into windows: windowed decoding is a loop of generate calls per clip, which would break one
batch into many and make one long clip hold up every request batched with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes import loading
from berth.runtimes.base import Audio, Params, Runtime, Signature, TensorSpec
from berth.runtimes.device import free_device_memory
from berth.runtimes.outputs import check_params
from berth.sources.tasks import SPEECH_SEQ2SEQ_TYPES
from berth.spec import Task

if TYPE_CHECKING:
    from transformers import PreTrainedModel

_CTC_PARAMS = ("return_timestamps",)
_SEQ2SEQ_PARAMS = ("max_new_tokens",)
_WHISPER_PARAMS = ("return_timestamps", "language", "task", "max_new_tokens")
_WHISPER_TASKS = ("transcribe", "translate")
_SENDS = (
    'send a WAV, FLAC, OGG or MP3 file, base64 audio, or raw PCM as {"array": [...], "sampling_rate": HZ}'
)


@dataclass(frozen=True)
class SpeechParams:
    """One request's params, checked against what the loaded model can do."""

    return_timestamps: bool = False
    language: str | None = None  # a Whisper language code, e.g. "en"
    task: str | None = None  # Whisper's "transcribe" or "translate"
    max_new_tokens: int | None = None


class SpeechRuntime(Runtime):
    """A CTC or speech seq2seq model folder, transcribing a batch of clips at once.

    >>> runtime = SpeechRuntime(model, spec, device="cpu", task=Task.AUTOMATIC_SPEECH_RECOGNITION)
    >>> runtime.load()
    >>> runtime.predict([Audio(samples, 16_000)], {"return_timestamps": True})
    [{'text': 'hello world', 'chunks': [{'text': 'hello', 'timestamp': [0.1, 0.42]}, ...]}]
    """

    name = "transformers"
    tasks = frozenset({Task.AUTOMATIC_SPEECH_RECOGNITION})

    _model: PreTrainedModel | None = None
    _extractor: Any = None
    _tokenizer: Any = None
    _ctc = False
    _whisper = False
    _rate: int | None = None  # the feature extractor's sampling rate, once loaded
    _min_samples = 1
    _max_samples: int | None = None  # a seq2seq model's window (Whisper: 30 s)
    _max_new_tokens = 1
    _window_s = 0.0

    def load(self) -> None:
        folder, config, dtype = loading.open_checkpoint(self)
        import transformers

        architectures = [a for a in config.get("architectures") or () if isinstance(a, str)]
        self._ctc = any(a.endswith("ForCTC") for a in architectures)
        self._whisper = config.get("model_type") == "whisper"
        if not self._ctc and config.get("model_type") not in SPEECH_SEQ2SEQ_TYPES:
            raise UnsupportedModel(
                f"{folder} is neither a CTC model (...ForCTC) nor a speech seq2seq model (Whisper), "
                "so berth cannot transcribe with it"
            )
        auto_class = transformers.AutoModelForCTC if self._ctc else transformers.AutoModelForSpeechSeq2Seq
        trust = self.spec.trust_remote_code
        try:
            extractor = transformers.AutoFeatureExtractor.from_pretrained(  # type: ignore[no-untyped-call]
                folder, trust_remote_code=trust, local_files_only=True
            )
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                folder, trust_remote_code=trust, local_files_only=True
            )
            model = auto_class.from_pretrained(
                folder,
                dtype=dtype,
                trust_remote_code=trust,
                local_files_only=True,
                # NOTE: None lets transformers fall back to pickle weights; True refuses them outright.
                use_safetensors=None if self.spec.allow_pickle else True,
            )
        except Exception as exc:  # NOTE: loaders raise many types (OSError, SafetensorError, ...)
            raise UnsupportedModel(
                f"the transformers runtime cannot load {folder} for {self.task}: {exc}"
            ) from exc
        model.to(self.device).eval()
        self._model, self._extractor, self._tokenizer = model, extractor, tokenizer
        self._dtype = dtype
        self._rate = int(extractor.sampling_rate)
        self._min_samples = _min_samples(model.config) if self._ctc else 1
        # Whisper's window: its feature extractor pads or cuts every clip to `n_samples` (30 s).
        window = getattr(extractor, "n_samples", None) if not self._ctc else None
        self._max_samples = int(window) if isinstance(window, int) and window > 0 else None
        self._window_s = (self._max_samples or 0) / self._rate
        if not self._ctc:
            positions = getattr(model.config, "max_target_positions", None)
            limit = positions if isinstance(positions, int) else model.generation_config.max_length
            # NOTE: Whisper refuses a decoder prompt plus max_new_tokens past its positions; the prompt is
            # at most four tokens (start, language, task, no-timestamps).
            self._max_new_tokens = max(1, int(limit or 448) - 4)

    def validate_input(self, item: Any) -> Any:
        if isinstance(item, str):
            raise InvalidInput(f"{self.task} takes audio, not text: {_SENDS}")
        if not isinstance(item, Audio):
            raise InvalidInput(f"{self.task} takes audio: {_SENDS}; got {type(item).__name__}")
        count = len(item.samples)
        if count == 0:
            raise InvalidInput("the audio has no samples")
        rate = self._rate
        if rate is not None and item.sample_rate != rate:
            raise InvalidInput(f"the audio is at {item.sample_rate} Hz; this model takes {rate} Hz")
        if rate is not None and count < self._min_samples:
            raise InvalidInput(
                f"the clip is {count / rate * 1000:.1f} ms long; this model needs at least "
                f"{self._min_samples / rate * 1000:.1f} ms of audio"
            )
        if rate is not None and self._max_samples is not None and count > self._max_samples:
            raise InvalidInput(
                f"the clip is {count / rate:.1f} s long; this model transcribes at most "
                f"{self._max_samples / rate:g} s per clip: split it into shorter clips"
            )
        return item

    def validate_params(self, params: Params) -> Params:
        self._params(params)
        return params

    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        model = self._loaded()
        checked = self._params(params)
        samples = [self.validate_input(item).samples for item in inputs]
        if self._ctc:
            return self._transcribe_ctc(model, samples, checked.return_timestamps)
        return self._generate(model, samples, checked)

    def signature(self) -> Signature:
        audio = TensorSpec("audio", "BYTES", (-1,), content="audio", sample_rate=self._rate)
        return Signature(inputs=(audio,), outputs=(TensorSpec("text", "BYTES", (-1,)),))

    def warmup_input(self) -> Any | None:
        rate = self._rate or 16_000
        return Audio(np.zeros(rate, dtype=np.float32), rate)  # one second of silence

    def close(self) -> None:
        self._model = self._extractor = self._tokenizer = None
        free_device_memory(self.device)

    def _loaded(self) -> PreTrainedModel:
        if self._model is None:
            raise UnsupportedModel("the speech runtime is not loaded; call load() first")
        return self._model

    def _params(self, params: Params) -> SpeechParams:
        allowed = _CTC_PARAMS if self._ctc else _WHISPER_PARAMS if self._whisper else _SEQ2SEQ_PARAMS
        check_params(params, allowed, self.task)
        timestamps = params.get("return_timestamps", False)
        if not isinstance(timestamps, bool):
            raise InvalidInput(f"parameter return_timestamps must be true or false, got {timestamps!r}")
        generation = getattr(self._model, "generation_config", None)
        if timestamps and self._whisper and getattr(generation, "no_timestamps_token_id", None) is None:
            raise InvalidInput(
                "this model's generation config has no timestamp tokens; leave return_timestamps out"
            )
        return SpeechParams(
            return_timestamps=timestamps,
            language=self._language(params.get("language"), generation),
            task=self._whisper_task(params.get("task"), generation),
            max_new_tokens=self._new_tokens(params.get("max_new_tokens")),
        )

    def _language(self, value: Any, generation: Any) -> str | None:
        if value is None:
            return None
        known = sorted(str(token).strip("<|>") for token in getattr(generation, "lang_to_id", None) or {})
        if not getattr(generation, "is_multilingual", False) or not known:
            raise InvalidInput("this model transcribes one language only; leave the parameter language out")
        from transformers.models.whisper.tokenization_whisper import TO_LANGUAGE_CODE

        text = str(value).lower().strip("<|>") if isinstance(value, str) else ""
        code = TO_LANGUAGE_CODE.get(text, text)
        if code not in known:
            shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
            raise InvalidInput(
                f"parameter language must be one of this model's languages ({shown}), got {value!r}"
            )
        return code

    def _whisper_task(self, value: Any, generation: Any) -> str | None:
        if value is None:
            return None
        if not getattr(generation, "is_multilingual", False) or not getattr(generation, "task_to_id", None):
            raise InvalidInput("this model only transcribes; leave the parameter task out")
        if value not in _WHISPER_TASKS:
            raise InvalidInput(f'parameter task must be "transcribe" or "translate", got {value!r}')
        return str(value)

    def _new_tokens(self, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInput(f"parameter max_new_tokens must be a positive integer, got {value!r}")
        return min(value, self._max_new_tokens)

    def _transcribe_ctc(self, model: PreTrainedModel, samples: list[Any], timestamps: bool) -> list[Any]:
        import torch

        features = self._extractor(samples, sampling_rate=self._rate, padding=True, return_tensors="pt")
        with torch.inference_mode():
            predicted = model(**self._on_device(features)).logits.argmax(dim=-1).cpu()
        lengths: list[int] = [predicted.shape[1]] * len(samples)
        convolutions: Any = model
        if hasattr(convolutions, "_get_feat_extract_output_lengths"):  # Wav2Vec2, HuBERT, WavLM, ...
            # NOTE: each clip's frames only: the frames of a shorter clip's padding would spell letters too.
            lengths = convolutions._get_feat_extract_output_lengths(
                torch.tensor([len(s) for s in samples])
            ).tolist()
        sequences = [predicted[i, : int(n)].tolist() for i, n in enumerate(lengths)]
        # NOTE: special tokens are kept, as transformers' ASR pipeline keeps them for CTC: skipping them
        # drops the blank (pad) tokens before repeated letters are merged, so "l<pad>l" would spell "l".
        if not timestamps:
            return [{"text": text} for text in self._tokenizer.batch_decode(sequences)]
        decoded = self._tokenizer.batch_decode(sequences, output_word_offsets=True)
        seconds = (
            _samples_per_frame(model.config) / self._extractor.sampling_rate
        )  # one logit frame, in seconds
        return [
            {
                "text": text,
                "chunks": [
                    {
                        "text": str(word["word"]),
                        "timestamp": [
                            _round(word["start_offset"] * seconds),
                            _round(word["end_offset"] * seconds),
                        ],
                    }
                    for word in words
                ],
            }
            for text, words in zip(decoded.text, decoded.word_offsets, strict=True)
        ]

    def _generate(self, model: PreTrainedModel, samples: list[Any], params: SpeechParams) -> list[Any]:
        import torch

        features = self._extractor(samples, sampling_rate=self._rate, return_tensors="pt")
        options: dict[str, Any] = {}
        if params.max_new_tokens is not None:
            options["max_new_tokens"] = params.max_new_tokens
        if self._whisper:
            # NOTE: one generate call per batch: Whisper's generate would otherwise decode again from
            # the last timestamp it predicted, clip by clip, inside a 30 s window.
            options |= {"force_unique_generate_call": True, "return_timestamps": params.return_timestamps}
            options |= {"language": params.language, "task": params.task}
        with torch.inference_mode():
            sequences = model.generate(**self._on_device(features), **options)  # type: ignore[operator]
        texts = [text.strip() for text in self._tokenizer.batch_decode(sequences, skip_special_tokens=True)]
        if not params.return_timestamps:
            return [{"text": text} for text in texts]
        return [
            {"text": text, "chunks": self._segments(sequence)}
            for text, sequence in zip(texts, sequences.cpu().tolist(), strict=True)
        ]

    def _on_device(self, features: Any) -> dict[str, Any]:
        """The feature extractor's tensors on the model's device, the float ones in its dtype."""
        return {
            key: value.to(self.device, self._dtype) if value.is_floating_point() else value.to(self.device)
            for key, value in features.items()
        }

    def _segments(self, sequence: list[int]) -> list[dict[str, Any]]:
        model = self._loaded()
        tokenizer = self._tokenizer
        return timestamp_chunks(
            sequence,
            lambda tokens: str(tokenizer.decode(tokens, skip_special_tokens=True)),
            first_timestamp=int(getattr(model.generation_config, "no_timestamps_token_id", 0)) + 1,
            step_s=self._window_s / model.config.max_source_positions,  # 0.02 s for Whisper
            specials=frozenset(tokenizer.all_special_ids),
        )


def timestamp_chunks(
    sequence: list[int],
    decode: Callable[[list[int]], str],
    first_timestamp: int,
    step_s: float,
    specials: frozenset[int],
) -> list[dict[str, Any]]:
    """Whisper's timestamped segments, `<|0.00|> text <|1.20|><|1.20|> text <|2.50|>`, as chunks.

    Timestamp tokens follow `<|notimestamps|>` in the vocabulary, one per `step_s`. Text after the last
    timestamp (cut off by max_new_tokens) is a chunk whose end is None.

    >>> timestamp_chunks([1, 10, 5, 60, 60, 6, 110], decode, first_timestamp=10, step_s=0.02, specials={1})
    [{'text': 'hello', 'timestamp': [0.0, 1.0]}, {'text': 'world', 'timestamp': [1.0, 2.0]}]
    """
    chunks: list[dict[str, Any]] = []
    start = 0.0  # a segment without an opening timestamp starts where the one before it ended
    tokens: list[int] = []
    for token in sequence:
        if token >= first_timestamp:
            time = _round((token - first_timestamp) * step_s)
            if tokens:  # a closing timestamp
                chunks.append({"text": decode(tokens).strip(), "timestamp": [start, time]})
                tokens = []
            start = time  # the next segment's start, unless an opening timestamp follows
        elif token not in specials:
            tokens.append(token)
    if tokens:
        chunks.append({"text": decode(tokens).strip(), "timestamp": [start, None]})
    return chunks


def _min_samples(config: Any) -> int:
    """The shortest clip a CTC model's convolutions turn into at least one frame."""
    kernels, strides = getattr(config, "conv_kernel", None), getattr(config, "conv_stride", None)
    if not kernels or not strides:
        return 1
    needed = 1
    for kernel, stride in zip(reversed(kernels), reversed(strides), strict=True):
        needed = (needed - 1) * int(stride) + int(kernel)
    return needed


def _samples_per_frame(config: Any) -> int:
    """How many input samples one CTC logit frame stands for (Wav2Vec2: 320)."""
    ratio = getattr(config, "inputs_to_logits_ratio", None)
    return int(ratio) if isinstance(ratio, int) and ratio > 0 else int(np.prod(config.conv_stride))


def _round(seconds: float) -> float:
    return round(float(seconds), 3)
