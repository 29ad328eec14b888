"""Usage examples: the right calls per task, and an API key referenced, never written out."""

from __future__ import annotations

import ast
import json
import shlex

import pytest

from berth.control.usage import usage_examples

ENDPOINT = "http://127.0.0.1:8100"


def test_feature_extraction_has_an_openai_embeddings_example() -> None:
    examples = usage_examples("minilm", ENDPOINT, "feature-extraction", secured=False)
    assert set(examples) == {"curl", "python", "openai"}
    assert "client.embeddings.create(" in examples["openai"]
    assert 'model="minilm"' in examples["openai"]
    assert f'base_url="{ENDPOINT}/v1"' in examples["openai"]


def test_text_generation_has_an_openai_chat_example() -> None:
    examples = usage_examples("gpt", ENDPOINT, "text-generation", secured=False)
    assert "client.chat.completions.create(" in examples["openai"]
    assert "'Once upon a time'" in examples["openai"]
    assert "embeddings" not in examples["openai"]


@pytest.mark.parametrize("task", ["text-classification", "fill-mask", "token-classification", "custom"])
def test_other_tasks_have_no_openai_example(task: str) -> None:
    assert set(usage_examples("m", ENDPOINT, task, secured=False)) == {"curl", "python"}


@pytest.mark.parametrize("task", ["feature-extraction", "text-generation", "text-classification"])
def test_python_examples_are_valid_python(task: str) -> None:
    for key, code in usage_examples("m", ENDPOINT, task, secured=True).items():
        if key != "curl":
            ast.parse(code)


def test_curl_sends_json_to_predict() -> None:
    curl = usage_examples("m", ENDPOINT, "fill-mask", secured=False)["curl"]
    words = shlex.split(curl)
    assert words[:5] == ["curl", "-s", "-X", "POST", f"{ENDPOINT}/predict"]
    assert json.loads(words[words.index("-d") + 1]) == {"text": "Paris is the [MASK] of France."}
    assert "Authorization" not in curl
    assert "BERTH_API_KEY" not in curl


@pytest.mark.parametrize("task", ["feature-extraction", "text-generation", "text-classification"])
def test_secured_examples_reference_the_key_from_the_environment(
    task: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BERTH_API_KEY", "literal-key-123")
    examples = usage_examples("m", ENDPOINT, task, secured=True)
    words = shlex.split(examples["curl"])
    assert words[words.index("-H", words.index("-H") + 1) + 1] == "Authorization: Bearer $BERTH_API_KEY"
    assert "$BERTH_API_KEY" in examples["curl"]
    if "openai" in examples:
        assert 'api_key=os.environ["BERTH_API_KEY"]' in examples["openai"]
    assert all("literal-key-123" not in text for text in examples.values())


def test_unsecured_openai_example_needs_no_key() -> None:
    openai = usage_examples("m", ENDPOINT, "feature-extraction", secured=False)["openai"]
    assert 'api_key="unused"' in openai
    assert "BERTH_API_KEY" not in openai
