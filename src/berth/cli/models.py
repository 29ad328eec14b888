"""`berth pull | models`: the shared Hugging Face model cache."""

from __future__ import annotations

from typing import Annotated

import typer

from berth.cli.common import client, print_json


def pull(
    model: Annotated[str, typer.Argument(help="A Hub id such as owner/name.", show_default=False)],
    revision: Annotated[str, typer.Option(help="Branch, tag or commit.")] = "main",
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            metavar="GLOB",
            help="Of a repo of many GGUF files, pull only the one this glob matches, e.g. '*Q4_K_M.gguf'.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Download a model into the cache, with a progress bar."""
    from berth.cli.progress import PullProgress
    from berth.cli.render import console, human_bytes

    with client() as berth, PullProgress(model) as progress:
        done = berth.pull(model, revision=revision, on_progress=progress, file=file)
    at = f" @ {done.revision[:12]}" if done.revision else ""
    console.print(
        f"[green]✓[/] {done.model.id}{at} ({human_bytes(done.model.size_bytes)}) in {done.model.path}"
    )


def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    remove: Annotated[
        str | None, typer.Option("--rm", metavar="ID", help="Remove this model from the cache.")
    ] = None,
) -> None:
    """List the models in the cache (or remove one with --rm ID)."""
    with client() as berth:
        if remove is not None:
            berth.remove_model(remove)
            typer.echo(f"removed {remove} from the cache")
            return
        cached = berth.models()
    if as_json:
        print_json([m.model_dump(mode="json") for m in cached])
        return
    from berth.cli.render import console, models_table

    if not cached:
        console.print("the cache is empty; fill it with `berth pull MODEL` or `berth deploy MODEL`")
        return
    console.print(models_table(cached))
