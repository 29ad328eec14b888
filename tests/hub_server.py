"""A loopback stand-in for the Hugging Face Hub: serves model folders the way huggingface_hub expects.

It answers what huggingface_hub 2.4 asks for in `model_info`, `snapshot_download`, `hf_hub_download`
and the safetensors header reads: `/api/models/{repo}[/revision/{rev}]`, `/api/models/{repo}/tree/{rev}`
and `HEAD`/`GET /{repo}/resolve/{rev}/{file}` with `X-Repo-Commit`, `ETag`, `Content-Length` and `Range`.
Every request is logged, so tests can prove what was (not) fetched, and faults can be injected: drop
or reset the connection once after N bytes of a file, or throttle the bytes per second.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

CHUNK = 64 * 1024
LFS_THRESHOLD = 1024 * 1024  # files above this are described as LFS files, as the hub does for weights


@dataclass(frozen=True)
class HubFile:
    path: str  # relative, '/'-separated
    source: Path
    size: int
    sha256: str
    blob_id: str  # git blob sha1


@dataclass
class HubRepo:
    repo_id: str
    sha: str
    files: dict[str, HubFile]
    with_safetensors_info: bool = False  # include the `safetensors` parameter summary in model_info


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    range: str | None
    status: int
    bytes_sent: int

    @property
    def file(self) -> str | None:
        """The repo file of a `/resolve/` request, else None."""
        _, sep, rest = self.path.partition("/resolve/")
        return rest.partition("/")[2] if sep else None


@dataclass
class Fault:
    after_bytes: int
    reset: bool  # True: TCP reset (ReadError); False: clean close mid-body (RemoteProtocolError)
    times: int = 1


@dataclass
class FakeHub:
    """A running fake hub; `url` is what `HF_ENDPOINT` should be."""

    repos: dict[str, HubRepo] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    faults: dict[str, Fault] = field(default_factory=dict)
    throttle_bytes_per_s: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the fake hub is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add_repo(self, repo_id: str, folder: Path, *, with_safetensors_info: bool = False) -> HubRepo:
        files = {
            p.relative_to(folder).as_posix(): _describe(p, p.relative_to(folder).as_posix())
            for p in sorted(folder.rglob("*"))
            if p.is_file()
        }
        sha = hashlib.sha1("".join(f.sha256 for f in files.values()).encode()).hexdigest()
        repo = HubRepo(repo_id, sha, files, with_safetensors_info)
        self.repos[repo_id] = repo
        return repo

    def drop_connection(self, file: str, after_bytes: int, *, reset: bool = False, times: int = 1) -> None:
        """Break the next `times` downloads of `file` after `after_bytes` bytes of body."""
        self.faults[file] = Fault(after_bytes, reset, times)

    def log(self) -> list[Request]:
        with self._lock:
            return list(self.requests)

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def start(self) -> FakeHub:
        handler = type("Handler", (_Handler,), {"hub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-hub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _take_fault(self, file: str) -> Fault | None:
        with self._lock:
            fault = self.faults.get(file)
            if fault is None or fault.times <= 0:
                return None
            fault.times -= 1
            return fault


_DIGESTS: dict[tuple[str, int, float], tuple[str, str]] = {}


def _describe(path: Path, rel: str) -> HubFile:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime)
    if key not in _DIGESTS:  # hashing the 90 MB MiniLM weights once per session is enough
        sha256, sha1 = hashlib.sha256(), hashlib.sha1(f"blob {stat.st_size}\0".encode())
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                sha256.update(chunk)
                sha1.update(chunk)
        _DIGESTS[key] = (sha256.hexdigest(), sha1.hexdigest())
    sha256_hex, blob_id = _DIGESTS[key]
    return HubFile(rel, path, stat.st_size, sha256_hex, blob_id)


def _safetensors_parameters(repo: HubRepo) -> dict[str, Any] | None:
    counts: dict[str, int] = {}
    for file in repo.files.values():
        if not file.path.endswith(".safetensors"):
            continue
        with file.source.open("rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
        for name, info in header.items():
            if name != "__metadata__":
                n = 1
                for dim in info["shape"]:
                    n *= dim
                counts[info["dtype"]] = counts.get(info["dtype"], 0) + n
    return {"parameters": counts, "total": sum(counts.values())} if counts else None


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_HEAD(self) -> None:
        self._route(head=True)

    def do_GET(self) -> None:
        self._route(head=False)

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # the socket was torn down on purpose by a fault
            super().finish()

    # -- routing -------------------------------------------------------------------------------
    def _route(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if path.startswith("/api/models/"):
            self._api(path.removeprefix("/api/models/"))
        elif "/resolve/" in path:
            repo_id, _, rest = path.lstrip("/").partition("/resolve/")
            revision, _, file = rest.partition("/")
            self._resolve(repo_id, revision, file, head)
        else:
            self._error(404, "EntryNotFound", "no such route")

    def _api(self, rest: str) -> None:
        if "/tree/" in rest:
            repo_id, _, revision = rest.partition("/tree/")
            repo = self._repo(repo_id, revision.partition("/")[0])
            if repo is not None:
                self._json(200, [_tree_entry(f) for f in repo.files.values()] + _folders(repo))
            return
        repo_id, _, revision = rest.partition("/revision/")
        repo = self._repo(repo_id, revision or "main")
        if repo is None:
            return
        info: dict[str, Any] = {
            "id": repo.repo_id,
            "sha": repo.sha,
            "private": False,
            "siblings": [_sibling(f) for f in repo.files.values()],
        }
        if repo.with_safetensors_info:
            info["safetensors"] = _safetensors_parameters(repo)
        self._json(200, info)

    def _repo(self, repo_id: str, revision: str) -> HubRepo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return None
        if revision not in ("main", repo.sha):
            self._error(404, "RevisionNotFound", "Invalid rev id")
            return None
        return repo

    def _resolve(self, repo_id: str, revision: str, file: str, head: bool) -> None:
        repo = self._repo(repo_id, revision)
        if repo is None:
            return
        entry = repo.files.get(file)
        if entry is None:
            self._error(404, "EntryNotFound", "Entry not found", commit=repo.sha)
            return
        start, end = _parse_range(self.headers.get("Range"), entry.size)
        partial = self.headers.get("Range") is not None
        self.send_response(206 if partial else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{entry.sha256}"')
        self.send_header("X-Repo-Commit", repo.sha)
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{entry.size}")
        self.end_headers()
        if head:
            self._log(206 if partial else 200, 0)
            return
        fault = self.hub._take_fault(file)
        sent = self._send_body(entry.source, start, end, fault)
        self._log(206 if partial else 200, sent)

    def _send_body(self, source: Path, start: int, end: int, fault: Fault | None) -> int:
        sent = 0
        limit = end - start if fault is None else min(end - start, fault.after_bytes)
        throttle = self.hub.throttle_bytes_per_s
        began = time.monotonic()
        with source.open("rb") as f:
            f.seek(start)
            while sent < limit:
                chunk = f.read(min(CHUNK, limit - sent))
                if not chunk:
                    break
                try:
                    self.wfile.write(chunk)
                except OSError:  # the client went away
                    self.close_connection = True
                    return sent
                sent += len(chunk)
                if throttle:
                    ahead = sent / throttle - (time.monotonic() - began)
                    if ahead > 0:
                        time.sleep(ahead)
        if fault is not None and sent < end - start:
            self._break_connection(fault.reset)
        return sent

    def _break_connection(self, reset: bool) -> None:
        self.close_connection = True
        if reset:  # SO_LINGER 0 makes close() send a RST instead of a FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        else:
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- responses -----------------------------------------------------------------------------
    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self._log(status, len(data))

    def _error(self, status: int, code: str, message: str, commit: str | None = None) -> None:
        data = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        if commit is not None:
            self.send_header("X-Repo-Commit", commit)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self._log(status, 0)

    def _log(self, status: int, sent: int) -> None:
        path = unquote(urlsplit(self.path).path)
        self.hub._record(Request(self.command, path, self.headers.get("Range"), status, sent))


def _parse_range(header: str | None, size: int) -> tuple[int, int]:
    """`bytes=a-b` / `bytes=a-` → the half-open byte span [start, end) within the file."""
    if not header or not header.startswith("bytes="):
        return 0, size
    first, _, last = header.removeprefix("bytes=").split(",")[0].partition("-")
    start = int(first) if first else 0
    end = min(int(last) + 1, size) if last else size
    return min(start, size), end


def _lfs(entry: HubFile) -> dict[str, Any] | None:
    if entry.size < LFS_THRESHOLD:
        return None
    return {"oid": entry.sha256, "sha256": entry.sha256, "size": entry.size, "pointerSize": 134}


def _sibling(entry: HubFile) -> dict[str, Any]:
    return {"rfilename": entry.path, "size": entry.size, "blobId": entry.blob_id, "lfs": _lfs(entry)}


def _tree_entry(entry: HubFile) -> dict[str, Any]:
    info: dict[str, Any] = {"type": "file", "path": entry.path, "size": entry.size, "oid": entry.blob_id}
    if (lfs := _lfs(entry)) is not None:
        info["lfs"] = lfs
    return info


def _folders(repo: HubRepo) -> list[dict[str, Any]]:
    folders = {path.rpartition("/")[0] for path in repo.files if "/" in path}
    return [
        {"type": "directory", "path": f, "oid": hashlib.sha1(f.encode()).hexdigest()} for f in sorted(folders)
    ]
