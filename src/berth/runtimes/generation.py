"""Text generation with a transformers causal LM: parameters, batched generate, streaming, chat.

`TransformersRuntime` delegates its text-generation task here. torch and transformers are imported
inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from berth.errors import InvalidInput, ModelError
from berth.runtimes.base import Params

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

MAX_NEW_TOKENS_DEFAULT = 32
MAX_NEW_TOKENS_LIMIT = 1024
PARAM_NAMES = ("max_new_tokens", "temperature", "top_p", "do_sample", "seed")


@dataclass(frozen=True)
class GenerationParams:
    """Per-request options; None means "not set". Sampling is off unless asked for."""

    max_new_tokens: int = MAX_NEW_TOKENS_DEFAULT
    temperature: float | None = None
    top_p: float | None = None
    do_sample: bool = False
    seed: int | None = None

    @classmethod
    def parse(cls, params: Params) -> GenerationParams:
        """Validate request params (unknown names, types and ranges) into one record.

        `do_sample` defaults to True when a temperature above 0 is given, as OpenAI clients expect.
        """
        unknown = sorted(set(params) - set(PARAM_NAMES))
        if unknown:
            raise InvalidInput(
                f"unknown parameter {unknown[0]!r} for text-generation; it takes {', '.join(PARAM_NAMES)}"
            )
        max_new = _optional_int(params, "max_new_tokens", minimum=1)
        temperature = _optional_float(params, "temperature", minimum=0.0)
        top_p = _optional_float(params, "top_p", minimum=0.0, maximum=1.0)
        do_sample = params.get("do_sample")
        if do_sample is not None and not isinstance(do_sample, bool):
            raise InvalidInput(f"parameter do_sample must be true or false, got {do_sample!r}")
        if do_sample is None:
            do_sample = bool(temperature)
        return cls(
            max_new_tokens=min(max_new or MAX_NEW_TOKENS_DEFAULT, MAX_NEW_TOKENS_LIMIT),
            temperature=temperature,
            top_p=top_p,
            do_sample=do_sample,
            seed=_optional_int(params, "seed", minimum=0),
        )

    def generate_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": self.do_sample}
        if self.do_sample:  # NOTE: passing these to greedy decoding makes transformers warn
            if self.temperature:
                kwargs["temperature"] = self.temperature
            if self.top_p is not None:
                kwargs["top_p"] = self.top_p
        else:  # override sampling defaults a model's generation_config.json may carry
            kwargs.update(temperature=None, top_p=None, top_k=None)
        return kwargs


class Generator:
    """A causal LM and its tokenizer, already on their device."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, device: str) -> None:
        self.model: Any = model  # NOTE: Any, as nn.Module's __getattr__ hides `generate` from mypy
        self.tokenizer = tokenizer
        self.device = device
        if tokenizer.pad_token_id is None:  # GPT-2 style tokenizers have none; batches need one
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"  # a decoder-only model continues from the last real token
        tokenizer.truncation_side = "left"  # an over-long prompt keeps its end, nearest the answer
        self.eos_ids = _eos_ids(model, tokenizer)
        self.context = _context_length(model)

    def generate(self, prompts: list[str], params: GenerationParams) -> list[dict[str, Any]]:
        import torch

        encoded = self._encode(prompts, params)
        self._seed(params)
        with torch.inference_mode():
            output = self.model.generate(
                **encoded, pad_token_id=self.tokenizer.pad_token_id, **params.generate_kwargs()
            )
        prompt_length = encoded["input_ids"].shape[1]
        results = []
        for row, mask in zip(
            output[:, prompt_length:].tolist(), encoded["attention_mask"].tolist(), strict=True
        ):
            stop = next((i for i, token in enumerate(row) if token in self.eos_ids), None)
            tokens = row if stop is None else row[: stop + 1]
            results.append(
                {
                    "generated_text": self.tokenizer.decode(tokens, skip_special_tokens=True),
                    "finish_reason": "length" if stop is None else "stop",
                    "prompt_tokens": int(sum(mask)),
                    "completion_tokens": len(tokens),
                }
            )
        return results

    def stream(self, prompt: str, params: GenerationParams) -> Iterator[str]:
        """Yield text pieces while `generate` runs in a thread; closing the iterator stops it."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        cancelled = threading.Event()

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
                flag = torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool)
                return flag.to(input_ids.device)  # type: ignore[return-value]

        encoded = self._encode([prompt], params)
        streamer: Any = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        failures: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    self.model.generate(
                        **encoded,
                        pad_token_id=self.tokenizer.pad_token_id,
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_Cancelled()]),
                        **params.generate_kwargs(),
                    )
            except Exception as exc:
                failures.append(exc)
                streamer.end()  # unblock the consumer; generate only ends the streamer on success

        self._seed(params)
        thread = threading.Thread(target=run, name="berth-generate", daemon=True)
        thread.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
        finally:
            cancelled.set()
            thread.join()
        if failures:
            raise ModelError("text generation failed; the worker log has the details") from failures[0]

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        """The tokenizer's chat template with a generation prompt, or "role: content" lines without one."""
        checked = _check_messages(messages)
        if getattr(self.tokenizer, "chat_template", None):
            try:
                rendered = self.tokenizer.apply_chat_template(
                    checked, tokenize=False, add_generation_prompt=True
                )
            except Exception as exc:  # jinja templates raise their own errors, e.g. on role order
                raise InvalidInput(f"the model's chat template rejected the messages: {exc}") from None
            return str(rendered)
        lines = [f"{m['role']}: {m['content']}" for m in checked]
        return "\n".join([*lines, "assistant:"])

    def _encode(self, prompts: list[str], params: GenerationParams) -> Any:
        bos = self.tokenizer.bos_token
        # NOTE: a chat template usually writes the BOS token itself; adding another shifts the model off
        # its training distribution, so special tokens are added only when the prompts lack them.
        add_special = not (bos and all(p.startswith(bos) for p in prompts))
        room = None if self.context is None else max(1, self.context - params.max_new_tokens)
        encoded = self.tokenizer(
            prompts,
            return_tensors="pt",
            padding=True,
            truncation=room is not None,
            max_length=room,
            add_special_tokens=add_special,
        )
        return encoded.to(self.device)

    @staticmethod
    def _seed(params: GenerationParams) -> None:
        if params.do_sample and params.seed is not None:
            import torch

            torch.manual_seed(params.seed)


def _eos_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> set[int]:
    ids: set[int] = set()
    for value in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list):
            ids.update(v for v in value if isinstance(v, int))
    return ids


def _context_length(model: PreTrainedModel) -> int | None:
    """Positions a model with learned position embeddings can take; None when it has no fixed limit."""
    for name in ("n_positions", "max_position_embeddings"):
        value = getattr(model.config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _check_messages(messages: Any) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise InvalidInput("messages must be a non-empty list of {role, content} objects")
    for index, message in enumerate(messages):
        if not (
            isinstance(message, dict)
            and isinstance(message.get("role"), str)
            and isinstance(message.get("content"), str)
        ):
            raise InvalidInput(f"messages[{index}] must be an object with string 'role' and 'content'")
    return messages


def _optional_int(params: Params, name: str, minimum: int) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(f"parameter {name} must be an integer of at least {minimum}, got {value!r}")
    return value


def _optional_float(params: Params, name: str, minimum: float, maximum: float | None = None) -> float | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise InvalidInput(f"parameter {name} must be a number of at least {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise InvalidInput(f"parameter {name} must be at most {maximum}, got {value!r}")
    return float(value)
