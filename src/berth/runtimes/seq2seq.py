"""Text in, text out with an encoder-decoder (T5, BART, Marian): text2text-generation, summarization,
translation.

A batch is one tokenizer call (padded, truncated at the encoder's limit) and one `generate`. Output per
input is one key, the name transformers' pipelines gave it: `generated_text`, `summary_text` or
`translation_text`. For summarization and translation a T5-style model's task prefix (config.json's
`task_specific_params`, e.g. "summarize: ") is put in front of each text that lacks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes import loading
from berth.runtimes.base import Params, Runtime, Signature, TensorSpec
from berth.runtimes.device import free_device_memory
from berth.runtimes.generation import GenerationParams
from berth.runtimes.outputs import check_params, require_text

# NOTE: the text tasks' rule for an encoder's token limit (the tokenizer's, capped by the positions).
from berth.runtimes.transformers_runtime import _max_length
from berth.spec import Task

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

OUTPUT_KEYS = {
    Task.TEXT2TEXT_GENERATION: "generated_text",
    Task.SUMMARIZATION: "summary_text",
    Task.TRANSLATION: "translation_text",
}
MAX_NEW_TOKENS_DEFAULT = 64
MAX_NEW_TOKENS_LIMIT = 1024
MAX_BEAMS = 8
PARAM_NAMES = ("max_new_tokens", "num_beams", "temperature", "top_p", "do_sample", "seed")
_WARMUP_TEXT = "berth warms the model up with this sentence."


@dataclass(frozen=True)
class Seq2SeqParams:
    """Per-request generation options: sampling as text-generation takes them, plus beams.

    `num_beams` None keeps the model's own (its generation_config.json, often several for summarizers).
    """

    generation: GenerationParams
    num_beams: int | None = None

    @classmethod
    def parse(cls, params: Params, task: Task, limit: int) -> Seq2SeqParams:
        """Validate request params; `limit` is the most new tokens this model's decoder can take."""
        check_params(params, PARAM_NAMES, task)
        max_new = params.get("max_new_tokens", min(MAX_NEW_TOKENS_DEFAULT, limit))
        if isinstance(max_new, bool) or not isinstance(max_new, int) or not 1 <= max_new <= limit:
            raise InvalidInput(
                f"parameter max_new_tokens must be an integer from 1 to {limit}, got {max_new!r}"
            )
        beams = params.get("num_beams")
        if beams is not None and (
            isinstance(beams, bool) or not isinstance(beams, int) or not 1 <= beams <= MAX_BEAMS
        ):
            raise InvalidInput(f"parameter num_beams must be an integer from 1 to {MAX_BEAMS}, got {beams!r}")
        sampling = {key: value for key, value in params.items() if key != "num_beams"}
        return cls(GenerationParams.parse(sampling | {"max_new_tokens": max_new}), beams)

    def generate_kwargs(self) -> dict[str, Any]:
        kwargs = self.generation.generate_kwargs()
        if self.num_beams is not None:
            kwargs["num_beams"] = self.num_beams
        return kwargs


class Seq2SeqRuntime(Runtime):
    """An encoder-decoder model folder (AutoModelForSeq2SeqLM) and its tokenizer.

    >>> runtime = Seq2SeqRuntime(model, spec, device="cpu", task=Task.SUMMARIZATION)
    >>> runtime.load()
    >>> runtime.predict(["a long article ..."], {"max_new_tokens": 60, "num_beams": 4})
    [{'summary_text': '...'}]
    """

    name = "transformers"
    tasks = frozenset({Task.TEXT2TEXT_GENERATION, Task.SUMMARIZATION, Task.TRANSLATION})

    _model: Any = None  # NOTE: Any, as nn.Module's __getattr__ hides `generate` from mypy
    _tokenizer: PreTrainedTokenizerBase | None = None

    def load(self) -> None:
        folder, config, dtype = loading.open_checkpoint(self)
        import transformers

        trust = self.spec.trust_remote_code
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                folder, trust_remote_code=trust, local_files_only=True
            )
            model = transformers.AutoModelForSeq2SeqLM.from_pretrained(
                folder,
                dtype=dtype,
                trust_remote_code=trust,
                local_files_only=True,
                use_safetensors=None if self.spec.allow_pickle else True,
            )
        except Exception as exc:  # NOTE: loaders raise many types (OSError, ValueError, SafetensorError, ...)
            raise UnsupportedModel(
                f"the transformers runtime cannot load {folder} for {self.task} "
                f"(it needs an encoder-decoder such as T5, BART or Marian): {exc}"
            ) from exc
        model.to(self.device).eval()
        self._model, self._tokenizer = model, tokenizer
        self._max_length = _max_length(model, tokenizer)
        self._new_tokens_limit = _decoder_limit(model.config)
        self._prefix = task_prefix(config, self.task)

    def validate_input(self, item: Any) -> Any:
        text = require_text(item)
        if not text.strip():
            raise InvalidInput(f"the text must not be empty; {self.task} needs text to work on")
        return text

    def validate_params(self, params: Params) -> Params:
        self._parse(params)
        return params

    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        import torch

        model, tokenizer = self._loaded()
        options = self._parse(params)
        texts = [text if text.startswith(self._prefix) else self._prefix + text for text in inputs]
        encoded = tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self._max_length,
            return_tensors="pt",
            return_token_type_ids=False,  # NOTE: BERT-style tokenizers add them; encoder-decoders refuse them
        ).to(self.device)
        if options.generation.do_sample and options.generation.seed is not None:
            torch.manual_seed(options.generation.seed)
        with torch.inference_mode():
            output = model.generate(**encoded, **options.generate_kwargs())
        key = OUTPUT_KEYS[self.task]
        return [{key: text} for text in tokenizer.batch_decode(output, skip_special_tokens=True)]

    def signature(self) -> Signature:
        return Signature(
            inputs=(TensorSpec("text", "BYTES", (-1,)),),
            outputs=(TensorSpec(OUTPUT_KEYS[self.task], "BYTES", (-1,)),),
        )

    def warmup_input(self) -> Any | None:
        return _WARMUP_TEXT

    def close(self) -> None:
        self._model = self._tokenizer = None
        free_device_memory(self.device)

    def _parse(self, params: Params) -> Seq2SeqParams:
        self._loaded()
        return Seq2SeqParams.parse(params, self.task, self._new_tokens_limit)

    def _loaded(self) -> tuple[Any, PreTrainedTokenizerBase]:
        if self._model is None or self._tokenizer is None:
            raise UnsupportedModel("the transformers runtime is not loaded; call load() first")
        return self._model, self._tokenizer


def task_prefix(config: dict[str, Any], task: Task) -> str:
    """The text a T5-style model expects before each input for `task` (config.json's
    `task_specific_params`), or "" where it has none.

    For translation the first `translation_*` entry is taken (T5's is English to German); serve the
    model as text2text-generation and write the prefix yourself for another language pair.

    >>> task_prefix({"task_specific_params": {"summarization": {"prefix": "summarize: "}}}, SUMMARIZATION)
    'summarize: '
    """
    entries = config.get("task_specific_params")
    if not isinstance(entries, dict):
        return ""
    entry: Any = None
    if task is Task.SUMMARIZATION:
        entry = entries.get("summarization")
    elif task is Task.TRANSLATION:
        entry = next((v for k, v in entries.items() if str(k).startswith("translation")), None)
    prefix = entry.get("prefix") if isinstance(entry, dict) else None
    return prefix if isinstance(prefix, str) else ""


def _decoder_limit(config: Any) -> int:
    """The most tokens one request may generate: 1024, or fewer where the decoder has learned positions."""
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        return min(MAX_NEW_TOKENS_LIMIT, positions)
    return MAX_NEW_TOKENS_LIMIT
