"""`berth check`: can this host run berth, and the given deployment? One line and one fix per check.

Runs locally, with no control plane. It never imports torch (that alone costs seconds): CUDA is seen
through NVML and the driver, packages through their metadata. External tools are asked for their
versions in parallel with a short timeout, so a hung daemon cannot stall the command. The same
arguments always give the same checks in the same order; what does not apply is a "skip".
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import psutil
from pydantic import BaseModel

from berth import system
from berth.api.types import DiskInfo, GPUInfo
from berth.errors import BerthError
from berth.net import port_free
from berth.sourcekind import SourceKind
from berth.spec import DeploymentSpec, RuntimeName

if TYPE_CHECKING:
    from berth.sources import ResolvedSource

GB = 1_000_000_000
MIN_PYTHON = (3, 11)
CACHE_GUIDANCE = 10 * GB  # room for a few typical models in the Hugging Face cache
HOME_GUIDANCE = GB  # BERTH_HOME holds only the database and rotated logs
RAM_GUIDANCE = GB  # all-MiniLM-L6-v2 takes ~0.5 GB in a worker; most models need more
TOOL_TIMEOUT_S = 2.0
TOOLS: dict[str, list[str]] = {
    "docker": ["docker", "--version"],
    "docker_daemon": ["docker", "info", "--format", "{{.ServerVersion}}"],
    "compose": ["docker", "compose", "version", "--short"],
    "compose_standalone": ["docker-compose", "version", "--short"],
    "kubectl": ["kubectl", "version", "--client"],
    "nvidia_smi": ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
}

Status = Literal["pass", "warn", "fail", "skip"]


class Check(BaseModel):
    name: str
    status: Status
    detail: str  # what was found
    hint: str | None = None  # how to fix it, one sentence


def run_checks(*, home: Path, spec: DeploymentSpec | None = None, exporting: bool = False) -> list[Check]:
    """Every prerequisite, in a fixed order; `spec` adds what that deployment needs to them."""
    with ThreadPoolExecutor(max_workers=len(TOOLS)) as pool:
        futures = {name: pool.submit(tool_output, command) for name, command in TOOLS.items()}
        resources = _resources(home, spec)  # measured while the tools answer
        tools = {name: future.result() for name, future in futures.items()}
    gpus = system.gpus()
    software = [_python(), _home(home), _torch(), *_gpu(gpus, tools), _container_runtime(gpus, tools)]
    return [*software, *resources, *_export_tools(tools, exporting), *_ports()]


def _check(name: str, status: Status, detail: str, hint: str | None = None) -> Check:
    return Check(name=name, status=status, detail=detail, hint=hint)


def exit_code(checks: list[Check]) -> int:
    """0 when nothing failed (warnings included), else 1."""
    return 1 if any(check.status == "fail" for check in checks) else 0


def tool_output(command: list[str]) -> str | None:
    """The first line a tool prints when it succeeds; None if absent, failing or slower than 2 s."""
    if shutil.which(command[0]) is None:
        return None
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.strip().splitlines()
    return lines[0].strip() if done.returncode == 0 and lines else None


def _python() -> Check:
    found = "Python " + ".".join(map(str, sys.version_info[:3]))
    old = sys.version_info < MIN_PYTHON
    return _check("python", "fail" if old else "pass", found, "install Python 3.11 or newer" if old else None)


def _home(home: Path) -> Check:
    existing = next((p for p in (home, *home.parents) if p.exists()), None)
    try:  # NOTE: by writing a file, not os.access(): read-only mounts and ACLs fool access()
        if existing is None or not existing.is_dir():
            raise OSError(f"{existing} is not a folder")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        detail, hint = f"{home} is not writable ({exc})", "set BERTH_HOME to a folder you can write to"
        return _check("berth_home", "fail", detail, hint)
    made = "" if existing == home else " (it will be created)"
    return _check("berth_home", "pass", f"{home} is writable{made}")


def _torch() -> Check:
    if (version := system.package_version("torch")) is not None:
        return _check("torch", "pass", f"torch {version}")
    hint = "pip install 'modelberth[transformers]' (ONNX and Python predictors need only the core)"
    return _check("torch", "warn", "torch is not installed", hint)


def _resources(home: Path, spec: DeploymentSpec | None) -> list[Check]:
    disks = {disk.name: disk for disk in system.disks(home)}
    home_disk = _disk(disks["berth_home"], HOME_GUIDANCE)
    if spec is None:
        ready = ", ".join(r.runtime for r in system.runtime_support() if r.available)
        return [
            _check("runtime", "pass", f"available: {ready}"),
            _check("model", "skip", "no deployment spec given"),
            _memory(None, "cpu", system.memory_info().available, "float32"),
            home_disk,
            _disk(disks["hf_cache"], CACHE_GUIDANCE),
        ]
    from berth.sources import host, preflight, resolve_source  # NOTE: ~0.2 s of imports, only for a spec

    source = None
    try:
        source = resolve_source(spec.model)
        # Free memory is the "memory" check's to judge, so preflight is told there is plenty.
        report = preflight(spec, source, free_memory_bytes=sys.maxsize)
    except BerthError as exc:  # its message already says what to do
        unknown = _check("runtime", "skip", "the model source is not understood")
        return [
            _runtime(spec, _spec_runtime(spec, source)) if source else unknown,
            _check("model", "fail", exc.message),
            _check("memory", "skip", "the model could not be measured"),
            home_disk,
            _disk(disks["hf_cache"], CACHE_GUIDANCE),
        ]
    size = f"{spec.model.source}: {(report.download_bytes or 0) / GB:.2f} GB"
    cached = " (in the Hugging Face cache)" if source.kind is SourceKind.HUB and report.cached else ""
    model = _check("model", "pass", size + cached)
    if not report.fits:  # each reason already says what to do
        model = _check("model", "fail", " Also, ".join(report.reasons))
    needed = report.memory_bytes.get(report.dtype)
    return [
        _runtime(spec, report.runtime or _spec_runtime(spec, source)),
        model,
        _memory(needed, report.device, host.free_memory(report.device), report.dtype),
        home_disk,
        _disk(disks["hf_cache"], 0, needed=0 if report.cached else report.download_bytes or 0),
    ]


def _runtime(spec: DeploymentSpec, runtime: str) -> Check:
    support = next(r for r in system.runtime_support() if r.runtime == runtime)
    if support.available:
        return _check("runtime", "pass", f"{spec.name} runs on the {runtime} runtime")
    detail = f"{spec.name} needs the {runtime} runtime, which lacks {', '.join(support.missing)}"
    return _check("runtime", "fail", detail, support.hint)


def _spec_runtime(spec: DeploymentSpec, source: ResolvedSource) -> str:
    # The runtime registry's detection, told without importing it (it pulls numpy in): a hub model
    # counts as transformers, whose packages sentence-transformers needs too.
    kind, folder = source.kind, source.path
    if spec.runtime is not RuntimeName.AUTO:
        return spec.runtime.value
    if kind is not SourceKind.LOCAL or folder is None:
        if kind is SourceKind.GGUF:
            return RuntimeName.LLAMA_CPP.value
        return kind.value if kind in (SourceKind.PYTHON, SourceKind.ONNX) else "transformers"
    if (folder / "modules.json").is_file():
        return "sentence-transformers"
    weights = any(p.suffix in (".safetensors", ".bin", ".pt", ".pth") for p in folder.iterdir())
    return "onnx" if not weights and any(folder.rglob("*.onnx")) else "transformers"


def _disk(disk: DiskInfo, guidance: int, needed: int | None = None) -> Check:
    name, found = f"disk_{disk.name}", f"{disk.free / GB:.1f} GB free at {disk.path}"
    if needed is not None and disk.free < needed:
        hint = "free some disk, or point HF_HOME at a bigger disk"
        return _check(name, "fail", f"{found}; the model needs {needed / GB:.1f} GB", hint)
    if needed is None and disk.free < guidance:
        return _check(name, "warn", found, f"keep {guidance / GB:.0f} GB free there")
    return _check(name, "pass", found)


def _memory(needed: int | None, device: str, free: int | None, dtype: str) -> Check:
    where = "RAM" if device == "cpu" else f"{device} memory"
    if free is None:
        return _check("memory", "skip", f"free {where} cannot be measured")
    found = f"{free / GB:.1f} GB of {where} available"
    if needed is None and free < RAM_GUIDANCE:
        return _check("memory", "warn", found, "stop other programs: most models need at least 1 GB")
    if needed is None:
        return _check("memory", "pass", found)
    found += f"; the model needs {needed / GB:.2f} GB in {dtype}"
    if needed <= free:
        return _check("memory", "pass", found)
    smaller = "dtype float16 or " if dtype == "float32" else ""
    return _check("memory", "fail", found, f"free some memory, or pick {smaller}a smaller model")


def _gpu(gpus: list[GPUInfo], tools: dict[str, str | None]) -> list[Check]:
    if not gpus:
        if (driver := tools["nvidia_smi"]) is None:
            skip = "no NVIDIA GPU or driver found; models run on CPU"
            return [_check(name, "skip", skip) for name in ("cuda", "gpu")]
        detail = f"nvidia-smi sees driver {driver}, but NVML does not"
        hint = "pip install 'modelberth[gpu]' so berth can see the GPUs"
        if system.package_version("nvidia-ml-py") is not None:
            hint = "reinstall the NVIDIA driver: its NVML library does not answer"
        return [_check(name, "warn", detail, hint) for name in ("cuda", "gpu")]
    names = "; ".join(f"{g.index}: {g.name} ({g.memory_total / GB:.0f} GB)" for g in gpus)
    gpu = _check("gpu", "pass", f"{names}; driver {gpus[0].driver_version}")
    return [_cuda(gpus[0].cuda_version, len(gpus)), gpu]


def _cuda(cuda: str | None, count: int) -> Check:
    found = f"CUDA {cuda or '(version unknown)'} driver, {count} GPU(s)"
    if (torch := system.package_version("torch")) is None:
        return _check("cuda", "pass", f"{found}; torch not installed")
    build = torch.partition("+")[2]  # "cpu", "cu121", "rocm6.1", or "" for PyPI's CUDA build
    if build == "cpu":
        hint = "install a CUDA build of torch (https://pytorch.org/get-started/locally/)"
        return _check("cuda", "warn", f"{found}, but torch {torch} is CPU-only", hint)
    needs = build[2:-1] if build.startswith("cu") and build[2:].isdigit() else ""
    if needs and cuda and int(needs) > int(cuda.split(".")[0]):
        hint = "update the NVIDIA driver, or install a torch built for an older CUDA"
        return _check("cuda", "warn", f"{found}, too old for torch {torch}", hint)
    return _check("cuda", "pass", f"{found}; torch {torch}")


def _export_tools(tools: dict[str, str | None], exporting: bool) -> list[Check]:
    # Docker, Compose and kubectl matter only to run an export: a missing one is a skip unless
    # exporting, and a fail only when exporting with neither Compose nor kubectl.
    absent: Status = "warn" if exporting else "skip"
    docker = _tool("docker", tools["docker"], absent, "install Docker")
    if docker.status == "pass" and tools["docker_daemon"] is None:
        docker = _check("docker", absent, f"{docker.detail}; daemon unreachable", "start the Docker daemon")
    compose_version = tools["compose"] or tools["compose_standalone"]
    compose = _tool("docker_compose", compose_version, absent, "install Docker Compose v2")
    if compose_version and compose_version.lstrip("v").startswith("1."):
        compose = _check(
            "docker_compose", "warn", compose_version, "install Compose v2: exports use its syntax"
        )
    kubectl = _tool("kubectl", tools["kubectl"], absent, "install kubectl")
    export = _check("export_tools", "skip", "not exporting")
    if exporting and "pass" not in (compose.status, kubectl.status):
        hint = "install Docker with Compose v2, or kubectl, to run an export"
        export = _check("export_tools", "fail", "neither Compose v2 nor kubectl found", hint)
    elif exporting:
        export = _check("export_tools", "pass", "an export can run here")
    return [docker, compose, kubectl, export]


def _tool(name: str, version: str | None, absent: Status, hint: str) -> Check:
    return _check(name, "pass", version) if version else _check(name, absent, "not found", hint)


def _container_runtime(gpus: list[GPUInfo], tools: dict[str, str | None]) -> Check:
    name = "nvidia_container_runtime"
    if not gpus and tools["nvidia_smi"] is None:
        return _check(name, "skip", "no NVIDIA GPU")
    if found := shutil.which("nvidia-container-runtime") or shutil.which("nvidia-ctk"):
        return _check(name, "pass", found)
    hint = "install the NVIDIA Container Toolkit so containers can use the GPUs"
    return _check(name, "warn", "NVIDIA container runtime not found", hint)


def _ports() -> list[Check]:
    from berth.settings import get_settings

    try:
        settings = get_settings()
    except BerthError as exc:
        hint = "fix the BERTH_* environment variables or .env"
        return [_check(n, "fail", exc.message, hint) for n in ("port", "worker_ports")]
    return [_api_port(settings.host, settings.port), _worker_ports(settings.host, settings.worker_port_range)]


def _api_port(host: str, port: int) -> Check:
    if port_free(host, port):
        return _check("port", "pass", f"{host}:{port} is free")
    holder = _listener(port)
    # `berth up`, `python -m berth ...` or `uvicorn berth.control...`, not any path with berth in it
    if holder is not None and any(Path(arg).name == "berth" or arg.startswith("berth.") for arg in holder[1]):
        return _check("port", "pass", f"berth's control plane (pid {holder[0]}) listens there")
    who = f" by pid {holder[0]} ({' '.join(holder[1])[:60]})" if holder is not None else ""
    hint = "stop that process, or set BERTH_PORT to a free port"
    return _check("port", "fail", f"{host}:{port} is in use{who}", hint)


def _worker_ports(host: str, ports: range) -> Check:
    free = sum(1 for port in ports if port_free(host, port))
    detail = f"{free} of {len(ports)} worker ports free ({ports[0]}-{ports[-1]})"
    hint = None if free else "stop what holds them, or set BERTH_WORKER_PORTS to a free range"
    return _check("worker_ports", "pass" if free else "fail", detail, hint)


def _listener(port: int) -> tuple[int, list[str]] | None:
    """(pid, command line) of the process listening on `port`, where this user may see it."""
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return conn.pid, psutil.Process(conn.pid).cmdline()
    except (psutil.Error, OSError):
        return None
    return None
