from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from berth.errors import InvalidInput, ModelError, ModelNotFound, UnsupportedModel
from berth.runtimes import PredictorContext, PythonRuntime, Runtime, TensorSpec, build_runtime
from berth.runtimes.base import Blob
from tests.tiny_models import make_spec, predictor_model

HERE = __name__  # predictors below are imported by their "module:Class" path, as a user's would be


class WrongLength:
    def predict(self, batch: list[Any]) -> list[Any]:
        return batch[:-1]


class NotAList:
    def predict(self, batch: list[Any]) -> Any:
        return {"outputs": batch}


class FailsInSetup:
    def setup(self) -> None:
        raise RuntimeError("weights missing")

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch


class NoPredict:
    pass


class SeesContext:
    def setup(self, context: PredictorContext) -> None:
        self.context = context

    def predict(self, batch: list[Any]) -> list[Any]:
        c = self.context
        return [{"name": c.name, "dir": str(c.model_dir), "device": c.device, "dtype": c.dtype, **c.env}]


class TornDown:
    closed = False

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch

    def teardown(self) -> None:
        TornDown.closed = True


def serve(target: str) -> Runtime:
    runtime = build_runtime(predictor_model(target), make_spec())
    runtime.load()
    return runtime


def test_word_counter_example() -> None:
    runtime = serve("examples.predictors:WordCounter")
    assert isinstance(runtime, PythonRuntime)
    assert runtime.predict(["the cat and the hat", ""], {}) == [
        {"words": 5, "characters": 19, "top_word": "the"},
        {"words": 0, "characters": 0, "top_word": None},
    ]
    assert runtime.validate_input("text") == "text"
    with pytest.raises(InvalidInput, match="must be a string, got int"):
        runtime.validate_input(5)
    assert runtime.signature().inputs[0].datatype == "BYTES"
    assert runtime.count_tokens("three small words") == 3


def test_params_reach_a_predictor_that_takes_them() -> None:
    runtime = serve("examples.predictors:TextReverser")
    assert runtime.predict(["abc", "one two"], {}) == ["cba", "owt eno"]
    assert runtime.predict(["one two"], {"words": True}) == ["two one"]


@pytest.mark.parametrize(
    ("name", "returned"), [("WrongLength", "returned a list of 1"), ("NotAList", "returned dict")]
)
def test_outputs_must_match_inputs(name: str, returned: str) -> None:
    runtime = serve(f"{HERE}:{name}")
    with pytest.raises(
        ModelError, match=f"must return a list with one output per input; it got 2 inputs and {returned}"
    ):
        runtime.predict(["a", "b"], {})


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no.such.module:Predictor", "cannot import 'no.such.module:Predictor': ModuleNotFoundError"),
        ("examples.predictors:Missing", "module 'examples.predictors' has no class 'Missing'"),
        ("examples.predictors", "name a predictor class as 'package.module:Class'"),
    ],
)
def test_unimportable_predictors(target: str, message: str) -> None:
    with pytest.raises(ModelNotFound, match=message):
        serve(target)


def test_setup_failure_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="failed to start: RuntimeError: weights missing"):
        serve(f"{HERE}:FailsInSetup")


def test_a_class_without_predict_is_refused() -> None:
    with pytest.raises(UnsupportedModel, match="has no predict"):
        serve(f"{HERE}:NoPredict")


def test_close_calls_teardown_and_unloads() -> None:
    runtime = serve(f"{HERE}:TornDown")
    runtime.close()
    assert TornDown.closed
    with pytest.raises(UnsupportedModel, match="not loaded"):
        runtime.predict(["a"], {})


class DeclaresDicts:
    inputs = [{"name": "pixels", "datatype": "UINT8", "shape": [-1, 2, 2]}]
    outputs = [TensorSpec("mean", "FP64", (-1,))]

    def predict(self, batch: list[Any]) -> list[Any]:
        return [float(item.mean()) for item in batch]


class BadDatatype:
    inputs = [TensorSpec("x", "FLOAT", (-1,))]

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch


class NoBatchDimension:
    outputs = [TensorSpec("y", "FP32", (4,))]

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch


class TwiceNamed:
    inputs = [TensorSpec("x", "FP32", (-1,)), TensorSpec("x", "INT64", (-1,))]

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch


class ContentOnNumbers:
    inputs = [TensorSpec("x", "FP32", (-1,), content="image")]

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch


class UnknownContent:
    inputs = [TensorSpec("x", "BYTES", (-1,), content="video")]

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch


class MediaTypeOnText:
    outputs = [{"name": "y", "datatype": "BYTES", "shape": [-1], "media_type": "image/png"}]

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch


class DeclaresContentAsDicts:
    inputs = [{"name": "photo", "datatype": "BYTES", "shape": [-1], "content": "image", "image_mode": "L"}]
    outputs = [
        {"name": "mesh", "datatype": "BYTES", "shape": [-1], "content": "file", "media_type": "model/obj"}
    ]

    def predict(self, batch: list[Any]) -> list[Any]:
        return [b"v 0 0 0\n" for _ in batch]


class RateOnAnImage:
    inputs = [TensorSpec("x", "BYTES", (-1,), content="image", sample_rate=16_000)]

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch


class RateOnAnOutput:
    outputs = [TensorSpec("y", "BYTES", (-1,), content="audio", sample_rate=16_000)]

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch


class AudioOnNumbers:
    inputs = [TensorSpec("x", "FP32", (-1,), content="audio")]

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch


class NoSuchRate:
    inputs = [{"name": "x", "datatype": "BYTES", "shape": [-1], "content": "audio", "sample_rate": 16_000.5}]

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch


class DeclaresAudioAsADict:
    inputs = [{"name": "clip", "datatype": "BYTES", "shape": [-1], "content": "audio", "sample_rate": 22050}]

    def predict(self, batch: list[Any]) -> list[Any]:
        return batch


def test_an_audio_input_keeps_its_sample_rate() -> None:
    assert serve(f"{HERE}:DeclaresAudioAsADict").signature().inputs == (
        TensorSpec("clip", "BYTES", (-1,), content="audio", sample_rate=22_050),
    )
    assert serve("tests.predictors:AudioInfo").signature().inputs[0].sample_rate == 16_000


def test_content_kinds_and_media_types_are_kept_and_bytes_come_back_as_blobs() -> None:
    runtime = serve(f"{HERE}:DeclaresContentAsDicts")
    assert runtime.signature().inputs == (
        TensorSpec("photo", "BYTES", (-1,), content="image", image_mode="L"),
    )
    [mesh] = runtime.predict(["anything"], {})
    assert isinstance(mesh, Blob)
    assert (mesh.data, mesh.media_type) == (b"v 0 0 0\n", "model/obj")


def test_an_undeclared_predictor_takes_and_returns_bytes() -> None:
    signature = serve("examples.predictors:WordCounter").signature()
    assert signature.inputs == (TensorSpec("input", "BYTES", (-1,)),)
    assert signature.outputs == (TensorSpec("output", "BYTES", (-1,)),)


def test_a_declared_signature_is_served_as_declared() -> None:
    assert serve("tests.predictors:RowStats").signature().outputs == (
        TensorSpec("sum", "FP32", (-1,)),
        TensorSpec("scaled", "FP32", (-1, 4)),
    )
    signature = serve(f"{HERE}:DeclaresDicts").signature()
    assert signature.inputs == (TensorSpec("pixels", "UINT8", (-1, 2, 2)),)
    assert signature.outputs == (TensorSpec("mean", "FP64", (-1,)),)
    assert signature.outputs[0].shape == (-1,)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("BadDatatype", r"inputs\[0\]: unknown datatype 'FLOAT'; use one of BOOL, "),
        ("NoBatchDimension", r"outputs\[0\]: shape \[4\] must start with the batch dimension, -1"),
        ("TwiceNamed", r"inputs names a tensor twice: \['x', 'x'\]"),
        ("ContentOnNumbers", r"inputs\[0\]: content 'image' needs BYTES, not FP32"),
        ("UnknownContent", r"inputs\[0\]: unknown content 'video'; use one of text, image, audio, file"),
        ("MediaTypeOnText", r"outputs\[0\]: a media_type needs content 'file' or 'image'"),
        ("RateOnAnImage", r"inputs\[0\]: sample_rate is for inputs with content 'audio' only"),
        ("RateOnAnOutput", r"outputs\[0\]: sample_rate is for inputs with content 'audio' only"),
        ("AudioOnNumbers", r"inputs\[0\]: content 'audio' needs BYTES, not FP32"),
        ("NoSuchRate", r"inputs\[0\]: sample_rate must be whole Hz in 1000\.\.384000, not 16000\.5"),
    ],
)
def test_a_bad_declaration_is_refused_at_load(name: str, message: str) -> None:
    with pytest.raises(UnsupportedModel, match=message):
        serve(f"{HERE}:{name}")


def test_setup_with_a_parameter_receives_the_context() -> None:
    spec = make_spec(name="ctx", env={"WEIGHTS": "/models/w"})
    runtime = build_runtime(predictor_model(f"{HERE}:SeesContext"), spec)
    runtime.load()
    [seen] = runtime.predict(["x"], {})
    assert seen == {
        "name": "ctx",
        "dir": str(Path(__file__).resolve().parent),  # the predictor module's own folder
        "device": "cpu",
        "dtype": "float32",  # "auto" on the CPU
        "WEIGHTS": "/models/w",
    }


def test_json_rows_reach_a_numeric_predictor_as_numpy_rows_of_its_shape() -> None:
    import numpy as np

    runtime = serve("tests.predictors:RowStats")
    row = runtime.validate_input([1, 2, 3, 4])  # what /predict's JSON gives: a list
    assert isinstance(row, np.ndarray)
    assert (row.dtype, row.shape) == (np.float32, (4,))
    [answer] = runtime.predict([row], {})
    assert answer["sum"] == 10.0
    already = np.arange(4, dtype=np.float32)  # what V2 gives: left as it is
    assert runtime.validate_input(already) is already


@pytest.mark.parametrize(("item", "got"), [([1, 2, 3], "got shape [3]"), (["a", "b", "c", "d"], "got ['a'")])
def test_a_json_row_of_the_wrong_width_or_type_is_refused_naming_the_input(item: Any, got: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        serve("tests.predictors:RowStats").validate_input(item)
    assert "input 'features' takes FP32 rows of shape [4]" in caught.value.message
    assert got in caught.value.message
