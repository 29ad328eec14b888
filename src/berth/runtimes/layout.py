"""What a model folder holds, read without torch: its config, its weights, any ONNX graph.

Every runtime's `load` reads folders through these helpers (the readers themselves live with task
detection in `berth.sources.tasks`, which the control plane uses without the runtimes), and the
safety policies (`trust_remote_code`, `allow_pickle`) are checked here before any library is asked
to load, so a refused model fails with berth's sentence rather than a library's traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from berth.devices import config_dtype as config_dtype  # the dtype rule's home, re-exported
from berth.errors import PolicyRefused
from berth.sources import policy
from berth.sources.listing import local_listing

PICKLE_SUFFIXES = policy.PICKLE_WEIGHTS  # the one list, in berth.sources.policy


def find_beside(onnx_file: Path, root: Path, name: str) -> Path | None:
    """A file such as tokenizer.json next to the graph, else at the model folder's root."""
    for folder in (onnx_file.parent, root):
        if (folder / name).is_file():
            return folder / name
    return None


def check_remote_code(folder: Path, config: dict[str, Any], trust_remote_code: bool) -> None:
    """Refuse a model that needs its own Python code to load, unless the spec trusts it.

    The same rule as a pull's (`berth.sources.policy.remote_code_reason`); `config` is the config.json
    already read.
    """
    policy.refuse_remote_code(local_listing(folder), trust_remote_code, config)


def check_pickle_policy(folder: Path, allow_pickle: bool) -> None:
    """Refuse folders whose weights exist only in pickle format (loading pickle can run code).

    The folder and each folder in it is judged by `berth.sources.policy.pickle_only_weights`, the
    rule a pull applies, so what a pull let through is never refused here.
    """
    if allow_pickle:
        return
    for directory in (folder, *(p for p in folder.iterdir() if p.is_dir())):
        files = [p.name for p in directory.iterdir() if p.is_file()]
        pickles = sorted(policy.pickle_only_weights(files))
        if pickles:
            raise PolicyRefused(
                f"{directory} holds its weights only in pickle format ({', '.join(pickles)}), which can run "
                "code when loaded; convert them to safetensors, or set allow_pickle: true if you trust them"
            )
