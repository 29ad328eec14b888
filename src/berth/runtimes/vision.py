"""Images in: classification, object detection, embeddings, zero-shot classification.

NOTE: a placeholder until this task family is built; it refuses to load.
"""

from __future__ import annotations

from typing import Any

from berth.errors import UnsupportedModel
from berth.runtimes.base import Params, Runtime, Signature
from berth.spec import Task


class VisionRuntime(Runtime):
    name = "transformers"
    tasks = frozenset(
        {
            Task.IMAGE_CLASSIFICATION,
            Task.OBJECT_DETECTION,
            Task.IMAGE_FEATURE_EXTRACTION,
            Task.ZERO_SHOT_IMAGE_CLASSIFICATION,
        }
    )

    def load(self) -> None:
        raise UnsupportedModel(f"berth cannot serve {self.task} yet")

    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        raise UnsupportedModel(f"berth cannot serve {self.task} yet")

    def signature(self) -> Signature:
        return Signature(inputs=(), outputs=())
