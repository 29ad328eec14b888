"""Files into `Client.predict` / `predict_raw` and `berth predict --file / -o`, answered in-process.

httpx.MockTransport plays the control plane; each test reads back the request the client made
(multipart fields, `?format=raw`) with Starlette's own multipart parser, as the worker does.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartParser
from typer.testing import CliRunner

from berth.cli import deployments
from berth.cli.app import app
from berth.client import Client, RawAnswer
from berth.errors import InvalidInput, NotAcceptable

MESH = b"glTF\x02\x00\x00\x00" + bytes(range(256))


def uploaded(request: httpx.Request) -> list[tuple[str, str, str, bytes]]:
    """(field, filename, content type, bytes) of each file in a multipart request."""

    async def parse() -> list[tuple[str, str, str, bytes]]:
        async def body() -> AsyncIterator[bytes]:
            yield request.content

        form = await MultiPartParser(
            Headers({"content-type": request.headers["content-type"]}), body()
        ).parse()
        files = []
        for field, value in form.multi_items():
            assert isinstance(value, UploadFile)
            files.append((field, value.filename or "", value.content_type or "", await value.read()))
        await form.close()
        return files

    return asyncio.run(parse())


class FakePlane:
    """Answers `/inference` like a GLB model: raw bytes for `?format=raw`, else base64 JSON."""

    def __init__(self, binary: bool = True) -> None:
        self.binary = binary
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.params.get("format") == "raw":
            if not self.binary:
                message = "the answer can be application/json only (the model's output is not binary)"
                return httpx.Response(406, json={"error": {"code": "not_acceptable", "message": message}})
            return httpx.Response(200, content=MESH, headers={"content-type": "model/gltf-binary"})
        blob = {"data": base64.b64encode(MESH).decode(), "media_type": "model/gltf-binary"}
        return httpx.Response(200, json={"status": "success", "result": [blob]})

    def client(self) -> Client:
        return Client("http://berth.test", transport=httpx.MockTransport(self))


def test_predict_with_files_sends_one_multipart_field_each_and_returns_the_json(tmp_path: Path) -> None:
    (tmp_path / "chair.png").write_bytes(b"PNG-bytes")
    plane = FakePlane()
    with plane.client() as berth:
        answer = berth.predict("chair3d", file=[tmp_path / "chair.png", b"raw"])
    assert answer["result"][0]["media_type"] == "model/gltf-binary"
    [request] = plane.requests
    assert request.url.path == "/api/v1/deployments/chair3d/inference"
    assert "format" not in request.url.params
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert uploaded(request) == [
        ("file", "chair.png", "image/png", b"PNG-bytes"),
        ("file", "upload", "application/octet-stream", b"raw"),
    ]


def test_predict_raw_asks_for_raw_bytes_and_returns_them_with_their_type() -> None:
    plane = FakePlane()
    with plane.client() as berth:
        answer = berth.predict_raw("chair3d", file=b"PNG-bytes")
        by_text = berth.predict_raw("chair3d", "a chair")
    assert answer == RawAnswer(MESH, "model/gltf-binary")
    assert (answer.data, answer.media_type) == (MESH, "model/gltf-binary")
    assert [r.url.params["format"] for r in plane.requests] == ["raw", "raw"]
    assert by_text.data == MESH
    assert json.loads(plane.requests[1].content) == {"text": "a chair"}


def test_predict_keeps_its_text_call_and_refuses_both_or_neither() -> None:
    plane = FakePlane()
    with plane.client() as berth:
        berth.predict("minilm", "I love this")
        with pytest.raises(InvalidInput, match="not both"):
            berth.predict("minilm", "text", file=b"x")
        with pytest.raises(InvalidInput, match="nothing to predict on"):
            berth.predict("minilm")
    assert len(plane.requests) == 1
    assert json.loads(plane.requests[0].content) == {"text": "I love this"}


@pytest.fixture
def plane(monkeypatch: pytest.MonkeyPatch) -> FakePlane:
    """The CLI's client, answered by a FakePlane."""
    fake = FakePlane()
    monkeypatch.setattr(deployments, "client", fake.client)
    return fake


def test_cli_file_and_stdin_are_uploaded_and_the_json_printed(
    runner: CliRunner, plane: FakePlane, tmp_path: Path
) -> None:
    (tmp_path / "x.png").write_bytes(b"from-a-file")
    result = runner.invoke(app, ["predict", "chair3d", "--file", "x.png", "--file", "-"], input=b"from-stdin")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"][0]["data"] == base64.b64encode(MESH).decode()
    assert [(name, data) for _, name, _, data in uploaded(plane.requests[0])] == [
        ("x.png", b"from-a-file"),
        ("upload", b"from-stdin"),
    ]


def test_cli_output_writes_the_raw_bytes_and_says_what_it_wrote(
    runner: CliRunner, plane: FakePlane, tmp_path: Path
) -> None:
    (tmp_path / "chair.png").write_bytes(b"PNG")
    result = runner.invoke(app, ["predict", "chair3d", "--file", "chair.png", "-o", "chair.glb"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "chair.glb").read_bytes() == MESH
    assert result.stdout == f"wrote {len(MESH)} bytes of model/gltf-binary to chair.glb\n"
    assert plane.requests[0].url.params["format"] == "raw"

    to_stdout = runner.invoke(app, ["predict", "chair3d", "--file", "chair.png", "-o", "-"])
    assert to_stdout.stdout_bytes == MESH
    assert to_stdout.stderr == f"wrote {len(MESH)} bytes of model/gltf-binary to stdout\n"


def test_cli_output_of_a_model_without_a_binary_answer_says_to_drop_it(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(deployments, "client", FakePlane(binary=False).client)
    result = runner.invoke(app, ["predict", "minilm", "hello", "-o", "out.bin"])
    assert result.exit_code == NotAcceptable.exit_code == 2
    assert result.stderr == (
        "error: the answer can be application/json only (the model's output is not binary); "
        "-o writes one binary output, drop it to print the JSON\n"
    )
    assert not (tmp_path / "out.bin").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hi", "--file", "x.png"], "give INPUT or --file, not both: files are sent alone, one input each"),
        ([], "nothing to send: give INPUT (text, JSON or @file.json) or --file F"),
        (["--file", "missing.png"], "file 'missing.png' does not exist; give the path of a file to send"),
        (["--file", "-", "--file", "-"], "--file - can be given once: stdin is read once"),
    ],
    ids=["both", "neither", "missing file", "stdin twice"],
)
def test_cli_usage_mistakes_are_one_line_and_exit_2_before_any_request(
    runner: CliRunner, args: list[str], message: str
) -> None:
    # NOTE: no control plane answers here (see conftest): a request would exit 6, not 2
    result = runner.invoke(app, ["predict", "vit", *args])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"error: {message}\n"


def test_cli_help_tells_files_stdin_output_and_shows_examples(runner: CliRunner) -> None:
    result = runner.invoke(app, ["predict", "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0
    for text in ("--file", "--output", "-o", "- for stdin", "multipart/form-data", "base64"):
        assert text in result.stdout
    assert "berth predict chair3d --file chair.png -o chair.glb" in result.stdout
    assert "cat cat.jpg | berth predict vit --file -" in result.stdout
