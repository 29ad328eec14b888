"""Python predictors (`module:Class` sources) that the worker's integration tests serve."""

from __future__ import annotations

import json
import struct
import time
from typing import Any

import numpy as np
from PIL import Image

from berth.runtimes import Audio, TensorSpec
from tests.sounds import peak_hz, rms


class SlowEcho:
    """Echoes each input upper-cased; `"sleep:S"` holds its batch S seconds, `"crash"` raises."""

    def setup(self) -> None:
        self.calls = 0

    def predict(self, batch: list[Any]) -> list[Any]:
        self.calls += 1
        for item in batch:
            if item == "crash":
                raise RuntimeError("predictor crashed on purpose")
            if isinstance(item, str) and item.startswith("sleep:"):
                time.sleep(float(item.split(":", 1)[1]))
        return [item.upper() if isinstance(item, str) else item for item in batch]


class BrokenAtLoad:
    """A predictor whose setup fails, as a model with missing files would."""

    def setup(self) -> None:
        raise RuntimeError("weights file missing")

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch


class RowStats:
    """FP32 rows of four in; each row's sum and the row scaled by `scale` (a request parameter) out."""

    inputs = [TensorSpec("features", "FP32", (-1, 4))]
    outputs = [TensorSpec("sum", "FP32", (-1,)), TensorSpec("scaled", "FP32", (-1, 4))]

    def predict(self, batch: list[np.ndarray], params: dict[str, Any]) -> list[dict[str, Any]]:
        if set(params) - {"scale"}:
            raise ValueError(f"RowStats takes only the parameter 'scale', got {sorted(params)}")
        scale = float(params.get("scale", 2.0))
        return [{"sum": row.sum(dtype=np.float32), "scaled": row * np.float32(scale)} for row in batch]


class PairJoiner:
    """Two named BYTES inputs per item: joins `left` and `right` with a space."""

    inputs = [TensorSpec("left", "BYTES", (-1,)), TensorSpec("right", "BYTES", (-1,))]
    outputs = [TensorSpec("joined", "BYTES", (-1,))]

    def predict(self, batch: list[dict[str, str]]) -> list[str]:
        return [f"{item['left']} {item['right']}" for item in batch]


class GlbMaker:
    """An image in, a GLB-like binary file out (`model/gltf-binary`), as an image-to-3D model answers.

    The file is GLB's 12-byte header (magic `glTF`, version 2, total length) and one JSON chunk naming
    the image's size and mode, so a test can check both the framing and that the image arrived whole.
    """

    inputs = [TensorSpec("image", "BYTES", (-1,), content="image")]
    outputs = [TensorSpec("mesh", "BYTES", (-1,), content="file", media_type="model/gltf-binary")]

    def predict(self, batch: list[Image.Image]) -> list[bytes]:
        return [glb({"size": list(image.size), "mode": image.mode}) for image in batch]


def glb(document: dict[str, Any]) -> bytes:
    """A minimal GLB 2.0 file: header and one JSON chunk (padded with spaces to 4 bytes)."""
    chunk = json.dumps(document).encode()
    chunk += b" " * (-len(chunk) % 4)
    total = 12 + 8 + len(chunk)
    return b"glTF" + struct.pack("<II", 2, total) + struct.pack("<I", len(chunk)) + b"JSON" + chunk


class ImageInfo:
    """Reports the size, mode and top-left pixel of the image it got (converted to RGB)."""

    inputs = [TensorSpec("image", "BYTES", (-1,), content="image")]

    def predict(self, batch: list[Image.Image]) -> list[dict[str, Any]]:
        return [{"size": list(i.size), "mode": i.mode, "top_left": _pixel(i)} for i in batch]


class Detector:
    """Answers in object detection's shape from the image's own size: a "left half" box scored 0.9 and a
    "bottom-right quarter" box scored 0.3, each kept when its score reaches the `threshold` (0.5)."""

    inputs = [TensorSpec("image", "BYTES", (-1,), content="image")]

    def predict(self, batch: list[Image.Image], params: dict[str, Any]) -> list[list[dict[str, Any]]]:
        threshold = float(params.get("threshold", 0.5))
        answers = []
        for image in batch:
            w, h = image.size
            found = [
                {"label": "left half", "score": 0.9, "box": _box(0, 0, w // 2, h)},
                {"label": "bottom-right quarter", "score": 0.3, "box": _box(w // 2, h // 2, w, h)},
            ]
            answers.append([item for item in found if item["score"] >= threshold])
        return answers


def _box(xmin: int, ymin: int, xmax: int, ymax: int) -> dict[str, int]:
    return {"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax}


def _pixel(image: Image.Image) -> Any:
    pixel: Any = image.getpixel((0, 0))
    return list(pixel)


class ImageModes(ImageInfo):
    """ImageInfo, but the image keeps the mode it was decoded in (`image_mode=None`)."""

    inputs = [TensorSpec("image", "BYTES", (-1,), content="image", image_mode=None)]

    def predict(self, batch: list[Image.Image]) -> list[dict[str, Any]]:
        return [{"size": list(image.size), "mode": image.mode} for image in batch]


class FileEcho:
    """Returns each file it is sent, unchanged, as `application/octet-stream`."""

    inputs = [TensorSpec("file", "BYTES", (-1,), content="file")]
    outputs = [TensorSpec("file", "BYTES", (-1,), content="file", media_type="application/octet-stream")]

    def predict(self, batch: list[bytes]) -> list[bytes]:
        return batch


class Swatch:
    """A colour name in, a 3x2 PIL image of that colour out (PNG, since it declares no media type)."""

    def predict(self, batch: list[str]) -> list[Image.Image]:
        return [Image.new("RGB", (3, 2), color) for color in batch]


class ShowParams:
    """Answers, for each input, its Python type's name and the request parameters it came with."""

    def predict(self, batch: list[Any], params: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"type": type(item).__name__, "params": params} for item in batch]


class AudioInfo:
    """One audio input at 16 kHz; reports what arrived: samples, rate, seconds, RMS and FFT peak."""

    inputs = [TensorSpec("audio", "BYTES", (-1,), content="audio", sample_rate=16_000)]

    def predict(self, batch: list[Audio]) -> list[dict[str, Any]]:
        return [_audio_facts(audio) for audio in batch]


def _audio_facts(audio: Audio) -> dict[str, Any]:
    samples = audio.samples
    return {
        "type": f"{type(samples).__name__} {samples.dtype} {samples.ndim}-D",
        "samples": len(samples),
        "rate": audio.sample_rate,
        "seconds": audio.seconds,
        "rms": rms(samples),
        "peak_hz": peak_hz(samples, audio.sample_rate),
    }
