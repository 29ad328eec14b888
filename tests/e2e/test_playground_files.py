"""The playground with files: picker and drop zone for image models, an image answer shown, a mesh downloaded,
detection boxes drawn over the uploaded image.

Real control plane, real workers running `tests/predictors.py`, Debian's chromium. Each image is built
here with Pillow, and each answer is checked against what the image itself is (its size, its colour)
or against the same request made over HTTP without the browser.
"""

from __future__ import annotations

import base64
import io
import json
import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from tests.e2e.conftest import ConsoleLog, failed_load
from tests.images import BLUE, RED, png
from tests.integration.conftest import ControlPlaneProcess

if TYPE_CHECKING:
    from playwright.sync_api import FilePayload, JSHandle, Locator, LocatorAssertions, Page

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SPECS: dict[str, dict[str, Any]] = {
    "imageinfo": {"model": {"source": "tests.predictors:ImageInfo"}, "limits": {"max_image_pixels": 1000}},
    "glbmaker": {"model": {"source": "tests.predictors:GlbMaker"}},
    "swatch": {"model": {"source": "tests.predictors:Swatch"}},
    "detector": {"model": {"source": "tests.predictors:Detector"}, "task": "object-detection"},
}
DROP_LABEL = re.compile(r"^Input file: drop an image")


def expect(locator: Locator) -> LocatorAssertions:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def deployed(plane: ControlPlaneProcess, name: str) -> ControlPlaneProcess:
    """`plane` with the predictor `name` deployed and ready (its signature recorded)."""
    accepted = plane.api.post("/api/v1/deploy", json={"name": name, **SPECS[name]})
    assert accepted.status_code == 202, accepted.text
    deployment = plane.wait_state(name, "ready", "failed", timeout_s=120)
    assert deployment["state"] == "ready", f"{deployment}\n{plane.worker_log(name)[-3000:]}"
    return plane


def upload(name: str, data: bytes, mime: str = "image/png") -> FilePayload:
    return {"name": name, "mimeType": mime, "buffer": data}


def drop(page: Page, zone: Locator, name: str, data: bytes, mime: str = "image/png") -> None:
    """Drop a file on `zone` as a user dragging it from the desktop would (dragenter, dragover, drop)."""
    transfer: JSHandle = page.evaluate_handle(
        """([b64, name, type]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type }));
            return transfer;
        }""",
        [base64.b64encode(data).decode(), name, mime],
    )
    for event in ("dragenter", "dragover", "drop"):
        zone.dispatch_event(event, {"dataTransfer": transfer})


def send(page: Page) -> dict[str, Any]:
    """Press Send and read the JSON answer the page prints."""
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_test_id("latency")).to_contain_text("round trip")
    answer: dict[str, Any] = json.loads(page.get_by_test_id("result-json").inner_text())
    return answer


def image_pixel(page: Page, image: Locator) -> dict[str, Any]:
    """The shown image's natural size and top-left pixel, read back through a canvas."""
    expect(image).to_be_visible()
    image.evaluate("(img) => img.decode()")
    facts: dict[str, Any] = image.evaluate(
        """(img) => {
            const canvas = document.createElement("canvas");
            canvas.width = img.naturalWidth;
            canvas.height = img.naturalHeight;
            const context = canvas.getContext("2d");
            context.drawImage(img, 0, 0);
            const [r, g, b] = context.getImageData(0, 0, 1, 1).data;
            return { size: [img.naturalWidth, img.naturalHeight], pixel: [r, g, b] };
        }"""
    )
    return facts


def test_image_by_picker_and_by_drop_then_refusals(
    control_plane: ControlPlaneProcess, page: Page, console: ConsoleLog, shots: Path
) -> None:
    plane = deployed(control_plane, "imageinfo")
    # NOTE: a listener from the start: Playwright turns file-chooser interception on asynchronously when
    # the first one is added, and a chooser opened before that is cancelled unseen (a flaky timeout).
    page.on("filechooser", lambda _chooser: None)
    page.goto(f"{plane.url}/deployments/imageinfo")
    picker = page.get_by_label(DROP_LABEL)
    expect(picker).to_have_attribute("accept", "image/*")
    expect(page.get_by_label(re.compile("^Input text"))).to_have_count(0)  # one image input: no textarea

    # The zone shows the focus ring when the (visually hidden) input has the keyboard's focus.
    zone = page.get_by_test_id("file-drop")
    assert zone.evaluate("(zone) => getComputedStyle(zone).outlineStyle") == "none"
    picker.focus()
    assert zone.evaluate("(zone) => getComputedStyle(zone).outlineStyle") == "solid"

    # Send with nothing chosen: a sentence saying what to do, and no request.
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile(r"^Choose or drop an image .* first"))

    # By the picker: a 4x3 red PNG, previewed, then answered by the model.
    red = png((4, 3), color=RED)
    picker.set_input_files(upload("red.png", red))
    expect(page.get_by_test_id("chosen-file")).to_have_text(f"red.png (image/png, {len(red)} B)")
    assert image_pixel(page, page.get_by_alt_text("Preview of red.png")) == {
        "size": [4, 3],
        "pixel": list(RED),
    }
    answer = send(page)
    assert answer["result"] == [{"size": [4, 3], "mode": "RGB", "top_left": list(RED)}]
    page.screenshot(path=shots / "40-playground-image-input.png", full_page=True)

    # By a drop: a 5x2 blue PNG replaces it.
    drop(page, zone, "blue.png", png((5, 2), color=BLUE))
    expect(page.get_by_test_id("chosen-file")).to_contain_text("blue.png")
    answer = send(page)
    assert answer["result"] == [{"size": [5, 2], "mode": "RGB", "top_left": list(BLUE)}]

    # Not an image: the worker's 422, in one sentence naming the field.
    drop(page, zone, "notes.txt", b"these are notes, not pixels", "text/plain")
    page.get_by_role("button", name="Send").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The input was not accepted: form field 'file': not a decodable image")
    expect(page.get_by_test_id("result-json")).to_have_count(0)

    # From the keyboard: Enter on the focused picker opens the file chooser. The file chosen is over
    # limits.max_image_pixels (1000 here): the 413, saying what to send instead.
    picker.focus()
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files(upload("big.png", png((40, 40))))
    expect(page.get_by_test_id("chosen-file")).to_contain_text("big.png")
    page.get_by_role("button", name="Send").click()
    expect(alert).to_contain_text("Too large:")
    expect(alert).to_contain_text("send a smaller image")
    page.screenshot(path=shots / "43-playground-too-large.png", full_page=True)
    console.assert_clean(failed_load(413, 422))


def glb_json(data: bytes) -> dict[str, Any]:
    """The JSON chunk of a GLB file, after checking its header (magic, version 2, total length)."""
    assert data[:4] == b"glTF"
    assert struct.unpack("<II", data[4:12]) == (2, len(data))
    (length,) = struct.unpack("<I", data[12:16])
    assert data[16:20] == b"JSON"
    document: dict[str, Any] = json.loads(data[20 : 20 + length])
    return document


def test_a_mesh_answer_is_a_download_in_json_and_raw(
    control_plane: ControlPlaneProcess, page: Page, console: ConsoleLog, shots: Path
) -> None:
    plane = deployed(control_plane, "glbmaker")
    page.goto(f"{plane.url}/deployments/glbmaker")
    page.get_by_label(DROP_LABEL).set_input_files(upload("chair.png", png((7, 5))))

    answer = send(page)
    [mesh] = answer["result"]
    assert mesh["media_type"] == "model/gltf-binary"
    assert mesh["data"].endswith("bytes in all)")  # printed cut short; the link carries the file
    link = page.get_by_role("link", name="Download glbmaker-result-0.glb")
    with page.expect_download() as json_download:
        link.click()
    from_json = json_download.value.path().read_bytes()
    assert glb_json(from_json) == {"size": [7, 5], "mode": "RGB"}
    expect(page.get_by_test_id("binary-facts")).to_have_text(
        f"result[0]: model/gltf-binary, {len(from_json)} B"
    )
    expect(page.locator(".result-image")).to_have_count(0)  # a mesh is not drawn as an image
    page.screenshot(path=shots / "41-playground-mesh-download.png", full_page=True)

    # Raw: the same file as the worker's own bytes (?format=raw), no JSON.
    page.get_by_label(re.compile(r"^Ask for the raw model/gltf-binary bytes")).check()
    page.get_by_role("button", name="Send").click()
    with page.expect_download() as raw_download:
        page.get_by_role("link", name="Download glbmaker-result.glb").click()
    assert raw_download.value.path().read_bytes() == from_json
    expect(page.get_by_test_id("result-json")).to_have_count(0)
    console.assert_clean()


def test_an_image_answer_is_shown_inline(
    control_plane: ControlPlaneProcess, page: Page, console: ConsoleLog, shots: Path
) -> None:
    plane = deployed(control_plane, "swatch")
    page.goto(f"{plane.url}/deployments/swatch")
    page.get_by_label(re.compile("^Input text")).fill("blue")  # a text input: the textarea, as before
    send(page)
    image = page.get_by_alt_text("The model's image (result[0])")
    assert image_pixel(page, image) == {"size": [3, 2], "pixel": list(BLUE)}
    # the same PNG the route gives without the browser, byte for byte in size
    direct = plane.api.post("/api/v1/deployments/swatch/inference?format=raw", json={"text": "blue"})
    assert Image.open(io.BytesIO(direct.content)).size == (3, 2)
    expect(page.get_by_test_id("binary-facts")).to_have_text(f"result[0]: image/png, {len(direct.content)} B")
    expect(page.get_by_role("link", name="Download swatch-result-0.png")).to_be_visible()
    page.screenshot(path=shots / "42-playground-image-answer.png", full_page=True)
    console.assert_clean()


def test_detections_are_drawn_over_the_uploaded_image(
    control_plane: ControlPlaneProcess, page: Page, console: ConsoleLog, shots: Path
) -> None:
    plane = deployed(control_plane, "detector")
    assert plane.deployment("detector")["signature"]["task"] == "object-detection"  # what the worker serves
    page.goto(f"{plane.url}/deployments/detector")
    threshold = page.get_by_label(re.compile(r"^Threshold"))  # the task's own parameter
    expect(threshold).to_have_value("0.5")
    page.get_by_label(DROP_LABEL).set_input_files(upload("wide.png", png((40, 20), color=BLUE)))

    def drawn() -> list[dict[str, float]]:
        """Each box's place in percent of the image as shown, measured in the page."""
        image = page.get_by_alt_text(re.compile(r"^wide\.png with \d+ detected object"))
        expect(image).to_be_visible()
        frame = image.bounding_box()
        assert frame is not None
        assert frame["width"] > 40  # shown larger than its 40 pixels: the boxes must scale with it
        places = []
        for box in page.get_by_test_id("detection-box").all():
            rect = box.bounding_box()
            assert rect is not None
            places.append(
                {
                    "left": round((rect["x"] - frame["x"]) / frame["width"] * 100),
                    "top": round((rect["y"] - frame["y"]) / frame["height"] * 100),
                    "width": round(rect["width"] / frame["width"] * 100),
                    "height": round(rect["height"] / frame["height"] * 100),
                }
            )
        return places

    answer = send(page)
    box = {"xmin": 0, "ymin": 0, "xmax": 20, "ymax": 20}
    assert answer["result"] == [[{"label": "left half", "score": 0.9, "box": box}]]
    expect(page.get_by_test_id("detection-box")).to_have_count(1)
    assert drawn() == [{"left": 0, "top": 0, "width": 50, "height": 100}]
    expect(page.get_by_test_id("detection-box")).to_have_text("left half 90.0 %")

    # A lower threshold goes to the model as a parameter beside the file, and its second box is drawn.
    threshold.fill("0.2")
    send(page)
    expect(page.get_by_test_id("detection-box")).to_have_count(2)
    assert drawn()[1] == {"left": 50, "top": 50, "width": 50, "height": 50}
    expect(page.get_by_test_id("detection-box").nth(1)).to_have_text("bottom-right quarter 30.0 %")
    page.screenshot(path=shots / "44-playground-detections.png", full_page=True)
    console.assert_clean()
