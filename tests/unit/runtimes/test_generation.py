from __future__ import annotations

import pytest

from berth.errors import InvalidInput
from berth.runtimes.generation import GenerationParams


def test_defaults_are_greedy_and_unset() -> None:
    assert GenerationParams.parse({}) == GenerationParams(max_new_tokens=None, do_sample=False)


def test_a_temperature_turns_sampling_on_unless_told_otherwise() -> None:
    assert GenerationParams.parse({"temperature": 0.7}).do_sample is True
    assert GenerationParams.parse({"temperature": 0}).do_sample is False
    assert GenerationParams.parse({"temperature": 0.7, "do_sample": False}).do_sample is False


def test_every_option_parses() -> None:
    params = GenerationParams.parse(
        {
            "max_new_tokens": 5000,  # no silent cap: the engine checks it against the context
            "temperature": 0.7,
            "top_p": 0.9,
            "top_k": 40,
            "repetition_penalty": 1.1,
            "seed": 1,
            "stop": "\n",
            "stop_token_ids": [2, 3],
            "logprobs": True,
        }
    )
    assert params == GenerationParams(5000, 0.7, 0.9, 40, 1.1, True, 1, ("\n",), (2, 3), True)


def test_none_means_not_set() -> None:
    unset = {"temperature": None, "top_p": None, "top_k": None, "seed": None, "stop": None}
    assert GenerationParams.parse(unset) == GenerationParams()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_tokens": 5}, "unknown parameter 'max_tokens' for text-generation"),
        ({"max_new_tokens": 0}, "max_new_tokens must be an integer of at least 1"),
        ({"max_new_tokens": "5"}, "max_new_tokens must be an integer"),
        ({"temperature": -1}, "temperature must be a number at least 0"),
        ({"top_p": 1.5}, "top_p must be at most 1"),
        ({"top_p": 0}, "top_p must be a number above 0"),
        ({"top_k": -1}, "top_k must be an integer of at least 0"),
        ({"repetition_penalty": 0}, "repetition_penalty must be a number above 0"),
        ({"do_sample": "yes"}, "do_sample must be true or false"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"stop": [1]}, "stop must be a string or a list of strings"),
        ({"stop": ["x"] * 17}, "stop takes at most 16 strings"),
        ({"stop_token_ids": [-1]}, "stop_token_ids must be a list of token ids"),
        ({"logprobs": 1}, "logprobs must be true or false"),
    ],
)
def test_bad_params_are_named(params: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        GenerationParams.parse(params)
