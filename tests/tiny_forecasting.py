"""Tiny random-weight Chronos and Chronos-Bolt models, saved the way the hub's amazon/chronos-* are.

The configs follow the dummy models chronos-forecasting's own tests load (a T5 config carrying a
`chronos_config`), shrunk further: d_model 32, 2 layers, short context and horizon so a forecast takes
milliseconds. Weights come from `torch.manual_seed(SEED)`, so a builder gives the same model every run.

    from tests.tiny_forecasting import build_chronos_bolt
    folder = build_chronos_bolt(tmp_path / "bolt")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.tiny_models import SEED

BOLT_CONTEXT_LENGTH = 64
BOLT_PREDICTION_LENGTH = 8
BOLT_QUANTILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
T5_CONTEXT_LENGTH = 48
T5_PREDICTION_LENGTH = 6


def _t5_fields(size: int, layers: int) -> dict[str, Any]:
    return {
        "d_model": size,
        "d_ff": size * 2,
        "d_kv": size // 4,
        "num_heads": 4,
        "num_layers": layers,
        "num_decoder_layers": layers,
        "dense_act_fn": "relu",
        "feed_forward_proj": "relu",
        "is_gated_act": False,
        "decoder_start_token_id": 0,
        "pad_token_id": 0,
        "eos_token_id": 1,
        "initializer_factor": 0.05,
    }


def build_chronos_bolt(
    folder: Path,
    *,
    size: int = 32,
    layers: int = 2,
    context_length: int = BOLT_CONTEXT_LENGTH,
    prediction_length: int = BOLT_PREDICTION_LENGTH,
    patch_size: int = 16,
) -> Path:
    """ChronosBoltModelForForecasting (architectures says so), nine quantiles 0.1..0.9 like the real ones.

    The defaults are tiny; the benchmark builds chronos-bolt-small's shape (size 512, 6 layers,
    context 2048, horizon 64) with the same function.
    """
    import torch
    from chronos.chronos_bolt import ChronosBoltModelForForecasting
    from transformers import T5Config

    torch.manual_seed(SEED)
    chronos_config = {
        "context_length": context_length,
        "prediction_length": prediction_length,
        "input_patch_size": patch_size,
        "input_patch_stride": patch_size,
        "quantiles": BOLT_QUANTILES,
        "use_reg_token": True,
    }
    config = T5Config(
        **_t5_fields(size, layers),
        vocab_size=2,
        chronos_config=chronos_config,
        chronos_pipeline_class="ChronosBoltPipeline",
        architectures=["ChronosBoltModelForForecasting"],
    )
    model = ChronosBoltModelForForecasting(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    return folder


def build_chronos_t5(folder: Path, *, top_k: int = 1) -> Path:
    """A Chronos-T5 (T5ForConditionalGeneration with a `chronos_config`), 32 value bins.

    NOTE: `top_k: 1` in its chronos_config makes its sampling greedy, so a forecast is deterministic and
    a batch can be compared with its inputs run alone; the real models sample with top_k 50.
    """
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(SEED)
    tokens = 32
    chronos_config = {
        "tokenizer_class": "MeanScaleUniformBins",
        "tokenizer_kwargs": {"low_limit": -15.0, "high_limit": 15.0},
        "n_tokens": tokens,
        "n_special_tokens": 2,
        "pad_token_id": 0,
        "eos_token_id": 1,
        "use_eos_token": True,
        "model_type": "seq2seq",
        "context_length": T5_CONTEXT_LENGTH,
        "prediction_length": T5_PREDICTION_LENGTH,
        "num_samples": 4,
        "temperature": 1.0,
        "top_k": top_k,
        "top_p": 1.0,
    }
    config = T5Config(
        **_t5_fields(32, 2),
        vocab_size=tokens,
        chronos_config=chronos_config,
        architectures=["T5ForConditionalGeneration"],
    )
    model = T5ForConditionalGeneration(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    return folder
