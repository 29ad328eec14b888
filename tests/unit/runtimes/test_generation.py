from __future__ import annotations

import pytest

from berth.errors import InvalidInput
from berth.runtimes.generation import MAX_NEW_TOKENS_LIMIT, GenerationParams


def test_defaults_are_greedy_and_short() -> None:
    params = GenerationParams.parse({})
    assert params == GenerationParams(max_new_tokens=32, do_sample=False)
    assert params.generate_kwargs() == {
        "max_new_tokens": 32,
        "do_sample": False,
        "temperature": None,
        "top_p": None,
        "top_k": None,
    }


def test_max_new_tokens_is_capped() -> None:
    assert GenerationParams.parse({"max_new_tokens": 10**6}).max_new_tokens == MAX_NEW_TOKENS_LIMIT


def test_a_temperature_turns_sampling_on_unless_told_otherwise() -> None:
    assert GenerationParams.parse({"temperature": 0.7}).do_sample is True
    assert GenerationParams.parse({"temperature": 0}).do_sample is False
    assert GenerationParams.parse({"temperature": 0.7, "do_sample": False}).do_sample is False
    sampling = GenerationParams.parse({"temperature": 0.7, "top_p": 0.9, "seed": 1})
    assert sampling.generate_kwargs() == {
        "max_new_tokens": 32,
        "do_sample": True,
        "temperature": 0.7,
        "top_p": 0.9,
    }


def test_none_means_not_set() -> None:
    assert GenerationParams.parse({"temperature": None, "top_p": None, "seed": None}) == GenerationParams()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_tokens": 5}, "unknown parameter 'max_tokens' for text-generation"),
        ({"max_new_tokens": 0}, "max_new_tokens must be an integer of at least 1"),
        ({"max_new_tokens": "5"}, "max_new_tokens must be an integer"),
        ({"temperature": -1}, "temperature must be a number of at least 0"),
        ({"top_p": 1.5}, "top_p must be at most 1"),
        ({"do_sample": "yes"}, "do_sample must be true or false"),
        ({"seed": 1.5}, "seed must be an integer"),
    ],
)
def test_bad_params_are_named(params: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        GenerationParams.parse(params)
