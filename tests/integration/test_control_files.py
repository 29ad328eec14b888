"""Files through the control plane: the proxy against the worker's own answers, and `berth predict --file`.

One control plane serves the test predictors GlbMaker (an image in, a GLB out), ImageInfo and
FileEcho. Each request is sent to the proxy and straight to the replica behind it: the answers must
be the same bytes (JSON answers differ only in `inference_time_ms`, which is the worker's clock).
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.images import dominant, png, rotated_jpeg
from tests.integration.conftest import ControlPlaneProcess, _kill_worker, plane_env

pytestmark = pytest.mark.slow

LARGE = os.urandom(6 * 1024 * 1024)  # over the proxy's streaming threshold many times
BIG_LIMIT = 128 * 1024 * 1024
DEPLOYMENTS = {
    "glb": {"model": {"source": "tests.predictors:GlbMaker"}},
    "info": {"model": {"source": "tests.predictors:ImageInfo"}},
    "echo": {"model": {"source": "tests.predictors:FileEcho"}, "limits": {"max_request_bytes": BIG_LIMIT}},
}


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlaneProcess]:
    """One control plane for the module, with every deployment above ready."""
    folder = tmp_path_factory.mktemp("files-plane")
    port = free_port()
    env = plane_env(folder / "home", folder / "hf", port)
    control = ControlPlaneProcess(home=folder / "home", port=port, env=env).start()
    try:
        for name, spec in DEPLOYMENTS.items():
            accepted = control.api.post("/api/v1/deploy", json={"name": name, **spec})
            assert accepted.status_code == 202, accepted.text
        for name in DEPLOYMENTS:
            assert control.wait_state(name, "ready", "failed")["state"] == "ready", control.worker_log(name)
        yield control
    finally:
        control.stop()
        for pid in control.recorded_pids():
            _kill_worker(pid)


def both(plane: ControlPlaneProcess, name: str, query: str = "", **request: Any) -> list[httpx.Response]:
    """The same request through the proxy and straight to the deployment's replica."""
    direct = plane.deployment(name)["endpoint"]
    urls = [f"{plane.url}/api/v1/deployments/{name}/inference{query}", f"{direct}/predict{query}"]
    return [httpx.post(url, timeout=60, **request) for url in urls]


def same_answer(proxied: httpx.Response, direct: httpx.Response) -> None:
    assert (proxied.status_code, proxied.headers["content-type"]) == (
        direct.status_code,
        direct.headers["content-type"],
    ), proxied.text[:300]
    if direct.headers["content-type"] == "application/json" and direct.status_code == 200:
        timed, untimed = proxied.json(), direct.json()
        assert timed.pop("inference_time_ms") >= 0
        assert untimed.pop("inference_time_ms") >= 0
        assert timed == untimed
    elif direct.status_code >= 400:  # the message may name an object's address, which varies per call
        assert re.sub(r"0x[0-9a-f]+", "0x", proxied.text) == re.sub(r"0x[0-9a-f]+", "0x", direct.text)
    else:
        assert proxied.content == direct.content
    for header in ("x-deployment-id", "content-disposition"):
        assert proxied.headers.get(header) == direct.headers.get(header)


def test_every_way_of_sending_an_image_answers_through_the_proxy_as_it_does_directly(
    plane: ControlPlaneProcess,
) -> None:
    photo = rotated_jpeg()
    text = base64.b64encode(photo).decode()
    requests: list[dict[str, Any]] = [
        {"files": {"file": ("photo.jpg", photo, "image/jpeg")}},
        {"files": [("file", ("a.png", png((3, 2)), "image/png")), ("file", ("b.jpg", photo, "image/jpeg"))]},
        {"content": photo, "headers": {"content-type": "image/jpeg"}},
        {"json": {"image": text}},
        {"json": {"inputs": [{"image": f"data:image/jpeg;base64,{text}"}]}},
        {"content": b"not an image", "headers": {"content-type": "image/png"}},  # 422 naming the field
        {"content": b"<x/>", "headers": {"content-type": "application/xml"}},  # 415 listing the types
    ]
    for request in requests:
        proxied, direct = both(plane, "info", **request)
        same_answer(proxied, direct)
    [upright] = both(plane, "info", **requests[0])[0].json()["result"]
    assert (upright["size"], upright["mode"], dominant(upright["top_left"])) == ([20, 40], "RGB", "b")


def test_a_glb_answer_is_the_same_bytes_as_base64_json_with_accept_and_with_format_raw(
    plane: ControlPlaneProcess,
) -> None:
    chair = png((12, 7))
    upload = {"files": {"file": ("chair.png", chair, "image/png")}}
    as_json = both(plane, "glb", **upload)
    same_answer(*as_json)
    mesh = base64.b64decode(as_json[0].json()["result"][0]["data"])
    assert mesh[:4] == b"glTF"

    with_accept = both(plane, "glb", headers={"accept": "model/gltf-binary"}, **upload)
    raw_body = both(plane, "glb", "?format=raw", content=chair, headers={"content-type": "image/png"})
    for proxied, direct in (with_accept, raw_body):
        same_answer(proxied, direct)
        assert proxied.headers["content-type"] == "model/gltf-binary"
        assert proxied.content == mesh
        assert proxied.headers["x-deployment-id"] == "glb"
        assert float(proxied.headers["x-inference-time-ms"]) >= 0

    refused = both(plane, "glb", headers={"accept": "image/png"}, **upload)
    same_answer(*refused)
    assert refused[0].status_code == 406


def test_a_large_binary_answer_comes_back_whole_with_its_length(plane: ControlPlaneProcess) -> None:
    upload = {"content": LARGE, "headers": {"content-type": "application/octet-stream"}}
    proxied, direct = both(plane, "echo", "?format=raw", **upload)
    same_answer(proxied, direct)
    assert proxied.content == LARGE
    assert proxied.headers["content-length"] == str(len(LARGE))

    # the same answer as base64 JSON (8 MB) is streamed too, and identical
    as_json = both(plane, "echo", files={"file": ("blob.bin", LARGE, "application/octet-stream")})
    same_answer(*as_json)
    assert base64.b64decode(as_json[0].json()["result"][0]["data"]) == LARGE


def test_a_replica_dying_mid_answer_cuts_the_client_off_instead_of_leaving_it_hanging(
    plane: ControlPlaneProcess,
) -> None:
    # NOTE: a raw socket with a small receive buffer, so the bytes in flight between the worker and
    # this client (kernel buffers on both hops, aiohttp's) stay far below the answer: when the
    # first bytes arrive, most of the answer is still in the worker. Had the proxy read the answer
    # whole before sending it, the first bytes would come only after the worker sent its last.
    payload = os.urandom(96 * 1024 * 1024)
    worker_pid = plane.deployment("echo")["replicas"][0]["pid"]
    head = (
        f"POST /api/v1/deployments/echo/inference?format=raw HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()
    with socket.socket() as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        client.settimeout(60)
        client.connect(("127.0.0.1", plane.port))
        client.sendall(head + payload)
        received = b""
        while b"\r\n\r\n" not in received:
            received += client.recv(65536)
        headers, _, body = received.partition(b"\r\n\r\n")
        assert headers.startswith(b"HTTP/1.1 200"), headers
        assert f"content-length: {len(payload)}".encode() in headers.lower()
        os.kill(worker_pid, signal.SIGKILL)
        started = time.monotonic()
        while chunk := client.recv(1024 * 1024):  # ends at the proxy's close; a hang is a timeout
            body += chunk
    assert time.monotonic() - started < 30
    assert 0 < len(body) < len(payload), "the answer was cut off, not completed"
    assert payload.startswith(body), "what did arrive is the answer's start, unchanged"

    deadline = time.monotonic() + 120
    while plane.deployment("echo")["state"] != "ready" or replica_pid(plane, "echo") == worker_pid:
        assert time.monotonic() < deadline, plane.deployment("echo")
        time.sleep(0.2)
    small = httpx.post(f"{plane.url}/api/v1/deployments/echo/inference?format=raw", content=b"still here")
    assert small.content == b"still here"
    assert "broke off its answer" in plane.log()
    assert "Traceback" not in plane.log()  # one warning line, not an "unhandled error"


def test_a_client_that_leaves_mid_answer_has_the_proxy_close_its_replica_connection(
    plane: ControlPlaneProcess,
) -> None:
    url = f"{plane.url}/api/v1/deployments/echo/inference?format=raw"
    payload = os.urandom(48 * 1024 * 1024)  # far more than the buffers between worker and client
    for _ in range(3):
        with httpx.stream("POST", url, content=payload, timeout=60) as streamed:
            assert streamed.status_code == 200
            next(streamed.iter_raw(65536))  # then leave without reading the rest
    # NOTE: a connection left open would hold the worker mid-answer, its unread bytes queued on the
    # control plane's side; the supervisor's probes to the same port have nothing queued.
    deadline = time.monotonic() + 10
    while (held := stalled_connections(replica_port(plane, "echo"))) > 0:
        assert time.monotonic() < deadline, f"{held} connections to the replica hold an unread answer"
        time.sleep(0.1)
    assert httpx.post(url, content=LARGE, timeout=60).content == LARGE


def replica_pid(plane: ControlPlaneProcess, name: str) -> int:
    return int(plane.deployment(name)["replicas"][0]["pid"])


def replica_port(plane: ControlPlaneProcess, name: str) -> int:
    return int(plane.deployment(name)["replicas"][0]["port"])


def stalled_connections(port: int) -> int:
    """Established loopback TCP connections to `port` with received bytes nobody has read yet."""
    stalled = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port, state, queues = int(fields[2].split(":")[1], 16), fields[3], fields[4]
        if remote_port == port and state == "01" and int(queues.split(":")[1], 16) > 0:
            stalled += 1
    return stalled


def cli(plane: ControlPlaneProcess, *args: str, stdin: bytes | None = None, cwd: Path) -> Any:
    """`python -m berth.cli ARGS` as a user runs it, on this control plane."""
    return subprocess.run(
        [sys.executable, "-m", "berth.cli", *args],
        env=plane.env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_berth_predict_sends_files_and_writes_a_binary_answer(
    plane: ControlPlaneProcess, tmp_path: Path
) -> None:
    (tmp_path / "x.png").write_bytes(png((6, 5)))
    (tmp_path / "chair.png").write_bytes(png((12, 7)))
    direct = httpx.post(f"{plane.deployment('info')['endpoint']}/predict", files={"file": png((6, 5))}).json()

    from_file = cli(plane, "predict", "info", "--file", "x.png", cwd=tmp_path)
    assert from_file.returncode == 0, from_file.stderr
    assert json.loads(from_file.stdout)["result"] == direct["result"]

    from_stdin = cli(plane, "predict", "info", "--file", "-", stdin=png((6, 5)), cwd=tmp_path)
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert json.loads(from_stdin.stdout)["result"] == direct["result"]

    two = cli(plane, "predict", "info", "--file", "x.png", "--file", "chair.png", cwd=tmp_path)
    assert [item["size"] for item in json.loads(two.stdout)["result"]] == [[6, 5], [12, 7]]

    mesh = httpx.post(
        f"{plane.deployment('glb')['endpoint']}/predict?format=raw", files={"file": png((12, 7))}
    ).content
    written = cli(plane, "predict", "glb", "--file", "chair.png", "-o", "out.glb", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "out.glb").read_bytes() == mesh
    assert written.stdout.decode() == f"wrote {len(mesh)} bytes of model/gltf-binary to out.glb\n"

    not_binary = cli(plane, "predict", "info", "--file", "x.png", "-o", "out.json", cwd=tmp_path)
    assert not_binary.returncode == 2
    assert b"the model's output is not binary" in not_binary.stderr
    assert not (tmp_path / "out.json").exists()

    missing = cli(plane, "predict", "info", "--file", "nope.png", cwd=tmp_path)
    assert (missing.returncode, missing.stdout) == (2, b"")
    assert (
        missing.stderr.decode() == "error: file 'nope.png' does not exist; give the path of a file to send\n"
    )
