from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from berth.errors import UnsupportedModel
from berth.sources import tasks
from berth.spec import RuntimeName, Task
from tests.tiny_models import local_model, make_spec, predictor_model


def write_transformers_folder(folder: Path, architecture: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"architectures": [architecture]}))
    (folder / "model.safetensors").touch()
    return folder


@pytest.mark.parametrize(
    ("architecture", "task"),
    [
        ("BertForSequenceClassification", Task.TEXT_CLASSIFICATION),
        ("DistilBertForTokenClassification", Task.TOKEN_CLASSIFICATION),
        ("BertForMaskedLM", Task.FILL_MASK),
        ("LlamaForCausalLM", Task.TEXT_GENERATION),
        ("GPT2LMHeadModel", Task.TEXT_GENERATION),
        ("BertModel", Task.FEATURE_EXTRACTION),
        ("BertForPreTraining", None),
        ("ViTForImageClassification", Task.IMAGE_CLASSIFICATION),
        ("ConvNextForImageClassification", Task.IMAGE_CLASSIFICATION),
        ("DetrForObjectDetection", Task.OBJECT_DETECTION),
        ("YolosForObjectDetection", Task.OBJECT_DETECTION),
        ("Wav2Vec2ForCTC", Task.AUTOMATIC_SPEECH_RECOGNITION),
        ("BertForQuestionAnswering", Task.QUESTION_ANSWERING),
        ("CLIPVisionModelWithProjection", Task.IMAGE_FEATURE_EXTRACTION),
        ("ChronosBoltModelForForecasting", Task.TIME_SERIES_FORECASTING),
    ],
)
def test_task_from_architectures(architecture: str, task: Task | None) -> None:
    assert tasks.task_from_config({"architectures": [architecture]}) is task


@pytest.mark.parametrize(
    ("config", "task"),
    [
        ({"model_type": "t5"}, Task.TEXT2TEXT_GENERATION),
        ({"model_type": "bart"}, Task.TEXT2TEXT_GENERATION),
        ({"model_type": "marian", "architectures": ["MarianMTModel"]}, Task.TRANSLATION),
        ({"model_type": "whisper"}, Task.AUTOMATIC_SPEECH_RECOGNITION),
        ({"model_type": "llava"}, None),  # image-to-text: not served
        ({"model_type": "t5", "chronos_config": {"prediction_length": 64}}, Task.TIME_SERIES_FORECASTING),
    ],
)
def test_conditional_generation_by_model_type(config: dict[str, object], task: Task | None) -> None:
    config = {"architectures": [f"{str(config['model_type']).title()}ForConditionalGeneration"], **config}
    assert tasks.task_from_config(config) is task


@pytest.mark.parametrize(
    ("config", "task"),
    [
        ({"architectures": ["ViTModel"], "model_type": "vit"}, Task.IMAGE_FEATURE_EXTRACTION),
        ({"architectures": ["Dinov2Model"], "model_type": "dinov2"}, Task.IMAGE_FEATURE_EXTRACTION),
        ({"architectures": ["CLIPModel"], "model_type": "clip"}, Task.ZERO_SHOT_IMAGE_CLASSIFICATION),
        ({"architectures": ["SiglipModel"], "model_type": "siglip"}, Task.ZERO_SHOT_IMAGE_CLASSIFICATION),
        ({"architectures": ["WhisperModel"], "model_type": "whisper"}, None),  # no head to transcribe with
        ({"model_type": "dinov2"}, Task.IMAGE_FEATURE_EXTRACTION),  # no architectures: the family says it
        ({"model_type": "bert"}, None),
    ],
)
def test_base_models_by_model_type(config: dict[str, object], task: Task | None) -> None:
    assert tasks.task_from_config(config) is task


@pytest.mark.parametrize(
    ("labels", "task"),
    [
        ({"0": "NEGATIVE", "1": "POSITIVE"}, Task.TEXT_CLASSIFICATION),
        ({"0": "contradiction", "1": "neutral", "2": "entailment"}, Task.ZERO_SHOT_CLASSIFICATION),
        ({"0": "CONTRADICTION", "1": "NEUTRAL", "2": "ENTAILMENT"}, Task.ZERO_SHOT_CLASSIFICATION),
        ({"0": "LABEL_0"}, Task.TEXT_RANKING),  # one relevance score: a cross-encoder
    ],
)
def test_sequence_classifiers_by_their_labels(labels: dict[str, str], task: Task) -> None:
    config = {"architectures": ["BertForSequenceClassification"], "id2label": labels}
    assert tasks.task_from_config(config) is task


def test_an_unknown_architecture_names_it_and_the_tasks_berth_serves(tmp_path: Path) -> None:
    folder = write_transformers_folder(tmp_path / "llava", "LlavaForConditionalGeneration")
    with pytest.raises(UnsupportedModel) as caught:
        tasks.detect(local_model(folder), make_spec(folder))
    message = caught.value.message
    assert f"cannot tell which task {folder} (LlavaForConditionalGeneration) is for" in message
    assert "object-detection" in message
    assert "time-series-forecasting" in message
    assert message.endswith("set task: in the spec if the model does one of them")


def test_no_architectures_means_no_task() -> None:
    assert tasks.task_from_config({}) is None


def test_find_onnx_file_prefers_model_onnx(tmp_path: Path) -> None:
    assert tasks.find_onnx_file(tmp_path) is None
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "model.onnx").touch()
    (tmp_path / "onnx" / "model_quantized.onnx").touch()
    assert tasks.find_onnx_file(tmp_path) == tmp_path / "onnx" / "model.onnx"
    (tmp_path / "model.onnx").touch()
    assert tasks.find_onnx_file(tmp_path) == tmp_path / "model.onnx"
    assert (
        tasks.find_onnx_file(tmp_path / "onnx" / "model_quantized.onnx")
        == tmp_path / "onnx" / "model_quantized.onnx"
    )


def test_several_graphs_and_no_model_onnx_are_ambiguous(tmp_path: Path) -> None:
    (tmp_path / "a.onnx").touch()
    (tmp_path / "b.onnx").touch()
    assert tasks.find_onnx_file(tmp_path) is None
    assert tasks.has_onnx_files(tmp_path)


def test_config_must_be_a_json_object(tmp_path: Path) -> None:
    assert tasks.read_config(tmp_path) == {}
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(UnsupportedModel, match="not a JSON object"):
        tasks.read_config(tmp_path)
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(UnsupportedModel, match="cannot read"):
        tasks.read_config(tmp_path)


def test_a_sentence_transformers_folder(minilm_path: Path) -> None:
    assert tasks.detect(local_model(minilm_path), make_spec()) == (
        RuntimeName.SENTENCE_TRANSFORMERS,
        Task.FEATURE_EXTRACTION,
    )


def test_a_transformers_folder_gets_its_task_from_its_config(tmp_path: Path) -> None:
    folder = write_transformers_folder(tmp_path / "m", "BertForTokenClassification")
    assert tasks.detect(local_model(folder), make_spec()) == (
        RuntimeName.TRANSFORMERS,
        Task.TOKEN_CLASSIFICATION,
    )


def test_a_task_the_runtime_does_not_serve_is_refused_with_what_would(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").touch()
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"]}))
    with pytest.raises(
        UnsupportedModel, match=r"the onnx runtime cannot serve text-generation; .*: transformers"
    ):
        tasks.detect(local_model(tmp_path / "model.onnx"), make_spec())


def test_a_predictor_keeps_the_spec_task() -> None:
    model = predictor_model("examples.predictors:WordCounter")
    assert tasks.detect(model, make_spec(task="fill-mask")) == (RuntimeName.PYTHON, Task.FILL_MASK)


def test_detection_imports_no_runtime_and_no_ml_library(tmp_path: Path) -> None:
    # The control plane previews a model's runtime and task with this; it must stay a files-only read.
    folder = write_transformers_folder(tmp_path / "m", "BertForSequenceClassification")
    code = (
        "import sys; from pathlib import Path; from berth.sources import tasks; "
        "from berth.sources.types import LocalModel, ResolvedSource, SourceKind; "
        "from berth.spec import DeploymentSpec; "
        f"path = Path({str(folder)!r}); "
        "model = LocalModel(ResolvedSource(SourceKind.LOCAL, str(path), path=path), path); "
        "spec = DeploymentSpec.model_validate({'name': 'm', 'model': {'source': str(path)}}); "
        "print(tasks.detect(model, spec)[1]); "
        "heavy = ('torch', 'transformers', 'onnxruntime', 'sentence_transformers', 'berth.runtimes'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:2] == ["text-classification", "[]"]


def test_a_cross_encoder_saved_by_sentence_transformers_is_a_reranker(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    from sentence_transformers import CrossEncoder

    from tests.tiny_ranking import build_cross_encoder

    saved = tmp_path / "saved"
    CrossEncoder(str(build_cross_encoder(tmp_path / "built"))).save(str(saved))
    assert (saved / "modules.json").is_file()  # what made it look like an embedding model
    assert not tasks.is_sentence_transformers(saved)
    assert tasks.detect(local_model(saved), make_spec(saved)) == (RuntimeName.TRANSFORMERS, Task.TEXT_RANKING)
    from berth.sources.listing import local_listing

    assert tasks.check_listing_task(local_listing(saved), make_spec(saved)) is Task.TEXT_RANKING
