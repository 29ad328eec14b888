"""OpenAI request bodies: what each becomes for the engine, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from berth.errors import InvalidInput
from berth.worker.http import parse_body
from berth.worker.protocols.openai_requests import ChatRequest, CompletionRequest, choice_params, to_params

HELLO = [{"role": "user", "content": "hi"}]


def _chat(**fields: Any) -> ChatRequest:
    return ChatRequest.model_validate({"messages": HELLO, **fields})


def test_temperature_zero_is_greedy_and_drops_the_sampling_knobs() -> None:
    body = _chat(temperature=0, top_p=0.5, top_k=4, repetition_penalty=1.2, stop="\n")
    assert to_params(body, 8, logprobs=False) == {
        "max_new_tokens": 8,
        "do_sample": False,
        "repetition_penalty": 1.2,
        "stop": ["\n"],
    }


def test_no_temperature_samples_at_openais_default_of_one() -> None:
    body = _chat(top_p=0.9, top_k=0, seed=5, stop=["", "END"])
    assert to_params(body, None, logprobs=True) == {
        "do_sample": True,
        "temperature": 1.0,
        "top_p": 0.9,
        "seed": 5,
        "stop": ["END"],
        "logprobs": True,
    }


def test_each_choice_samples_with_its_own_seed() -> None:
    seeded = choice_params({"seed": 10, "do_sample": True}, 3)
    assert [p["seed"] for p in seeded] == [10, 11, 12]
    assert choice_params({"do_sample": False}, 2) == [{"do_sample": False}] * 2


def test_text_parts_become_text_parts_and_other_parts_are_refused() -> None:
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    body = ChatRequest.model_validate({"messages": [{"role": "user", "content": parts}]})
    assert body.chat_messages() == [{"role": "user", "content": parts}]
    image = [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    with pytest.raises(InvalidInput, match=r"messages\[0\]\.content\[0\]: .*'image_url'"):
        ChatRequest.model_validate({"messages": [{"role": "user", "content": image}]}).chat_messages()


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"presence_penalty": 0.4}, "use repetition_penalty"),
        ({"frequency_penalty": -1}, "use repetition_penalty"),
        ({"logit_bias": {"12": 3}}, "logit_bias is not supported"),
        ({"top_logprobs": 3, "logprobs": True}, "top_logprobs is not supported"),
        ({"tools": [{"type": "function"}]}, "tools (function calling) are not supported"),
        ({"response_format": {"type": "json_object"}}, "'json_object' is not supported"),
    ],
)
def test_features_berth_lacks_are_refused_by_name(fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidInput, match="not supported") as caught:
        _chat(**fields).check_unsupported()
    assert fragment in caught.value.message


def test_their_neutral_values_pass() -> None:
    _chat(
        presence_penalty=0, frequency_penalty=0, logit_bias={}, tools=[], tool_choice="none"
    ).check_unsupported()
    CompletionRequest.model_validate(
        {"prompt": "x", "echo": False, "best_of": 1, "suffix": ""}
    ).check_unsupported()


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"prompt": "x", "stream_option": {}}', "body.stream_option: unknown field"),
        (b'{"prompt": "x", "n": 0}', "body.n"),
        (b'{"prompt": "x", "logprobs": 5}', "body.logprobs"),
        (b'{"prompt": "x", "seed": -1}', "body.seed"),
        (b'{"prompt": "x", "stop": ["a", "b", "c", "d", "e"]}', "body.stop"),
    ],
)
def test_malformed_completion_bodies_name_the_field(body: bytes, fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_body(body, CompletionRequest)
    assert fragment in caught.value.message
