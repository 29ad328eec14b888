"""What every part of the image serving benchmark shares: the ViT classifier's shape, the JPEGs it is
sent, and how a JPEG becomes the RGB image the model's processor takes.

Kept in one module, as `corpus.py` is for the text benchmark, so that the raw pipeline, berth's
predictor and the load generator can never drift apart on what they feed the model.

The model is a randomly initialised `ViTForImageClassification` (no weights to download), saved with
`save_pretrained` beside a `ViTImageProcessor`: 224x224 input, 16x16 patches, ViT-Small's width (384,
6 heads, MLP 1536) at half its depth (6 layers), 1000 labels. ViT-Base (768 wide, 12 layers) takes
~0.5 s per image on 2 cores; this shape is realistically built (the same layers, embeddings and
head) and takes tens of ms at batch 1, so a run measures serving rather than waiting on one model.
Random weights cost nothing in realism here: the compute per image is the same as a trained one's.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

VIT_CONFIG: dict[str, Any] = {
    "image_size": 224,
    "patch_size": 16,
    "num_channels": 3,
    "hidden_size": 384,
    "num_hidden_layers": 6,
    "num_attention_heads": 6,
    "intermediate_size": 1536,
    "num_labels": 1000,
}
JPEG_SIZE = (640, 480)  # a phone photo scaled down for upload, as many clients send them
JPEG_COUNT = 6
JPEG_QUALITY = 90
TOP_K = 5


def describe_model() -> str:
    c = VIT_CONFIG
    return (
        f"random-weight ViTForImageClassification, {c['image_size']}x{c['image_size']}, "
        f"patch {c['patch_size']}, "
        f"hidden {c['hidden_size']}, {c['num_hidden_layers']} layers, {c['num_attention_heads']} heads, "
        f"MLP {c['intermediate_size']}, {c['num_labels']} labels"
    )


def save_vit(folder: Path) -> Path:
    """Writes the model (seeded, so every run's weights are the same) and its processor to `folder`."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    labels = {i: f"class_{i:04d}" for i in range(VIT_CONFIG["num_labels"])}
    config = ViTConfig(**VIT_CONFIG, id2label=labels, label2id={v: k for k, v in labels.items()})
    ViTForImageClassification(config).save_pretrained(folder)
    size = VIT_CONFIG["image_size"]
    ViTImageProcessor(size={"height": size, "width": size}).save_pretrained(folder)
    return folder


def jpeg_bytes(index: int) -> bytes:
    """A photo-like JPEG: smooth colour gradients, a few soft shapes and sensor-like noise.

    Flat colours or pure noise would compress far better or worse than a photo; this lands at
    50-100 KB for 640x480 at quality 90, where camera uploads of that size are.
    """
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(index)
    width, height = JPEG_SIZE
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = []
    for c in range(3):
        angle = rng.uniform(0, 2 * np.pi)
        base = 128 + 90 * np.sin((x * np.cos(angle) + y * np.sin(angle)) / rng.uniform(120, 400) + c)
        for _ in range(4):  # soft blobs: the "objects" of the scene
            cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(40, 160)
            base += rng.uniform(-80, 80) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
        channels.append(base)
    pixels = np.stack(channels, axis=-1) + rng.normal(0, 9, (height, width, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def write_jpegs(folder: Path, count: int = JPEG_COUNT) -> list[Path]:
    """`count` distinct JPEGs in `folder`, named image-N.jpg."""
    paths = []
    for index in range(count):
        path = folder / f"image-{index}.jpg"
        path.write_bytes(jpeg_bytes(index))
        paths.append(path)
    return paths


def decode(data: bytes) -> Any:
    """A JPEG's bytes as the RGB PIL image a processor takes: what any serving code must do first."""
    from PIL import Image, ImageOps

    opened = Image.open(io.BytesIO(data))
    opened.load()
    image = ImageOps.exif_transpose(opened)
    return image if image.mode == "RGB" else image.convert("RGB")


def offline() -> None:
    """The model folder is complete and no hub is reachable: a lookup would only add latency."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    """`python benchmarks/image_corpus.py FOLDER`: the model in FOLDER/vit, the JPEGs in FOLDER.

    serve_image.py runs this in a child process, so that the orchestrator never imports torch.
    """
    import sys

    folder = Path(sys.argv[1])
    save_vit(folder / "vit")
    write_jpegs(folder)


if __name__ == "__main__":
    main()
