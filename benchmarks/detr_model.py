"""The detection benchmark's model (`serve_image.py --task object-detection`): a random DETR of its
published transformer shape, and the raw baseline, transformers' own `object-detection` pipeline.

The model is a randomly initialised `DetrForObjectDetection` (no weights to download) saved beside a
`DetrImageProcessor`: DETR's transformer as published (d_model 256, 8 heads, 6 encoder and 6 decoder
layers, FFN 2048, 100 queries, 91 COCO labels) on a ResNet-18-shaped backbone (transformers' own
ResNet, no timm), with images resized to a 320-pixel shortest edge (480 at most). DETR-R50 at 800
pixels takes seconds per image on 2 cores; this shape keeps every layer kind and the padding and
post-processing of the real thing at tens of ms per image, so a run measures serving. Random weights
score every query near 1/92, so at the default threshold (0.5) neither side reports objects: the
post-processing still runs on every query, as it does for a trained model.

berth serves the saved folder as it would a hub download (runtime transformers, task detected from
config.json); the raw side calls `pipeline("object-detection")` on the same folder at a batch size of
its own (`raw_vit.py --task object-detection`).

    python benchmarks/detr_model.py FOLDER   # the model in FOLDER/detr, the JPEGs in FOLDER
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from image_corpus import write_jpegs

BACKBONE: dict[str, Any] = {
    "embedding_size": 64,
    "hidden_sizes": [64, 128, 256, 512],
    "depths": [2, 2, 2, 2],
    "layer_type": "basic",
    "out_features": ["stage4"],
}
DETR_CONFIG: dict[str, Any] = {
    "d_model": 256,
    "encoder_layers": 6,
    "decoder_layers": 6,
    "encoder_attention_heads": 8,
    "decoder_attention_heads": 8,
    "encoder_ffn_dim": 2048,
    "decoder_ffn_dim": 2048,
    "num_queries": 100,
    "num_labels": 91,
}
SIZE = {"shortest_edge": 320, "longest_edge": 480}
THRESHOLD = 0.5  # berth's default, which a raw JPEG body (no params) gets


def describe_model() -> str:
    c = DETR_CONFIG
    return (
        f"random-weight DetrForObjectDetection, d_model {c['d_model']}, {c['encoder_layers']}+"
        f"{c['decoder_layers']} layers, FFN {c['encoder_ffn_dim']}, {c['num_queries']} queries, "
        f"{c['num_labels']} labels, ResNet-18-shaped backbone, shortest edge {SIZE['shortest_edge']}"
    )


def save_detr(folder: Path) -> Path:
    """Writes the model (seeded, so every run's weights are the same) and its processor to `folder`."""
    import torch
    from transformers import DetrConfig, DetrForObjectDetection, DetrImageProcessor, ResNetConfig

    torch.manual_seed(0)
    labels = {i: f"class_{i:02d}" for i in range(DETR_CONFIG["num_labels"])}
    config = DetrConfig(
        use_timm_backbone=False,
        use_pretrained_backbone=False,
        backbone=None,
        backbone_config=ResNetConfig(**BACKBONE),
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
        **{k: v for k, v in DETR_CONFIG.items() if k != "num_labels"},
    )
    DetrForObjectDetection(config).eval().save_pretrained(folder)
    DetrImageProcessor(size=SIZE).save_pretrained(folder)
    return folder


class Detector:
    """transformers' object-detection pipeline on the folder: RGB images in, berth's answer shape out."""

    def __init__(self, folder: str | Path, threshold: float = THRESHOLD) -> None:
        from transformers import pipeline

        self.pipe = pipeline("object-detection", model=str(folder), device="cpu")
        self.threshold = threshold

    def __call__(self, images: list[Any]) -> list[list[dict[str, Any]]]:
        found = self.pipe(images, batch_size=len(images), threshold=self.threshold)
        return [sorted(objects, key=lambda o: -o["score"]) for objects in found]


def main() -> None:
    import sys

    folder = Path(sys.argv[1])
    save_detr(folder / "detr")
    write_jpegs(folder)


if __name__ == "__main__":
    main()
