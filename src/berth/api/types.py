"""The REST API's data types: what the control plane's `/api/v1` accepts and returns.

The control plane, `berth.Client` and the CLI all import these. Only pydantic and berth's vocabulary
here, so the client and CLI import them without FastAPI, SQLAlchemy or torch. The class names are the
OpenAPI component names, from which the web UI's types are generated: renaming one is an API change.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from berth.events import Event
from berth.sourcekind import SourceKind
from berth.spec import Task, file_glob

# NOTE: an answer's JSON carries every field, defaults included, so the schemas of the shapes the API
# sends mark them all required; the UI's generated types then never make a present field optional.
SENT = ConfigDict(json_schema_serialization_defaults_required=True)


class DeploymentState(StrEnum):
    DEPLOYING = "deploying"
    READY = "ready"
    UNHEALTHY = "unhealthy"
    RESTARTING = "restarting"
    STOPPED = "stopped"
    FAILED = "failed"


class DesiredState(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"


class ReplicaPublic(BaseModel):
    model_config = SENT

    index: int
    pid: int | None
    port: int | None
    state: DeploymentState
    restarts: int = 0
    started_at: datetime | None = None


class TensorPublic(BaseModel):
    """One input or output of a deployment's model, as its V2 model metadata reports it."""

    model_config = SENT

    name: str
    datatype: str  # BYTES, FP32, INT64, ...
    shape: list[int]  # the batch dimension first, -1 where any size goes
    content: str | None = None  # BYTES only: "text" (None), "image", "audio" or "file"
    media_type: str | None = None  # a file or image output's type, e.g. "model/gltf-binary"


class SignaturePublic(BaseModel):
    """What a deployment's model takes and gives; the playground and the usage examples follow it."""

    model_config = SENT

    inputs: list[TensorPublic] = Field(default_factory=list)
    outputs: list[TensorPublic] = Field(default_factory=list)
    # the task the worker serves (what `task: auto` became); None in a signature recorded before it was
    task: Task | None = None


class DeploymentPublic(BaseModel):
    """A deployment as `GET /api/v1/deployments/{name}` returns it."""

    model_config = SENT

    name: str
    state: DeploymentState
    desired_state: DesiredState
    spec: dict[str, Any]  # the DeploymentSpec, with secret-looking env values redacted
    endpoint: str | None = None  # replica 0's base URL once it has a port
    model_revision: str | None = None
    replicas: list[ReplicaPublic] = Field(default_factory=list)
    restarts: int = 0
    last_error: str | None = None
    last_error_code: str | None = None  # the error's machine code (berth.errors), e.g. "model_not_found"
    created_at: datetime
    updated_at: datetime
    # Filled once ready: ready-to-paste calls, keyed "curl", "python", "openai" (where the task has an
    # OpenAI route) and "tritonclient", in that order, written from the signature.
    usage: dict[str, str] | None = None
    # Filled once ready, from the worker: the model's inputs and outputs.
    signature: SignaturePublic | None = None


class EventRecord(Event):
    """A stored progress event; `id` orders a deployment's history."""

    model_config = SENT

    id: int


class StateMessage(BaseModel):
    """A state change pushed on `WS /api/v1/ws/{name}` after the event history."""

    model_config = SENT

    type: Literal["state"] = "state"
    deployment: str
    state: DeploymentState
    last_error: str | None = None
    code: str | None = None  # machine code of last_error, so clients raise the matching error
    ts: float


class EventMessage(EventRecord):
    """A progress event pushed on `WS /api/v1/ws/{name}`."""

    type: Literal["event"] = "event"


class PreflightPublic(BaseModel):
    """`POST /api/v1/preflight`: what the model needs and whether this host can run it."""

    model_config = SENT

    source_kind: str
    parameters: int | None
    download_bytes: int | None
    memory_bytes: dict[str, int]
    dtype: str
    device: str
    fits: bool
    reasons: list[str]
    basis: str
    cached: bool
    default_name: str  # the deployment name the source gets when the spec gives none
    # detected from the files when they are on disk (a folder, an ONNX file, a cached hub model)
    runtime: str | None = None
    task: str | None = None
    activation_bytes: int | None = (
        None  # one full batch's working memory (image, speech), or the KV cache budget (generation)
    )


class SourceDescription(BaseModel):
    """`GET /api/v1/sources/describe`: what kind of source a string names and its default name."""

    source: str
    kind: SourceKind | None  # None: no source berth understands
    default_name: str


class PullRequest(BaseModel):
    """`POST /api/v1/models/pull`: a hub id (or folder) to bring into the cache."""

    source: str = Field(min_length=1)
    revision: str = "main"
    # a glob choosing one file of a repo of many, as the spec's model.file: "*Q4_K_M.gguf"
    file: str | None = None
    allow_pickle: bool = False
    trust_remote_code: bool = False

    _file_glob = field_validator("file")(file_glob)


class PullProgressLine(BaseModel):
    """One NDJSON line of a `POST /api/v1/models/pull` response while bytes arrive."""

    type: Literal["progress"] = "progress"
    bytes_done: int
    bytes_total: int
    filename: str | None = None


class CachedModel(BaseModel):
    """A model in the Hugging Face cache (`GET /api/v1/models`)."""

    model_config = SENT

    id: str  # repo id, e.g. sentence-transformers/all-MiniLM-L6-v2
    revisions: list[str]  # commit shas held
    size_bytes: int
    last_modified: datetime | None = None
    path: str
    used_by: list[str] = Field(default_factory=list)  # deployments whose spec names this model


class PullDoneLine(BaseModel):
    """The last NDJSON line of a pull: the model as now cached, with the revision resolved."""

    type: Literal["done"] = "done"
    model: CachedModel
    revision: str | None


class PullErrorLine(BaseModel):
    """The last NDJSON line of a pull that failed (the status was already sent as 200)."""

    type: Literal["error"] = "error"
    error: dict[str, str]  # {"code", "message"}, as every other error body


class StatsPoint(BaseModel):
    """One sample of a deployment's traffic over the interval that ends at `ts` (all replicas)."""

    model_config = SENT

    ts: float
    requests_per_s: float
    errors_per_s: float  # answers with status >= 500
    p50_ms: float | None  # from the latency histogram's buckets over the interval; None without traffic
    p95_ms: float | None
    batch_size: float | None  # mean batch size over the interval
    # text generation only (None for other tasks): tokens returned per second, the median time to
    # first token over the interval, and the engine's sequences at the sample (summed over replicas)
    tokens_per_s: float | None = None
    ttft_p50_ms: float | None = None
    sequences_running: int | None = None
    sequences_waiting: int | None = None


class DeploymentStats(BaseModel):
    """`GET /api/v1/deployments/{name}/stats`: recent traffic, sampled every few seconds."""

    model_config = SENT

    name: str
    interval_s: float
    requests_total: int  # since the replicas started
    uptime_s: float | None  # of the oldest ready replica
    points: list[StatsPoint] = Field(default_factory=list)  # oldest first, the last ~10 minutes


# `GET /api/v1/system`: this host, as berth.system measures it.


class CPUInfo(BaseModel):
    logical_cores: int
    physical_cores: int | None
    percent: float | None  # None on a process's first sample: a percentage needs two
    load_average: tuple[float, float, float]


class MemoryInfo(BaseModel):
    total: int
    available: int
    used: int
    percent: float


class DiskInfo(BaseModel):
    name: str  # "berth_home" or "hf_cache"
    path: str
    total: int
    free: int


class GPUInfo(BaseModel):
    index: int
    name: str
    memory_total: int
    memory_used: int
    utilization: float | None  # percent; None where the driver does not report it
    driver_version: str
    cuda_version: str | None


class RuntimeSupport(BaseModel):
    runtime: str
    available: bool
    missing: list[str]
    hint: str | None


class PackageVersion(BaseModel):
    name: str
    version: str | None  # None: not installed


class ProcessStats(BaseModel):
    model_config = SENT

    pid: int
    alive: bool
    cpu_percent: float | None = None  # of one core, like `top`; None until a 2nd sample of this process
    rss_bytes: int | None = None
    num_threads: int | None = None
    gpu_memory_bytes: int | None = None  # None: no NVML, or it does not report this process


class ReplicaStats(ProcessStats):
    deployment: str
    index: int
    port: int | None


class SystemInfo(BaseModel):
    hostname: str
    platform: str
    python_version: str
    berth_version: str
    cpu: CPUInfo
    memory: MemoryInfo
    disks: list[DiskInfo]
    gpus: list[GPUInfo]
    runtimes: list[RuntimeSupport]
    packages: list[PackageVersion]
    processes: list[ReplicaStats]
