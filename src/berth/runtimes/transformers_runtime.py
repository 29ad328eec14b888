"""The transformers runtime for the five text tasks: a model folder with config.json.

Embeddings and classification call the model directly on the whole batch (one tokenizer call, one
forward pass, no pipeline overhead); token classification and fill-mask use transformers pipelines
for their post-processing; generation lives in `generation.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes import loading
from berth.runtimes.base import Params, Runtime, Signature
from berth.runtimes.device import free_device_memory
from berth.runtimes.engine import Engine, EngineLimits, gather_s, result_of
from berth.runtimes.generation import GenerationParams, context_length, encode_prompt, eos_ids, render_chat
from berth.runtimes.outputs import (
    check_params,
    classification_outputs,
    require_text,
    text_signature,
    token_counter,
    top_k_param,
)
from berth.spec import Task

if TYPE_CHECKING:
    from transformers import Pipeline, PreTrainedModel, PreTrainedTokenizerBase

_AUTO_CLASSES = {
    Task.FEATURE_EXTRACTION: "AutoModel",
    Task.TEXT_CLASSIFICATION: "AutoModelForSequenceClassification",
    Task.TOKEN_CLASSIFICATION: "AutoModelForTokenClassification",
    Task.FILL_MASK: "AutoModelForMaskedLM",
    Task.TEXT_GENERATION: "AutoModelForCausalLM",
}
_PARAMS = {Task.TEXT_CLASSIFICATION: ("top_k",), Task.FILL_MASK: ("top_k",)}
_FILL_MASK_TOP_K = 5
_WARMUP_TEXT = "berth warms the model up with this sentence."


class TransformersRuntime(Runtime):
    """Any transformers model folder, for feature-extraction, classification, fill-mask or generation.

    >>> runtime = TransformersRuntime(model, spec, device="cpu", task=Task.TEXT_CLASSIFICATION)
    >>> runtime.load()
    >>> runtime.predict(["great film"], {})
    [{'label': 'POSITIVE', 'score': 0.98}]
    """

    name = "transformers"
    tasks = frozenset(
        {
            Task.FEATURE_EXTRACTION,
            Task.TEXT_CLASSIFICATION,
            Task.TOKEN_CLASSIFICATION,
            Task.FILL_MASK,
            Task.TEXT_GENERATION,
        }
    )  # the other tasks have a module each (`berth.runtimes.registry.TRANSFORMERS_FAMILIES`)

    _model: PreTrainedModel | None = None
    _tokenizer: PreTrainedTokenizerBase | None = None
    _pipeline: Pipeline | None = None
    _engine: Engine | None = None

    def load(self) -> None:
        folder, _config, dtype = loading.open_checkpoint(self)
        import transformers

        auto_class = getattr(transformers, _AUTO_CLASSES[self.task])
        trust = self.spec.trust_remote_code
        try:
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
        self._model, self._tokenizer = model, tokenizer
        self._max_length = _max_length(model, tokenizer)
        self._counter = token_counter(tokenizer)
        if self.task is Task.TEXT_GENERATION:
            self._engine = self._start_engine(model, tokenizer)
        elif self.task in (Task.TOKEN_CLASSIFICATION, Task.FILL_MASK):
            extra = {"aggregation_strategy": "simple"} if self.task is Task.TOKEN_CLASSIFICATION else {}
            make_pipeline: Any = transformers.pipeline  # its overloads want a literal task name
            self._pipeline = make_pipeline(
                self.task.value, model=model, tokenizer=tokenizer, device=self.device, **extra
            )

    def validate_input(self, item: Any) -> Any:
        text = require_text(item)
        if self.task is Task.FILL_MASK:
            mask = self._loaded()[1].mask_token
            if text.count(mask) != 1:
                raise InvalidInput(f"fill-mask input must contain the mask token {mask} exactly once")
        if self.task is Task.TEXT_GENERATION and not text:
            raise InvalidInput("the prompt must not be empty")
        return text

    def validate_params(self, params: Params) -> Params:
        if self.task is Task.TEXT_GENERATION:
            GenerationParams.parse(params)
        else:
            check_params(params, _PARAMS.get(self.task, ()), self.task)
            top_k_param(params, None, 1)
        return params

    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        tokenizer = self._loaded()[1]
        if self._engine is not None:  # warm-up and direct calls; the worker submits to the engine itself
            parsed = GenerationParams.parse(params)
            return [result_of(self._engine.generate(self.encode_prompt(p), parsed)) for p in inputs]
        self.validate_params(params)
        if self.task is Task.FEATURE_EXTRACTION:
            return self._embed(inputs)
        if self.task is Task.TEXT_CLASSIFICATION:
            return self._classify(inputs, params)
        assert self._pipeline is not None
        if self.task is Task.FILL_MASK:
            top_k = top_k_param(params, _FILL_MASK_TOP_K, tokenizer.vocab_size)
            raw = self._pipeline(inputs, batch_size=len(inputs), top_k=top_k)
            return [_fill_mask_output(r) for r in _per_input(raw, len(inputs))]
        raw = self._pipeline(inputs, batch_size=len(inputs))
        return [_entities_output(r) for r in _per_input(raw, len(inputs))]

    def generation_engine(self) -> Engine | None:
        return self._engine

    def chat_prompt(self, messages: list[dict[str, Any]]) -> str:
        if self._engine is None:
            return super().chat_prompt(messages)
        return render_chat(self._loaded()[1], messages)

    def encode_prompt(self, prompt: str) -> list[int]:
        if self._engine is None:
            return super().encode_prompt(prompt)
        return encode_prompt(self._loaded()[1], self._counter, prompt)

    def signature(self) -> Signature:
        dim = getattr(self._model.config, "hidden_size", None) if self._model is not None else None
        return text_signature(self.task, dim if isinstance(dim, int) else None)

    def warmup_input(self) -> Any | None:
        if self.task is Task.FILL_MASK:
            return f"berth warms the {self._loaded()[1].mask_token} up."
        return _WARMUP_TEXT

    def count_tokens(self, text: str) -> int:
        tokenizer = self._loaded()[1]
        if self._counter is None:  # a slow tokenizer is plain Python, safe to share
            return len(tokenizer.tokenize(text))
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
        self._model = self._tokenizer = self._pipeline = self._engine = None
        free_device_memory(self.device)

    def _start_engine(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> Engine:
        generation = self.spec.generation
        if tokenizer.pad_token_id is None:  # GPT-2 style tokenizers have none; a padded batch needs one
            tokenizer.pad_token = tokenizer.eos_token
        own = context_length(model.config)
        context = generation.max_context or min(
            own or generation.max_batch_tokens, generation.max_batch_tokens
        )
        if own is not None and context > own:
            raise UnsupportedModel(
                f"generation.max_context is {context} but the model takes {own} positions; lower it to {own}"
            )
        limits = EngineLimits(
            max_sequences=generation.max_concurrent_sequences,
            max_batch_tokens=generation.max_batch_tokens,
            max_context=context,
            max_queue=self.spec.limits.max_queue,
            gather_s=gather_s(self.spec.batching.max_latency_ms),
        )
        engine = Engine(model, tokenizer, self.device, limits, eos_ids(model, tokenizer))
        engine.start()
        return engine

    def _loaded(self) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
        if self._model is None or self._tokenizer is None:
            raise UnsupportedModel("the transformers runtime is not loaded; call load() first")
        return self._model, self._tokenizer

    def _encode(self, inputs: list[str]) -> Any:
        tokenizer = self._loaded()[1]
        encoded = tokenizer(
            inputs, padding=True, truncation=True, max_length=self._max_length, return_tensors="pt"
        )
        return encoded.to(self.device)

    def _embed(self, inputs: list[str]) -> list[Any]:
        import torch

        model = self._loaded()[0]
        with torch.inference_mode():
            encoded = self._encode(inputs)
            hidden = model(**encoded).last_hidden_state.float()
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return list(pooled.cpu().numpy())

    def _classify(self, inputs: list[str], params: Params) -> list[Any]:
        import torch

        model = self._loaded()[0]
        id2label = {int(k): str(v) for k, v in (model.config.id2label or {}).items()}
        top_k = top_k_param(params, None, len(id2label))
        with torch.inference_mode():
            logits = model(**self._encode(inputs)).logits.float()
            multi_label = model.config.problem_type == "multi_label_classification"
            probabilities = logits.sigmoid() if multi_label else logits.softmax(dim=-1)
            return classification_outputs(probabilities.cpu().numpy(), id2label, top_k)


def _max_length(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> int:
    """The tokenizer's limit, capped by the positions the model has (tokenizers often claim more)."""
    limit = tokenizer.model_max_length if tokenizer.model_max_length < 1_000_000 else 512
    positions = getattr(model.config, "max_position_embeddings", None)
    return min(limit, positions) if isinstance(positions, int) and positions > 0 else int(limit)


def _per_input(raw: Any, count: int) -> list[Any]:
    # NOTE: fill-mask unwraps a batch of one into that one result (token-classification does not);
    # wrap it back, so that every task returns one list of dicts per input.
    if count == 1 and raw and isinstance(raw[0], dict):
        return [raw]
    return list(raw)


def _entities_output(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "entity_group": str(e["entity_group"]),
            "score": float(e["score"]),
            "word": str(e["word"]),
            "start": None if e.get("start") is None else int(e["start"]),
            "end": None if e.get("end") is None else int(e["end"]),
        }
        for e in entities
    ]


def _fill_mask_output(candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"token_str": str(c["token_str"]), "score": float(c["score"]), "sequence": str(c["sequence"])}
        for c in candidates
    ]
