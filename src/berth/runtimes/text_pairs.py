"""Two texts in: extractive question answering and zero-shot (NLI) classification.

Both tasks pair texts for a BERT-style encoder, and both batch the same way: every pair of the whole
batch in one tokenizer call and one forward pass. Question answering pairs each question with its
context, split into overlapping windows when the context is long, and picks the best span across a
context's windows (`berth.runtimes.spans`). Zero-shot classification pairs each text with one
hypothesis per candidate label ("This example is {label}.") and reads the NLI model's entailment
logits, as transformers' zero-shot pipeline does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes import loading
from berth.runtimes.base import Params, Runtime, Signature, TensorSpec
from berth.runtimes.device import free_device_memory
from berth.runtimes.outputs import check_params, require_text, token_counter
from berth.runtimes.spans import best_spans

# NOTE: the text tasks' rule for an encoder's token limit (the tokenizer's, capped by the positions).
from berth.runtimes.transformers_runtime import _max_length
from berth.runtimes.zero_shot import ZeroShotParams, entailment_scores, nli_label_ids
from berth.spec import Task

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

_AUTO_CLASSES = {
    Task.QUESTION_ANSWERING: "AutoModelForQuestionAnswering",
    Task.ZERO_SHOT_CLASSIFICATION: "AutoModelForSequenceClassification",
}
QA_KEYS = ("question", "context")
QA_PARAMS = ("max_answer_len",)
MAX_ANSWER_LEN_DEFAULT = 30
MAX_ANSWER_LEN_LIMIT = 512
QA_WINDOW = 384  # tokens per question + context window, as transformers' pipeline used
_WARMUP_TEXT = "berth warms the model up with this sentence."
_WARMUP_LABELS = ("a test", "a greeting")


class TextPairRuntime(Runtime):
    """A BERT-style model folder with a QA head, or an NLI classifier for zero-shot labels.

    >>> qa = TextPairRuntime(model, spec, device="cpu", task=Task.QUESTION_ANSWERING)
    >>> qa.load()
    >>> qa.predict([{"question": "Where is Paris?", "context": "Paris is in France."}], {})
    [{'answer': 'France', 'score': 0.91, 'start': 12, 'end': 18}]
    """

    name = "transformers"
    tasks = frozenset({Task.QUESTION_ANSWERING, Task.ZERO_SHOT_CLASSIFICATION})

    _model: Any = None
    _tokenizer: PreTrainedTokenizerBase | None = None

    def load(self) -> None:
        folder, _config, dtype = loading.open_checkpoint(self)
        import transformers

        trust = self.spec.trust_remote_code
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                folder, trust_remote_code=trust, local_files_only=True
            )
            model = getattr(transformers, _AUTO_CLASSES[self.task]).from_pretrained(
                folder,
                dtype=dtype,
                trust_remote_code=trust,
                local_files_only=True,
                use_safetensors=None if self.spec.allow_pickle else True,
            )
        except Exception as exc:  # NOTE: loaders raise many types (OSError, ValueError, SafetensorError, ...)
            raise UnsupportedModel(
                f"the transformers runtime cannot load {folder} for {self.task}: {exc}"
            ) from exc
        if self.task is Task.ZERO_SHOT_CLASSIFICATION:
            self._label_ids = nli_label_ids(model.config.id2label, folder)
        elif not getattr(tokenizer, "is_fast", False):
            raise UnsupportedModel(
                f"question-answering needs a fast tokenizer (tokenizer.json) for character offsets, "
                f"and {folder} has none"
            )
        model.to(self.device).eval()
        self._model, self._tokenizer = model, tokenizer
        self._max_length = _max_length(model, tokenizer)
        self._window = min(QA_WINDOW, self._max_length)
        # NOTE: a fixed stride, not one fitted to each batch's questions, so that a context is cut the
        # same way whatever it shares a batch with; questions over half a window are refused instead.
        self._stride = self._window // 4
        self._counter = token_counter(tokenizer)
        if self.task is Task.ZERO_SHOT_CLASSIFICATION:
            # NOTE: the worker warms a runtime up with no params, and zero-shot needs candidate_labels.
            self._classify([_WARMUP_TEXT], ZeroShotParams.parse({"candidate_labels": list(_WARMUP_LABELS)}))

    def validate_input(self, item: Any) -> Any:
        if self.task is Task.ZERO_SHOT_CLASSIFICATION:
            text = require_text(item)
            if not text.strip():
                raise InvalidInput("the text to classify must not be empty")
            return text
        return self._check_pair(item)

    def validate_params(self, params: Params) -> Params:
        if self.task is Task.ZERO_SHOT_CLASSIFICATION:
            ZeroShotParams.parse(params)
        else:
            _max_answer_len(params)
        return params

    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        self._loaded()
        if self.task is Task.ZERO_SHOT_CLASSIFICATION:
            return self._classify(inputs, ZeroShotParams.parse(params))
        return self._answer(inputs, _max_answer_len(params))

    def signature(self) -> Signature:
        if self.task is Task.ZERO_SHOT_CLASSIFICATION:
            return Signature(
                inputs=(TensorSpec("text", "BYTES", (-1,)),), outputs=(TensorSpec("labels", "BYTES", (-1,)),)
            )
        return Signature(
            inputs=tuple(TensorSpec(key, "BYTES", (-1,)) for key in QA_KEYS),
            outputs=(
                TensorSpec("answer", "BYTES", (-1,)),
                TensorSpec("score", "FP32", (-1,)),
                TensorSpec("start", "INT64", (-1,)),
                TensorSpec("end", "INT64", (-1,)),
            ),
        )

    def warmup_input(self) -> Any | None:
        if self.task is Task.ZERO_SHOT_CLASSIFICATION:
            return None  # warmed up in load(), with candidate labels
        return {"question": "What does berth warm up?", "context": "berth warms the model up with this."}

    def count_tokens(self, text: str) -> int:
        if self._counter is None:  # a slow tokenizer is plain Python, safe to share
            return len(self._loaded()[1].tokenize(text))
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def close(self) -> None:
        self._model = self._tokenizer = None
        free_device_memory(self.device)

    def _loaded(self) -> tuple[Any, PreTrainedTokenizerBase]:
        if self._model is None or self._tokenizer is None:
            raise UnsupportedModel("the transformers runtime is not loaded; call load() first")
        return self._model, self._tokenizer

    def _check_pair(self, item: Any) -> dict[str, str]:
        if not isinstance(item, dict):
            raise InvalidInput(
                f'question-answering takes an object with "question" and "context", got {type(item).__name__}'
            )
        unknown = sorted(set(item) - set(QA_KEYS))
        if unknown:
            raise InvalidInput(
                f'unknown key {unknown[0]!r}; question-answering takes "question" and "context"'
            )
        for key in QA_KEYS:
            value = item.get(key)
            if value is not None and not isinstance(value, str):
                raise InvalidInput(f"{key} must be a string, got {type(value).__name__}")
            if value is None or not value.strip():
                raise InvalidInput(f'question-answering needs a {key}: a non-empty "{key}" string')
        limit = self._window // 2
        if self.count_tokens(item["question"]) > limit:
            raise InvalidInput(
                f"the question is too long: this model takes questions of up to {limit} tokens"
            )
        return {key: item[key] for key in QA_KEYS}

    def _answer(self, items: list[dict[str, str]], max_answer_len: int) -> list[dict[str, Any]]:
        import torch

        model, tokenizer = self._loaded()
        contexts = [item["context"] for item in items]
        encoded = tokenizer(
            [item["question"] for item in items],
            contexts,
            truncation="only_second",
            max_length=self._window,
            stride=self._stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding=True,
            return_tensors="pt",
        )
        sample_of = encoded.pop("overflow_to_sample_mapping").tolist()  # the input each window is from
        offsets = encoded.pop("offset_mapping").tolist()
        in_context = torch.tensor(
            [[sid == 1 for sid in encoded.sequence_ids(w)] for w in range(len(sample_of))], dtype=torch.bool
        )
        cls_id = tokenizer.cls_token_id
        is_cls = encoded["input_ids"] == cls_id if cls_id is not None else torch.zeros_like(in_context)
        with torch.inference_mode():
            output = model(**encoded.to(self.device))
            spans = best_spans(
                output.start_logits.float(),
                output.end_logits.float(),
                in_context.to(self.device),
                is_cls.to(self.device),
                max_answer_len,
            )
        best: dict[int, tuple[float, int, int]] = {}  # input → (score, first character, end character)
        for window, (sample, (score, first, last)) in enumerate(zip(sample_of, spans, strict=True)):
            if sample not in best or score > best[sample][0]:
                best[sample] = (score, offsets[window][first][0], offsets[window][last][1])
        return [
            {"answer": contexts[sample][start:end], "score": score, "start": start, "end": end}
            for sample, (score, start, end) in sorted(best.items())
        ]

    def _classify(self, texts: list[str], params: ZeroShotParams) -> list[list[dict[str, Any]]]:
        import torch

        model, tokenizer = self._loaded()
        hypotheses = [params.hypothesis(label) for label in params.candidate_labels]
        encoded = tokenizer(
            [text for text in texts for _ in hypotheses],
            hypotheses * len(texts),
            padding=True,
            truncation="only_first",
            max_length=self._max_length,
            return_tensors="pt",
        ).to(self.device)
        with torch.inference_mode():
            logits = model(**encoded).logits.float().reshape(len(texts), len(hypotheses), -1)
            scores = entailment_scores(logits, self._label_ids, params.multi_label).cpu().numpy()
        return [
            sorted(
                (
                    {"label": label, "score": float(score)}
                    for label, score in zip(params.candidate_labels, row, strict=True)
                ),
                key=lambda entry: -entry["score"],
            )
            for row in scores
        ]


def _max_answer_len(params: Params) -> int:
    check_params(params, QA_PARAMS, Task.QUESTION_ANSWERING)
    value = params.get("max_answer_len", MAX_ANSWER_LEN_DEFAULT)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ANSWER_LEN_LIMIT:
        raise InvalidInput(
            f"parameter max_answer_len must be a number of tokens from 1 to {MAX_ANSWER_LEN_LIMIT}, "
            f"got {value!r}"
        )
    return value
