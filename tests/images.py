"""Images built in the tests with Pillow: each with a property a test can check independently."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

RED = (255, 0, 0)
BLUE = (0, 0, 255)
EXIF_ORIENTATION = 0x0112


def encode(image: Image.Image, format: str = "PNG", **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def png(size: tuple[int, int] = (4, 3), mode: str = "RGB", color: Any = RED) -> bytes:
    return encode(Image.new(mode, size, color))


def rotated_jpeg() -> bytes:
    """A 40x20 JPEG, red with a blue left edge, whose EXIF says "rotate 90 degrees clockwise to show".

    Shown upright it is 20x40 with the blue edge along the top: the top-left pixel is blue.
    """
    image = Image.new("RGB", (40, 20), RED)
    image.paste(BLUE, (0, 0, 10, 20))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    return encode(image, "JPEG", exif=exif.tobytes(), quality=95)


def bomb(side: int = 8000) -> bytes:
    """A PNG of a few kB that decodes to side x side pixels (64 M by default): a decompression bomb."""
    return encode(Image.new("1", (side, side)))


def dominant(pixel: list[int]) -> str:
    """Which of red, green, blue a (lossy) RGB pixel mostly is."""
    return "rgb"[max(range(3), key=lambda channel: pixel[channel])]
