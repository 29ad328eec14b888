"""Understand a model source string without touching the network: hub id, folder, .onnx or .gguf file,
or class."""

from __future__ import annotations

from pathlib import Path

from berth.errors import InvalidSpec, ModelNotFound
from berth.sourcekind import ACCEPTED_FORMS, SourceKind, classify
from berth.sources.types import ResolvedSource
from berth.spec import ModelRef


def resolve_source(ref: ModelRef) -> ResolvedSource:
    """Classify `ref.source`; local paths must exist, hub ids are only checked for shape.

    >>> resolve_source(ModelRef(source="sentence-transformers/all-MiniLM-L6-v2")).kind
    <SourceKind.HUB: 'hub'>
    """
    source = ref.source
    kind = classify(source)
    if kind is SourceKind.PYTHON:
        return ResolvedSource(SourceKind.PYTHON, source, target=source)
    if kind is SourceKind.ONNX:
        return ResolvedSource(SourceKind.ONNX, source, path=_model_file(source, "ONNX"))
    if kind is SourceKind.GGUF:
        return ResolvedSource(SourceKind.GGUF, source, path=_model_file(source, "GGUF"))
    if kind is SourceKind.LOCAL:
        return ResolvedSource(SourceKind.LOCAL, source, path=_model_folder(source))
    if kind is SourceKind.HUB:
        return ResolvedSource(SourceKind.HUB, source, repo_id=source, revision=ref.revision or "main")
    raise InvalidSpec(f"model.source {source!r} is not a model source berth understands: {ACCEPTED_FORMS}")


def _model_file(source: str, kind: str) -> Path:
    path = Path(source).expanduser().resolve()
    if not path.is_file():
        raise ModelNotFound(f"{kind} file {str(path)!r} does not exist; check model.source")
    return path


def _model_folder(source: str) -> Path:
    path = Path(source).expanduser().resolve()
    if not path.exists():
        raise ModelNotFound(f"model folder {str(path)!r} does not exist; check model.source")
    if not path.is_dir():
        raise ModelNotFound(
            f"{str(path)!r} is a file, not a model folder; point model.source at the folder that holds "
            "config.json and the weights, or at an .onnx or .gguf file"
        )
    return path
