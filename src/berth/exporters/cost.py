"""What a deployment costs to run: per cloud, the cheapest listed on-demand instance that fits one replica.

The instance table (`data/instances.yaml`) is dated and names its sources. An instance fits when its
memory, less a reserve for the OS and container runtime, holds the replica's memory estimate (weights
plus runtime headroom, see `sizing`), it has the vCPUs, and for CUDA deployments one of its GPUs holds the
model: a berth worker runs a model on one GPU, so GPUs are not added together. One instance per replica.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files

import yaml
from pydantic import BaseModel, Field

from berth.errors import InvalidSpec, ModelTooLarge
from berth.exporters.sizing import GIB, Sizing, size_deployment
from berth.spec import DeploymentSpec

CLOUDS = ("aws", "gcp", "azure", "digitalocean")
HOURS_PER_MONTH = 730
SYSTEM_RESERVE_GIB = 1.0  # the OS, the container runtime or kubelet, and page cache the worker relies on


class Instance(BaseModel):
    name: str
    vcpus: int
    ram_gib: float
    gpu: str | None = None
    gpu_count: int = 0
    gpu_memory_gib: float = 0  # per GPU
    usd_per_hour: float


class CloudCatalog(BaseModel):
    region: str
    sources: list[str]
    instances: list[Instance]


class Catalog(BaseModel):
    as_of: str
    clouds: dict[str, CloudCatalog]


class CloudChoice(BaseModel):
    """One cloud's answer: the instance and its cost, or why nothing listed fits."""

    cloud: str
    region: str
    instance: Instance | None
    replicas: int
    usd_per_hour: float | None = None
    usd_per_month: float | None = None
    reason: str | None = None  # set when no instance fits
    sources: list[str] = Field(default_factory=list)


class CostEstimate(BaseModel):
    deployment: str
    device: str
    basis: str  # "preflight" (measured weights) or "limits" (limits.max_memory_gb)
    ram_needed_gib: float
    gpu_memory_needed_gib: float
    replicas: int
    as_of: str
    choices: list[CloudChoice]

    @property
    def cheapest(self) -> CloudChoice | None:
        fitting = [c for c in self.choices if c.usd_per_hour is not None]
        return min(fitting, key=lambda c: c.usd_per_hour or 0.0, default=None)


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    text = files("berth.exporters").joinpath("data/instances.yaml").read_text(encoding="utf-8")
    return Catalog.model_validate(yaml.safe_load(text))


def parse_clouds(text: str) -> list[str]:
    """`aws,gcp` → ["aws", "gcp"]; an unknown name is an `InvalidSpec` listing the known ones."""
    clouds = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in clouds if name not in CLOUDS]
    if unknown or not clouds:
        raise InvalidSpec(f"unknown cloud {', '.join(unknown) or '(none)'}: choose from {', '.join(CLOUDS)}")
    return clouds


def fits(instance: Instance, sizing: Sizing) -> bool:
    if instance.vcpus < sizing.cpus or (instance.ram_gib - SYSTEM_RESERVE_GIB) * GIB < sizing.ram_bytes:
        return False
    if sizing.gpu:
        return instance.gpu_count >= 1 and instance.gpu_memory_gib * GIB >= sizing.gpu_memory_bytes
    return instance.gpu_count == 0  # a CPU deployment never pays for an idle GPU


def estimate(
    spec: DeploymentSpec, clouds: Sequence[str] = CLOUDS, replicas: int | None = None
) -> CostEstimate:
    """Per cloud, the cheapest instance that fits one replica, times the replicas.

    Raises `ModelTooLarge` when no listed instance on any of `clouds` fits.
    """
    catalog = load_catalog()
    parse_clouds(",".join(clouds))
    sizing = size_deployment(spec)
    count = replicas if replicas is not None else spec.replicas
    if count < 1:
        raise InvalidSpec("replicas must be at least 1")
    choices = [_choose(cloud, catalog.clouds[cloud], sizing, count) for cloud in clouds]
    result = CostEstimate(
        deployment=spec.name,
        device="cuda" if sizing.gpu else "cpu",
        basis=sizing.basis,
        ram_needed_gib=round(sizing.ram_bytes / GIB, 2),
        gpu_memory_needed_gib=round(sizing.gpu_memory_bytes / GIB, 2),
        replicas=count,
        as_of=catalog.as_of,
        choices=choices,
    )
    if result.cheapest is None:
        raise ModelTooLarge(
            f"{spec.name}: {_need(sizing)}, and no listed instance on {', '.join(clouds)} has that; "
            "use a smaller model or dtype (float16), or a machine outside the table"
        )
    return result


def _choose(cloud: str, catalog: CloudCatalog, sizing: Sizing, replicas: int) -> CloudChoice:
    fitting = [i for i in catalog.instances if fits(i, sizing)]
    if not fitting:
        return CloudChoice(
            cloud=cloud,
            region=catalog.region,
            instance=None,
            replicas=replicas,
            reason=f"no instance fits: {_need(sizing)}",
            sources=catalog.sources,
        )
    best = min(fitting, key=lambda i: (i.usd_per_hour, i.ram_gib))
    hourly = round(best.usd_per_hour * replicas, 4)
    return CloudChoice(
        cloud=cloud,
        region=catalog.region,
        instance=best,
        replicas=replicas,
        usd_per_hour=hourly,
        usd_per_month=round(hourly * HOURS_PER_MONTH, 2),
        sources=catalog.sources,
    )


def _need(sizing: Sizing) -> str:
    need = f"one replica needs {sizing.ram_bytes / GIB:.1f} GiB of RAM"
    if sizing.gpu:
        need += f" and {sizing.gpu_memory_bytes / GIB:.1f} GiB on one GPU"
    return need
