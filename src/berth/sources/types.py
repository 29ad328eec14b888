"""What a model source resolves to, what preflight says about it, and download progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from berth.sourcekind import SourceKind

__all__ = [
    "DownloadProgress",
    "LocalModel",
    "PreflightReport",
    "ProgressCallback",
    "ResolvedSource",
    "SourceKind",  # its home is berth.sourcekind; re-exported for `berth.sources.types` importers
]


@dataclass(frozen=True)
class ResolvedSource:
    """A source string understood, without touching the network."""

    kind: SourceKind
    reference: str  # the source as the user wrote it
    repo_id: str | None = None  # HUB
    revision: str | None = None  # HUB: as asked (branch, tag or sha)
    path: Path | None = None  # LOCAL folder, ONNX or GGUF file (absolute)
    target: str | None = None  # PYTHON: "module:Class"


@dataclass(frozen=True)
class LocalModel:
    """A model ready to load from disk: a folder (or an .onnx or .gguf file) and the commit it came from."""

    source: ResolvedSource
    path: Path | None  # None for PYTHON predictors
    revision: str | None = None  # resolved commit sha for HUB models
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class PreflightReport:
    """What the model needs before anything is downloaded or loaded."""

    parameters: int | None  # None when it cannot be told before loading
    download_bytes: int | None
    memory_bytes: dict[str, int] = field(default_factory=dict)  # dtype name → bytes of weights
    dtype: str = "float32"  # the dtype the deployment will load in
    device: str = "cpu"
    fits: bool = True
    reasons: tuple[str, ...] = ()  # why it does not fit, one sentence each
    basis: str = "none"  # how `parameters` was found: safetensors | config | gguf | file-size | none
    cached: bool = False  # HUB: every file it needs is already in the Hugging Face cache
    task: str | None = None  # what config.json says (or the spec), when that settles it before loading
    # one full batch's working memory (image, speech models), or the KV cache's budget (generation)
    activation_bytes: int | None = None
    runtime: str | None = None  # when the files settle it before loading: llama-cpp for a GGUF model


@dataclass(frozen=True)
class DownloadProgress:
    bytes_done: int
    bytes_total: int
    filename: str | None = None


ProgressCallback = Callable[[DownloadProgress], None]
