"""What the `berth` commands share: a client, JSON output for scripts, `berth predict`'s inputs and output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from berth.errors import InvalidInput, NotAcceptable
from berth.uploads import FileLike

if TYPE_CHECKING:
    from berth.client import Client, RawAnswer

STDIN = "-"


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


def read_files(paths: list[str]) -> list[FileLike]:
    """`--file F…` as `Client.predict` takes them: paths as they are (it reads them), `-` as stdin's bytes."""
    if paths.count(STDIN) > 1:
        raise InvalidInput("--file - can be given once: stdin is read once")
    return [sys.stdin.buffer.read() if path == STDIN else path for path in paths]


def predict_raw(berth: Client, name: str, inputs: Any, files: list[FileLike] | None) -> RawAnswer:
    """`berth predict -o`: the answer's raw bytes; a model without one binary output says so."""
    try:
        return berth.predict_raw(name, inputs, file=files)
    except NotAcceptable as exc:
        raise NotAcceptable(
            f"{exc.message}; -o writes one binary output, drop it to print the JSON"
        ) from None


def write_output(output: str, data: bytes, media_type: str) -> None:
    """Write a raw answer to OUT (`-`: stdout) and say on one line what was written."""
    if output == STDIN:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        sys.stderr.write(f"wrote {len(data)} bytes of {media_type} to stdout\n")
        return
    path = Path(output).expanduser()
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    sys.stdout.write(f"wrote {len(data)} bytes of {media_type} to {path}\n")
