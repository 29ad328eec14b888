"""A model's files as policy and preflight see them, whether they sit in a folder or on the hub.

A `Listing` is the file names with their sizes plus two readers: one for small JSON files (config,
modules) and one for safetensors headers. A local folder reads from disk; a hub repo reads through
huggingface_hub (see `berth.sources.hub`), fetching only small files and header bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from berth.errors import ModelNotFound, UnsupportedModel

JsonReader = Callable[[str], Any]  # a small JSON file, parsed; None when missing or unreadable
HeaderReader = Callable[[Sequence[str]], dict[str, int]]  # safetensors files → parameters per dtype

# Folders that never hold a model's own files: VCS and tool caches (huggingface_hub's local_dir cache).
_SKIPPED_DIRS = {".git", ".cache", "__pycache__", ".ipynb_checkpoints"}


@dataclass(frozen=True)
class Listing:
    name: str  # how messages name the model: the repo id or the folder
    sizes: dict[str, int]  # '/'-separated relative path → bytes
    read_json: JsonReader
    read_safetensors: HeaderReader
    known_parameters: dict[str, int] | None = None  # dtype → count, when the hub already says

    def size_of(self, files: Sequence[str]) -> int:
        return sum(self.sizes.get(f, 0) for f in files)


def local_listing(folder: Path, name: str | None = None, sizes: dict[str, int] | None = None) -> Listing:
    """The files of a model folder (symlinks followed, as in a hub snapshot); `sizes` overrides the walk."""
    if sizes is None:
        sizes = {}
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if any(part in _SKIPPED_DIRS for part in rel.parts) or not path.is_file():
                continue
            sizes[rel.as_posix()] = path.stat().st_size
    return Listing(
        name=name or str(folder),
        sizes=sizes,
        read_json=lambda rel: read_local_json(folder, rel),
        read_safetensors=lambda files: read_local_headers(folder, files),
    )


def read_local_json(folder: Path, rel: str) -> Any:
    """The JSON value in `folder/rel`, or None when it is missing or not JSON."""
    try:
        return json.loads((folder / rel).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def read_local_headers(folder: Path, files: Sequence[str]) -> dict[str, int]:
    """Parameters per safetensors dtype, summed over `files`, reading only their headers."""
    from huggingface_hub import parse_local_safetensors_file_metadata
    from huggingface_hub.errors import SafetensorsParsingError

    counts: dict[str, int] = {}
    for rel in files:
        try:
            metadata = parse_local_safetensors_file_metadata(folder / rel)
        except FileNotFoundError:
            raise ModelNotFound(
                f"{str(folder / rel)!r} disappeared while it was read; check the folder"
            ) from None
        except SafetensorsParsingError:
            raise UnsupportedModel(
                f"{str(folder / rel)!r} is not a valid safetensors file; re-download or re-export the weights"
            ) from None
        for dtype, count in metadata.parameter_count.items():
            counts[dtype] = counts.get(dtype, 0) + count
    return counts
