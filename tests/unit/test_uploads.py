"""`berth.uploads`: what a path, bytes or a file object becomes as a multipart `file` field."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from berth.errors import InvalidInput
from berth.uploads import multipart_files, part


def test_a_path_sends_its_bytes_its_name_and_the_type_its_suffix_says(tmp_path: Path) -> None:
    (tmp_path / "cat.png").write_bytes(b"\x89PNG...")
    (tmp_path / "hello.wav").write_bytes(b"RIFF")
    assert multipart_files(tmp_path / "cat.png") == [("file", ("cat.png", b"\x89PNG...", "image/png"))]
    assert multipart_files(str(tmp_path / "hello.wav"))[0][1][2] in ("audio/x-wav", "audio/wav")


def test_bytes_and_file_objects(tmp_path: Path) -> None:
    assert part(b"abc") == ("file", ("upload", b"abc", "application/octet-stream"))
    assert part(bytearray(b"abc"), filename="a.jpg") == ("file", ("a.jpg", b"abc", "image/jpeg"))
    (tmp_path / "chair.glb").write_bytes(b"glTF")
    with (tmp_path / "chair.glb").open("rb") as handle:
        name, data, _ = part(handle)[1]
    assert (name, data) == ("chair.glb", b"glTF")
    assert part(io.BytesIO(b"xyz")) == ("file", ("upload", b"xyz", "application/octet-stream"))


def test_a_list_is_one_field_per_file_in_order(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("A")
    parts = multipart_files([tmp_path / "a.txt", b"B", io.BytesIO(b"C")])
    assert [(field, data) for field, (_, data, _) in parts] == [
        ("file", b"A"),
        ("file", b"B"),
        ("file", b"C"),
    ]


@pytest.mark.parametrize(
    ("file", "message"),
    [
        ("nope.png", "file 'nope.png' does not exist; give the path of a file to send"),
        (".", "'.' is a folder; give the path of a file to send"),
        ([], "file: the list of files is empty; give at least one"),
        (42, "file: expected a path, bytes or a binary file object, got int"),
        (io.StringIO("text"), "file: 'the file object' gives text; open it in binary mode ('rb')"),
    ],
    ids=["missing", "folder", "empty list", "a number", "text mode"],
)
def test_what_cannot_be_sent_is_one_sentence(file: object, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        multipart_files(file)  # type: ignore[arg-type]
    assert caught.value.message == message
    assert caught.value.exit_code == 2
