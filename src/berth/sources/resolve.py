"""Understand a model source string without touching the network: hub id, folder, .onnx file or class."""

from __future__ import annotations

import re
from pathlib import Path

from berth.errors import InvalidSpec, ModelNotFound
from berth.sources.types import ResolvedSource, SourceKind
from berth.spec import ModelRef

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
PYTHON_TARGET = re.compile(rf"^{_IDENTIFIER}(\.{_IDENTIFIER})*:{_IDENTIFIER}$")
# The hub's own rule (huggingface_hub.utils.validate_repo_id): `name` or `namespace/name`, each of
# ASCII letters, digits, '-', '_' and '.', not starting or ending with '-' or '.', at most 96 long.
_REPO_PART = r"[A-Za-z0-9_]([A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
HUB_ID = re.compile(rf"^({_REPO_PART}/)?{_REPO_PART}$")
_PATH_PREFIXES = ("/", "./", "../", "~")

ACCEPTED_FORMS = (
    "use a Hub id (owner/name), a local folder (./path or /abs/path), an .onnx file, "
    "or a Python predictor (package.module:Class)"
)


def resolve_source(ref: ModelRef) -> ResolvedSource:
    """Classify `ref.source`; local paths must exist, hub ids are only checked for shape.

    >>> resolve_source(ModelRef(source="sentence-transformers/all-MiniLM-L6-v2")).kind
    <SourceKind.HUB: 'hub'>
    """
    source = ref.source
    if PYTHON_TARGET.match(source):
        return ResolvedSource(SourceKind.PYTHON, source, target=source)
    if source.lower().endswith(".onnx"):
        return ResolvedSource(SourceKind.ONNX, source, path=_onnx_file(source))
    if source.startswith(_PATH_PREFIXES) or source in (".", "..") or Path(source).is_dir():
        return ResolvedSource(SourceKind.LOCAL, source, path=_model_folder(source))
    if _is_hub_id(source):
        return ResolvedSource(SourceKind.HUB, source, repo_id=source, revision=ref.revision or "main")
    raise InvalidSpec(f"model.source {source!r} is not a model source berth understands: {ACCEPTED_FORMS}")


def _is_hub_id(source: str) -> bool:
    forbidden = ".." in source or "--" in source or source.endswith(".git")
    return bool(HUB_ID.match(source)) and not forbidden


def _onnx_file(source: str) -> Path:
    path = Path(source).expanduser().resolve()
    if not path.is_file():
        raise ModelNotFound(f"ONNX file {str(path)!r} does not exist; check model.source")
    return path


def _model_folder(source: str) -> Path:
    path = Path(source).expanduser().resolve()
    if not path.exists():
        raise ModelNotFound(f"model folder {str(path)!r} does not exist; check model.source")
    if not path.is_dir():
        raise ModelNotFound(
            f"{str(path)!r} is a file, not a model folder; point model.source at the folder that holds "
            "config.json and the weights, or at an .onnx file"
        )
    return path
