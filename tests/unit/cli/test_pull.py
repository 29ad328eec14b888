"""`berth pull --file` and `Client.pull(file=)`, answered in-process by httpx.MockTransport."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from berth.cli import models
from berth.cli.app import app
from berth.client import Client
from berth.errors import InvalidSpec

DONE = {
    "type": "done",
    "revision": "abc",
    "model": {"id": "tiny/llama-GGUF", "revisions": ["abc"], "size_bytes": 100, "path": "/cache"},
}


class FakePlane:
    """Answers `POST /api/v1/models/pull` with one done line, keeping each request's JSON body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("POST", "/api/v1/models/pull")
        self.bodies.append(json.loads(request.content))
        return httpx.Response(200, text=json.dumps(DONE) + "\n")

    def client(self) -> Client:
        return Client("http://berth.test", transport=httpx.MockTransport(self))


@pytest.fixture
def plane(monkeypatch: pytest.MonkeyPatch) -> FakePlane:
    fake = FakePlane()
    monkeypatch.setattr(models, "client", fake.client)
    return fake


def test_the_file_option_is_sent_as_the_pull_requests_file(runner: CliRunner, plane: FakePlane) -> None:
    result = runner.invoke(app, ["pull", "tiny/llama-GGUF", "--file", "*Q4_K_M.gguf", "--revision", "v2"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("✓ tiny/llama-GGUF @ abc")
    assert plane.bodies == [
        {
            "source": "tiny/llama-GGUF",
            "revision": "v2",
            "file": "*Q4_K_M.gguf",
            "allow_pickle": False,
            "trust_remote_code": False,
        }
    ]


def test_without_the_option_no_file_is_chosen(runner: CliRunner, plane: FakePlane) -> None:
    assert runner.invoke(app, ["pull", "tiny/llama-GGUF"]).exit_code == 0
    assert plane.bodies[0]["file"] is None


@pytest.mark.parametrize("glob", ["../other/*.gguf", "/abs/model.gguf", "  "])
def test_a_bad_glob_is_refused_before_any_request(runner: CliRunner, plane: FakePlane, glob: str) -> None:
    result = runner.invoke(app, ["pull", "tiny/llama-GGUF", "--file", glob])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: pull.file: model.file ")
    assert len(result.stderr.splitlines()) == 1
    assert plane.bodies == []


def test_the_client_sends_file_and_refuses_a_bad_one_itself(plane: FakePlane) -> None:
    with plane.client() as berth:
        done = berth.pull("tiny/llama-GGUF", file=" *Q8_0.gguf ")
        with pytest.raises(InvalidSpec, match=r"must not contain '\.\.'"):
            berth.pull("tiny/llama-GGUF", file="../x.gguf")
    assert done.model.id == "tiny/llama-GGUF"
    assert [body["file"] for body in plane.bodies] == ["*Q8_0.gguf"]  # stripped, as model.file is
