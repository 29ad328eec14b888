"""The load-time checks (`layout`) and the pull's file policy (`sources.policy`) judge a folder alike.

Each case is a folder on which the two once disagreed: training leftovers in a checkpoint folder, a
`.pickle` file, remote code named only by a file or by tokenizer_config.json, a custom module.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from berth.errors import PolicyRefused, UnsupportedModel
from berth.runtimes import layout
from berth.sources.listing import local_listing
from berth.sources.policy import select_files
from berth.sources.tasks import read_config
from tests.unit.sources.conftest import TINY_CONFIG, make_spec, write_json, write_safetensors


def _safetensors(folder: Path) -> None:
    write_json(folder / "config.json", TINY_CONFIG)
    write_safetensors(folder / "model.safetensors", {"dense": ("F32", [8, 8])})


def _checkpoint_leftovers(folder: Path) -> None:
    _safetensors(folder)
    (folder / "checkpoint-500").mkdir()
    (folder / "checkpoint-500" / "optimizer.pt").write_bytes(b"never loaded")
    (folder / "checkpoint-500" / "training_args.bin").write_bytes(b"never loaded")


def _pickle_suffix(folder: Path) -> None:
    write_json(folder / "config.json", TINY_CONFIG)
    (folder / "weights.pickle").write_bytes(b"would run code")


def _modeling_file(folder: Path) -> None:
    _safetensors(folder)
    (folder / "modeling_custom.py").write_text("")


def _tokenizer_auto_map(folder: Path) -> None:
    _safetensors(folder)
    write_json(folder / "tokenizer_config.json", {"auto_map": {"AutoTokenizer": "tok.Custom"}})


def _custom_module(folder: Path) -> None:
    _safetensors(folder)
    write_json(folder / "modules.json", [{"idx": 0, "name": "0", "path": "", "type": "mypkg.Custom"}])


def _pull_refuses(folder: Path) -> bool:
    try:
        select_files(local_listing(folder), make_spec(str(folder)))
    except PolicyRefused:
        return True
    except UnsupportedModel:
        return False
    return False


def _load_refuses(folder: Path) -> bool:
    try:
        layout.check_remote_code(folder, read_config(folder), trust_remote_code=False)
        layout.check_pickle_policy(folder, allow_pickle=False)
    except PolicyRefused:
        return True
    return False


@pytest.mark.parametrize(
    ("build", "refused"),
    [
        (_safetensors, False),
        (_checkpoint_leftovers, False),  # the load check once refused what the pull had let through
        (_pickle_suffix, True),  # the pull once let .pickle through
        (_modeling_file, True),  # the load check once saw only config.json's auto_map
        (_tokenizer_auto_map, True),
        (_custom_module, True),
    ],
)
def test_load_and_pull_agree(tmp_path: Path, build: Callable[[Path], None], refused: bool) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    build(folder)
    assert _pull_refuses(folder) is refused
    assert _load_refuses(folder) is refused
