"""What Ollama's model listings say about the one model a worker serves (`/api/tags`, `/show`, `/ps`).

Ollama describes a GGUF file; berth describes the model it loaded, read once when the routes are
built. A GGUF model is described as Ollama does, from its header: the architecture is the family, the
file type the quantization level, and `model_info` carries its `general.*` and `<architecture>.*` keys.
A folder is described by the weights berth's file policy selects (their bytes, and their safetensors
headers for the parameter count and the stored dtype), and config.json for the family and the
context length.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from berth.errors import BerthError
from berth.sources.gguf_header import read_gguf
from berth.sources.listing import Listing, local_listing
from berth.sources.params import count_parameters
from berth.sources.policy import select_files
from berth.sources.tasks import gguf_file
from berth.spec import DType, Task
from berth.worker.service import ModelService

log = logging.getLogger("berth.worker")

CONTEXT_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "n_ctx")
DTYPE_NAMES = {DType.FLOAT32: "F32", DType.FLOAT16: "F16", DType.BFLOAT16: "BF16"}
# NOTE: a worker keeps its model until the deployment stops; Ollama reports a model kept loaded for
# good (keep_alive < 0) with an expiry this far ahead.
NEVER = "2318-01-01T00:00:00Z"


@dataclass(frozen=True)
class ModelCard:
    name: str
    task: str
    size: int = 0
    digest: str = ""
    modified_at: str = ""
    family: str = ""
    format: str = ""
    parameters: int | None = None
    quantization: str = ""
    context_length: int | None = None
    config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)  # a GGUF header's general.* and <arch>.* keys

    @property
    def tag(self) -> str:
        return f"{self.name}:latest"

    def capabilities(self) -> list[str]:
        if self.task == Task.TEXT_GENERATION:
            return ["completion"]
        return ["embedding"] if self.task == Task.FEATURE_EXTRACTION else []

    def details(self) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": self.format,
            "family": self.family,
            "families": [self.family] if self.family else None,
            "parameter_size": _parameter_size(self.parameters),
            "quantization_level": self.quantization,
        }

    def listing(self) -> dict[str, Any]:
        """One entry of `/api/tags`."""
        return {
            "name": self.tag,
            "model": self.tag,
            "modified_at": self.modified_at,
            "size": self.size,
            "digest": self.digest,
            "details": self.details(),
        }

    def running(self, on_gpu: bool) -> dict[str, Any]:
        """One entry of `/api/ps`."""
        entry = {**self.listing(), "expires_at": NEVER, "size_vram": self.size if on_gpu else 0}
        del entry["modified_at"]
        if self.context_length:
            entry["context_length"] = self.context_length
        return entry

    def model_info(self) -> dict[str, Any]:
        """`/api/show`'s `model_info`, in Ollama's `general.*` and `<architecture>.*` keys."""
        info: dict[str, Any] = {"general.architecture": self.family}
        if self.parameters is not None:
            info["general.parameter_count"] = self.parameters
        if self.context_length:
            info[f"{self.family}.context_length"] = self.context_length
        for key, ollama_key in (("hidden_size", "embedding_length"), ("num_hidden_layers", "block_count")):
            if isinstance(self.config.get(key), int):
                info[f"{self.family}.{ollama_key}"] = self.config[key]
        return {**info, **self.metadata}


def describe(service: ModelService) -> ModelCard:
    """The card of the served model; reads only small files and safetensors headers."""
    card = ModelCard(name=service.name, task=service.task, family=service.runtime.name)
    path = service.runtime.model.path
    if path is None:  # a Python predictor: nothing on disk to describe
        return card
    try:
        return _read(service, path)
    except (OSError, BerthError):  # the model is loaded and serves: a listing is no reason to fail
        log.warning("could not describe %s for the Ollama API's listings", path, exc_info=True)
        return card


def _read(service: ModelService, path: Path) -> ModelCard:
    gguf = gguf_file(path, service.spec)
    if gguf is not None:
        return _read_gguf(service, gguf)
    listing = local_listing(path) if path.is_dir() else local_listing(path.parent, sizes=_one_file(path))
    try:
        weights = list(select_files(listing, service.spec).weights)
    except BerthError:  # it loaded, so policy passed; a listing that disagrees only loses the details
        weights = list(listing.sizes)
    config = listing.read_json("config.json")
    config = config if isinstance(config, dict) else {}
    count = count_parameters(listing, weights)
    return ModelCard(
        name=service.name,
        task=service.task,
        size=count.stored_bytes or listing.size_of(weights),
        digest=_digest(listing, weights, service.revision),
        modified_at=_modified_at(path, weights),
        family=str(config.get("model_type") or service.runtime.name),
        format="onnx" if any(w.endswith(".onnx") for w in weights) else _format(weights),
        parameters=count.parameters,
        quantization=_quantization(service, listing, weights),
        context_length=next((config[k] for k in CONTEXT_KEYS if isinstance(config.get(k), int)), None),
        config=config,
    )


def _read_gguf(service: ModelService, path: Path) -> ModelCard:
    info = read_gguf(path)
    listing = local_listing(path.parent, sizes=_one_file(path))
    return ModelCard(
        name=service.name,
        task=service.task,
        size=info.file_bytes,
        # NOTE: one hub commit may hold many quantizations: the file's name tells them apart
        digest=_digest(listing, [path.name], service.revision and f"{service.revision}/{path.name}"),
        modified_at=_modified_at(path, [path.name]),
        family=info.architecture or service.runtime.name,
        format="gguf",
        parameters=info.parameters,
        quantization=info.quantization or "",
        context_length=info.context_length,
        metadata={k: v for k, v in info.metadata.items() if not isinstance(v, list)},
    )


def _one_file(path: Path) -> dict[str, int]:
    return {path.name: path.stat().st_size}


def _format(weights: list[str]) -> str:
    return "safetensors" if any(w.endswith(".safetensors") for w in weights) else "pytorch"


def _digest(listing: Listing, weights: list[str], revision: str | None) -> str:
    """A sha256 that changes when the weights do: over the hub commit, or the files and their sizes."""
    basis = revision or json.dumps({w: listing.sizes.get(w, 0) for w in weights}, sort_keys=True)
    return hashlib.sha256(basis.encode()).hexdigest()


def _modified_at(path: Path, weights: list[str]) -> str:
    folder = path if path.is_dir() else path.parent
    times = [(folder / w).stat().st_mtime for w in weights if (folder / w).exists()]
    stamp = datetime.fromtimestamp(max(times) if times else path.stat().st_mtime, tz=UTC)
    return stamp.isoformat().replace("+00:00", "Z")


def _quantization(service: ModelService, listing: Listing, weights: list[str]) -> str:
    """The dtype the spec asks for, else the one most weights are stored in (what `auto` loads on CPU)."""
    if service.spec.dtype in DTYPE_NAMES:
        return DTYPE_NAMES[service.spec.dtype]
    safetensors = [w for w in weights if w.endswith(".safetensors")]
    per_dtype = listing.read_safetensors(safetensors) if safetensors else {}
    return max(per_dtype, key=per_dtype.__getitem__) if per_dtype else ""


def _parameter_size(parameters: int | None) -> str:
    """Ollama's short form: 22.7M, 8.0B."""
    if parameters is None:
        return ""
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if parameters >= scale:
            return f"{parameters / scale:.1f}{suffix}"
    return str(parameters)
