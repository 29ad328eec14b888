from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes import Runtime
from berth.runtimes.registry import detect
from berth.runtimes.vision import MAX_CANDIDATE_LABELS, NOT_AN_IMAGE, VisionRuntime
from berth.sources.tasks import read_config, task_from_config
from berth.spec import Task
from tests import tiny_vision
from tests.tiny_models import load_runtime, local_model, make_spec

SIZES = ((40, 30), (20, 50), (64, 48))


def noise(size: tuple[int, int], seed: int) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels)


IMAGES = [noise(size, seed) for seed, size in enumerate(SIZES)]
SAME_SIZE = [noise((48, 36), seed) for seed in range(3)]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("tiny-vision")
    return {
        "classifier": tiny_vision.build_image_classifier(root / "classifier"),
        "multi_label": tiny_vision.build_image_classifier(root / "multi-label", multi_label=True),
        "encoder": tiny_vision.build_image_encoder(root / "encoder"),
        "detector": tiny_vision.build_object_detector(root / "detector"),
        "clip": tiny_vision.build_clip(root / "clip"),
    }


def _serve(path: Path, **spec: Any) -> Iterator[Runtime]:
    runtime = load_runtime(path, **spec)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def classifier(folders: dict[str, Path]) -> Iterator[Runtime]:
    yield from _serve(folders["classifier"])


@pytest.fixture(scope="module")
def encoder(folders: dict[str, Path]) -> Iterator[Runtime]:
    yield from _serve(folders["encoder"])


@pytest.fixture(scope="module")
def detector(folders: dict[str, Path]) -> Iterator[Runtime]:
    yield from _serve(folders["detector"])


@pytest.fixture(scope="module")
def clip(folders: dict[str, Path]) -> Iterator[Runtime]:
    yield from _serve(folders["clip"])


# detection of the task from config.json


@pytest.mark.parametrize(
    ("name", "task"),
    [
        ("classifier", Task.IMAGE_CLASSIFICATION),
        ("multi_label", Task.IMAGE_CLASSIFICATION),
        ("encoder", Task.IMAGE_FEATURE_EXTRACTION),
        ("detector", Task.OBJECT_DETECTION),
        ("clip", Task.ZERO_SHOT_IMAGE_CLASSIFICATION),
    ],
)
def test_each_folder_is_detected_as_its_task(folders: dict[str, Path], name: str, task: Task) -> None:
    folder = folders[name]
    assert task_from_config(read_config(folder)) is task
    assert detect(local_model(folder), make_spec(folder)) == (VisionRuntime, task)


# inputs and params


def test_text_and_other_non_images_are_refused_with_a_sentence(classifier: Runtime) -> None:
    with pytest.raises(InvalidInput) as text:
        classifier.validate_input("a cat")
    assert text.value.message == NOT_AN_IMAGE
    with pytest.raises(InvalidInput, match="takes an image, got int"):
        classifier.validate_input(5)
    with pytest.raises(InvalidInput, match=r"the image is empty \(0x0 pixels\)"):
        classifier.validate_input(Image.new("RGB", (0, 0)))


def test_an_image_in_another_mode_is_converted_to_rgb(classifier: Runtime) -> None:
    checked = classifier.validate_input(Image.new("RGBA", (8, 8), (255, 0, 0, 128)))
    assert checked.mode == "RGB"


def test_unknown_params_are_refused(classifier: Runtime, encoder: Runtime) -> None:
    with pytest.raises(InvalidInput, match="unknown parameter 'threshold' for image-classification"):
        classifier.validate_params({"threshold": 0.3})
    with pytest.raises(InvalidInput, match="unknown parameter 'top_k' for image-feature-extraction"):
        encoder.validate_params({"top_k": 1})


def test_every_warmup_input_is_one_the_runtime_takes(
    classifier: Runtime, encoder: Runtime, detector: Runtime, clip: Runtime
) -> None:
    for runtime in (classifier, encoder, detector):
        [result] = runtime.predict([runtime.validate_input(runtime.warmup_input())], {})
        assert result is not None
    assert clip.warmup_input() is None  # it needs labels, so it warms up in load


# image-classification


def test_classification_is_top_5_best_first_as_the_pipeline_says(
    classifier: Runtime, folders: dict[str, Path]
) -> None:
    from transformers import pipeline

    results = classifier.predict(IMAGES, {})
    raw = pipeline("image-classification", model=str(folders["classifier"]), top_k=5)(IMAGES)
    for ours, theirs in zip(results, raw, strict=True):
        assert len(ours) == 5
        assert [r["label"] for r in ours] == [r["label"] for r in theirs]
        np.testing.assert_allclose([r["score"] for r in ours], [r["score"] for r in theirs], atol=1e-5)
        assert all(type(r["score"]) is float for r in ours)


def test_classification_top_k_is_capped_at_the_labels_and_softmax_sums_to_one(classifier: Runtime) -> None:
    [ranked] = classifier.predict(IMAGES[:1], {"top_k": 100})
    assert sorted(r["label"] for r in ranked) == sorted(tiny_vision.IMAGE_LABELS.values())
    assert sum(r["score"] for r in ranked) == pytest.approx(1.0, abs=1e-5)
    [one] = classifier.predict(IMAGES[:1], {"top_k": 1})
    assert one == ranked[:1]
    with pytest.raises(InvalidInput, match="top_k must be a positive integer"):
        classifier.validate_params({"top_k": 0})


def test_a_multi_label_classifier_scores_each_label_with_a_sigmoid(folders: dict[str, Path]) -> None:
    import torch
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    runtime = load_runtime(folders["multi_label"])
    [ranked] = runtime.predict(IMAGES[:1], {"top_k": 7})
    model = AutoModelForImageClassification.from_pretrained(folders["multi_label"]).eval()
    pixels = AutoImageProcessor.from_pretrained(folders["multi_label"])(IMAGES[:1], return_tensors="pt")
    with torch.inference_mode():
        expected = model(**pixels).logits.sigmoid()[0].numpy()
    labels = tiny_vision.IMAGE_LABELS
    scores = {r["label"]: r["score"] for r in ranked}
    np.testing.assert_allclose([scores[labels[i]] for i in range(len(labels))], expected, atol=1e-5)
    assert sum(scores.values()) != pytest.approx(1.0, abs=1e-3)
    runtime.close()


def test_classification_batch_equals_single(classifier: Runtime) -> None:
    batch = classifier.predict(IMAGES, {"top_k": 3})
    for image, result in zip(IMAGES, batch, strict=True):
        [single] = classifier.predict([image], {"top_k": 3})
        assert [r["label"] for r in single] == [r["label"] for r in result]
        np.testing.assert_allclose([r["score"] for r in single], [r["score"] for r in result], atol=1e-5)


# object-detection


def test_detection_boxes_are_whole_pixels_inside_each_image_best_first(detector: Runtime) -> None:
    results = detector.predict(IMAGES, {"threshold": 0.0})
    for image, objects in zip(IMAGES, results, strict=True):
        assert len(objects) == tiny_vision.DETR_QUERIES
        scores = [o["score"] for o in objects]
        assert scores == sorted(scores, reverse=True)
        for found in objects:
            assert found["label"] in tiny_vision.DETECTION_LABELS.values()
            box = found["box"]
            assert all(type(v) is int for v in box.values())
            assert 0 <= box["xmin"] <= box["xmax"] <= image.width
            assert 0 <= box["ymin"] <= box["ymax"] <= image.height


def test_detection_agrees_with_the_pipeline(detector: Runtime, folders: dict[str, Path]) -> None:
    from transformers import pipeline

    # one image at a time, as the pipeline runs them: a mixed batch is padded (see the batch test)
    ours = [detector.predict([image], {"threshold": 0.0})[0] for image in IMAGES]
    raw = pipeline("object-detection", model=str(folders["detector"]))(IMAGES, threshold=0.0)
    for objects, theirs, image in zip(ours, raw, IMAGES, strict=True):
        theirs = sorted(theirs, key=lambda o: -o["score"])
        np.testing.assert_allclose([o["score"] for o in objects], [o["score"] for o in theirs], atol=1e-5)
        assert [o["label"] for o in objects] == [o["label"] for o in theirs]
        for mine, other in zip(objects, theirs, strict=True):  # the pipeline truncates and does not clamp
            limits = {"xmin": image.width, "xmax": image.width, "ymin": image.height, "ymax": image.height}
            for key, value in mine["box"].items():
                assert abs(value - min(max(other["box"][key], 0), limits[key])) <= 1


def test_detection_threshold_filters_and_is_checked(detector: Runtime) -> None:
    everything = detector.predict(IMAGES[:1], {"threshold": 0.0})[0]
    middle = sorted(o["score"] for o in everything)[len(everything) // 2]
    kept = detector.predict(IMAGES[:1], {"threshold": middle})[0]
    assert kept
    assert all(o["score"] > middle for o in kept)
    assert len(kept) < len(everything)
    assert detector.predict(IMAGES[:1], {"threshold": 1.0}) == [[]]
    for bad in (1.5, -0.1, "high", True):
        with pytest.raises(InvalidInput, match="threshold must be a number from 0 to 1"):
            detector.validate_params({"threshold": bad})


def test_detection_batch_equals_single(detector: Runtime) -> None:
    # NOTE: images of one size: the processor pads a mixed batch, and the backbone sees the padding
    batch = detector.predict(SAME_SIZE, {"threshold": 0.0})
    for image, objects in zip(SAME_SIZE, batch, strict=True):
        [single] = detector.predict([image], {"threshold": 0.0})
        assert [o["box"] for o in single] == [o["box"] for o in objects]
        np.testing.assert_allclose([o["score"] for o in single], [o["score"] for o in objects], atol=1e-5)


# image-feature-extraction


def test_embeddings_are_the_pooler_output(encoder: Runtime, folders: dict[str, Path]) -> None:
    import torch
    from transformers import AutoImageProcessor, ViTModel

    vectors = encoder.predict(IMAGES, {})
    model = ViTModel.from_pretrained(folders["encoder"]).eval()
    pixels = AutoImageProcessor.from_pretrained(folders["encoder"])(IMAGES, return_tensors="pt")
    with torch.inference_mode():
        expected = model(**pixels).pooler_output.numpy()
    assert all(v.dtype == np.float32 and v.shape == (32,) for v in vectors)
    np.testing.assert_allclose(np.stack(vectors), expected, atol=1e-5)
    assert encoder.signature().outputs[0].shape == (-1, 32)
    assert encoder.signature().outputs[0].datatype == "FP32"


def test_an_encoder_saved_without_its_pooler_embeds_with_the_first_token(tmp_path: Path) -> None:
    import torch
    from transformers import AutoImageProcessor, ViTConfig, ViTModel

    folder = tiny_vision.build_image_encoder(tmp_path / "no-pooler")
    bare = ViTModel(ViTConfig.from_pretrained(folder), add_pooling_layer=False).eval()
    bare.save_pretrained(folder)  # as DINO and MAE checkpoints are: no pooler weights
    runtime = load_runtime(folder)
    [vector] = runtime.predict(IMAGES[:1], {})
    pixels = AutoImageProcessor.from_pretrained(folder)(IMAGES[:1], return_tensors="pt")
    with torch.inference_mode():
        expected = bare(**pixels).last_hidden_state[0, 0].numpy()
    np.testing.assert_allclose(vector, expected, atol=1e-5)
    runtime.close()


def test_a_clip_model_served_for_embeddings_gives_its_projected_image_features(
    folders: dict[str, Path],
) -> None:
    runtime = load_runtime(folders["clip"], task="image-feature-extraction")
    vectors = runtime.predict(IMAGES, {})
    assert runtime.signature().outputs[0].shape == (-1, 16)  # the projection, not the hidden size
    assert all(v.shape == (16,) for v in vectors)
    runtime.close()


def test_embedding_batch_equals_single(encoder: Runtime) -> None:
    batch = encoder.predict(IMAGES, {})
    for image, vector in zip(IMAGES, batch, strict=True):
        np.testing.assert_allclose(encoder.predict([image], {})[0], vector, atol=1e-5)


# zero-shot-image-classification


def _clip_scores(folder: Path, images: list[Image.Image], texts: list[str]) -> np.ndarray:
    import torch
    from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel

    model = CLIPModel.from_pretrained(folder).eval()
    text = AutoTokenizer.from_pretrained(folder)(texts, padding=True, return_tensors="pt")
    pixels = AutoImageProcessor.from_pretrained(folder)(images, return_tensors="pt")["pixel_values"]
    with torch.inference_mode():
        logits = model(
            input_ids=text["input_ids"], attention_mask=text["attention_mask"], pixel_values=pixels
        ).logits_per_image
    scores: np.ndarray = logits.softmax(dim=-1).numpy()
    return scores


def test_zero_shot_scores_every_label_as_clip_does(clip: Runtime, folders: dict[str, Path]) -> None:
    labels = ["cat", "dog", "a red car"]
    results = clip.predict(IMAGES, {"candidate_labels": labels})
    expected = _clip_scores(folders["clip"], IMAGES, [f"a photo of {label}." for label in labels])
    for ranked, row in zip(results, expected, strict=True):
        scores = [r["score"] for r in ranked]
        assert scores == sorted(scores, reverse=True)
        assert sum(scores) == pytest.approx(1.0, abs=1e-5)
        by_label = {r["label"]: r["score"] for r in ranked}
        np.testing.assert_allclose([by_label[label] for label in labels], row, atol=1e-5)


def test_zero_shot_uses_the_hypothesis_template(clip: Runtime, folders: dict[str, Path]) -> None:
    labels = ["cat", "dog"]
    [ranked] = clip.predict(IMAGES[:1], {"candidate_labels": labels, "hypothesis_template": "{} here"})
    [row] = _clip_scores(folders["clip"], IMAGES[:1], ["cat here", "dog here"])
    by_label = {r["label"]: r["score"] for r in ranked}
    np.testing.assert_allclose([by_label["cat"], by_label["dog"]], row, atol=1e-5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "candidate_labels is required"),
        ({"candidate_labels": []}, "must be a non-empty list of strings"),
        ({"candidate_labels": "cat"}, "must be a non-empty list of strings"),
        ({"candidate_labels": ["cat", ""]}, "must hold non-empty strings, got ''"),
        ({"candidate_labels": ["cat", 3]}, "must hold non-empty strings, got 3"),
        ({"candidate_labels": ["cat", "dog", "cat"]}, "names 'cat' more than once"),
        (
            {"candidate_labels": [f"l{i}" for i in range(MAX_CANDIDATE_LABELS + 1)]},
            f"send at most {MAX_CANDIDATE_LABELS}",
        ),
        ({"candidate_labels": ["cat"], "hypothesis_template": "a photo"}, "hypothesis_template must be"),
    ],
)
def test_bad_zero_shot_params_are_refused(clip: Runtime, params: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        clip.validate_params(params)
    with pytest.raises(InvalidInput, match=message):
        clip.predict(IMAGES[:1], params)


def test_zero_shot_batch_equals_single(clip: Runtime) -> None:
    params = {"candidate_labels": ["cat", "dog", "bird"]}
    batch = clip.predict(IMAGES, params)
    for image, ranked in zip(IMAGES, batch, strict=True):
        [single] = clip.predict([image], params)
        assert [r["label"] for r in single] == [r["label"] for r in ranked]
        np.testing.assert_allclose([r["score"] for r in single], [r["score"] for r in ranked], atol=1e-5)


def test_zero_shot_needs_a_model_with_a_text_tower(folders: dict[str, Path]) -> None:
    with pytest.raises(UnsupportedModel, match="no text tower"):
        load_runtime(folders["encoder"], task="zero-shot-image-classification")


# signatures


def test_signatures_take_an_image_and_name_their_outputs(
    classifier: Runtime, detector: Runtime, clip: Runtime
) -> None:
    for runtime, output in ((classifier, "classes"), (detector, "objects"), (clip, "classes")):
        signature = runtime.signature()
        [image] = signature.inputs
        assert (image.name, image.datatype, image.shape, image.content) == ("image", "BYTES", (-1,), "image")
        [out] = signature.outputs
        assert (out.name, out.datatype, out.shape) == (output, "BYTES", (-1,))
