"""A template process: pays for importing torch and transformers once, then forks ready-to-load workers.

A cold worker spends most of its start-up importing (about 5-7 s, docs/decisions.md); loading a
cached model into a process that has the imports takes about 0.1-0.3 s. The control plane starts
one template at start-up (`python -m berth.worker.template SOCKET`) and asks it over a Unix socket
for each worker; the template forks, and the child runs `berth.worker` exactly as a fresh process would.

Fork safety, the reason this is careful: the template only imports. It never loads a model, runs an
operator or starts a thread of its own, so no lock or thread pool exists to be copied mid-use (the
same condition under which PyTorch's DataLoader forks workers). Each worker is double-forked into its
own session, so it belongs to init, not to the template, and outlives both the template and the
control plane like any other worker. The template exits when its parent (the control plane) does.
The child writes `@berth-exit {"code": N}` to its log as it exits, since only a parent could wait().
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import traceback
from typing import Any

from berth import proctitle
from berth.errors import EXIT_PREFIX

PARENT_POLL_S = 1.0


def preload() -> None:
    """Import what a worker would, minus anything that starts threads or touches a device."""
    import importlib
    import importlib.util

    import berth.worker.boot  # noqa: F401 - the serving stack: starlette, uvicorn, runtimes' base

    for module in (
        "torch",
        "transformers",
        "sentence_transformers",
        "onnxruntime",
        "tokenizers",
        "berth.runtimes.transformers_runtime",
        "berth.runtimes.sentence_transformers_runtime",
        "berth.runtimes.onnx_runtime",
        "berth.runtimes.python_runtime",
    ):
        if importlib.util.find_spec(module.split(".")[0]) is not None:
            importlib.import_module(module)


def serve(path: str) -> None:
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    os.chmod(path, 0o600)  # only the user who runs berth may ask for workers
    listener.listen(16)
    listener.settimeout(PARENT_POLL_S)
    print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
    while os.getppid() == parent:
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        with connection:
            connection.settimeout(10)
            try:
                request = json.loads(connection.makefile("rb").readline())
                answer: dict[str, Any] = {"pid": _fork_worker(request, listener)}
            except Exception as exc:
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            connection.sendall(json.dumps(answer).encode() + b"\n")
    listener.close()
    os.unlink(path)


def _fork_worker(request: dict[str, Any], listener: socket.socket) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    middle = os.fork()
    if middle == 0:  # the intermediate child: a new session, fork the worker, vanish
        os.close(read_end)
        os.setsid()
        worker = os.fork()
        if worker == 0:
            os.close(write_end)
            listener.close()
            _become_worker(request)
        os.write(write_end, str(worker).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        pid = int(reader.read() or b"0")
    os.waitpid(middle, 0)
    if pid <= 0:
        raise RuntimeError("the worker could not be forked")
    return pid


def _become_worker(request: dict[str, Any]) -> None:
    code = 1
    try:
        log = os.open(request["log_file"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(devnull)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(request["env"])

        from berth.settings import get_settings
        from berth.worker.__main__ import main

        get_settings.cache_clear()  # read this worker's environment, not the template's
        code = main(request["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.write(f"{EXIT_PREFIX}{json.dumps({'code': code})}\n")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m berth.worker.template SOCKET", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the control plane's terminal is its own
    proctitle.set_title(proctitle.TEMPLATE)  # each forked worker names itself once it has its port
    preload()
    serve(sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
