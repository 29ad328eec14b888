"""`berth export` and `berth cost`: production files and cloud prices from deployment specs.

Register with `app.command("export")(export_command)` and `app.command("cost")(cost_command)`.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from pydantic import ValidationError

from berth.errors import BerthError, InvalidSpec
from berth.exporters.options import DEFAULT_IMAGE
from berth.spec import DeploymentSpec, describe_validation_error, load_spec, parse_spec

if TYPE_CHECKING:
    from berth.exporters.cost import CostEstimate
    from berth.exporters.options import ExportOptions

SPEC_SUFFIXES = (".yaml", ".yml", ".json")


class ExportTarget(StrEnum):
    COMPOSE = "compose"
    KUBERNETES = "kubernetes"
    KSERVE = "kserve"


class MlPackages(StrEnum):
    BAKE = "bake"
    VOLUME = "volume"


def export_command(
    target: Annotated[
        ExportTarget, typer.Argument(help="compose, kubernetes or kserve.", show_default=False)
    ],
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Deployment names (asked of the control plane) or spec files.", show_default=False
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write the files into.")],
    host: Annotated[str | None, typer.Option(help="Ingress host name (kubernetes).")] = None,
    tls: Annotated[
        bool, typer.Option("--tls", help="TLS through cert-manager (kubernetes; needs --host).")
    ] = False,
    namespace: Annotated[str, typer.Option(help="Kubernetes namespace.")] = "berth",
    image: Annotated[str, typer.Option(help="The berth image.")] = DEFAULT_IMAGE,
    database_url: Annotated[
        str | None,
        typer.Option(help="postgresql+psycopg://user@host/db for a postgres registry; no password."),
    ] = None,
    ml_packages: Annotated[
        MlPackages,
        typer.Option(help="bake ML packages into the image, or install them into a volume on first start."),
    ] = MlPackages.BAKE,
    http_port: Annotated[int, typer.Option(help="The published port (compose).", min=1, max=65535)] = 80,
    hpa: Annotated[bool, typer.Option("--hpa", help="Add a HorizontalPodAutoscaler per deployment.")] = False,
    min_replicas: Annotated[int, typer.Option(help="HPA minimum.", min=1)] = 1,
    max_replicas: Annotated[int, typer.Option(help="HPA maximum.", min=1)] = 4,
    target_cpu: Annotated[
        int, typer.Option(help="HPA target CPU utilisation, percent.", min=10, max=100)
    ] = 70,
    storage_class: Annotated[
        str | None, typer.Option(help="StorageClass for the volumes (kubernetes).")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="Control plane URL, to look names up (default BERTH_URL).")
    ] = None,
) -> None:
    """Write Docker Compose, Kubernetes or KServe files for deployments."""
    from berth.exporters import HpaOptions, bundle

    try:
        hpa_options = HpaOptions(
            min_replicas=min_replicas, max_replicas=max_replicas, target_cpu_percent=target_cpu
        )
        options = _options(
            image=image, namespace=namespace, host=host, tls=tls, database_url=database_url,
            ml_packages=ml_packages.value, http_port=http_port, storage_class=storage_class,
            hpa=hpa_options if hpa else None,
        )  # fmt: skip
        files = bundle(target.value, load_specs(sources, url), options)
        written = write_files(files, output)
    except BerthError as exc:
        _fail(exc)
    except ValidationError as exc:  # a bad option value
        _fail(InvalidSpec(describe_validation_error(exc, prefix="option")))
    typer.echo(f"wrote {len(written)} files to {output}")
    for path in written:
        typer.echo(f"  {path}")


def cost_command(
    spec: Annotated[str, typer.Argument(help="A spec file, or a deployment name.", show_default=False)],
    cloud: Annotated[str, typer.Option(help="Comma-separated clouds.")] = "aws,gcp,azure,digitalocean",
    replicas: Annotated[
        int | None, typer.Option(help="Replicas to price (default: the spec's).", min=1)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    url: Annotated[
        str | None, typer.Option(help="Control plane URL, to look names up (default BERTH_URL).")
    ] = None,
) -> None:
    """Price a deployment on cloud instances: the cheapest on-demand instance that fits, per cloud."""
    from berth.exporters.cost import estimate, parse_clouds

    try:
        result = estimate(load_specs([spec], url)[0], parse_clouds(cloud), replicas=replicas)
    except BerthError as exc:
        _fail(exc)
    if as_json:
        sys.stdout.write(json.dumps(result.model_dump(mode="json"), indent=2) + "\n")
        return
    print_estimate(result)


def load_specs(sources: list[str], url: str | None = None) -> list[DeploymentSpec]:
    """Spec files are read here; anything else is a deployment name looked up on the control plane."""
    specs = []
    for source in sources:
        if source.lower().endswith(SPEC_SUFFIXES) or Path(source).is_file():
            specs.append(load_spec(source))
        else:
            specs.append(_from_control_plane(source, url))
    return specs


def _from_control_plane(name: str, url: str | None) -> DeploymentSpec:
    from berth.client import Client  # NOTE: httpx only when a name must be looked up

    with Client(url=url) as client:
        return parse_spec(client.get(name).spec)


def write_files(files: dict[str, str], output: Path) -> list[str]:
    """Write the bundle under `output`, refusing any path that would land outside it."""
    root = output.resolve()
    written = []
    for relative, text in sorted(files.items()):
        path = (root / relative).resolve()
        if not path.is_relative_to(root):
            raise InvalidSpec(f"refusing to write {relative!r} outside {output}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidSpec(
                f"cannot write {path}: {exc.strerror}; choose another --output folder"
            ) from None
        if relative.endswith(".sh"):
            path.chmod(0o755)
        written.append(relative)
    return written


def print_estimate(result: CostEstimate) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result.deployment}: {result.replicas} replica(s) on {result.device}")
    for column in ("cloud", "instance", "vCPU", "RAM GiB", "GPU", "$/hour", "$/month (730 h)"):
        table.add_column(column, justify="right" if column[0] in "v$R" else "left")
    for choice in result.choices:
        instance = choice.instance
        if instance is None:
            table.add_row(choice.cloud, f"[red]{choice.reason}[/red]", "", "", "", "", "")
            continue
        gpu = (
            f"{instance.gpu_count}x {instance.gpu} ({instance.gpu_memory_gib:g} GiB)" if instance.gpu else "-"
        )
        table.add_row(
            choice.cloud, instance.name, str(instance.vcpus), f"{instance.ram_gib:g}", gpu,
            f"{choice.usd_per_hour:,.4f}", f"{choice.usd_per_month:,.2f}",
        )  # fmt: skip
    console = Console(highlight=False)
    console.print(table)
    need = f"{result.ram_needed_gib:g} GiB RAM" + (
        f" and {result.gpu_memory_needed_gib:g} GiB GPU memory" if result.device == "cuda" else ""
    )
    basis = (
        "the model's measured weights" if result.basis == "preflight" else "the spec's limits.max_memory_gb"
    )
    console.print(f"per replica: {need}, from {basis}; on-demand list prices as of {result.as_of}.")


def _options(**fields: object) -> ExportOptions:
    from berth.exporters.options import ExportOptions

    return ExportOptions.model_validate(fields)


def _fail(exc: BerthError) -> NoReturn:
    typer.echo(f"error: {exc.message}", err=True)
    raise typer.Exit(exc.exit_code)
