"""The control plane's API shapes: what `/api/v1` accepts and returns, shared with `berth.Client`.

Only pydantic here, so the client and CLI import it without FastAPI, SQLAlchemy or torch.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from berth.events import Event


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
    index: int
    pid: int | None
    port: int | None
    state: DeploymentState
    restarts: int = 0
    started_at: datetime | None = None


class DeploymentPublic(BaseModel):
    """A deployment as `GET /api/v1/deployments/{name}` returns it (DESIGN.md's shape)."""

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
    # Filled once ready: ready-to-paste calls, keyed "curl", "python", "openai".
    usage: dict[str, str] | None = None


class EventRecord(Event):
    """A stored progress event; `id` orders a deployment's history."""

    id: int


class StateMessage(BaseModel):
    """A state change pushed on `WS /api/v1/ws/{name}` after the event history."""

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
    # detected from the files when they are on disk (a folder, an ONNX file, a cached hub model)
    runtime: str | None = None
    task: str | None = None


class PullRequest(BaseModel):
    """`POST /api/v1/models/pull`: a hub id (or folder) to bring into the cache."""

    source: str = Field(min_length=1)
    revision: str = "main"
    allow_pickle: bool = False
    trust_remote_code: bool = False


class PullProgressLine(BaseModel):
    """One NDJSON line of a `POST /api/v1/models/pull` response while bytes arrive."""

    type: Literal["progress"] = "progress"
    bytes_done: int
    bytes_total: int
    filename: str | None = None


class CachedModel(BaseModel):
    """A model in the Hugging Face cache (`GET /api/v1/models`)."""

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

    ts: float
    requests_per_s: float
    errors_per_s: float  # answers with status >= 500
    p50_ms: float | None  # from the latency histogram's buckets over the interval; None without traffic
    p95_ms: float | None
    batch_size: float | None  # mean batch size over the interval


class DeploymentStats(BaseModel):
    """`GET /api/v1/deployments/{name}/stats`: recent traffic, sampled every few seconds."""

    name: str
    interval_s: float
    requests_total: int  # since the replicas started
    uptime_s: float | None  # of the oldest ready replica
    points: list[StatsPoint] = Field(default_factory=list)  # oldest first, the last ~10 minutes
