"""Usage examples: the right calls per task and per signature kind, and an API key referenced, never written.

tests/integration/test_usage_examples.py runs every one of them against real deployments; these check
the shape of each call for each kind of signature, fast and without processes.
"""

from __future__ import annotations

import ast
import json
import shlex

import pytest

from berth.api.types import SignaturePublic, TensorPublic
from berth.control.usage import usage_examples

ENDPOINT = "http://127.0.0.1:8100"
TEXT = SignaturePublic(
    inputs=[TensorPublic(name="text", datatype="BYTES", shape=[-1])],
    outputs=[TensorPublic(name="embedding", datatype="FP32", shape=[-1, 384])],
)
ROWS = SignaturePublic(
    inputs=[TensorPublic(name="features", datatype="FP32", shape=[-1, 4])],
    outputs=[TensorPublic(name="sum", datatype="FP32", shape=[-1])],
)
IMAGE = SignaturePublic(inputs=[TensorPublic(name="image", datatype="BYTES", shape=[-1], content="image")])
AUDIO = SignaturePublic(inputs=[TensorPublic(name="audio", datatype="BYTES", shape=[-1], content="audio")])
GLB = SignaturePublic(
    inputs=IMAGE.inputs,
    outputs=[
        TensorPublic(
            name="mesh", datatype="BYTES", shape=[-1], content="file", media_type="model/gltf-binary"
        )
    ],
)
PAIRS = SignaturePublic(
    inputs=[
        TensorPublic(name="left", datatype="BYTES", shape=[-1]),
        TensorPublic(name="right", datatype="BYTES", shape=[-1]),
    ]
)
SIGNATURES = {"text": TEXT, "rows": ROWS, "image": IMAGE, "audio": AUDIO, "glb": GLB, "pairs": PAIRS}


def _curl_words(curl: str) -> list[str]:
    """The curl command's words, as bash splits them (comment lines dropped)."""
    [command] = [line for line in curl.splitlines() if not line.startswith("#")]
    return shlex.split(command)


def _after(words: list[str], flag: str) -> list[str]:
    return [words[i + 1] for i, word in enumerate(words) if word == flag]


def test_feature_extraction_has_an_openai_embeddings_example() -> None:
    examples = usage_examples("minilm", ENDPOINT, "feature-extraction", False, TEXT)
    assert list(examples) == ["curl", "python", "openai", "tritonclient"]
    assert "client.embeddings.create(" in examples["openai"]
    assert 'model="minilm"' in examples["openai"]
    assert f'base_url="{ENDPOINT}/v1"' in examples["openai"]


def test_text_generation_has_an_openai_chat_example() -> None:
    examples = usage_examples("gpt", ENDPOINT, "text-generation", False, TEXT)
    assert "client.chat.completions.create(" in examples["openai"]
    assert "'Once upon a time'" in examples["openai"]
    assert "embeddings" not in examples["openai"]


@pytest.mark.parametrize("task", ["text-classification", "fill-mask", "token-classification", "custom"])
def test_other_tasks_have_no_openai_example(task: str) -> None:
    assert list(usage_examples("m", ENDPOINT, task, False, TEXT)) == ["curl", "python", "tritonclient"]


@pytest.mark.parametrize("signature", ["rows", "image", "glb", "pairs"])
def test_a_model_that_takes_no_single_text_has_no_openai_example(signature: str) -> None:
    examples = usage_examples("m", ENDPOINT, "feature-extraction", False, SIGNATURES[signature])
    assert "openai" not in examples


@pytest.mark.parametrize("signature", list(SIGNATURES))
@pytest.mark.parametrize("secured", [False, True])
def test_python_examples_are_valid_python(signature: str, secured: bool) -> None:
    for key, code in usage_examples(
        "m", ENDPOINT, "feature-extraction", secured, SIGNATURES[signature]
    ).items():
        if key != "curl":
            ast.parse(code)


def test_curl_sends_json_text_to_predict() -> None:
    curl = usage_examples("m", ENDPOINT, "fill-mask", False, TEXT)["curl"]
    words = _curl_words(curl)
    assert words[:5] == ["curl", "-s", "-X", "POST", f"{ENDPOINT}/predict"]
    assert json.loads(_after(words, "-d")[0]) == {"text": "Paris is the [MASK] of France."}
    assert "Authorization" not in curl
    assert "BERTH_API_KEY" not in curl


def test_without_a_signature_the_examples_assume_one_text_input() -> None:
    assert usage_examples("m", ENDPOINT, "fill-mask", False) == usage_examples(
        "m", ENDPOINT, "fill-mask", False, TEXT
    )


def test_fp32_rows_are_a_json_body_of_the_declared_width() -> None:
    examples = usage_examples("rows", ENDPOINT, "auto", False, ROWS)
    [body] = _after(_curl_words(examples["curl"]), "-d")
    [row] = json.loads(body)["inputs"]
    assert len(row) == 4
    assert all(isinstance(value, float) for value in row)
    assert f'Client().predict("rows", {[row]})' in examples["python"]
    assert 'httpclient.InferInput("features", [1, 4], "FP32")' in examples["tritonclient"]
    assert f"np.array({[row]}, dtype=np.float32)" in examples["tritonclient"]


def test_a_variable_dimension_gets_a_size_and_integers_stay_integers() -> None:
    signature = SignaturePublic(inputs=[TensorPublic(name="ids", datatype="INT64", shape=[-1, -1, 2])])
    examples = usage_examples("m", ENDPOINT, "auto", False, signature)
    [body] = _after(_curl_words(examples["curl"]), "-d")
    [row] = json.loads(body)["inputs"]
    assert len(row) >= 1
    assert all(len(pair) == 2 for pair in row)
    assert all(isinstance(value, int) for pair in row for value in pair)
    assert f'InferInput("ids", [1, {len(row)}, 2], "INT64")' in examples["tritonclient"]


@pytest.mark.parametrize(("signature", "file"), [("image", "example.jpg"), ("audio", "example.wav")])
def test_an_image_or_audio_input_is_uploaded_and_the_file_named_in_a_comment(
    signature: str, file: str
) -> None:
    examples = usage_examples("m", ENDPOINT, "auto", False, SIGNATURES[signature])
    assert _after(_curl_words(examples["curl"]), "-F") == [f"file=@{file}"]
    assert f'Client().predict("m", file="{file}")' in examples["python"]
    assert f'np.array([Path("{file}").read_bytes()], dtype=object)' in examples["tritonclient"]
    for code in examples.values():
        assert code.splitlines()[0].startswith(f"# {file}: "), code


def test_a_file_output_is_asked_for_raw_and_written_to_a_file() -> None:
    examples = usage_examples("glb", ENDPOINT, "auto", False, GLB)
    words = _curl_words(examples["curl"])
    assert _after(words, "-H") == ["Accept: model/gltf-binary"]
    assert _after(words, "-o") == ["out.glb"]
    assert 'Client().predict_raw("glb", file="example.jpg")' in examples["python"]
    assert 'Path("out.glb").write_bytes(data)' in examples["python"]
    assert 'result.as_numpy("mesh")[0]' in examples["tritonclient"]


def test_a_json_answer_is_not_asked_for_raw() -> None:
    for signature in (TEXT, ROWS, IMAGE):
        curl = usage_examples("m", ENDPOINT, "auto", False, signature)["curl"]
        assert "Accept" not in curl
        assert " -o " not in curl


def test_several_inputs_are_one_item_keyed_by_name() -> None:
    examples = usage_examples("pairs", ENDPOINT, "auto", False, PAIRS)
    [body] = _after(_curl_words(examples["curl"]), "-d")
    assert json.loads(body) == {"inputs": [{"left": "I love this product!", "right": "I love this product!"}]}
    assert 'InferInput("left", [1], "BYTES")' in examples["tritonclient"]
    assert 'InferInput("right", [1], "BYTES")' in examples["tritonclient"]
    assert "[input0, input1]" in examples["tritonclient"]


def test_a_file_among_several_inputs_is_base64_inside_the_json() -> None:
    signature = SignaturePublic(inputs=[*IMAGE.inputs, *ROWS.inputs])
    examples = usage_examples("m", ENDPOINT, "auto", False, signature)
    [body] = _after(_curl_words(examples["curl"]), "-d")
    assert "$(base64 < example.jpg" in body  # bash substitutes it between the JSON's quotes
    assert 'base64.b64encode(Path("example.jpg").read_bytes()).decode()' in examples["python"]


@pytest.mark.parametrize("signature", list(SIGNATURES))
def test_secured_examples_reference_the_key_from_the_environment(
    signature: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BERTH_API_KEY", "literal-key-123")
    examples = usage_examples("m", ENDPOINT, "feature-extraction", True, SIGNATURES[signature])
    assert "Authorization: Bearer $BERTH_API_KEY" in _after(_curl_words(examples["curl"]), "-H")
    assert "headers=headers)" in examples["tritonclient"]
    assert "os.environ['BERTH_API_KEY']" in examples["tritonclient"]
    if "openai" in examples:
        assert 'api_key=os.environ["BERTH_API_KEY"]' in examples["openai"]
    assert all("literal-key-123" not in text for text in examples.values())


def test_unsecured_examples_need_no_key() -> None:
    examples = usage_examples("m", ENDPOINT, "feature-extraction", False, TEXT)
    assert 'api_key="unused"' in examples["openai"]
    assert all("BERTH_API_KEY" not in code for code in examples.values())


def test_a_task_that_needs_parameters_sends_them_in_every_example() -> None:
    examples = usage_examples("clip", ENDPOINT, "zero-shot-image-classification", False, IMAGE)
    labels = {"candidate_labels": ["a cat", "a dog"]}
    assert _after(_curl_words(examples["curl"]), "-F") == [
        "file=@example.jpg",
        f"parameters={json.dumps(labels)}",
    ]
    assert f'Client().predict("clip", file="example.jpg", parameters={labels!r})' in examples["python"]
    assert f"parameters={labels!r}" in examples["tritonclient"]

    series = SignaturePublic(inputs=[TensorPublic(name="series", datatype="FP32", shape=[-1, -1])])
    forecast = usage_examples("f", ENDPOINT, "time-series-forecasting", False, series)
    body = json.loads(_after(_curl_words(forecast["curl"]), "-d")[0])
    assert body == {"inputs": [[0.5, 1.0, 1.5]], "parameters": {"prediction_length": 4}}
    assert "parameters" not in usage_examples("m", ENDPOINT, "feature-extraction", False, TEXT)["curl"]
