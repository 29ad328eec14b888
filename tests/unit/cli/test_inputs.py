"""`berth predict`'s INPUT and the body the client sends for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from berth.cli.common import parse_input
from berth.client import request_body
from berth.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("I love this", "I love this"),
        ('{"text": "hi"}', {"text": "hi"}),
        ('["a", "b"]', ["a", "b"]),
        ("  [1, 2]", [1, 2]),
        ("[not json", "[not json"),
        ('"quoted"', '"quoted"'),  # JSON, but not an object or array: plain text
        ("42", "42"),
        ("", ""),
    ],
)
def test_text_or_json(text: str, parsed: Any) -> None:
    assert parse_input(text) == parsed


def test_at_file(tmp_path: Path) -> None:
    (tmp_path / "input.json").write_text('{"inputs": ["a", "b"]}')
    assert parse_input("@input.json") == {"inputs": ["a", "b"]}


def test_at_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        parse_input("@nope.json")
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        parse_input("@bad.json")


@pytest.mark.parametrize(
    ("inputs", "body"),
    [
        ("I love this", {"text": "I love this"}),
        (["a", "b"], {"inputs": ["a", "b"]}),
        (("a",), {"inputs": ["a"]}),
        ({"text": "x", "parameters": {}}, {"text": "x", "parameters": {}}),
    ],
)
def test_request_body(inputs: Any, body: Any) -> None:
    assert request_body(inputs) == body
