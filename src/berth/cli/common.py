"""What the `berth` commands share: a client, JSON output for scripts, and the predict INPUT rule."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from berth.errors import InvalidInput

if TYPE_CHECKING:
    from berth.client import Client


def client() -> Client:
    """A client for the configured control plane (BERTH_URL, else BERTH_HOST:BERTH_PORT)."""
    from berth.client import Client

    return Client()


def print_json(data: Any) -> None:
    """Write `data` to stdout as indented JSON, unstyled, for scripts."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def parse_input(text: str) -> Any:
    """`berth predict`'s INPUT: `@file.json`, a JSON object or array, or else plain text.

    >>> parse_input('{"text": "hi"}'), parse_input("[1, 2]"), parse_input("I love this")
    ({'text': 'hi'}, [1, 2], 'I love this')
    """
    if text.startswith("@"):
        path = Path(text[1:]).expanduser()
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidInput(f"input file {str(path)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read input file {str(path)!r}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return text  # NOTE: text that merely starts with a bracket is still text
        if isinstance(data, dict | list):
            return data
    return text
