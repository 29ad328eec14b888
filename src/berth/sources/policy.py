"""What berth fetches from a model, and what it refuses: pickle weights and remote code, unless allowed.

Weights are looked for where the loaders look: the model's root (transformers) and the module folders
that `modules.json` names (sentence-transformers, e.g. `2_Dense/`). In each such folder safetensors
win; pickle-format weights are taken only when they are the folder's only weights and the spec sets
`allow_pickle`; ONNX files only for the onnx runtime or when they are all there is. Configuration and
tokenizer files come along; READMEs, TF/Flax weights and other runtimes' exports never do.

A GGUF model (`runtime: llama-cpp`, `model.file` set, or a repo whose only weights are .gguf files) is
one .gguf file: the one `model.file` matches, else the only one there is, with the root's small
configuration files. A repo of many quantizations is never fetched whole: several candidates and no
`model.file` to choose is refused, listing them. llama.cpp runs no Python, so the remote-code rule
does not apply to it.

This module is the one home of the pickle and remote-code rules: `berth.runtimes.layout` checks a
folder with these same predicates just before a library loads it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from berth.errors import PolicyRefused, UnsupportedModel
from berth.sources.listing import Listing
from berth.spec import DeploymentSpec, RuntimeName

SAFE_WEIGHTS = (".safetensors",)
PICKLE_WEIGHTS = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
ONNX_FILES = (".onnx", ".onnx_data", ".onnx.data")
SUPPORT_FILES = (".json", ".txt", ".model", ".tiktoken", ".jinja", ".vocab", ".spm")
# Pickles that training leaves beside the weights; they are never loaded to serve a model.
TRAINING_ARTIFACTS = ("training_args.bin", "optimizer.pt", "scheduler.pt", "scaler.pt", "rng_state")
REMOTE_CODE_FILES = ("modeling_", "configuration_", "tokenization_", "processing_", "image_processing_")
CONFIG_FILES = ("config.json", "tokenizer_config.json")  # where `auto_map` asks for the model's own code
ONNX_DIR = "onnx"
GGUF_SUFFIX = ".gguf"
SHOWN_FILES = 12  # how many candidate files a refusal lists


@dataclass(frozen=True)
class Selection:
    """The files a deployment needs, in listing order."""

    files: tuple[str, ...]
    weights: tuple[str, ...]

    @property
    def gguf(self) -> str | None:
        """The one .gguf file of a GGUF model; None for every other kind."""
        if len(self.weights) == 1 and self.weights[0].lower().endswith(GGUF_SUFFIX):
            return self.weights[0]
        return None


def select_files(listing: Listing, spec: DeploymentSpec) -> Selection:
    """Choose what to fetch, or raise `PolicyRefused` / `UnsupportedModel` with what to do."""
    if wants_gguf(listing, spec):
        gguf = choose_gguf(listing, spec.model.file)
        support = {f for f in listing.sizes if "/" not in f and f.endswith(SUPPORT_FILES)}
        return Selection(files=tuple(f for f in listing.sizes if f in support or f == gguf), weights=(gguf,))
    check_remote_code(listing, spec)
    folders = model_folders(listing)
    if spec.runtime is RuntimeName.ONNX:
        weights = _onnx_weights(listing.sizes)
    else:
        weights = [w for folder in folders for w in _folder_weights(listing, folder, spec)]
        if not weights:
            weights = _onnx_weights(listing.sizes)
    if not weights:
        raise UnsupportedModel(
            f"{listing.name} has no weights berth can load (safetensors, PyTorch or ONNX files); "
            "check that it is a model repository or folder"
        )
    support_dirs = set(folders) | {_parent(w) for w in weights}
    code = (".py",) if spec.trust_remote_code else ()
    support = {f for f in listing.sizes if _parent(f) in support_dirs and f.endswith(SUPPORT_FILES + code)}
    chosen = support | set(weights)
    return Selection(
        files=tuple(f for f in listing.sizes if f in chosen),
        weights=tuple(f for f in listing.sizes if f in weights),
    )


def gguf_files(listing: Listing) -> list[str]:
    """The listing's .gguf files, in listing order (any folder)."""
    return [f for f in listing.sizes if f.lower().endswith(GGUF_SUFFIX)]


def wants_gguf(listing: Listing, spec: DeploymentSpec) -> bool:
    """Whether the spec serves one of the listing's GGUF files rather than its other weights."""
    if spec.model.file is not None and spec.runtime not in (RuntimeName.AUTO, RuntimeName.LLAMA_CPP):
        raise UnsupportedModel(
            f"model.file chooses a GGUF file, which only the llama-cpp runtime serves, not {spec.runtime}; "
            "remove model.file or use runtime: llama-cpp"
        )
    if spec.runtime is RuntimeName.LLAMA_CPP or spec.model.file is not None:
        return True
    if spec.runtime is not RuntimeName.AUTO or not gguf_files(listing):
        return False
    # NOTE: a repo with both (safetensors and a GGUF export) keeps being served as it was: transformers
    others = (*SAFE_WEIGHTS, *PICKLE_WEIGHTS, *ONNX_FILES)
    return not any(_parent(f) in ("", ONNX_DIR) and _is_weight(f, others) for f in listing.sizes)


def choose_gguf(listing: Listing, pattern: str | None) -> str:
    """The one .gguf file `pattern` (a glob, case-insensitive) matches, or the only one; else refuse."""
    candidates = gguf_files(listing)
    if not candidates:
        raise UnsupportedModel(
            f"{listing.name} has no .gguf file for the llama-cpp runtime; point model.source at a GGUF file "
            "or repo, or use runtime: auto"
        )
    if pattern is None:
        matches = candidates
    else:
        wanted = pattern.lower()
        matches = [
            f
            for f in candidates
            if fnmatch.fnmatch(f.lower(), wanted) or fnmatch.fnmatch(_name(f).lower(), wanted)
        ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UnsupportedModel(
            f"model.file {pattern!r} matches none of {listing.name}'s GGUF files ({_shown(candidates)}); "
            "set model.file to a glob matching one of them"
        )
    if pattern is None:
        raise UnsupportedModel(
            f"{listing.name} holds {len(matches)} GGUF files ({_shown(matches)}); choose one with a glob, "
            "e.g. '*Q4_K_M.gguf': model.file in a spec, `berth deploy --file` or `berth pull --file`, "
            'or "file" in a pull request'
        )
    raise UnsupportedModel(
        f"model.file {pattern!r} matches {len(matches)} of {listing.name}'s GGUF files ({_shown(matches)}); "
        "make the glob match exactly one"
    )


def check_remote_code(listing: Listing, spec: DeploymentSpec) -> None:
    """Refuse a model that needs its own Python code to load, unless `trust_remote_code` is set."""
    refuse_remote_code(listing, spec.trust_remote_code)


def refuse_remote_code(
    listing: Listing, trust_remote_code: bool, config: dict[str, Any] | None = None
) -> None:
    """`check_remote_code` for a bare flag; `config` stands in for config.json when already read."""
    if trust_remote_code:
        return
    reason = remote_code_reason(listing, config)
    if reason is not None:
        raise PolicyRefused(
            f"{listing.name} needs its own Python code to load ({reason}), which would run arbitrary code "
            "on this host; set trust_remote_code: true if you trust it, or pick a model that its library "
            "supports natively"
        )


def remote_code_reason(listing: Listing, config: dict[str, Any] | None = None) -> str | None:
    """Why the model needs its own code (auto_map, a custom module, modeling_*.py), or None."""
    for config_file in CONFIG_FILES:
        found = listing.read_json(config_file) if config_file in listing.sizes else None
        if config_file == "config.json" and config is not None:
            found = config
        if isinstance(found, dict) and found.get("auto_map"):
            return f"auto_map in {config_file}"
    for module in _modules(listing):
        kind = str(module.get("type", ""))
        if kind and not kind.startswith("sentence_transformers."):
            return f"custom module {kind} in modules.json"
    code = [f for f in listing.sizes if f.startswith(REMOTE_CODE_FILES) and f.endswith(".py")]
    return code[0] if code else None


def is_pickle_weight(path: str) -> bool:
    """A pickle-format weights file a loader would load; training leftovers (optimizer.pt) are not."""
    name = _name(path)
    return name.endswith(PICKLE_WEIGHTS) and not name.startswith(TRAINING_ARTIFACTS)


def pickle_only_weights(files: Iterable[str]) -> list[str]:
    """One folder's pickle weights when it has no safetensors to load instead; else none."""
    names = list(files)
    if any(f.endswith(SAFE_WEIGHTS) for f in names):
        return []
    return [f for f in names if is_pickle_weight(f)]


def model_folders(listing: Listing) -> list[str]:
    """The root ('') and the sentence-transformers module folders named in modules.json."""
    folders = [""]
    for module in _modules(listing):
        path = str(module.get("path") or "").strip("/")
        if path and path not in folders:
            folders.append(path)
    return folders


def _modules(listing: Listing) -> list[dict[str, Any]]:
    if "modules.json" not in listing.sizes:
        return []
    modules = listing.read_json("modules.json")  # a JSON list of {"idx", "name", "path", "type"}
    return [m for m in modules if isinstance(m, dict)] if isinstance(modules, list) else []


def _folder_weights(listing: Listing, folder: str, spec: DeploymentSpec) -> list[str]:
    files = [f for f in listing.sizes if _parent(f) == folder]
    safetensors = [f for f in files if f.endswith(SAFE_WEIGHTS)]
    if safetensors:
        return _drop_duplicates(safetensors)
    pickles = pickle_only_weights(files)
    if pickles and not spec.allow_pickle:
        shown = ", ".join(_name(p) for p in pickles[:3]) + (", ..." if len(pickles) > 3 else "")
        where = f"{listing.name}/{folder}" if folder else listing.name
        raise PolicyRefused(
            f"{where} has only pickle-format weights ({shown}), which can run arbitrary code when loaded; "
            "set allow_pickle: true if you trust it, or use a safetensors version"
        )
    return pickles


def _onnx_weights(sizes: Iterable[str]) -> list[str]:
    """ONNX graphs at the root or in onnx/, preferring the plain `model.onnx` over its variants."""
    candidates = [f for f in sizes if _parent(f) in ("", ONNX_DIR) and f.endswith(ONNX_FILES)]
    plain = [f for f in candidates if _name(f).startswith("model.onnx")]
    return plain or candidates


def _drop_duplicates(safetensors: list[str]) -> list[str]:
    # NOTE: some repos (Mistral's) ship the same weights twice: model*.safetensors for transformers and
    # consolidated*.safetensors for their own loader. Fetch only the transformers copy.
    if any(_name(f).startswith("model") for f in safetensors):
        return [f for f in safetensors if not _name(f).startswith("consolidated")]
    return safetensors


def _is_weight(path: str, suffixes: tuple[str, ...]) -> bool:
    return path.endswith(suffixes) and not _name(path).startswith(TRAINING_ARTIFACTS)


def _shown(files: list[str]) -> str:
    more = len(files) - SHOWN_FILES
    return ", ".join(files[:SHOWN_FILES]) + (f" and {more} more" if more > 0 else "")


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def _name(path: str) -> str:
    return path.rpartition("/")[2]
