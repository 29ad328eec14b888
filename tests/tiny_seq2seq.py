"""Tiny random-weight models for the sequence-to-sequence and text-pair tasks, saved like real ones.

T5, BART and Marian encoder-decoders, an extractive QA head and an NLI classifier, each hidden 32 with
2 layers, seeded with `tests.tiny_models.SEED`, and all with all-MiniLM-L6-v2's real WordPiece
tokenizer files (so every vocabulary is its 30522 tokens: [PAD] 0, [CLS] 101, [SEP] 102). Each folder
is detected from its config.json as a hub download would be:

    from tests.tiny_seq2seq import build_t5
    folder = build_t5(tmp_path / "t5")   # text2text-generation, with a "summarize: " prefix
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.tiny_models import BERT_TOKENIZER_FILES, SEED, _quiet, minilm_folder

VOCAB = 30522
PAD, CLS, SEP = 0, 101, 102
NLI_LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}
T5_PREFIXES = {
    "summarization": {"prefix": "summarize: "},
    "translation_en_to_de": {"prefix": "translate English to German: "},
    "translation_en_to_fr": {"prefix": "translate English to French: "},
}


def build_t5(folder: Path) -> Path:
    """T5ForConditionalGeneration (relative positions) with T5's task prefixes in task_specific_params."""
    from transformers import T5Config, T5ForConditionalGeneration

    config = T5Config(
        vocab_size=VOCAB,
        d_model=32,
        d_kv=16,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=2,
        pad_token_id=PAD,
        eos_token_id=SEP,
        decoder_start_token_id=PAD,
        task_specific_params=T5_PREFIXES,
    )
    return _save(T5ForConditionalGeneration, config, folder)


def build_bart(folder: Path) -> Path:
    """BartForConditionalGeneration with 64 learned positions (so its encoder truncates at 64 tokens)."""
    from transformers import BartConfig, BartForConditionalGeneration

    config = BartConfig(vocab_size=VOCAB, max_position_embeddings=64, **_bart_like())
    return _save(BartForConditionalGeneration, config, folder)


def build_marian(folder: Path) -> Path:
    """MarianMTModel (detected as translation)."""
    from transformers import MarianConfig, MarianMTModel

    config = MarianConfig(
        vocab_size=VOCAB, max_position_embeddings=64, decoder_vocab_size=VOCAB, **_bart_like()
    )
    return _save(MarianMTModel, config, folder)


def build_question_answering(folder: Path) -> Path:
    """BertForQuestionAnswering (a start and an end logit per token)."""
    from transformers import BertForQuestionAnswering

    return _save_bert_like(BertForQuestionAnswering, folder, None)


def build_nli(folder: Path) -> Path:
    """BertForSequenceClassification with contradiction / neutral / entailment (detected as zero-shot)."""
    from transformers import BertForSequenceClassification

    return _save_bert_like(BertForSequenceClassification, folder, NLI_LABELS)


def _bart_like() -> dict[str, Any]:
    return {
        "d_model": 32,
        "encoder_layers": 2,
        "decoder_layers": 2,
        "encoder_attention_heads": 2,
        "decoder_attention_heads": 2,
        "encoder_ffn_dim": 64,
        "decoder_ffn_dim": 64,
        "pad_token_id": PAD,
        "bos_token_id": CLS,
        "eos_token_id": SEP,
        "decoder_start_token_id": SEP,
        "forced_eos_token_id": None,
    }


def _save_bert_like(model_class: Any, folder: Path, labels: dict[int, str] | None) -> Path:
    from transformers import BertConfig

    extra: dict[str, Any] = {}
    if labels is not None:
        extra = {"id2label": labels, "label2id": {v: k for k, v in labels.items()}}
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        # NOTE: wider than BERT's 0.02, so that random logits differ by more than rounding and tests
        # comparing two computations (batched and alone, ours and transformers') can tell them apart.
        initializer_range=0.5,
        **extra,
    )
    return _save(model_class, config, folder)


def _save(model_class: Any, config: Any, folder: Path) -> Path:
    import torch

    _quiet()
    torch.manual_seed(SEED)
    model = model_class(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    for name in BERT_TOKENIZER_FILES:
        shutil.copy(minilm_folder() / name, folder / name)
    return folder
