"""wrk_post.lua's file bodies: what the image benchmark's load really sends, seen by a loopback server."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from serving.load import run_wrk


class Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.seen.append((self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/predict"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
def test_file_bodies_arrive_byte_for_byte_with_their_content_type(server: str, tmp_path: Path) -> None:
    # NUL and high bytes: what a JPEG holds, and what could never travel as a command-line argument
    files = {tmp_path / "a.jpg": b"\xff\xd8\x00\x01" * 300, tmp_path / "b.jpg": bytes(range(256)) * 4}
    for path, data in files.items():
        path.write_bytes(data)
    Recorder.seen = []
    summary, _ = run_wrk(server, 1, 1, ["content-type=image/jpeg", *(f"@{p}" for p in files)])
    assert summary["requests"] >= 2
    assert summary["status"] == 0
    assert {kind for kind, _ in Recorder.seen} == {"image/jpeg"}
    assert {body for _, body in Recorder.seen} == set(files.values())
