"""Text generation's request side: parameters, chat templates and prompt tokens.

Everything here runs on the event loop or any thread, never on the model's: a chat template is
rendered by Jinja, and prompts are encoded with a private copy of the Rust tokenizer
(`berth.runtimes.outputs.token_counter`), so the engine's thread (`berth.runtimes.engine`) is the
only one that touches the model and the tokenizer it decodes with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from berth.errors import InvalidInput
from berth.runtimes.base import Params

PARAM_NAMES = (
    "max_new_tokens",
    "temperature",
    "top_p",
    "top_k",
    "repetition_penalty",
    "do_sample",
    "seed",
    "stop",
    "stop_token_ids",
    "logprobs",
)
MAX_STOPS = 16


@dataclass(frozen=True)
class GenerationParams:
    """Per-request options; None means "not set". Sampling is off unless asked for.

    >>> GenerationParams.parse({"temperature": 0.7, "top_k": 40, "stop": ["\\n"]}).do_sample
    True
    """

    max_new_tokens: int | None = None  # None: the engine's default, within the context
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None  # 0 or None: off
    repetition_penalty: float | None = None  # 1.0 or None: off
    do_sample: bool = False
    seed: int | None = None
    stop: tuple[str, ...] = ()
    stop_token_ids: tuple[int, ...] = ()
    logprobs: bool = False

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
        temperature = _optional_float(params, "temperature", minimum=0.0, maximum=100.0)
        do_sample = _optional_bool(params, "do_sample")
        return cls(
            max_new_tokens=_optional_int(params, "max_new_tokens", minimum=1),
            temperature=temperature,
            top_p=_optional_float(params, "top_p", minimum=0.0, maximum=1.0, exclusive_minimum=True),
            top_k=_optional_int(params, "top_k", minimum=0),
            repetition_penalty=_optional_float(
                params, "repetition_penalty", minimum=0.0, maximum=100.0, exclusive_minimum=True
            ),
            do_sample=bool(temperature) if do_sample is None else do_sample,
            seed=_optional_int(params, "seed", minimum=0),
            stop=_strings(params, "stop"),
            stop_token_ids=_token_ids(params, "stop_token_ids"),
            logprobs=bool(_optional_bool(params, "logprobs")),
        )

    def generate_kwargs(self) -> dict[str, Any]:
        """Sampling options as `model.generate` takes them (the seq2seq runtime's static batches)."""
        kwargs: dict[str, Any] = {"do_sample": self.do_sample}
        if self.max_new_tokens is not None:
            kwargs["max_new_tokens"] = self.max_new_tokens
        if self.do_sample:  # NOTE: passing these to greedy decoding makes transformers warn
            if self.temperature:
                kwargs["temperature"] = self.temperature
            if self.top_p is not None:
                kwargs["top_p"] = self.top_p
        else:  # override sampling defaults a model's generation_config.json may carry
            kwargs.update(temperature=None, top_p=None, top_k=None)
        return kwargs


def render_chat(tokenizer: Any, messages: Any) -> str:
    """The tokenizer's chat template over `messages`, with the generation prompt.

    Content may be a string or a list of text parts (`{"type": "text", "text": ...}`), as OpenAI
    clients send it. A model without a chat template cannot chat: that is the client's 422, since
    guessing a format makes a base model ramble rather than answer.
    """
    if not getattr(tokenizer, "chat_template", None):
        return render_messages(messages, None)
    return render_messages(
        messages,
        lambda checked: tokenizer.apply_chat_template(checked, tokenize=False, add_generation_prompt=True),
    )


def render_messages(messages: Any, template: Callable[[list[dict[str, str]]], Any] | None) -> str:
    """Check `messages` (content flattened to text) and render them with a model's chat template.

    `template` is None for a model without one: a 422, as in `render_chat`.
    """
    checked = _check_messages(messages)
    if template is None:
        raise InvalidInput(
            "this model has no chat template, so it cannot take chat messages; send a plain prompt to "
            "/v1/completions (or /api/generate, /predict) instead"
        )
    try:
        rendered = template(checked)
    except Exception as exc:  # jinja templates raise their own errors, e.g. on role order
        raise InvalidInput(f"the model's chat template rejected the messages: {exc}") from None
    return str(rendered)


def encode_prompt(tokenizer: Any, encoder: Any, prompt: str) -> list[int]:
    """A prompt's token ids. `encoder` is a private Rust tokenizer copy (None for slow tokenizers).

    NOTE: a chat template usually writes the BOS token itself; adding another shifts the model off
    its training distribution, so special tokens are added only when the prompt lacks them.
    """
    bos = tokenizer.bos_token
    add_special = not (bos and prompt.startswith(bos))
    if encoder is not None:
        return list(encoder.encode(prompt, add_special_tokens=add_special).ids)
    return list(tokenizer(prompt, add_special_tokens=add_special)["input_ids"])


def eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    for value in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list):
            ids.update(v for v in value if isinstance(v, int))
    return ids


def context_length(config: Any) -> int | None:
    """Positions a model takes (prompt plus generated tokens); None when its config names none."""
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _check_messages(messages: Any) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise InvalidInput("messages must be a non-empty list of {role, content} objects")
    checked = []
    for index, message in enumerate(messages):
        if not (isinstance(message, dict) and isinstance(message.get("role"), str)):
            raise InvalidInput(f"messages[{index}] must be an object with a string 'role' and a 'content'")
        checked.append({**message, "content": _text_content(message.get("content"), index)})
    return checked


def _text_content(content: Any, index: int) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if not (
                isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
            ):
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise InvalidInput(
                    f"messages[{index}].content: only text parts are supported by this model, got {kind!r}"
                )
            texts.append(part["text"])
        return "".join(texts)
    raise InvalidInput(f"messages[{index}].content must be a string or a list of text parts")


def _optional_bool(params: Params, name: str) -> bool | None:
    value = params.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidInput(f"parameter {name} must be true or false, got {value!r}")
    return value


def _optional_int(params: Params, name: str, minimum: int) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(f"parameter {name} must be an integer of at least {minimum}, got {value!r}")
    return value


def _optional_float(
    params: Params, name: str, minimum: float, maximum: float, *, exclusive_minimum: bool = False
) -> float | None:
    value = params.get(name)
    if value is None:
        return None
    low = value <= minimum if exclusive_minimum else value < minimum
    if isinstance(value, bool) or not isinstance(value, int | float) or low:
        bound = "above" if exclusive_minimum else "at least"
        raise InvalidInput(f"parameter {name} must be a number {bound} {minimum:g}, got {value!r}")
    if value > maximum:
        raise InvalidInput(f"parameter {name} must be at most {maximum:g}, got {value!r}")
    return float(value)


def _strings(params: Params, name: str) -> tuple[str, ...]:
    value = params.get(name)
    if value is None:
        return ()
    values: Sequence[Any] = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise InvalidInput(f"parameter {name} must be a string or a list of strings, got {value!r}")
    if len(values) > MAX_STOPS:
        raise InvalidInput(f"parameter {name} takes at most {MAX_STOPS} strings, got {len(values)}")
    return tuple(values)


def _token_ids(params: Params, name: str) -> tuple[int, ...]:
    value = params.get(name)
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise InvalidInput(f"parameter {name} must be a list of token ids (integers of at least 0)")
    if len(value) > MAX_STOPS:
        raise InvalidInput(f"parameter {name} takes at most {MAX_STOPS} ids, got {len(value)}")
    return tuple(value)
