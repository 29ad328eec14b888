from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from berth.errors import UnsupportedModel
from berth.runtimes import (
    OnnxRuntime,
    PythonRuntime,
    SentenceTransformersRuntime,
    TransformersRuntime,
    build_runtime,
    detect,
)
from berth.spec import Task
from tests.tiny_models import local_model, make_spec, predictor_model

torch = pytest.importorskip("torch")


def test_importing_runtimes_imports_no_ml_library() -> None:
    code = (
        "import sys, berth.runtimes, berth.runtimes.registry; "
        "heavy = ('torch', 'transformers', 'onnxruntime', 'sentence_transformers', 'tokenizers'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_sentence_transformers_folder(minilm_path: Path) -> None:
    assert detect(local_model(minilm_path), make_spec()) == (
        SentenceTransformersRuntime,
        Task.FEATURE_EXTRACTION,
    )


def test_sentence_transformers_folder_through_transformers(minilm_path: Path) -> None:
    spec = make_spec(runtime="transformers")
    assert detect(local_model(minilm_path), spec) == (TransformersRuntime, Task.FEATURE_EXTRACTION)


@pytest.mark.parametrize(
    ("fixture", "task"),
    [
        ("classifier_path", Task.TEXT_CLASSIFICATION),
        ("token_classifier_path", Task.TOKEN_CLASSIFICATION),
        ("fill_mask_path", Task.FILL_MASK),
        ("causal_lm_path", Task.TEXT_GENERATION),
    ],
)
def test_transformers_folders(fixture: str, task: Task, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(fixture)
    assert detect(local_model(path), make_spec()) == (TransformersRuntime, task)


def test_onnx_file_takes_its_task_from_the_config_beside_it(onnx_classifier_file: Path) -> None:
    assert detect(local_model(onnx_classifier_file), make_spec()) == (OnnxRuntime, Task.TEXT_CLASSIFICATION)


def test_onnx_file_without_config_takes_its_task_from_its_outputs(
    onnx_classifier_file: Path, onnx_minilm_file: Path, tmp_path: Path
) -> None:
    for name, source in (("classifier", onnx_classifier_file), ("encoder", onnx_minilm_file)):
        (tmp_path / name).mkdir()
        shutil.copy(source, tmp_path / name / "model.onnx")
    assert (
        detect(local_model(tmp_path / "classifier" / "model.onnx"), make_spec())[1]
        is Task.TEXT_CLASSIFICATION
    )
    assert detect(local_model(tmp_path / "encoder" / "model.onnx"), make_spec())[1] is Task.FEATURE_EXTRACTION


def test_folder_with_only_an_onnx_graph(onnx_minilm_file: Path) -> None:
    assert detect(local_model(onnx_minilm_file.parent), make_spec()) == (OnnxRuntime, Task.FEATURE_EXTRACTION)


def test_python_predictor_keeps_the_spec_task() -> None:
    model = predictor_model("examples.predictors:WordCounter")
    assert detect(model, make_spec()) == (PythonRuntime, Task.AUTO)
    assert detect(model, make_spec(task="text-classification")) == (PythonRuntime, Task.TEXT_CLASSIFICATION)


def test_explicit_task_is_honoured(minilm_path: Path) -> None:
    spec = make_spec(runtime="transformers", task="fill-mask")
    assert detect(local_model(minilm_path), spec) == (TransformersRuntime, Task.FILL_MASK)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"runtime": "onnx"}, "the onnx runtime needs an .onnx file, and .* has none"),
        (
            {"task": "text-generation"},
            "the sentence-transformers runtime cannot serve text-generation; "
            "it serves feature-extraction; use runtime: transformers",
        ),
        ({"runtime": "python"}, "the python runtime serves a 'package.module:Class' predictor"),
    ],
)
def test_impossible_combinations_on_a_folder(minilm_path: Path, fields: dict[str, str], message: str) -> None:
    with pytest.raises(UnsupportedModel, match=message):
        detect(local_model(minilm_path), make_spec(**fields))


def test_onnx_runtime_serves_no_generation(onnx_minilm_file: Path) -> None:
    with pytest.raises(UnsupportedModel, match="the onnx runtime cannot serve text-generation"):
        detect(local_model(onnx_minilm_file), make_spec(task="text-generation"))


def test_transformers_runtime_on_an_onnx_file(onnx_minilm_file: Path) -> None:
    with pytest.raises(UnsupportedModel, match=r"needs a model folder, not the file .*; use runtime: onnx"):
        detect(local_model(onnx_minilm_file), make_spec(runtime="transformers"))


def test_predictor_with_a_model_runtime() -> None:
    with pytest.raises(UnsupportedModel, match="is a Python predictor, which only the python runtime serves"):
        detect(predictor_model("examples.predictors:WordCounter"), make_spec(runtime="transformers"))


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModel, match="holds no model berth recognises"):
        detect(local_model(tmp_path), make_spec())


def test_unknown_architecture_asks_for_a_task(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertForPreTraining"]}))
    (tmp_path / "model.safetensors").touch()
    with pytest.raises(UnsupportedModel, match=r"cannot tell which task .* set task: in the spec"):
        detect(local_model(tmp_path), make_spec())


def test_build_runtime_resolves_the_device(classifier_path: Path) -> None:
    runtime = build_runtime(local_model(classifier_path), make_spec(device="cpu"))
    assert (type(runtime), runtime.device, runtime.task) == (
        TransformersRuntime,
        "cpu",
        Task.TEXT_CLASSIFICATION,
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without a GPU")
def test_build_runtime_refuses_cuda_without_a_gpu(classifier_path: Path) -> None:
    with pytest.raises(
        UnsupportedModel, match="device cuda requested but no CUDA GPU is visible; use device: cpu"
    ):
        build_runtime(local_model(classifier_path), make_spec(device="cuda"))


def test_build_runtime_for_a_predictor_needs_no_device() -> None:
    runtime = build_runtime(predictor_model("examples.predictors:WordCounter"), make_spec())
    assert (type(runtime), runtime.device) == (PythonRuntime, "cpu")


def test_each_runtime_serves_the_tasks_detection_allows_it() -> None:
    from berth.runtimes import RUNTIMES
    from berth.runtimes.registry import TRANSFORMERS_FAMILIES, runtime_class
    from berth.runtimes.transformers_runtime import _AUTO_CLASSES
    from berth.sources.tasks import RUNTIME_TASKS
    from berth.spec import RuntimeName

    for name, runtime in RUNTIMES.items():
        assert runtime.name == name.value
        if name is not RuntimeName.TRANSFORMERS:
            assert runtime.tasks == RUNTIME_TASKS.get(name, frozenset())
    families = [TransformersRuntime, *TRANSFORMERS_FAMILIES]
    served = [task for family in families for task in family.tasks]
    assert len(served) == len(set(served))  # no task is served by two families
    assert set(served) == RUNTIME_TASKS[RuntimeName.TRANSFORMERS]
    for family in families:
        assert family.name == "transformers"
        for task in family.tasks:
            assert runtime_class(RuntimeName.TRANSFORMERS, task) is family
    assert set(_AUTO_CLASSES) == TransformersRuntime.tasks  # a model class for every text task
