"""The OpenAI request bodies, checked strictly, and what they become for the generation engine.

Every field a client may send is named here: an unknown one is a 422 naming it, so a typo or a
feature berth lacks never passes silently. Fields berth does not implement are accepted at their
neutral value (what some clients always send: `presence_penalty: 0`, `echo: false`, `tools: []`)
and refused with a 422 saying "not supported" at any other. `to_params` maps the OpenAI names to
the engine's (`max_tokens` → `max_new_tokens`, `temperature: 0` → greedy).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from berth.errors import InvalidInput
from berth.runtimes.base import Params

COMPLETION_MAX_TOKENS_DEFAULT = 16  # OpenAI's documented default for /v1/completions


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StreamOptions(_Strict):
    include_usage: bool = False


class _Generation(_Strict):
    """The fields /v1/completions and /v1/chat/completions share; None means "not set"."""

    model: str | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    repetition_penalty: float | None = Field(default=None, gt=0, le=10)
    n: int = Field(default=1, ge=1, le=8)
    stop: str | list[str] | None = Field(default=None, max_length=4)
    seed: int | None = Field(default=None, ge=0)
    stream: bool = False
    stream_options: StreamOptions | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    user: str | None = None

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage

    def check_unsupported(self) -> None:
        for name in ("presence_penalty", "frequency_penalty"):
            if getattr(self, name):
                raise InvalidInput(
                    f"body.{name}: {name} is not supported; use repetition_penalty (above 1, e.g. 1.1) "
                    "to discourage repeats"
                )
        if self.logit_bias:
            raise InvalidInput("body.logit_bias: logit_bias is not supported; remove it")


class CompletionRequest(_Generation):
    prompt: str | list[str] = Field(min_length=1)
    logprobs: int | None = Field(default=None, ge=0, le=1)
    echo: bool | None = None
    best_of: int | None = None
    suffix: str | None = None

    def check_unsupported(self) -> None:
        super().check_unsupported()
        if self.echo:
            raise InvalidInput("body.echo: echo is not supported; the prompt is never repeated in the answer")
        if self.best_of is not None and self.best_of != self.n:
            raise InvalidInput("body.best_of: best_of is not supported; use n for several completions")
        if self.suffix:
            raise InvalidInput("body.suffix: suffix (insertion) is not supported; remove it")

    @property
    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else self.prompt


class ChatMessage(_Strict):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]]
    name: str | None = None


class ResponseFormat(_Strict):
    type: str


class ChatRequest(_Generation):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    logprobs: bool | None = None
    top_logprobs: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: ResponseFormat | None = None

    def check_unsupported(self) -> None:
        super().check_unsupported()
        if self.top_logprobs:
            raise InvalidInput(
                "body.top_logprobs: top_logprobs is not supported; set logprobs: true alone for the "
                "chosen tokens' logprobs"
            )
        if self.tools or self.tool_choice not in (None, "none", "auto"):
            raise InvalidInput("body.tools: tools (function calling) are not supported; remove them")
        if self.response_format is not None and self.response_format.type != "text":
            raise InvalidInput(
                f"body.response_format: response_format {self.response_format.type!r} is not supported; "
                "only 'text' is"
            )

    def chat_messages(self) -> list[dict[str, Any]]:
        """The messages as {role, content}, content a string or text parts; any other part is a 422."""
        messages: list[dict[str, Any]] = []
        for index, message in enumerate(self.messages):
            content = message.content
            if isinstance(content, list):
                content = [
                    _text_part(part, f"body.messages[{index}].content[{p}]") for p, part in enumerate(content)
                ]
            messages.append({"role": message.role, "content": content})
        return messages


def _text_part(part: dict[str, Any], where: str) -> dict[str, str]:
    kind = part.get("type")
    if kind != "text":
        raise InvalidInput(
            f"{where}: content parts of type {kind!r} are not supported; this model reads text parts only"
        )
    text = part.get("text")
    if not isinstance(text, str) or set(part) - {"type", "text"}:
        raise InvalidInput(f'{where}: a text part is {{"type": "text", "text": "..."}}')
    return {"type": "text", "text": text}


def to_params(body: _Generation, max_tokens: int | None, *, logprobs: bool) -> Params:
    """The engine's parameters for one sequence; `choice_params` then gives each of `n` its seed."""
    params: Params = {}
    if max_tokens is not None:
        params["max_new_tokens"] = max_tokens
    # NOTE: OpenAI's default temperature is 1, so a request that sets none samples; 0 is greedy.
    temperature = 1.0 if body.temperature is None else body.temperature
    if temperature > 0:
        params.update(do_sample=True, temperature=temperature)
        if body.top_p is not None:
            params["top_p"] = body.top_p
        if body.top_k:
            params["top_k"] = body.top_k
    else:
        params["do_sample"] = False
    if body.repetition_penalty is not None:
        params["repetition_penalty"] = body.repetition_penalty
    if body.seed is not None:
        params["seed"] = body.seed
    stops = [body.stop] if isinstance(body.stop, str) else (body.stop or [])
    if stops := [s for s in stops if s]:
        params["stop"] = stops
    if logprobs:
        params["logprobs"] = True
    return params


def choice_params(params: Params, n: int) -> list[Params]:
    """One parameter set per choice; with a seed, choice i samples with seed + i, so they differ."""
    seed = params.get("seed")
    if seed is None:
        return [params] * n
    return [{**params, "seed": seed + i} for i in range(n)]
