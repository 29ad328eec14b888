"""Tiny random cross-encoders for the text-ranking tests, saved as sentence-transformers saves them.

A cross-encoder is a BertForSequenceClassification with one label; sentence-transformers' CrossEncoder
adds a `sentence_transformers` entry naming its activation to config.json. Weights come from
`torch.manual_seed`, so a builder gives the same model every run; the tokenizer is all-MiniLM-L6-v2's
real WordPiece one (a query and a document become `[CLS] q [SEP] d [SEP]`).

    from tests.tiny_ranking import build_cross_encoder
    folder = build_cross_encoder(tmp_path / "reranker")
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.tiny_models import BERT_TOKENIZER_FILES, SEED, minilm_folder

SIGMOID = "torch.nn.modules.activation.Sigmoid"
IDENTITY = "torch.nn.modules.linear.Identity"
NLI_LABELS = {0: "contradiction", 1: "entailment", 2: "neutral"}


def build_cross_encoder(folder: Path, activation_fn: str | None = SIGMOID, seed: int = SEED) -> Path:
    """BertForSequenceClassification, one label; `activation_fn` None leaves config.json without one."""
    extra = {} if activation_fn is None else {"sentence_transformers": {"activation_fn": activation_fn}}
    return _save(folder, {0: "LABEL_0"}, extra, seed)


def build_sequence_classifier(folder: Path, labels: dict[int, str]) -> Path:
    """The same model with other labels (two, or NLI's three): not a cross-encoder to task detection."""
    return _save(folder, labels, {}, SEED)


def _save(folder: Path, labels: dict[int, str], extra: dict[str, Any], seed: int) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        # NOTE: wider than BERT's 0.02, so random scores differ by more than float noise and an order shows
        initializer_range=0.5,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    model = BertForSequenceClassification(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    if extra:
        path = folder / "config.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **extra}, indent=2))
    for name in BERT_TOKENIZER_FILES:
        shutil.copy(minilm_folder() / name, folder / name)
    return folder
