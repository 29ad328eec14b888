"""`berth ls` on the standard library: its settings reader, its table, its errors, and what it imports."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from berth.cli.listing import fetch_deployments, light_settings, table
from berth.client import Client
from berth.errors import ControlPlaneUnavailable, NotFound, Unauthorized
from berth.settings import get_settings

Answer = tuple[int, bytes]


@pytest.fixture
def server() -> Iterator[Callable[[Answer], str]]:
    """A loopback HTTP server answering every GET with the answer given; records the headers seen."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                Handler.seen.append((self.path, self.headers.get("Authorization")))
                self.send_response(answer[0])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer[1])))
                self.end_headers()
                self.wfile.write(answer[1])

            def log_message(self, *args: object) -> None:
                pass

        Handler.seen = []  # type: ignore[attr-defined]
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.seen = Handler.seen  # type: ignore[attr-defined]
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


DEPLOYMENT = {
    "name": "minilm",
    "state": "ready",
    "endpoint": "http://127.0.0.1:8000/api/v1/deployments/minilm/inference",
    "restarts": 2,
    "spec": {
        "replicas": 2,
        "model": {"source": "/home/someone/models/sentence-transformers/all-MiniLM-L6-v2"},
    },
    "replicas": [{"state": "ready"}, {"state": "restarting"}],
}


@pytest.mark.parametrize(
    ("environ", "dotenv", "expected"),
    [
        ({}, "", ("http://127.0.0.1:8000", None)),
        ({"BERTH_URL": "http://box:9/"}, "", ("http://box:9", None)),
        ({"berth_port": "9001", "BERTH_API_KEY": "k"}, "", ("http://127.0.0.1:9001", "k")),
        (
            {"BERTH_HOST": "0.0.0.0"},
            "BERTH_PORT=7000\nBERTH_API_KEY='from file'\n",
            ("http://127.0.0.1:7000", "from file"),
        ),
        ({"BERTH_PORT": "7001"}, "BERTH_PORT=7000\nBERTH_HOST=10.0.0.5\n", ("http://10.0.0.5:7001", None)),
        ({}, "BERTH_URL=http://ignored:1\n", ("http://127.0.0.1:8000", None)),
        ({"BERTH_API_KEY": ""}, "", ("http://127.0.0.1:8000", None)),
    ],
    ids=["defaults", "url", "any-case", "dotenv", "env-over-dotenv", "url-env-only", "empty-key"],
)
def test_light_settings_find_what_pydantic_settings_finds(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    environ: dict[str, str],
    dotenv: str,
    expected: tuple[str, str | None],
) -> None:
    if dotenv:
        (tmp_path / ".env").write_text(dotenv)
    for key in ("BERTH_URL", "BERTH_HOST", "BERTH_PORT", "BERTH_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    assert light_settings(environ, tmp_path / ".env") == expected
    get_settings.cache_clear()
    with Client() as client:  # the full client agrees
        assert client.url == expected[0]
        assert client._headers.get("Authorization") == (f"Bearer {expected[1]}" if expected[1] else None)


@pytest.mark.parametrize("port", ["abc", "0", "70000", ""])
def test_a_port_the_light_reader_cannot_parse_is_left_to_settings(tmp_path: Path, port: str) -> None:
    assert light_settings({"BERTH_PORT": port}, tmp_path / ".env") is None


def test_the_table_lines_up_and_colours_only_the_state() -> None:
    plain = table(
        [DEPLOYMENT, {**DEPLOYMENT, "name": "b", "state": "failed", "replicas": [], "endpoint": None}],
        colour=False,
    )
    header, first, second = plain.splitlines()
    assert header.split() == ["NAME", "STATE", "REPLICAS", "ENDPOINT", "RESTARTS", "MODEL"]
    assert first.split() == [
        "minilm",
        "ready",
        "1/2",
        DEPLOYMENT["endpoint"],
        "2",
        "…/sentence-transformers/all-MiniLM-L6-v2",
    ]
    assert second.split()[:5] == ["b", "failed", "0/2", "-", "2"]
    assert header.index("MODEL") == first.index("…/") == second.index("…/")
    assert "\033" not in plain
    coloured = table([DEPLOYMENT], colour=True)
    assert "\033[32mready" in coloured
    assert coloured.startswith("\033[1mNAME")


def test_fetch_sends_the_key_and_returns_the_list(server: Callable[[Answer], str]) -> None:
    url = server((200, json.dumps([DEPLOYMENT]).encode()))
    assert fetch_deployments(url + "/", "secret") == [DEPLOYMENT]


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (
            (401, b'{"error": {"code": "unauthorized", "message": "a valid API key is required"}}'),
            Unauthorized,
            "a valid API key is required",
        ),
        ((404, b"<html>not here</html>"), NotFound, "the control plane answered 404"),
        ((200, b'{"deployments": []}'), ControlPlaneUnavailable, "is not a berth control plane"),
        ((200, b"<html>hello</html>"), ControlPlaneUnavailable, "is not a berth control plane"),
    ],
    ids=["401", "404-html", "not-a-list", "not-json"],
)
def test_a_failed_answer_is_the_error_it_stands_for(
    server: Callable[[Answer], str], answer: Answer, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        fetch_deployments(server(answer), None)


def test_nothing_listening_says_how_to_start_a_control_plane(closed_url: str) -> None:
    with pytest.raises(ControlPlaneUnavailable, match=r"start one with `berth up -d`"):
        fetch_deployments(closed_url, None)


def run_berth(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`berth ARGS` in a fresh interpreter, reporting which heavy libraries it imported."""
    script = (
        "import sys\nfrom berth.cli import main\nsys.argv = ['berth', *sys.argv[1:]]\n"
        "try:\n    main()\nfinally:\n"
        "    heavy = ('typer', 'click', 'rich', 'pydantic', 'httpx', 'pydantic_settings')\n"
        "    print('IMPORTED', sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_ls_imports_no_heavy_library(server: Callable[[Answer], str], tmp_path: Path) -> None:
    url = server((200, json.dumps([DEPLOYMENT]).encode()))
    env = {"PATH": "/usr/bin:/bin", "BERTH_URL": url, "HOME": str(tmp_path)}
    listed = run_berth("ls", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [DEPLOYMENT]
    assert "IMPORTED []" in listed.stderr
    shown = run_berth("ls", env=env)
    assert shown.stdout.splitlines()[1].startswith("minilm  ready")
    assert "IMPORTED []" in shown.stderr


def test_ls_errors_are_one_line_and_an_exit_code(closed_url: str, tmp_path: Path) -> None:
    failed = run_berth("ls", env={"PATH": "/usr/bin:/bin", "BERTH_URL": closed_url, "HOME": str(tmp_path)})
    assert failed.returncode == 6
    assert (
        failed.stderr.splitlines()[0]
        == f"error: no berth control plane answers at {closed_url}; start one with `berth up -d`"
    )
    bad_port = run_berth("ls", env={"PATH": "/usr/bin:/bin", "BERTH_PORT": "abc", "HOME": str(tmp_path)})
    assert bad_port.returncode == 2
    assert bad_port.stderr.startswith("error: invalid setting: BERTH_PORT:")


def test_other_forms_of_ls_go_to_typer(tmp_path: Path) -> None:
    helped = run_berth("ls", "--help", env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert helped.returncode == 0
    assert "List deployments" in helped.stdout
    assert "'typer'" in helped.stderr
