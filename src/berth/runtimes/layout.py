"""What a model folder holds, read without torch: its config, its weights, any ONNX graph.

Detection (`registry`) and every runtime's `load` read folders through these helpers, and the
safety policies (`trust_remote_code`, `allow_pickle`) are checked here before any library is asked
to load, so a refused model fails with berth's sentence rather than a library's traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from berth.errors import ModelNotFound, PolicyRefused, UnsupportedModel
from berth.sources.types import LocalModel
from berth.spec import Task

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
WEIGHT_SUFFIXES = (".safetensors", *PICKLE_SUFFIXES)

# Suffix of the class name in config.json's `architectures` → task; the first match wins, so the
# specific heads come before the base-model "...Model" catch-all (GPT2LMHeadModel ends in Model too).
ARCHITECTURE_TASKS: tuple[tuple[str, Task], ...] = (
    ("ForSequenceClassification", Task.TEXT_CLASSIFICATION),
    ("ForTokenClassification", Task.TOKEN_CLASSIFICATION),
    ("ForMaskedLM", Task.FILL_MASK),
    ("ForCausalLM", Task.TEXT_GENERATION),
    ("LMHeadModel", Task.TEXT_GENERATION),
    ("Model", Task.FEATURE_EXTRACTION),
)


def model_path(model: LocalModel) -> Path:
    """The model's folder or .onnx file, which must exist."""
    if model.path is None:
        raise UnsupportedModel(
            f"{model.source.reference!r} is a Python predictor, not a model folder or file"
        )
    if not model.path.exists():
        raise ModelNotFound(f"model path {str(model.path)!r} does not exist; pull the model again")
    return model.path


def model_folder(model: LocalModel) -> Path:
    """The folder holding the model: the path itself, or the folder an .onnx file lies in."""
    path = model_path(model)
    return path if path.is_dir() else path.parent


def read_config(folder: Path) -> dict[str, Any]:
    """config.json of a folder as a dict; empty when there is none."""
    file = folder / "config.json"
    if not file.is_file():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsupportedModel(f"cannot read {file}: {exc}") from None
    if not isinstance(data, dict):
        raise UnsupportedModel(f"{file} is not a JSON object")
    return data


def config_dtype(config: dict[str, Any]) -> str | None:
    """The dtype a config declares (`dtype` in transformers 5, `torch_dtype` before)."""
    value = config.get("dtype", config.get("torch_dtype"))
    return value if isinstance(value, str) else None


def task_from_config(config: dict[str, Any]) -> Task | None:
    """The task implied by config.json's `architectures`, or None when it names none we know."""
    for architecture in config.get("architectures") or ():
        for suffix, task in ARCHITECTURE_TASKS:
            if isinstance(architecture, str) and architecture.endswith(suffix):
                return task
    return None


def find_onnx_file(path: Path) -> Path | None:
    """The ONNX graph to serve: the path itself, `model.onnx`, `onnx/model.onnx`, or the only one."""
    if path.is_file():
        return path if path.suffix == ".onnx" else None
    for candidate in (path / "model.onnx", path / "onnx" / "model.onnx"):
        if candidate.is_file():
            return candidate
    found = sorted(path.glob("*.onnx")) + sorted(path.glob("onnx/*.onnx"))
    return found[0] if len(found) == 1 else None


def has_onnx_files(path: Path) -> bool:
    return path.suffix == ".onnx" or (
        path.is_dir() and any([*path.glob("*.onnx"), *path.glob("onnx/*.onnx")])
    )


def has_torch_weights(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix in WEIGHT_SUFFIXES for p in folder.iterdir())


def is_sentence_transformers(folder: Path) -> bool:
    return (folder / "modules.json").is_file()


def find_beside(onnx_file: Path, root: Path, name: str) -> Path | None:
    """A file such as tokenizer.json next to the graph, else at the model folder's root."""
    for folder in (onnx_file.parent, root):
        if (folder / name).is_file():
            return folder / name
    return None


def check_remote_code(folder: Path, config: dict[str, Any], trust_remote_code: bool) -> None:
    """Refuse a model whose config asks to run its own Python code, unless the spec trusts it."""
    if config.get("auto_map") and not trust_remote_code:
        raise PolicyRefused(
            f"the model in {folder} ships its own Python code (config.json auto_map); "
            "set trust_remote_code: true only if you trust its source"
        )


def check_pickle_policy(folder: Path, allow_pickle: bool) -> None:
    """Refuse folders whose weights exist only in pickle format (loading pickle can run code)."""
    if allow_pickle:
        return
    for directory in (folder, *(p for p in folder.iterdir() if p.is_dir())):
        files = [p for p in directory.iterdir() if p.is_file()]
        if any(p.suffix == ".safetensors" for p in files):
            continue
        pickles = sorted(p.name for p in files if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise PolicyRefused(
                f"{directory} holds its weights only in pickle format ({', '.join(pickles)}), which can run "
                "code when loaded; convert them to safetensors, or set allow_pickle: true if you trust them"
            )
