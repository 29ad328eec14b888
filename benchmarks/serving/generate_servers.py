"""The generation benchmark's servers: how each contender is started, and frozen while another runs.

- `berth`: this checkout's worker, `python -m berth.worker SPEC`, its engine configured by the spec's
  `generation` block (left out when this checkout's spec has none);
- `berth-prev`: the same worker from the commit before the continuous-batching engine
  (`PREVIOUS_COMMIT`), checked out once with `git worktree add` into the temp folder and run from this
  venv with `PYTHONPATH=<worktree>/src`;
- `serve`: `transformers serve --continuous-batching` on the same folder, its KV cache capped at the
  same number of tokens as berth's (by default it takes 60 % of free memory);
- `berth-gguf`: this checkout's worker on a GGUF file of the same shape (F16, random weights of its
  own), `runtime: llama-cpp`, with the same `generation` block: its figures sit beside the others'
  (its outputs are its own, so the greedy check covers the transformers engine only).

All of them stay up for the whole run, each frozen (SIGSTOP on its process group) except during its
own slices, so that no server takes CPU from the one measured.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from serving.env import ARTIFACTS, ROOT, progress
from serving.processes import free_port

PREVIOUS_COMMIT = "d237195"
SERVE_PAGE_TOKENS = 256  # transformers' default page size
DEFAULT_KV_TOKENS = 16_384
REQUEST_TIMEOUT_S = 300  # generous: a queue of long generations must not turn into 504s


@dataclass
class Contender:
    name: str
    cmd: list[str]
    ready_path: str
    model: str  # the `model` field its OpenAI routes expect
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    pid: int = 0  # set once started
    peak_rss_mb: float = 0.0
    failure: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def freeze(contender: Contender) -> None:
    os.killpg(contender.pid, signal.SIGSTOP)


def thaw(contender: Contender) -> None:
    os.killpg(contender.pid, signal.SIGCONT)


def generation_block(max_sequences: int) -> dict[str, int] | None:
    """The spec's `generation` block for this checkout's berth, or None when its spec has no such field."""
    from berth.spec import DeploymentSpec

    if "generation" not in DeploymentSpec.model_fields:
        return None
    return {"max_concurrent_sequences": max_sequences}


def kv_tokens() -> int:
    """berth's default KV budget in tokens (the spec's generation.max_batch_tokens), for the peer's cap."""
    from berth import spec

    generation = getattr(spec, "Generation", None)
    budget = getattr(generation, "model_fields", {}).get("max_batch_tokens") if generation else None
    return int(budget.default) if budget is not None else DEFAULT_KV_TOKENS


def gguf_path(folder: Path) -> Path:
    """Where the benchmark writes its GGUF file, beside the model folder."""
    return folder.parent / "llama-F16.gguf"


def write_spec(
    path: Path, folder: Path, generation: dict[str, int] | None, runtime: str | None = None
) -> Path:
    spec: dict[str, object] = {
        "name": "llama",
        "model": {"source": str(folder)},
        **({"runtime": runtime} if runtime else {}),
        "task": "text-generation",
        "device": "cpu",
        "limits": {"request_timeout_s": REQUEST_TIMEOUT_S},
    }
    if generation is not None:
        spec["generation"] = generation
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def previous_worktree() -> Path:
    """A checkout of PREVIOUS_COMMIT in the temp folder, made once and reused by later runs."""
    path = Path(tempfile.gettempdir()) / f"berth-prev-{PREVIOUS_COMMIT}"
    git = ["git", "-C", str(ROOT)]
    if (path / "src" / "berth" / "worker").is_dir():
        return path
    progress(f"checking out berth {PREVIOUS_COMMIT} into {path} (git worktree, once)")
    subprocess.run([*git, "worktree", "prune"], check=True, capture_output=True, timeout=60)
    subprocess.run(
        [*git, "worktree", "add", "--detach", str(path), PREVIOUS_COMMIT],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return path


def check_previous(python: str, worktree: Path) -> None:
    """The previous worker must import berth from the worktree, not from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(worktree / "src")}
    out = subprocess.run(
        [python, "-c", "import berth; print(berth.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if out.returncode != 0 or not out.stdout.strip().startswith(str(worktree)):
        raise RuntimeError(
            f"berth-prev does not import from {worktree}: {out.stdout.strip()} {out.stderr[-500:]}"
        )


def serve_command(python: str) -> list[str]:
    script = Path(python).parent / "transformers"
    out = subprocess.run(
        [python, "-c", "from transformers.utils.import_utils import is_serve_available as a; print(a())"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if not script.exists() or out.stdout.strip() != "True":
        raise RuntimeError(
            f"`transformers serve` is not usable from {python}: install transformers[serving] through "
            "constraints.txt (scripts/bench-env.sh does, into .venv-bench) or pass --serve-python"
        )
    return [str(script), "serve"]


def contenders(
    names: list[str], folder: Path, berth_python: str, serve_python: str, max_sequences: int
) -> list[Contender]:
    """The contenders asked for, each with a free port and its command line."""
    found: list[Contender] = []
    if "berth" in names:
        spec = write_spec(ARTIFACTS / "generate-berth.yaml", folder, generation_block(max_sequences))
        found.append(
            Contender("berth", [berth_python, "-m", "berth.worker", str(spec)], "/health/ready", "llama")
        )
    if "prev" in names:
        worktree = previous_worktree()
        check_previous(berth_python, worktree)
        spec = write_spec(ARTIFACTS / "generate-berth-prev.yaml", folder, None)
        found.append(
            Contender(
                "berth-prev",
                [berth_python, "-m", "berth.worker", str(spec)],
                "/health/ready",
                "llama",
                extra_env={"PYTHONPATH": str(worktree / "src")},
            )
        )
    if "gguf" in names:
        block = generation_block(max_sequences)
        spec = write_spec(ARTIFACTS / "generate-berth-gguf.yaml", gguf_path(folder), block, "llama-cpp")
        found.append(
            Contender("berth-gguf", [berth_python, "-m", "berth.worker", str(spec)], "/health/ready", "llama")
        )
    if "serve" in names:
        blocks = math.ceil(kv_tokens() / SERVE_PAGE_TOKENS)
        cmd = [
            *serve_command(serve_python),
            str(folder),
            "--continuous-batching",
            "--cb-num-blocks",
            str(blocks),
        ]
        found.append(
            Contender("serve", [*cmd, "--device", "cpu", "--host", "127.0.0.1"], "/health", str(folder))
        )
    for c in found:
        c.port = free_port()
        c.cmd += ["--port", str(c.port)]
    return found
