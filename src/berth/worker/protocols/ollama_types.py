"""The Ollama API's request bodies, and its `options` as berth's generation parameters.

Top-level fields berth does not know are ignored, as Ollama's own server ignores them, so newer
clients keep working; a known feature berth cannot honour (`format`, `tools`, `images`, `suffix`,
`template`, `context`, `think`, `logprobs`) is refused when it is set, never silently dropped.
`options` are typed strictly: Ollama's runtime knobs (threads, GPU layers, context size...) are
accepted and ignored, sampling ones berth lacks are accepted only at their neutral value, and an
unknown name or a wrong type is refused.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictBool

from berth.errors import InvalidInput
from berth.runtimes.base import Params

# NOTE: Ollama's defaults when a request and the model's Modelfile set none; a request that names
# no option samples as it would on Ollama. Its `repeat_penalty` default (1.1) is not applied: Ollama
# penalises the last 64 tokens, transformers' penalty every token in the sequence, prompt included.
DEFAULT_TEMPERATURE = 0.8
DEFAULT_TOP_P = 0.9
DEFAULT_TOP_K = 40

# Sampling options berth's engine does not implement, with the value at which each changes nothing.
NEUTRAL_OPTIONS: dict[str, float] = {
    "min_p": 0.0,
    "typical_p": 1.0,
    "tfs_z": 1.0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
    "mirostat": 0,
}


class Options(BaseModel):
    """`options`: Ollama's Modelfile parameters."""

    model_config = ConfigDict(extra="forbid", strict=True)

    # honoured
    num_predict: int | None = None  # -1: no limit, -2: fill the context
    temperature: Annotated[float, Field(ge=0)] | None = None
    top_p: Annotated[float, Field(gt=0, le=1)] | None = None
    top_k: Annotated[int, Field(ge=0)] | None = None  # 0: off
    repeat_penalty: Annotated[float, Field(gt=0)] | None = None
    seed: int | None = None  # negative: a random seed, as on Ollama
    stop: list[str] | None = None
    # accepted only at their neutral value (NEUTRAL_OPTIONS)
    min_p: float | None = None
    typical_p: float | None = None
    tfs_z: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    mirostat: int | None = None
    # meaningless without what they tune, or runtime knobs of Ollama's own server: accepted, ignored
    mirostat_tau: float | None = None
    mirostat_eta: float | None = None
    repeat_last_n: int | None = None
    penalize_newline: StrictBool | None = None
    num_keep: int | None = None
    num_ctx: int | None = None
    num_batch: int | None = None
    num_gpu: int | None = None
    main_gpu: int | None = None
    num_thread: int | None = None
    numa: StrictBool | None = None
    low_vram: StrictBool | None = None
    f16_kv: StrictBool | None = None
    logits_all: StrictBool | None = None
    vocab_only: StrictBool | None = None
    use_mmap: StrictBool | None = None
    use_mlock: StrictBool | None = None
    embedding_only: StrictBool | None = None


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # NOTE: Ollama's older API named the model `name`; clients of either age work.
    model: str | None = Field(default=None, validation_alias=AliasChoices("model", "name"))
    keep_alive: float | str | None = None  # unloading is the control plane's job: accepted, ignored
    options: Options | None = None


class _Generation(_Request):
    stream: bool = True
    format: str | dict[str, Any] | None = None
    think: bool | str | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None

    def refuse_unsupported(self) -> None:
        _refuse("format", self.format)
        _refuse("think", self.think, "thinking")
        _refuse("logprobs", self.logprobs or self.top_logprobs)


class GenerateRequest(_Generation):
    prompt: str = ""
    system: str | None = None
    raw: bool = False
    suffix: str | None = None
    template: str | None = None
    context: list[int] | None = None
    images: list[str] | None = None

    def refuse_unsupported(self) -> None:
        super().refuse_unsupported()
        _refuse("images", self.images, "images")
        _refuse("suffix", self.suffix, "fill-in-the-middle")
        _refuse("template", self.template, "Go templates; the model's own chat template is used")
        _refuse("context", self.context, "the deprecated token context; send the conversation to /api/chat")


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""  # NOTE: the Python client drops an empty content from the message it sends
    images: list[str] | None = None
    tool_calls: list[dict[str, Any]] | None = None


class ChatRequest(_Generation):
    messages: list[Message] = Field(default_factory=list)
    tools: list[dict[str, Any]] | None = None

    def refuse_unsupported(self) -> None:
        super().refuse_unsupported()
        _refuse("tools", self.tools)
        for index, message in enumerate(self.messages):
            _refuse(f"messages[{index}].images", message.images, "images")
            _refuse(f"messages[{index}].tool_calls", message.tool_calls, "tool calls")


class EmbedRequest(_Request):
    input: str | list[str] = Field(default_factory=list)
    truncate: bool = True
    dimensions: int | None = None


class EmbeddingsRequest(_Request):
    prompt: str = ""


class ShowRequest(_Request):
    verbose: bool = False


def _refuse(field: str, value: Any, what: str | None = None) -> None:
    if value:
        raise InvalidInput(
            f"body.{field}: berth does not support {what or field} on its Ollama API; remove the field"
        )


def generation_params(options: Options | None) -> Params:
    """`options` as the engine's parameters, with Ollama's sampling defaults where none is given."""
    options = options or Options()
    for name, neutral in NEUTRAL_OPTIONS.items():
        given = getattr(options, name)
        if given is not None and given != neutral:
            raise InvalidInput(
                f"body.options.{name}: berth does not implement {name}; leave it out or set it to {neutral}"
            )
    params: Params = {}
    if options.num_predict is not None and options.num_predict not in (-1, -2):
        if options.num_predict < 1:
            raise InvalidInput(
                "body.options.num_predict: must be a number of tokens of at least 1, or -1 for no limit"
            )
        params["max_new_tokens"] = options.num_predict
    temperature = DEFAULT_TEMPERATURE if options.temperature is None else options.temperature
    if temperature == 0:
        params["do_sample"] = False  # greedy: top_p and top_k change nothing
    else:
        top_k = DEFAULT_TOP_K if options.top_k is None else options.top_k
        params.update(do_sample=True, temperature=temperature)
        params["top_p"] = DEFAULT_TOP_P if options.top_p is None else options.top_p
        if top_k:
            params["top_k"] = top_k
    if options.repeat_penalty is not None and options.repeat_penalty != 1:
        params["repetition_penalty"] = options.repeat_penalty
    if options.seed is not None and options.seed >= 0:
        params["seed"] = options.seed
    if options.stop:
        params["stop"] = list(options.stop)
    return params
