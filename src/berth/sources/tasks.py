"""Which runtime and task serve a model on disk, told from its files alone (no torch).

Auto-detection, in order: a Python predictor → python; an .onnx file → onnx; a .gguf file, or a
folder whose only weights are .gguf files → llama-cpp; a folder with modules.json →
sentence-transformers; a folder with config.json and weights → transformers; a folder with only an
ONNX graph → onnx. The task comes from config.json's `architectures` (or an ONNX graph's outputs); a
GGUF model is a text-generation model, and a GGUF embedding model (its header names an encoder
architecture or a pooling type) is refused. Explicit choices are honoured, and impossible ones
refused with a sentence naming what would work. It lives with the sources, not the runtimes, so the
control plane can tell a user what a model will be served as without importing any runtime;
`berth.runtimes.registry` maps the answer to a runtime class. The folder readers here are the ones
the runtimes' loaders use too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from berth.errors import ModelNotFound, UnsupportedModel
from berth.sourcekind import SourceKind
from berth.sources.gguf_header import GGUFInfo, read_gguf
from berth.sources.listing import Listing, local_listing, read_local_json
from berth.sources.policy import GGUF_SUFFIX, PICKLE_WEIGHTS, SAFE_WEIGHTS, choose_gguf, wants_gguf
from berth.sources.types import LocalModel
from berth.spec import DeploymentSpec, RuntimeName, Task

# The tasks each model runtime serves; the runtime classes take theirs from here. The python runtime
# serves whatever its predictor does, so it has no entry.
RUNTIME_TASKS: dict[RuntimeName, frozenset[Task]] = {
    RuntimeName.TRANSFORMERS: frozenset(Task) - {Task.AUTO},
    RuntimeName.SENTENCE_TRANSFORMERS: frozenset({Task.FEATURE_EXTRACTION}),
    RuntimeName.ONNX: frozenset({Task.FEATURE_EXTRACTION, Task.TEXT_CLASSIFICATION}),
    RuntimeName.LLAMA_CPP: frozenset({Task.TEXT_GENERATION}),
}
SUPPORTED_TASKS = ", ".join(sorted(t.value for t in RUNTIME_TASKS[RuntimeName.TRANSFORMERS]))

# Suffix of the class name in config.json's `architectures` → task; the first match wins, so the
# specific heads come before the base-model "...Model" catch-all (GPT2LMHeadModel ends in Model too).
# A sequence classifier, a conditional generator and a base model need their config to say more:
# `_refine` tells those apart.
ARCHITECTURE_TASKS: tuple[tuple[str, Task], ...] = (
    ("ForForecasting", Task.TIME_SERIES_FORECASTING),  # ChronosBoltModelForForecasting
    ("ForImageClassification", Task.IMAGE_CLASSIFICATION),
    ("ForImageClassificationWithTeacher", Task.IMAGE_CLASSIFICATION),
    ("ForObjectDetection", Task.OBJECT_DETECTION),
    ("ForCTC", Task.AUTOMATIC_SPEECH_RECOGNITION),
    ("ForSpeechSeq2Seq", Task.AUTOMATIC_SPEECH_RECOGNITION),
    ("ForQuestionAnswering", Task.QUESTION_ANSWERING),
    ("ForSequenceClassification", Task.TEXT_CLASSIFICATION),
    ("ForTokenClassification", Task.TOKEN_CLASSIFICATION),
    ("ForMaskedLM", Task.FILL_MASK),
    ("ForCausalLM", Task.TEXT_GENERATION),
    ("LMHeadModel", Task.TEXT_GENERATION),
    ("MTModel", Task.TRANSLATION),  # MarianMTModel
    ("ForConditionalGeneration", Task.TEXT2TEXT_GENERATION),
    ("VisionModel", Task.IMAGE_FEATURE_EXTRACTION),  # CLIPVisionModel, SiglipVisionModel
    ("VisionModelWithProjection", Task.IMAGE_FEATURE_EXTRACTION),
    ("Model", Task.FEATURE_EXTRACTION),
)
# config.json's `model_type` for the families whose base "...Model" or "...ForConditionalGeneration"
# class serves another task than its suffix says.
SPEECH_SEQ2SEQ_TYPES = frozenset({"whisper", "speech_to_text", "speecht5"})
TEXT_SEQ2SEQ_TYPES = frozenset(
    {
        "t5",
        "mt5",
        "umt5",
        "longt5",
        "bart",
        "mbart",
        "pegasus",
        "pegasus_x",
        "marian",
        "m2m_100",
        "nllb-moe",
        "led",
        "blenderbot",
        "blenderbot-small",
        "plbart",
        "prophetnet",
        "fsmt",
        "bigbird_pegasus",
    }
)
CONTRASTIVE_IMAGE_TYPES = frozenset(
    {"clip", "siglip", "siglip2", "chinese_clip", "altclip", "align", "metaclip_2"}
)
VISION_TYPES = frozenset(
    {
        "vit",
        "dinov2",
        "dinov2_with_registers",
        "dinov3_vit",
        "dinov3_convnext",
        "deit",
        "beit",
        "convnext",
        "convnextv2",
        "resnet",
        "swin",
        "swinv2",
        "regnet",
        "efficientnet",
        "mobilevit",
        "mobilenet_v2",
        "levit",
        "clip_vision_model",
        "siglip_vision_model",
        "siglip2_vision_model",
        "vit_mae",
        "vit_msn",
        "data2vec-vision",
        "hiera",
        "pvt",
        "pvt_v2",
        "focalnet",
        "poolformer",
        "segformer",
        "dpt",
    }
)
NLI_LABELS = frozenset({"entailment", "contradiction"})
WEIGHT_SUFFIXES = (*SAFE_WEIGHTS, *PICKLE_WEIGHTS)
ST_CONFIG = "config_sentence_transformers.json"


def detect(model: LocalModel, spec: DeploymentSpec) -> tuple[RuntimeName, Task]:
    """The runtime and task for a model: the spec's choices, or detected where they are `auto`.

    >>> [str(x) for x in detect(local_minilm, DeploymentSpec(name="m", model={"source": "./minilm"}))]
    ['sentence-transformers', 'feature-extraction']
    """
    is_python = model.source.kind is SourceKind.PYTHON
    name = spec.runtime if spec.runtime is not RuntimeName.AUTO else _detect_runtime(model, spec)
    if is_python != (name is RuntimeName.PYTHON):
        if is_python:
            raise UnsupportedModel(
                f"{model.source.reference!r} is a Python predictor, which only the python runtime serves; "
                "use runtime: auto or python"
            )
        raise UnsupportedModel(
            f"the python runtime serves a 'package.module:Class' predictor, not {model.source.reference!r}"
        )
    if name is RuntimeName.PYTHON:
        return name, spec.task  # NOTE: a predictor's task is whatever it does; berth cannot tell
    path = model_path(model)
    task: Task
    gguf = gguf_file(path, spec)
    if gguf is not None and name is not RuntimeName.LLAMA_CPP:
        raise UnsupportedModel(
            f"{gguf} is a GGUF file, which only the llama-cpp runtime serves, not {name}; "
            "use runtime: auto or llama-cpp"
        )
    if name is RuntimeName.LLAMA_CPP:
        if gguf is None:
            raise UnsupportedModel(
                f"the llama-cpp runtime serves GGUF files, and {path} is none and holds none; "
                "use runtime: auto, or point model.source at a .gguf file"
            )
        gguf_task(read_gguf(gguf))  # refuses an embedding model, whatever the spec's task
        task = spec.task if spec.task is not Task.AUTO else Task.TEXT_GENERATION
    else:
        _check_fits(name, path, model)
        task = spec.task if spec.task is not Task.AUTO else _detect_task(name, model)
    if task not in RUNTIME_TASKS[name]:
        served = ", ".join(sorted(t.value for t in RUNTIME_TASKS[name]))
        raise UnsupportedModel(
            f"the {name} runtime cannot serve {task}; it serves {served}"
            + (
                "; use runtime: transformers"
                if gguf is None and task in RUNTIME_TASKS[RuntimeName.TRANSFORMERS]
                else ""
            )
        )
    return name, task


def check_listing_task(listing: Listing, spec: DeploymentSpec) -> Task | None:
    """The task config.json says, from a listing (a hub repo's config is fetched alone, before any weights).

    Raises `UnsupportedModel` with the supported tasks when `task: auto` and a transformers model's config
    names none berth serves, so that such a model fails in a second instead of after its download. None
    where the files do not settle it here (sentence-transformers, ONNX graphs, an explicit task): the
    worker's `detect` decides those from the downloaded files.
    """
    if wants_gguf(listing, spec):
        return Task.TEXT_GENERATION if spec.task is Task.AUTO else None
    if spec.task is not Task.AUTO or spec.runtime not in (RuntimeName.AUTO, RuntimeName.TRANSFORMERS):
        return None
    names = set(listing.sizes)
    if "config.json" not in names:
        return None
    if "modules.json" in names and not is_cross_encoder(listing.read_json(ST_CONFIG)):
        return None
    has_weights = any("/" not in name and name.endswith(WEIGHT_SUFFIXES) for name in names)
    if spec.runtime is RuntimeName.AUTO and not has_weights:
        return None  # an ONNX export: its graph can tell what the config does not
    config = listing.read_json("config.json")
    if not isinstance(config, dict) or not config.get("architectures"):
        return None  # NOTE: an old config without architectures; the worker may still tell from model_type
    task = task_from_config(config)
    if task is None:
        raise UnsupportedModel(unknown_task_message(listing.name, config))
    return task


def gguf_file(path: Path, spec: DeploymentSpec) -> Path | None:
    """The GGUF file a model path serves: the .gguf file itself, or the one chosen in a folder whose
    weights are GGUF files (`berth.sources.policy.choose_gguf`); None for any other model."""
    if path.is_file():
        return path if path.name.lower().endswith(GGUF_SUFFIX) else None
    listing = local_listing(path)
    return path / choose_gguf(listing, spec.model.file) if wants_gguf(listing, spec) else None


def gguf_task(info: GGUFInfo) -> Task:
    """A GGUF model's task: text generation; an embedding or ranking model is refused."""
    if info.is_embedding:
        why = f"pooling type {info.pooling}" if info.pooling else f"architecture {info.architecture}"
        raise UnsupportedModel(
            f"{info.path.name} is an embedding model ({why} in its GGUF header); berth serves GGUF "
            "text-generation models, so deploy its safetensors version for embeddings"
        )
    return Task.TEXT_GENERATION


def model_path(model: LocalModel) -> Path:
    """The model's folder or .onnx file, which must exist."""
    if model.path is None:
        raise UnsupportedModel(
            f"{model.source.reference!r} is a Python predictor, not a model folder or file"
        )
    if not model.path.exists():
        raise ModelNotFound(f"model path {str(model.path)!r} does not exist; pull the model again")
    return model.path


def model_folder(model: LocalModel) -> Path:
    """The folder holding the model: the path itself, or the folder an .onnx file lies in."""
    path = model_path(model)
    return path if path.is_dir() else path.parent


def read_config(folder: Path) -> dict[str, Any]:
    """config.json of a folder as a dict; empty when there is none."""
    file = folder / "config.json"
    if not file.is_file():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnsupportedModel(f"cannot read {file}: {exc}") from None
    if not isinstance(data, dict):
        raise UnsupportedModel(f"{file} is not a JSON object")
    return data


def task_from_config(config: dict[str, Any]) -> Task | None:
    """The task implied by config.json (its `architectures`, `model_type` and labels), or None.

    >>> task_from_config({"architectures": ["ViTForImageClassification"]})
    <Task.IMAGE_CLASSIFICATION: 'image-classification'>
    """
    if isinstance(config.get("chronos_config"), dict):
        return Task.TIME_SERIES_FORECASTING  # Chronos-T5 says T5ForConditionalGeneration
    model_type = config.get("model_type")
    for architecture in config.get("architectures") or ():
        for suffix, task in ARCHITECTURE_TASKS:
            if isinstance(architecture, str) and architecture.endswith(suffix):
                return _refine(task, config, model_type)
    if isinstance(model_type, str):  # no architectures: the family alone, where it says enough
        if model_type in CONTRASTIVE_IMAGE_TYPES:
            return Task.ZERO_SHOT_IMAGE_CLASSIFICATION
        if model_type in VISION_TYPES:
            return Task.IMAGE_FEATURE_EXTRACTION
    return None


def _refine(task: Task, config: dict[str, Any], model_type: Any) -> Task | None:
    if task is Task.TEXT_CLASSIFICATION:
        labels = {str(v).lower() for v in (config.get("id2label") or {}).values()}
        if labels >= NLI_LABELS:
            # NOTE: an NLI model is deployed for zero-shot; task: text-classification still serves it as one
            return Task.ZERO_SHOT_CLASSIFICATION
        if len(labels) == 1 or config.get("num_labels") == 1:
            return Task.TEXT_RANKING  # one relevance score: a cross-encoder
        return task
    if task is Task.TEXT2TEXT_GENERATION:
        if model_type in SPEECH_SEQ2SEQ_TYPES:
            return Task.AUTOMATIC_SPEECH_RECOGNITION
        if model_type == "marian":
            return Task.TRANSLATION
        return task if model_type in TEXT_SEQ2SEQ_TYPES else None  # image-to-text, multimodal: not served
    if task is Task.FEATURE_EXTRACTION:
        if model_type in CONTRASTIVE_IMAGE_TYPES:
            return Task.ZERO_SHOT_IMAGE_CLASSIFICATION
        if model_type in VISION_TYPES:
            return Task.IMAGE_FEATURE_EXTRACTION
        if model_type in SPEECH_SEQ2SEQ_TYPES:
            return None  # WhisperModel has no head to transcribe with
    return task


def unknown_task_message(where: str, config: dict[str, Any]) -> str:
    """Why berth cannot serve a model whose config names no task it knows, and what to do."""
    architectures = [a for a in config.get("architectures") or () if isinstance(a, str)]
    named = f" ({', '.join(architectures)})" if architectures else ""
    return (
        f"cannot tell which task {where}{named} is for; berth serves {SUPPORTED_TASKS}: "
        "set task: in the spec if the model does one of them"
    )


def graph_task(graph: Path) -> Task | None:
    """The task an ONNX graph's outputs imply: 3-D hidden states → features, 2-D logits → classes."""
    # NOTE: onnxruntime only here, and only for a graph without a config.json to say its task.
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    outputs = {o.name: len(o.shape) for o in session.get_outputs()}
    if outputs.get("last_hidden_state") == 3:
        return Task.FEATURE_EXTRACTION
    if outputs.get("logits") == 2:
        return Task.TEXT_CLASSIFICATION
    return None


def find_onnx_file(path: Path) -> Path | None:
    """The ONNX graph to serve: the path itself, `model.onnx`, `onnx/model.onnx`, or the only one."""
    if path.is_file():
        return path if path.suffix == ".onnx" else None
    for candidate in (path / "model.onnx", path / "onnx" / "model.onnx"):
        if candidate.is_file():
            return candidate
    found = sorted(path.glob("*.onnx")) + sorted(path.glob("onnx/*.onnx"))
    return found[0] if len(found) == 1 else None


def has_onnx_files(path: Path) -> bool:
    return path.suffix == ".onnx" or (
        path.is_dir() and any([*path.glob("*.onnx"), *path.glob("onnx/*.onnx")])
    )


def has_torch_weights(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix in WEIGHT_SUFFIXES for p in folder.iterdir())


def is_sentence_transformers(folder: Path) -> bool:
    """A sentence-transformers embedding model; a cross-encoder it saved is a transformers classifier."""
    if not (folder / "modules.json").is_file():
        return False
    return not is_cross_encoder(read_local_json(folder, ST_CONFIG))


def is_cross_encoder(st_config: Any) -> bool:
    """Whether config_sentence_transformers.json is a CrossEncoder's (sentence-transformers 5 and later
    save one with modules.json; berth serves it as `text-ranking` through transformers)."""
    return isinstance(st_config, dict) and st_config.get("model_type") == "CrossEncoder"


def _detect_runtime(model: LocalModel, spec: DeploymentSpec) -> RuntimeName:
    if model.source.kind is SourceKind.PYTHON:
        return RuntimeName.PYTHON
    path = model_path(model)
    if gguf_file(path, spec) is not None:
        return RuntimeName.LLAMA_CPP
    if path.is_file():
        if path.suffix == ".onnx":
            return RuntimeName.ONNX
        raise UnsupportedModel(
            f"{path} is a file berth cannot serve; give a model folder, an .onnx file or a .gguf file"
        )
    if is_sentence_transformers(path):
        return RuntimeName.SENTENCE_TRANSFORMERS
    if (path / "config.json").is_file() and has_torch_weights(path):
        return RuntimeName.TRANSFORMERS
    if has_onnx_files(path):
        return RuntimeName.ONNX
    raise UnsupportedModel(
        f"{path} holds no model berth recognises: "
        "expected config.json with weights, modules.json or an .onnx file"
    )


def _check_fits(name: RuntimeName, path: Path, model: LocalModel) -> None:
    if name is RuntimeName.ONNX:
        if find_onnx_file(path) is None:
            raise UnsupportedModel(
                f"the onnx runtime needs an .onnx file, and {path} has none (or several and no model.onnx); "
                "export one or use runtime: transformers"
            )
    elif path.is_file():
        raise UnsupportedModel(
            f"the {name} runtime needs a model folder, not the file {path}; use runtime: onnx"
        )
    elif not (path / "config.json").is_file() and not is_sentence_transformers(path):
        raise UnsupportedModel(
            f"the {name} runtime needs a model folder with config.json, and {path} has none"
        )


def _detect_task(name: RuntimeName, model: LocalModel) -> Task:
    if name is RuntimeName.SENTENCE_TRANSFORMERS:
        return Task.FEATURE_EXTRACTION
    path = model_path(model)
    if name is RuntimeName.ONNX:
        graph = find_onnx_file(path)
        assert graph is not None  # _check_fits found it
        config = read_config(graph.parent) or read_config(model_folder(model))
        task = task_from_config(config) or graph_task(graph)
    else:
        task = task_from_config(read_config(path))
    if task is None:
        config = read_config(path) if path.is_dir() else {}
        raise UnsupportedModel(unknown_task_message(str(path), config))
    return task
