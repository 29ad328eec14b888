"""The `berth` command: Typer commands, thin adapters over berth's services and client.

Heavy modules (torch, transformers, the worker) are imported inside commands, never at start-up.
"""

from __future__ import annotations

import typer

import berth

app = typer.Typer(
    name="berth",
    help="Turn a machine-learning model into a production inference service. "
    "Serve one spec now with: python -m berth.worker SPEC.yaml",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """berth: serve models over HTTP with adaptive batching."""


@app.command()
def version() -> None:
    """Print berth's version."""
    typer.echo(berth.__version__)


def main() -> None:
    app()
