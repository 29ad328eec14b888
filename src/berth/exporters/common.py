"""What every target shares: the Jinja2 environment, container paths, and specs as they ship in a bundle."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import jinja2
import yaml

from berth.errors import InvalidSpec
from berth.sourcekind import GGUF_SUFFIX, SourceKind, classify
from berth.spec import DeploymentSpec, RuntimeName, is_secret_key

CONTROL_PLANE_PORT = 8000
WORKER_PORT = 8100  # every worker listens on the same port inside its own container or pod
SPEC_DIR = "/etc/berth"
HF_HOME = "/home/berth/.cache/huggingface"
PIP_CACHE = "/home/berth/.cache/pip"
ML_PACKAGES_DIR = "/opt/berth/ml-packages"
MODELS_DIR = "/models"  # local model folders and ONNX files are mounted here
BERTH_HOME = "/data"  # the control plane's registry
UI_DIR = "/srv/berth-ui"
RUN_AS_USER = 10001
# NOTE: keep in step with pyproject's runtime extras (a unit test compares them with the installed
# metadata); volume mode installs exactly these into the ML-packages volume on a worker's first start.
ML_REQUIREMENTS = (
    "torch==2.13.0",
    "transformers>=4.45",
    "safetensors>=0.4",
    "sentence-transformers>=3",
    "onnxruntime>=1.18",
    "tokenizers>=0.20",
)
# pyproject's llama-cpp extra, installed beside the above when a deployment serves a GGUF model
LLAMA_CPP_REQUIREMENTS = ("llama-cpp-python==0.3.36", "gguf>=0.17")
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
RESERVED_NAMES = frozenset({"control-plane", "nginx", "postgres", "berth", "berth-control-plane"})

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("berth.exporters", "templates"),
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # noqa: S701 - config files and Markdown, not HTML
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(template: str, **context: Any) -> str:
    return _environment.get_template(template).render(**context)


class _PlainDumper(yaml.SafeDumper):
    """Never writes `&id001` anchors for shared objects: readers of these files expect plain YAML."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(*documents: Any) -> str:
    """YAML documents in key order, `---` between them, long strings left on one line."""
    return "---\n".join(
        yaml.dump(d, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False, width=1_000_000)
        for d in documents
    )


def check_names(specs: list[DeploymentSpec]) -> None:
    if not specs:
        raise InvalidSpec("nothing to export: give at least one deployment name or spec file")
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise InvalidSpec(f"two deployments are both named {spec.name!r}; names must be unique")
        if spec.name in RESERVED_NAMES:
            raise InvalidSpec(
                f"{spec.name!r} is the name of one of the bundle's own services; rename the deployment"
            )
        seen.add(spec.name)


def secret_keys(spec: DeploymentSpec) -> list[str]:
    """Env keys whose values must come from a secret store, never from a generated file."""
    return sorted(key for key in spec.env if is_secret_key(key))


def plain_env(spec: DeploymentSpec) -> dict[str, str]:
    return {key: value for key, value in spec.env.items() if not is_secret_key(key)}


def source_kind(spec: DeploymentSpec) -> SourceKind:
    """The source's kind from the string alone: a bundle is made for another machine.

    A source that is no kind berth understands is taken as a local path, to be mounted under /models.
    """
    return classify(spec.model.source, look_on_disk=False) or SourceKind.LOCAL


def is_local(spec: DeploymentSpec) -> bool:
    """Whether the model is on this machine (a folder, an .onnx or .gguf file), mounted under /models."""
    return source_kind(spec) in (SourceKind.LOCAL, SourceKind.ONNX, SourceKind.GGUF)


def uses_llama_cpp(spec: DeploymentSpec) -> bool:
    """Whether the deployment serves a GGUF model, told from the spec alone: `runtime: llama-cpp`, a
    .gguf file, or a `model.file` glob choosing one."""
    file = (spec.model.file or "").lower()
    return (
        spec.runtime is RuntimeName.LLAMA_CPP
        or source_kind(spec) is SourceKind.GGUF
        or file.endswith((GGUF_SUFFIX, GGUF_SUFFIX + "*"))
    )


def ml_requirements(specs: list[DeploymentSpec]) -> tuple[str, ...]:
    """The ML packages the workers install: the runtimes', and llama.cpp's when a spec needs it."""
    llama = LLAMA_CPP_REQUIREMENTS if any(uses_llama_cpp(spec) for spec in specs) else ()
    return (*ML_REQUIREMENTS, *llama)


def hub_id(spec: DeploymentSpec) -> str | None:
    return spec.model.source if source_kind(spec) is SourceKind.HUB else None


def container_source(spec: DeploymentSpec) -> str:
    """Where the model is inside the container: local folders and ONNX files move under /models/<name>."""
    kind = source_kind(spec)
    if kind in (SourceKind.HUB, SourceKind.PYTHON):
        return spec.model.source
    if kind in (SourceKind.ONNX, SourceKind.GGUF):
        return f"{MODELS_DIR}/{spec.name}/{PurePosixPath(spec.model.source).name}"
    return f"{MODELS_DIR}/{spec.name}"


def shipped_spec(spec: DeploymentSpec) -> dict[str, Any]:
    """The spec as written into a bundle.

    Secret env keys are removed, not redacted: the worker copies `spec.env` into its environment, so a
    `***` placeholder would override the real token that the container gets from .env or a Secret.
    The port is left to the worker's `--port`, and `cuda:N` becomes `cuda` because a container sees only
    the GPU it was given, as device 0.
    """
    data = spec.model_dump(mode="json", exclude_defaults=False)
    data["model"]["source"] = container_source(spec)
    if data["model"].get("file") is None:  # NOTE: left out unset, so bundles of other models read as before
        data["model"].pop("file", None)
    data["env"] = plain_env(spec)
    data["port"] = None
    if spec.device.startswith("cuda"):
        data["device"] = "cuda"
    return data


def spec_yaml(spec: DeploymentSpec) -> str:
    return yaml.safe_dump(shipped_spec(spec), sort_keys=False)


def worker_command(name: str) -> list[str]:
    return [
        "python",
        "-m",
        "berth.worker",
        f"{SPEC_DIR}/{name}.yaml",
        "--host",
        "0.0.0.0",
        "--port",
        str(WORKER_PORT),
    ]


def control_plane_command() -> list[str]:
    return ["python", "-m", "berth.control", "--host", "0.0.0.0", "--port", str(CONTROL_PLANE_PORT)]


def http_probe(port: int, path: str) -> list[str]:
    """A healthcheck command that needs only Python (the slim image has no curl); non-2xx fails."""
    code = f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=4)"
    return ["CMD", "python", "-c", code]
