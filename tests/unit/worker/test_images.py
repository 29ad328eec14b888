"""Decoding an image input: upright, in the declared mode, and never past the pixel limit."""

from __future__ import annotations

import pytest
from PIL import Image

from berth.errors import InvalidInput, PayloadTooLarge
from berth.worker.images import decode_image
from tests.images import bomb, dominant, png, rotated_jpeg

LIMIT = 40_000_000


def test_exif_orientation_is_applied_and_the_mode_converted() -> None:
    image = decode_image(rotated_jpeg(), "body", LIMIT, "RGB")
    assert image.size == (20, 40)  # stored 40x20, shown rotated a quarter turn
    assert dominant(list(image.getpixel((0, 0)))) == "b"
    assert decode_image(png(mode="L", color=7), "body", LIMIT, "RGB").getpixel((0, 0)) == (7, 7, 7)
    assert decode_image(png(mode="LA", color=(7, 9)), "body", LIMIT, None).mode == "LA"


def test_a_bomb_is_refused_from_its_header_before_any_pixel_is_decoded() -> None:
    data = bomb()
    assert len(data) < 20_000
    with pytest.raises(PayloadTooLarge, match=r"field: the image is 8000x8000 = 64000000 pixels"):
        decode_image(data, "field", LIMIT, "RGB")


def test_a_limit_above_pillows_own_is_the_one_that_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored afterwards
    side = 10_000  # 100 M pixels: past Pillow's default MAX_IMAGE_PIXELS, whose warning is an error here
    assert Image.MAX_IMAGE_PIXELS is not None
    assert side * side > Image.MAX_IMAGE_PIXELS
    assert decode_image(bomb(side), "field", 150_000_000, None).size == (side, side)
    with pytest.raises(PayloadTooLarge, match=r"limits\.max_image_pixels"):
        decode_image(bomb(side), "field", 99_999_999, None)


@pytest.mark.parametrize("data", [b"", b"GIF89a not really", png()[:40]])
def test_what_is_not_an_image_is_422_naming_the_field(data: bytes) -> None:
    with pytest.raises(InvalidInput, match=r"^form field 'f': not a decodable image \("):
        decode_image(data, "form field 'f'", LIMIT, "RGB")
