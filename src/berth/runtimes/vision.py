"""Images in: classification, object detection, embeddings, zero-shot classification.

Each batch is preprocessed by the model's image processor in one call and run in one forward pass;
the worker has already decoded every input to an RGB PIL image (`berth.worker.images`). Output per
input, by task (params and their defaults in docs/tasks.md):
- image-classification: the best `top_k` (5) `{"label", "score"}`, softmax, or sigmoid for a
  multi-label model
- object-detection: `{"label", "score", "box": {"xmin", "ymin", "xmax", "ymax"}}` per object scoring at
  least `threshold` (0.5), best first; the box in whole pixels of the image as sent, inside it
- image-feature-extraction: a float32 vector (see `_embed` for which one)
- zero-shot-image-classification: `{"label", "score"}` per candidate label, best first
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from berth.errors import InvalidInput, UnsupportedModel
from berth.runtimes import loading
from berth.runtimes.base import Params, Runtime, Signature, TensorSpec
from berth.runtimes.device import free_device_memory
from berth.runtimes.outputs import check_params, classification_outputs, top_k_param
from berth.spec import Task

if TYPE_CHECKING:
    from transformers import PreTrainedModel

_AUTO_CLASSES = {
    Task.IMAGE_CLASSIFICATION: "AutoModelForImageClassification",
    Task.OBJECT_DETECTION: "AutoModelForObjectDetection",
    Task.IMAGE_FEATURE_EXTRACTION: "AutoModel",
    Task.ZERO_SHOT_IMAGE_CLASSIFICATION: "AutoModel",
}
_PARAMS: dict[Task, tuple[str, ...]] = {
    Task.IMAGE_CLASSIFICATION: ("top_k",),
    Task.OBJECT_DETECTION: ("threshold",),
    Task.IMAGE_FEATURE_EXTRACTION: (),
    Task.ZERO_SHOT_IMAGE_CLASSIFICATION: ("candidate_labels", "hypothesis_template"),
}
_OUTPUTS = {
    Task.IMAGE_CLASSIFICATION: "classes",
    Task.OBJECT_DETECTION: "objects",
    Task.ZERO_SHOT_IMAGE_CLASSIFICATION: "classes",
}
IMAGE_INPUT = TensorSpec("image", "BYTES", (-1,), content="image")
NOT_AN_IMAGE = 'this model takes an image, not text; send {"image": base64} or upload the file'
TOP_K = 5
THRESHOLD = 0.5
MAX_CANDIDATE_LABELS = 64
HYPOTHESIS_TEMPLATE = "a photo of {}."
_SIGMOID_TYPES = frozenset({"siglip", "siglip2"})  # trained with a sigmoid loss: each label scored alone
_WARMUP_SIDE = 64


@dataclass(frozen=True)
class VisionParams:
    """One request's params, checked, with their defaults."""

    top_k: int | None = None
    threshold: float = THRESHOLD
    candidate_labels: tuple[str, ...] = ()
    hypothesis_template: str = HYPOTHESIS_TEMPLATE


class VisionRuntime(Runtime):
    """A transformers vision model folder (ViT, ConvNeXt, DETR, YOLOS, DINOv2, CLIP, SigLIP, ...).

    >>> runtime = VisionRuntime(model, spec, device="cpu", task=Task.IMAGE_CLASSIFICATION)
    >>> runtime.load()
    >>> runtime.predict([PIL.Image.open("cat.jpg")], {"top_k": 2})
    [[{'label': 'tabby', 'score': 0.61}, {'label': 'tiger cat', 'score': 0.22}]]
    """

    name = "transformers"
    tasks = frozenset(
        {
            Task.IMAGE_CLASSIFICATION,
            Task.OBJECT_DETECTION,
            Task.IMAGE_FEATURE_EXTRACTION,
            Task.ZERO_SHOT_IMAGE_CLASSIFICATION,
        }
    )

    _model: PreTrainedModel | None = None
    _processor: Any = None
    _tokenizer: Any = None
    _pooling = "pooler_output"  # how image-feature-extraction reads a vector, chosen in `load`
    _dim = -1

    def load(self) -> None:
        folder, config, dtype = loading.open_checkpoint(self)
        zero_shot = self.task is Task.ZERO_SHOT_IMAGE_CLASSIFICATION
        if zero_shot and not isinstance(config.get("text_config"), dict):
            raise UnsupportedModel(
                f"{folder} is a {config.get('model_type')} model, with no text tower to compare labels "
                "with; zero-shot-image-classification needs an image-text model such as CLIP or SigLIP"
            )
        import transformers

        trust = self.spec.trust_remote_code
        try:
            processor = transformers.AutoImageProcessor.from_pretrained(  # type: ignore[no-untyped-call]
                folder, trust_remote_code=trust, local_files_only=True
            )
            tokenizer = None
            if zero_shot:
                tokenizer = transformers.AutoTokenizer.from_pretrained(
                    folder, trust_remote_code=trust, local_files_only=True
                )
            model, info = getattr(transformers, _AUTO_CLASSES[self.task]).from_pretrained(
                folder,
                dtype=dtype,
                trust_remote_code=trust,
                local_files_only=True,
                # NOTE: None lets transformers fall back to pickle weights; True refuses them outright.
                use_safetensors=None if self.spec.allow_pickle else True,
                output_loading_info=True,
            )
        except Exception as exc:  # NOTE: loaders raise many types (OSError, ValueError, KeyError, ...)
            raise UnsupportedModel(
                f"the transformers runtime cannot load {folder} for {self.task}: {exc}"
            ) from exc
        model.to(self.device).eval()
        self._model, self._processor, self._tokenizer = model, processor, tokenizer
        if self.task is Task.IMAGE_FEATURE_EXTRACTION:
            self._pooling = _pooling(model, info.get("missing_keys") or ())
            # NOTE: the vector's length is measured, not read from the config: families name it
            # differently (projection_dim, hidden_size, hidden_sizes[-1]), and SigLIP projects nothing.
            self._dim = len(self._embed([_blank()])[0])
        elif self.task is Task.ZERO_SHOT_IMAGE_CLASSIFICATION:
            # NOTE: the worker warms up with no params, and this task cannot run without labels.
            self._zero_shot([_blank()], VisionParams(candidate_labels=("a cat", "a dog")))

    def validate_input(self, item: Any) -> Any:
        from PIL import Image

        if isinstance(item, str | bytes):
            raise InvalidInput(NOT_AN_IMAGE)
        if not isinstance(item, Image.Image):
            raise InvalidInput(f"this model takes an image, got {type(item).__name__}")
        if item.width == 0 or item.height == 0:
            raise InvalidInput(f"the image is empty ({item.width}x{item.height} pixels)")
        return item if item.mode == "RGB" else item.convert("RGB")

    def validate_params(self, params: Params) -> Params:
        self._params(params)
        return params

    def predict(self, inputs: list[Any], params: Params) -> list[Any]:
        parsed = self._params(params)
        if self.task is Task.IMAGE_CLASSIFICATION:
            return self._classify(inputs, parsed)
        if self.task is Task.OBJECT_DETECTION:
            return self._detect(inputs, parsed)
        if self.task is Task.IMAGE_FEATURE_EXTRACTION:
            return self._embed(inputs)
        return self._zero_shot(inputs, parsed)

    def signature(self) -> Signature:
        if self.task is Task.IMAGE_FEATURE_EXTRACTION:
            outputs = (TensorSpec("embedding", "FP32", (-1, self._dim)),)
        else:  # a list per input: one JSON document each
            outputs = (TensorSpec(_OUTPUTS[self.task], "BYTES", (-1,)),)
        return Signature(inputs=(IMAGE_INPUT,), outputs=outputs)

    def warmup_input(self) -> Any | None:
        if self.task is Task.ZERO_SHOT_IMAGE_CLASSIFICATION:
            return None  # warmed up in `load`, with labels
        return _blank()

    def close(self) -> None:
        self._model = self._processor = self._tokenizer = None
        free_device_memory(self.device)

    def _loaded(self) -> PreTrainedModel:
        if self._model is None:
            raise UnsupportedModel("the transformers runtime is not loaded; call load() first")
        return self._model

    def _params(self, params: Params) -> VisionParams:
        check_params(params, _PARAMS[self.task], self.task)
        if self.task is Task.IMAGE_CLASSIFICATION:
            labels = len(self._loaded().config.id2label or {}) or 1
            return VisionParams(top_k=top_k_param(params, min(TOP_K, labels), labels))
        if self.task is Task.OBJECT_DETECTION:
            return VisionParams(threshold=threshold_param(params))
        if self.task is Task.ZERO_SHOT_IMAGE_CLASSIFICATION:
            return VisionParams(
                candidate_labels=candidate_labels_param(params),
                hypothesis_template=template_param(params),
            )
        return VisionParams()

    def _pixels(self, images: list[Any]) -> Any:
        """The batch through the image processor, on the model's device and in its dtype."""
        model = self._loaded()
        encoded = self._processor(images=images, return_tensors="pt")
        encoded = encoded.to(self.device)
        encoded["pixel_values"] = encoded["pixel_values"].to(model.dtype)
        return encoded

    def _classify(self, images: list[Any], params: VisionParams) -> list[Any]:
        import torch

        model = self._loaded()
        id2label = {int(k): str(v) for k, v in (model.config.id2label or {}).items()}
        with torch.inference_mode():
            logits = model(**self._pixels(images)).logits.float()
            multi_label = model.config.problem_type == "multi_label_classification"
            probabilities = logits.sigmoid() if multi_label else logits.softmax(dim=-1)
            return classification_outputs(probabilities.cpu().numpy(), id2label, params.top_k)

    def _detect(self, images: list[Any], params: VisionParams) -> list[Any]:
        import torch

        model = self._loaded()
        with torch.inference_mode():
            outputs = model(**self._pixels(images))
            for key in ("logits", "pred_boxes"):  # post-processing in float32, whatever the model's dtype
                if getattr(outputs, key, None) is not None:
                    setattr(outputs, key, getattr(outputs, key).float())
            sizes = [(image.height, image.width) for image in images]
            found = self._processor.post_process_object_detection(
                outputs, threshold=params.threshold, target_sizes=sizes
            )
        id2label = {int(k): str(v) for k, v in (model.config.id2label or {}).items()}
        return [_objects(one, id2label, size) for one, size in zip(found, sizes, strict=True)]

    def _embed(self, images: list[Any]) -> list[Any]:
        """`image_embeds` for a model with a projection (CLIP and SigLIP, whole or vision tower), else
        `pooler_output` where the checkpoint has the pooler's weights (ViT, DINOv2, ConvNeXt, ResNet),
        else the first token of `last_hidden_state` (a ViT saved without its pooler: DINO, MAE)."""
        import torch

        model: Any = self._loaded()
        with torch.inference_mode():
            pixels = self._pixels(images)
            if self._pooling == "image_features":
                vectors = model.get_image_features(pixel_values=pixels["pixel_values"])
                vectors = getattr(vectors, "pooler_output", vectors)  # a tensor, or an output holding one
            else:
                outputs = model(**pixels)
                vectors = None if self._pooling == "cls" else getattr(outputs, self._pooling, None)
                if vectors is None:  # no pooler (or an untrained one): the first token, or the mean of a map
                    hidden = outputs.last_hidden_state
                    vectors = hidden[:, 0] if hidden.dim() == 3 else hidden.mean(dim=(2, 3))
            return list(vectors.flatten(1).float().cpu().numpy())

    def _zero_shot(self, images: list[Any], params: VisionParams) -> list[Any]:
        import torch

        model = self._loaded()
        labels = params.candidate_labels
        texts = [params.hypothesis_template.replace("{}", label) for label in labels]
        sigmoid = model.config.model_type in _SIGMOID_TYPES
        # NOTE: the batcher groups requests with the same params, so the labels are tokenised once per batch.
        encoded = self._tokenizer(
            texts,
            # SigLIP was trained on text padded to its full length, as transformers' pipeline pads it
            padding="max_length" if sigmoid else True,
            truncation=True,
            max_length=_text_length(model, self._tokenizer),
            return_tensors="pt",
        )
        text = {k: v.to(self.device) for k, v in encoded.items() if k in ("input_ids", "attention_mask")}
        with torch.inference_mode():
            pixels = self._pixels(images)["pixel_values"]
            logits = model(**text, pixel_values=pixels).logits_per_image.float()
            scores = (logits.sigmoid() if sigmoid else logits.softmax(dim=-1)).cpu().numpy()
        id2label = dict(enumerate(labels))
        return classification_outputs(scores, id2label, len(labels))


def threshold_param(params: Params) -> float:
    value = params.get("threshold", THRESHOLD)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidInput(f"parameter threshold must be a number from 0 to 1, got {value!r}")
    return float(value)


def candidate_labels_param(params: Params) -> tuple[str, ...]:
    labels = params.get("candidate_labels")
    if labels is None:
        raise InvalidInput(
            'parameter candidate_labels is required: the labels to choose from, e.g. ["cat", "dog"]'
        )
    if not isinstance(labels, list) or not labels:
        raise InvalidInput(f"parameter candidate_labels must be a non-empty list of strings, got {labels!r}")
    if len(labels) > MAX_CANDIDATE_LABELS:
        raise InvalidInput(
            f"parameter candidate_labels has {len(labels)} labels; send at most {MAX_CANDIDATE_LABELS}"
        )
    for label in labels:
        if not isinstance(label, str) or not label.strip():
            raise InvalidInput(f"parameter candidate_labels must hold non-empty strings, got {label!r}")
    if len(set(labels)) != len(labels):
        twice = next(label for label in labels if labels.count(label) > 1)
        raise InvalidInput(f"parameter candidate_labels names {twice!r} more than once; list each label once")
    return tuple(labels)


def template_param(params: Params) -> str:
    template = params.get("hypothesis_template", HYPOTHESIS_TEMPLATE)
    if not isinstance(template, str) or "{}" not in template:
        raise InvalidInput(
            f"parameter hypothesis_template must be a string with {{}} where the label goes, got {template!r}"
        )
    return template


def _objects(found: dict[str, Any], id2label: dict[int, str], size: tuple[int, int]) -> list[dict[str, Any]]:
    """One image's detections, best first, each box in whole pixels clamped to the image."""
    height, width = size
    objects: list[dict[str, Any]] = []
    columns = (found["scores"].tolist(), found["labels"].tolist(), found["boxes"].tolist())
    for score, label, (xmin, ymin, xmax, ymax) in zip(*columns, strict=True):
        objects.append(
            {
                "label": id2label.get(int(label), f"LABEL_{int(label)}"),
                "score": float(score),
                "box": {
                    "xmin": _pixel(xmin, width),
                    "ymin": _pixel(ymin, height),
                    "xmax": _pixel(xmax, width),
                    "ymax": _pixel(ymax, height),
                },
            }
        )
    objects.sort(key=lambda o: -float(o["score"]))
    return objects


def _pixel(value: float, limit: int) -> int:
    return min(max(round(value), 0), limit)


def _pooling(model: Any, missing_keys: Any) -> str:
    """Which output of an image encoder is its vector (the rule is `_embed`'s docstring)."""
    if hasattr(model, "get_image_features"):
        return "image_features"
    if type(model).__name__.endswith("WithProjection"):
        return "image_embeds"
    # NOTE: transformers fills a pooler missing from the checkpoint with random weights: never use one.
    pooler_missing = any(str(key).split(".")[0] == "pooler" or ".pooler." in str(key) for key in missing_keys)
    return "cls" if pooler_missing else "pooler_output"


def _text_length(model: Any, tokenizer: Any) -> int:
    limit = tokenizer.model_max_length if tokenizer.model_max_length < 1_000_000 else 512
    text_config = getattr(model.config, "text_config", None)
    positions = getattr(text_config, "max_position_embeddings", None)
    return min(limit, positions) if isinstance(positions, int) and positions > 0 else int(limit)


def _blank() -> Any:
    from PIL import Image

    return Image.new("RGB", (_WARMUP_SIDE, _WARMUP_SIDE), (128, 128, 128))
