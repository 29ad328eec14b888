"""The deployment spec: what to serve and how, its fields as docs/protocols.md lists them.

The same spec drives a local worker, the control plane, exports and cost estimates. Unknown fields
are rejected (a typo must not silently fall back to a default), and every validation failure is
reported as one `InvalidSpec` naming the field, with a suggestion for misspelt keys.
"""

from __future__ import annotations

import difflib
import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from berth.errors import InvalidSpec
from berth.requirements import parse_requirement

NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
NAME_RULE = (
    "a deployment name must be 1-63 characters of lowercase letters, digits and '-', "
    "starting and ending with a letter or digit (a DNS-1123 label)"
)
DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda|cuda:\d+)$")
# env keys whose values must never be shown back or written to a file (API responses, exports, logs)
SECRET_KEY_PATTERN = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|CREDENTIAL|PRIVATE", re.IGNORECASE)
REDACTED = "***"


class Task(StrEnum):
    AUTO = "auto"
    FEATURE_EXTRACTION = "feature-extraction"
    TEXT_CLASSIFICATION = "text-classification"
    TOKEN_CLASSIFICATION = "token-classification"  # noqa: S105 - a task name, not a password
    FILL_MASK = "fill-mask"
    TEXT_GENERATION = "text-generation"
    TEXT2TEXT_GENERATION = "text2text-generation"
    SUMMARIZATION = "summarization"
    TRANSLATION = "translation"
    QUESTION_ANSWERING = "question-answering"
    ZERO_SHOT_CLASSIFICATION = "zero-shot-classification"
    TEXT_RANKING = "text-ranking"
    IMAGE_CLASSIFICATION = "image-classification"
    OBJECT_DETECTION = "object-detection"
    IMAGE_FEATURE_EXTRACTION = "image-feature-extraction"
    ZERO_SHOT_IMAGE_CLASSIFICATION = "zero-shot-image-classification"
    AUTOMATIC_SPEECH_RECOGNITION = "automatic-speech-recognition"
    TIME_SERIES_FORECASTING = "time-series-forecasting"


class RuntimeName(StrEnum):
    AUTO = "auto"
    TRANSFORMERS = "transformers"
    SENTENCE_TRANSFORMERS = "sentence-transformers"
    ONNX = "onnx"
    PYTHON = "python"
    LLAMA_CPP = "llama-cpp"


class DType(StrEnum):
    AUTO = "auto"
    FLOAT32 = "float32"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class ModelRef(_Strict):
    source: Annotated[str, Field(min_length=1)]
    revision: str = "main"
    # a glob choosing one file of the model, e.g. "*Q4_K_M.gguf" for one quantization of a GGUF repo
    file: str | None = None

    @field_validator("source")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the model source must not be empty")
        return value

    @field_validator("file")
    @classmethod
    def _relative_glob(cls, value: str | None) -> str | None:
        return file_glob(value)


def file_glob(value: str | None) -> str | None:
    """`model.file` stripped, or ValueError unless it is a non-empty glob relative to the model."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise ValueError("model.file must not be empty: give a glob such as '*Q4_K_M.gguf' or leave it out")
    if value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value):
        raise ValueError(f"model.file {value!r} must be a glob relative to the model, not an absolute path")
    if ".." in re.split(r"[/\\]", value):
        raise ValueError(f"model.file {value!r} must not contain '..': it names a file inside the model")
    return value


class Batching(_Strict):
    max_batch_size: Annotated[int, Field(ge=1, le=4096)] = 32
    max_latency_ms: Annotated[float, Field(ge=0, le=10_000)] = 5


class Limits(_Strict):
    max_model_size_gb: Annotated[float, Field(gt=0)] = 20
    max_memory_gb: Annotated[float, Field(gt=0)] = 16
    request_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 30
    max_request_bytes: Annotated[int, Field(ge=1024)] = 1_048_576
    # NOTE: checked from the image's header before Pillow decodes it: 40 M pixels is ~120 MB as RGB.
    max_image_pixels: Annotated[int, Field(ge=1)] = 40_000_000
    # NOTE: checked from the file's header before decoding: 10 minutes is ~38 MB of float32 at 16 kHz.
    max_audio_seconds: Annotated[float, Field(gt=0)] = 600
    max_queue: Annotated[int, Field(ge=1)] = 1024


class Generation(_Strict):
    """Text generation's engine (docs/generation.md): how many sequences decode at once, the KV
    cache's budget in tokens (rows x columns, what preflight prices) and one sequence's context."""

    max_concurrent_sequences: Annotated[int, Field(ge=1, le=1024)] = 32
    max_batch_tokens: Annotated[int, Field(ge=16, le=16_777_216)] = 16_384
    # None: the model's own context, capped at max_batch_tokens
    max_context: Annotated[int, Field(ge=16, le=16_777_216)] | None = None

    @model_validator(mode="after")
    def _context_fits(self) -> Generation:
        if self.max_context is not None and self.max_context > self.max_batch_tokens:
            raise ValueError(
                f"max_context ({self.max_context}) must not exceed max_batch_tokens "
                f"({self.max_batch_tokens}): one sequence must fit the cache"
            )
        return self


class DeploymentSpec(_Strict):
    """One deployment: a model source and how to serve it.

    >>> DeploymentSpec.model_validate({"name": "minilm", "model": {"source": "./models/minilm"}}).replicas
    1
    """

    name: str
    model: ModelRef
    task: Task = Task.AUTO
    runtime: RuntimeName = RuntimeName.AUTO
    device: str = "auto"
    dtype: DType = DType.AUTO
    replicas: Annotated[int, Field(ge=1, le=64)] = 1
    batching: Batching = Batching()
    limits: Limits = Limits()
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    trust_remote_code: bool = False
    allow_pickle: bool = False
    env: dict[str, str] = Field(default_factory=dict)
    # pip requirement strings a Python predictor needs beside berth (berth.requirements checks them)
    requirements: list[str] = Field(default_factory=list)
    generation: Generation = Generation()

    @field_validator("name")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a valid name: {NAME_RULE}")
        return value

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not DEVICE_PATTERN.match(value):
            raise ValueError(f"{value!r} is not a device: use auto, cpu, cuda or cuda:N")
        return value

    @field_validator("requirements")
    @classmethod
    def _requirements(cls, value: list[str]) -> list[str]:
        return [str(parse_requirement(text)) for text in value]


def is_secret_key(key: str) -> bool:
    """Whether an env key names a secret (`HF_TOKEN`, `OPENAI_API_KEY`, `DB_PASSWORD`, ...)."""
    return bool(SECRET_KEY_PATTERN.search(key))


def redacted(spec: DeploymentSpec) -> dict[str, Any]:
    """The spec as JSON-ready data with secret-looking env values replaced by `***`."""
    data = spec.model_dump(mode="json")
    data["env"] = {key: REDACTED if is_secret_key(key) else value for key, value in spec.env.items()}
    return data


def parse_spec(data: Any) -> DeploymentSpec:
    """Validate a mapping as a `DeploymentSpec`, or raise one `InvalidSpec` naming each bad field."""
    if not isinstance(data, dict):
        raise InvalidSpec("a deployment spec must be a mapping with at least 'name' and 'model.source'")
    try:
        return DeploymentSpec.model_validate(data)
    except ValidationError as exc:
        raise InvalidSpec(describe_validation_error(exc, prefix="spec")) from None


def load_spec(path: str | Path) -> DeploymentSpec:
    """Read a spec from a YAML or JSON file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidSpec(f"spec file {str(path)!r} does not exist; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidSpec(f"cannot read spec file {str(path)!r}: {exc}") from None
    return parse_spec(_parse_document(text, str(path)))


def _parse_document(text: str, where: str) -> Any:
    if where.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidSpec(f"{where} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    try:  # YAML is a superset of JSON, so anything else goes through the YAML parser.
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise InvalidSpec(f"{where} is not valid YAML{at}; check its indentation and quoting") from None


def describe_validation_error(exc: ValidationError, prefix: str) -> str:
    """Turn pydantic's errors into one readable line that names each field, e.g. `spec.batchng`."""
    parts = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(p) for p in (prefix, *error["loc"]) if p != "")
        if error["type"] == "extra_forbidden":
            parts.append(f"{location}: unknown field{_suggestion(exc, error['loc'])}")
        else:
            message = error["msg"].removeprefix("Value error, ")
            parts.append(f"{location}: {message}")
    return "; ".join(parts)


def _suggestion(exc: ValidationError, loc: tuple[Any, ...]) -> str:
    model: type[BaseModel] | None = _model_at(exc.title, loc[:-1])
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _model_at(title: str, path: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = {"DeploymentSpec": DeploymentSpec}.get(title)
    for key in path:
        if model is None:
            return None
        field = model.model_fields.get(str(key))
        annotation = field.annotation if field is not None else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return model
