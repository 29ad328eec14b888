"""Log files: tail reads the end, follow survives copytruncate, event lines are picked out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from berth.control import logfiles
from berth.events import EVENT_PREFIX, Event, Stage


def append(path: Path, text: str | bytes) -> None:
    with path.open("ab") as file:
        file.write(text.encode() if isinstance(text, str) else text)


def event_line(stage: Stage, message: str = "m") -> str:
    line: str = EVENT_PREFIX + Event.at("echo", stage, message).model_dump_json()
    return line + "\n"


# tail


def test_tail_of_a_large_file_is_exactly_the_last_lines(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    lines = [f"line {i:06d} " + "x" * (i % 97) for i in range(40_000)]  # ~2.7 MB, many 64 KiB blocks
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 20 * 64 * 1024
    for count in (1, 10, 999, 5000):
        assert logfiles.tail(path, count) == lines[-count:]


@pytest.mark.parametrize("end", ["", "\n"], ids=["no-final-newline", "final-newline"])
def test_tail_across_a_block_edge(tmp_path: Path, end: str) -> None:
    path = tmp_path / "edge.log"
    long = "y" * (64 * 1024 + 10)  # the last full line straddles the first 64 KiB block read
    path.write_text(f"first\n{long}\nlast{end}")
    assert logfiles.tail(path, 2) == [long, "last"]
    assert logfiles.tail(path, 3) == ["first", long, "last"]
    assert logfiles.tail(path, 50) == ["first", long, "last"]


def test_tail_of_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    assert logfiles.tail(path, 10) == [], "a missing file"
    path.write_text("")
    assert logfiles.tail(path, 10) == []
    path.write_text("a\n")
    assert logfiles.tail(path, 0) == []


def test_tail_replaces_undecodable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "bytes.log"
    path.write_bytes(b"ok\nbad \xff\xfe\n")
    assert logfiles.tail(path, 1) == ["bad \ufffd\ufffd"]


# follow


async def next_line(lines: AsyncIterator[str]) -> str:
    with anyio.fail_after(2):
        return await anext(lines)


@pytest.mark.anyio
async def test_follow_yields_appended_lines_and_survives_copytruncate(tmp_path: Path) -> None:
    path = tmp_path / "echo.log"
    path.write_text("old line that is already there\n")
    lines = logfiles.follow(path, logfiles.size(path), poll_s=0.01)
    try:
        append(path, "one\ntw")
        assert await next_line(lines) == "one"
        append(path, "o\n")
        assert await next_line(lines) == "two", "a line split across writes comes out whole"

        assert logfiles.rotate_if_large(path, max_bytes=10)
        assert path.stat().st_size == 0
        assert (tmp_path / "echo.log.1").read_text().endswith("one\ntwo\n")
        await anyio.sleep(0.05)  # follow notices the shorter file before new lines arrive
        append(path, "after\n")
        assert await next_line(lines) == "after"
    finally:
        await lines.aclose()


@pytest.mark.anyio
async def test_follow_starts_at_the_offset(tmp_path: Path) -> None:
    path = tmp_path / "echo.log"
    path.write_text("skip\nfrom here\n")
    lines = logfiles.follow(path, len("skip\n"), poll_s=0.01)
    try:
        assert await next_line(lines) == "from here"
    finally:
        await lines.aclose()


@pytest.mark.anyio
async def test_follow_waits_for_a_file_that_does_not_exist_yet(tmp_path: Path) -> None:
    path = tmp_path / "later.log"
    lines = logfiles.follow(path, 0, poll_s=0.01)
    try:
        with anyio.move_on_after(0.05) as scope:
            await anext(lines)
        assert scope.cancelled_caught, "nothing to read yet"
    finally:
        await lines.aclose()
    lines = logfiles.follow(path, 0, poll_s=0.01)
    try:
        append(path, "hello\n")
        assert await next_line(lines) == "hello"
    finally:
        await lines.aclose()


# EventReader


def test_event_reader_returns_only_event_lines_after_its_offset(tmp_path: Path) -> None:
    path = tmp_path / "echo.log"
    append(path, event_line(Stage.LOADING, "from a previous run"))
    reader = logfiles.EventReader(path, logfiles.size(path))
    assert reader.read() == []

    append(path, "INFO plain log line\n" + event_line(Stage.LOADING, "loading") + "Traceback ...\n")
    append(path, event_line(Stage.STARTING, "starting"))
    events = reader.read()
    assert [(e.stage, e.message) for e in events] == [
        (Stage.LOADING, "loading"),
        (Stage.STARTING, "starting"),
    ]
    assert reader.read() == [], "nothing is read twice"


def test_event_reader_joins_a_line_split_across_writes(tmp_path: Path) -> None:
    path = tmp_path / "echo.log"
    path.write_text("")
    reader = logfiles.EventReader(path, 0)
    line = event_line(Stage.FAILED, "out of memory")
    append(path, line[:20])
    assert reader.read() == []
    append(path, line[20:-1])
    assert reader.read() == [], "no newline yet"
    append(path, "\n")
    (event,) = reader.read()
    assert (event.stage, event.message) == (Stage.FAILED, "out of memory")
    assert reader.offset == len(line.encode())


def test_event_reader_survives_copytruncate(tmp_path: Path) -> None:
    path = tmp_path / "echo.log"
    path.write_text("x" * 200 + "\n")
    reader = logfiles.EventReader(path, 0)
    assert reader.read() == []
    assert logfiles.rotate_if_large(path, max_bytes=100)
    append(path, event_line(Stage.FAILED, "CUDA out of memory"))
    assert [e.message for e in reader.read()] == ["CUDA out of memory"]


def test_event_reader_on_a_missing_file(tmp_path: Path) -> None:
    assert logfiles.EventReader(tmp_path / "none.log", 0).read() == []


# rotation


def test_rotate_if_large_keeps_backups_newest_first(tmp_path: Path) -> None:
    path = logfiles.log_path(tmp_path, "echo")
    path.parent.mkdir()
    assert path == tmp_path / "logs" / "echo.log"
    assert not logfiles.rotate_if_large(path, max_bytes=4), "a missing file is not rotated"
    for generation in range(6):
        path.write_text(f"generation {generation}\n")
        assert logfiles.rotate_if_large(path, max_bytes=4)
        assert path.read_text() == ""
    backups = sorted(p.name for p in path.parent.iterdir() if p != path)
    assert backups == [f"echo.log.{i}" for i in range(1, logfiles.BACKUPS + 1)]
    for index in range(1, logfiles.BACKUPS + 1):
        assert path.with_name(f"echo.log.{index}").read_text() == f"generation {6 - index}\n"


def test_a_small_file_is_not_rotated(tmp_path: Path) -> None:
    path = tmp_path / "echo.log"
    path.write_text("12345")
    assert not logfiles.rotate_if_large(path, max_bytes=5)
    assert path.read_text() == "12345"
    assert list(tmp_path.iterdir()) == [path]


def test_rotation_keeps_the_writers_appends_at_the_start(tmp_path: Path) -> None:
    path = tmp_path / "echo.log"
    with path.open("ab") as writer:  # a worker's O_APPEND descriptor stays open across rotation
        writer.write(b"before rotation\n")
        writer.flush()
        assert logfiles.rotate_if_large(path, max_bytes=1)
        writer.write(b"after\n")
        writer.flush()
    assert path.read_bytes() == b"after\n", "no hole of zeros where the old content was"
