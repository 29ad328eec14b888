"""How every transformers-backed runtime's `load` starts: the folder, its config, the refusals, the dtype.

One home, so that the remote-code and pickle refusals and the dtype rule cannot drift apart between
the task families (`transformers_runtime`, `vision`, `speech`, `seq2seq`, `text_pairs`, `ranking`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from berth.errors import UnsupportedModel
from berth.runtimes import layout
from berth.runtimes.base import Runtime
from berth.runtimes.device import resolve_dtype
from berth.sources.tasks import model_folder, read_config


def open_checkpoint(runtime: Runtime) -> tuple[Path, dict[str, Any], Any]:
    """The model folder, its config.json and the torch dtype to load in, after the policy checks.

    >>> folder, config, dtype = open_checkpoint(runtime)   # then from_pretrained(folder, dtype=dtype)
    """
    folder = model_folder(runtime.model)
    config = read_config(folder)
    if not config:
        raise UnsupportedModel(f"{folder} has no config.json, so the transformers runtime cannot load it")
    layout.check_remote_code(folder, config, runtime.spec.trust_remote_code)
    layout.check_pickle_policy(folder, runtime.spec.allow_pickle)
    import torch
    from transformers.utils import logging as hf_logging

    # NOTE: tqdm progress bars would flood the worker's log file.
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    dtype = getattr(torch, resolve_dtype(runtime.spec.dtype, runtime.device, layout.config_dtype(config)))
    return folder, config, dtype
