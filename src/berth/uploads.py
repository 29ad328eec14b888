"""Files as a client sends them to `/predict`: one multipart/form-data `file` field per file.

`berth.Client.predict(..., file=...)` and `berth predict --file` both take a path, bytes or a binary
file object (or a list of them, one input each). Each becomes a `file` field with a filename and a
media type guessed from it by `mimetypes`, the same form `curl -F file=@cat.jpg` sends. It lives
beside the client rather than in it so the CLI's `--file -` (stdin) and the client share one rule;
it imports the standard library and berth's error vocabulary only.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TypeAlias

from berth.errors import InvalidInput

FileLike: TypeAlias = "str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]"
Files: TypeAlias = "FileLike | Sequence[FileLike]"
Part: TypeAlias = tuple[str, tuple[str, bytes, str]]  # httpx's `files=`: (field, (filename, data, type))

FIELD = "file"
UNNAMED = "upload"  # the filename of bytes that came without one
OCTET_STREAM = "application/octet-stream"


def multipart_files(files: Files) -> list[Part]:
    """httpx `files=` for one file or a list of them, in order; raises `InvalidInput` for one it cannot read.

    >>> multipart_files(b"GIF89a")
    [('file', ('upload', b'GIF89a', 'application/octet-stream'))]
    >>> [part[1][2] for part in multipart_files([b"x", b"y"])]
    ['application/octet-stream', 'application/octet-stream']
    """
    if not isinstance(files, Sequence) or isinstance(files, str | bytes | bytearray | memoryview):
        return [part(files)]  # NOTE: a path string and bytes are Sequences too, but one file each
    if not files:
        raise InvalidInput("file: the list of files is empty; give at least one")
    return [part(item) for item in files]


def part(file: FileLike, filename: str | None = None) -> Part:
    """One `file` field: its filename (from the path or file object), bytes and guessed media type."""
    if isinstance(file, bytes | bytearray | memoryview):
        data, name = bytes(file), filename or UNNAMED
    elif isinstance(file, str | os.PathLike):
        path = Path(file).expanduser()
        data, name = read_path(path), filename or path.name
    elif hasattr(file, "read"):
        data = file.read()
        if not isinstance(data, bytes):
            where = getattr(file, "name", "the file object")
            raise InvalidInput(f"file: {where!r} gives text; open it in binary mode ('rb')")
        given = getattr(file, "name", None)
        name = filename or (Path(given).name if isinstance(given, str) and given else UNNAMED)
    else:
        raise InvalidInput(f"file: expected a path, bytes or a binary file object, got {type(file).__name__}")
    return FIELD, (name, data, media_type(name))


def read_path(path: Path) -> bytes:
    """A file's bytes, or one sentence saying why it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"file {str(path)!r} does not exist; give the path of a file to send") from None
    except IsADirectoryError:
        raise InvalidInput(f"{str(path)!r} is a folder; give the path of a file to send") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read file {str(path)!r}: {exc.strerror or exc}") from None


def media_type(filename: str) -> str:
    """The media type `mimetypes` guesses from a filename, else `application/octet-stream`.

    >>> media_type("cat.png"), media_type("notes")
    ('image/png', 'application/octet-stream')
    """
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or OCTET_STREAM
