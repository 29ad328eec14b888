"""How the `berth` commands look: Rich tables for deployments, models, checks and processes.

Imported inside commands only, so `berth --help` never pays for Rich.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from berth.cli.listing import model_source, replica_counts

if TYPE_CHECKING:
    from berth.api.types import CachedModel, DeploymentPublic, SystemInfo
    from berth.checks import Check


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    # NOTE: Rich assumes 80 columns when not writing to a terminal, which folds model ids and paths
    # mid-word in `berth ls | less`; a pipe has no width, so give tables room unless COLUMNS says.
    width = None if stream.isatty() or "COLUMNS" in os.environ else 160
    return Console(stderr=stderr, highlight=False, width=width)


console = _console()
err_console = _console(stderr=True)

STATE_STYLES = {
    "ready": "green",
    "deploying": "cyan",
    "restarting": "yellow",
    "unhealthy": "yellow",
    "stopped": "dim",
    "failed": "red",
}
CHECK_MARKS = {"pass": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]", "skip": "[dim]-[/]"}


def human_bytes(count: int | None) -> str:
    """`1536000` → `1.5 MB` (decimal units, as disks and downloads are sold)."""
    if count is None:
        return "-"
    size = float(count)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def _time(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def state(value: str) -> str:
    return f"[{STATE_STYLES.get(value, 'white')}]{value}[/]"


def print_deployment(deployment: DeploymentPublic) -> None:
    """`berth status`: the deployment's fields, its replicas, and why it failed if it did."""
    d, fields_json = deployment, deployment.model_dump(mode="json")
    rows = [
        ("name", d.name),
        ("state", f"{state(d.state.value)} (desired: {d.desired_state.value})"),
        ("model", model_source(fields_json) + (f" @ {d.model_revision}" if d.model_revision else "")),
        ("endpoint", d.endpoint or "-"),
        ("replicas", replica_counts(fields_json)),
        ("restarts", str(d.restarts)),
        ("created", _time(d.created_at)),
        ("updated", _time(d.updated_at)),
    ]
    if d.last_error:
        rows.append(("last error", f"[red]{d.last_error}[/]"))
    fields = Table.grid(padding=(0, 2))
    fields.add_column(no_wrap=True)
    fields.add_column(overflow="fold")
    for key, value in rows:
        fields.add_row(f"[bold]{key}[/]", value)
    console.print(fields)
    if d.replicas:
        replicas = Table(box=None, header_style="bold", pad_edge=False)
        for column in ("REPLICA", "PID", "PORT", "STATE", "RESTARTS", "STARTED"):
            replicas.add_column(column, no_wrap=True)
        for r in d.replicas:
            replicas.add_row(
                str(r.index), str(r.pid or "-"), str(r.port or "-"), state(r.state.value), str(r.restarts),
                _time(r.started_at),
            )  # fmt: skip
        console.print()
        console.print(replicas)


def print_usage(deployment: DeploymentPublic) -> None:
    """After a deploy: where it answers and ready-to-paste calls."""
    console.print(f"[green]✓[/] [bold]{deployment.name}[/] is ready at {deployment.endpoint or '-'}")
    console.print(f'  try: berth predict {deployment.name} "I love this product!"')
    for kind, example in (deployment.usage or {}).items():
        console.print(f"\n[bold]{kind}[/]")
        console.print(example, markup=False, soft_wrap=True)  # copy-pasteable: never wrapped


def models_table(models: Sequence[CachedModel]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("MODEL", "REVISIONS", "SIZE", "MODIFIED", "USED BY"):
        table.add_column(column, no_wrap=column != "MODEL", overflow="fold")
    for m in models:
        revisions = ", ".join(revision[:12] for revision in m.revisions) or "-"
        used_by = ", ".join(m.used_by) or "-"
        table.add_row(m.id, revisions, human_bytes(m.size_bytes), _time(m.last_modified), used_by)
    return table


def print_checks(checks: Sequence[Check]) -> None:
    """`berth check`: a pass/fail line per prerequisite, and the fix under each that needs one."""
    width = max((len(check.name) for check in checks), default=0)
    for check in checks:
        console.print(f"{CHECK_MARKS.get(check.status, '?')} {check.name:<{width}}  {check.detail}")
        if check.hint and check.status in ("fail", "warn"):
            console.print(f"  {'':<{width}}  [dim]→ {check.hint}[/]")
    failed = sum(1 for check in checks if check.status == "fail")
    warned = sum(1 for check in checks if check.status == "warn")
    verdict = "[red]not ready[/]" if failed else "[green]ready[/]"
    console.print(f"\n{verdict}: {failed} failed, {warned} warnings, {len(checks)} checks")


def processes_table(info: SystemInfo) -> Table:
    """`berth top`: one row per replica process, like `docker stats`, under a host summary."""
    cpu = f"{info.cpu.percent:.0f}%" if info.cpu.percent is not None else "-"
    memory = f"{human_bytes(info.memory.used)} / {human_bytes(info.memory.total)}"
    gpus = "  ".join(
        f"GPU{g.index} {human_bytes(g.memory_used)} / {human_bytes(g.memory_total)}" for g in info.gpus
    )
    title = f"{info.hostname}  CPU {cpu}  RAM {memory}" + (f"  {gpus}" if gpus else "")
    table = Table(title=title, title_justify="left", box=None, header_style="bold", pad_edge=False)
    for column in ("DEPLOYMENT", "REPLICA", "PID", "PORT", "CPU %", "RSS", "GPU MEM", "THREADS"):
        table.add_column(column, no_wrap=True, justify="left" if column == "DEPLOYMENT" else "right")
    for p in info.processes:
        table.add_row(
            p.deployment,
            str(p.index),
            str(p.pid),
            str(p.port or "-"),
            f"{p.cpu_percent:.1f}" if p.cpu_percent is not None else "-",
            human_bytes(p.rss_bytes),
            human_bytes(p.gpu_memory_bytes),
            str(p.num_threads or "-") if p.alive else "[red]exited[/]",
        )
    return table
