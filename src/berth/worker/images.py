"""Image inputs: encoded bytes to the `PIL.Image.Image` a predictor declared, safely.

Decoding is CPU work (tens of ms for a photo), so the protocols run `decode_image` in a thread, never
on the event loop. The decoded size is checked from the file's header, before Pillow allocates any
pixels, against `limits.max_image_pixels`: a small file that claims a huge image (a decompression
bomb) is a 413, never an out-of-memory kill. EXIF orientation is applied (a phone's portrait photo
reaches the model upright), then the image is converted to the declared mode (RGB by default).
Pixels that arrive as an array (a V2 `UINT8 [N, H, W, C]` tensor) go through `image_from_array`,
under the same limit and into the same mode.
"""

from __future__ import annotations

import io
from typing import Any

from berth.errors import InvalidInput, PayloadTooLarge


def decode_image(data: bytes, field: str, max_pixels: int, mode: str | None) -> Any:
    """`data` as a loaded PIL image in `mode` (None: as decoded); 413 past `max_pixels`, 422 if it is none."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    # NOTE: Pillow has its own bomb check, a process-wide MAX_IMAGE_PIXELS (about 89 M): a warning past
    # it, an error past twice that. It is raised to this deployment's limit when lower, so it fires only
    # on images refused anyway; `catch_warnings` would do it per call, but is not thread-safe.
    if Image.MAX_IMAGE_PIXELS is not None and max_pixels > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        opened = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # a warning raised as an error
        raise _too_many(field, f"more than {max_pixels}", max_pixels) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(f"{field}: not a decodable image ({_reason(exc)})") from None
    width, height = opened.size
    if width * height > max_pixels:
        raise _too_many(field, f"{width}x{height} = {width * height}", max_pixels)
    try:
        opened.load()
        image = ImageOps.exif_transpose(opened)
        if mode is not None and image.mode != mode:
            image = image.convert(mode)
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidInput(f"{field}: not a decodable image ({_reason(exc)})") from None
    return image


def image_from_array(pixels: Any, field: str, max_pixels: int, mode: str | None) -> Any:
    """An `[H, W, C]` uint8 array (C 1, 3 or 4) as a PIL image in `mode`; 413 past `max_pixels`."""
    from PIL import Image

    height, width, channels = pixels.shape
    if width * height > max_pixels:
        raise _too_many(field, f"{width}x{height} = {width * height}", max_pixels)
    image = Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels)
    if mode is not None and image.mode != mode:
        image = image.convert(mode)
    return image


def _too_many(field: str, pixels: str, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{field}: the image is {pixels} pixels; this deployment decodes at most {limit} "
        "(limits.max_image_pixels): send a smaller image"
    )


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
