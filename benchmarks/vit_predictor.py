"""The image benchmark's model code: a ViT classifier as a berth Python predictor, and the same
pipeline (processor, model, top 5) that the raw in-process baseline calls.

Image classification is not one of berth's built-in tasks, so a Python predictor is how berth serves
one: it declares one image input (berth decodes the upload to an RGB PIL image off the event loop)
and returns a top-5 list of {label, score} per image. The raw side (`raw_vit.py`) calls the very
same `Classifier`, so the benchmark compares serving with no serving, not two pieces of model code.

    spec: {name: vit, model: {source: "benchmarks.vit_predictor:ViTClassifier"},
           env: {BERTH_BENCH_VIT: /tmp/folder-made-by-image_corpus.save_vit}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from berth.runtimes import PredictorContext, TensorSpec

FOLDER_ENV = "BERTH_BENCH_VIT"  # the spec's env key naming the saved model folder


class Classifier:
    """A saved ViTForImageClassification and its processor: RGB images in, top-k {label, score} out."""

    def __init__(self, folder: str | Path, device: str = "cpu", top_k: int = 5) -> None:
        from transformers import ViTForImageClassification, ViTImageProcessor

        self.processor = ViTImageProcessor.from_pretrained(folder)
        # from_pretrained returns the model in eval mode (no dropout)
        self.model = ViTForImageClassification.from_pretrained(folder).to(device)
        self.device, self.top_k = device, top_k
        self.labels = self.model.config.id2label

    def __call__(self, images: list[Any]) -> list[list[dict[str, Any]]]:
        import torch

        with torch.inference_mode():
            pixels = self.processor(images=images, return_tensors="pt")["pixel_values"].to(self.device)
            scores, indices = self.model(pixel_values=pixels).logits.softmax(-1).topk(self.top_k, dim=-1)
        return [
            [{"label": self.labels[int(i)], "score": float(s)} for s, i in zip(row_s, row_i, strict=True)]
            for row_s, row_i in zip(scores.tolist(), indices.tolist(), strict=True)
        ]


class ViTClassifier:
    """berth's side: one image input, a top-5 output, the model folder from the spec's env."""

    inputs = [TensorSpec("image", "BYTES", (-1,), content="image")]
    outputs = [TensorSpec("top5", "BYTES", (-1, 5))]

    def setup(self, context: PredictorContext) -> None:
        folder = context.env.get(FOLDER_ENV)
        if not folder:
            raise RuntimeError(f"set env.{FOLDER_ENV} in the spec to the saved ViT folder")
        self.classify = Classifier(folder, device=context.device)

    def predict(self, batch: list[Any]) -> list[list[dict[str, Any]]]:
        return self.classify(batch)
