"""Tiny randomly initialised vision models, saved like real ones: a ViT classifier and encoder, a DETR
detector and a CLIP model, each with the image processor (and, for CLIP, the tokenizer) that a hub
folder of that family has, so that task detection and the vision runtime see what they would see in a
real download. Seeded, hidden 32, 2 layers, 32-pixel inputs.

    from tests.tiny_vision import build_image_classifier
    folder = build_image_classifier(tmp_path / "vit")
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.tiny_models import BERT_TOKENIZER_FILES, SEED, minilm_folder

IMAGE_LABELS = {0: "cat", 1: "dog", 2: "bird", 3: "fish", 4: "horse", 5: "frog", 6: "ship"}
DETECTION_LABELS = {0: "person", 1: "car", 2: "bicycle"}
DETR_QUERIES = 6
_VIT = {
    "image_size": 32,
    "patch_size": 8,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}


def build_image_classifier(folder: Path, *, multi_label: bool = False) -> Path:
    """ViTForImageClassification over IMAGE_LABELS (multi-label: sigmoid scores, not softmax)."""
    from transformers import ViTConfig, ViTForImageClassification

    extra = {"problem_type": "multi_label_classification"} if multi_label else {}
    config = ViTConfig(**_VIT, id2label=IMAGE_LABELS, label2id=_inverse(IMAGE_LABELS), **extra)
    return _save(ViTForImageClassification(_seeded(config)), folder, _vit_processor())


def build_image_encoder(folder: Path) -> Path:
    """ViTModel with its pooler: image-feature-extraction, 32-float vectors."""
    from transformers import ViTConfig, ViTModel

    return _save(ViTModel(_seeded(ViTConfig(**_VIT))), folder, _vit_processor())


def build_object_detector(folder: Path) -> Path:
    """DetrForObjectDetection on a tiny ResNet backbone (no timm), DETR_QUERIES queries."""
    from transformers import DetrConfig, DetrForObjectDetection, DetrImageProcessor, ResNetConfig

    backbone = ResNetConfig(
        embedding_size=8,
        hidden_sizes=[8, 16],
        depths=[1, 1],
        layer_type="basic",
        out_features=["stage2"],
    )
    config = DetrConfig(
        use_timm_backbone=False,
        use_pretrained_backbone=False,
        backbone_config=backbone,
        backbone=None,
        num_queries=DETR_QUERIES,
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        id2label=DETECTION_LABELS,
        label2id=_inverse(DETECTION_LABELS),
    )
    processor = DetrImageProcessor(size={"shortest_edge": 32, "longest_edge": 64})
    return _save(DetrForObjectDetection(_seeded(config)), folder, processor)


def build_clip(folder: Path) -> Path:
    """CLIPModel (text and vision towers) with MiniLM's WordPiece tokenizer and a CLIPImageProcessor."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    text = {
        "vocab_size": 30522,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": 64,
        # NOTE: BERT's ids ([PAD] 0, [CLS] 101, [SEP] 102): CLIP pools the text at its end token.
        "pad_token_id": 0,
        "bos_token_id": 101,
        "eos_token_id": 102,
    }
    vision = {key: value for key, value in _VIT.items()}
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)
    processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    _save(CLIPModel(_seeded(config)), folder, processor)
    for name in BERT_TOKENIZER_FILES:
        shutil.copy(minilm_folder() / name, folder / name)
    return folder


def _vit_processor() -> Any:
    from transformers import ViTImageProcessor

    return ViTImageProcessor(size={"height": 32, "width": 32})


def _seeded(config: Any) -> Any:
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    torch.manual_seed(SEED)
    return config


def _save(model: Any, folder: Path, processor: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.eval().save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _inverse(labels: dict[int, str]) -> dict[str, int]:
    return {label: index for index, label in labels.items()}
