"""`berth deploy | ls | status | logs | predict | start | stop | restart | rm`: deployments."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from berth.cli.common import client, parse_input, predict_raw, print_json, read_files, write_output
from berth.errors import InvalidInput

NameArg = Annotated[str, typer.Argument(help="The deployment's name.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def deploy(
    model: Annotated[
        str,
        typer.Argument(
            help="A spec file (YAML/JSON), or a model: Hub id, folder, .onnx file or module:Class.",
            show_default=False,
        ),
    ],
    name: Annotated[str | None, typer.Option(help="Deployment name (default: from the model).")] = None,
    replicas: Annotated[int | None, typer.Option(help="Worker processes.", min=1)] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or cuda:N.")] = None,
    dtype: Annotated[str | None, typer.Option(help="auto, float32, float16 or bfloat16.")] = None,
    task: Annotated[str | None, typer.Option(help="e.g. feature-extraction, text-classification.")] = None,
    runtime: Annotated[
        str | None, typer.Option(help="transformers, sentence-transformers, onnx, llama-cpp...")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Worker port (default: first free).")] = None,
    revision: Annotated[str | None, typer.Option(help="Hub branch, tag or commit.")] = None,
    file: Annotated[
        str | None, typer.Option("--file", help="Glob choosing one file of the model, e.g. '*Q4_K_M.gguf'.")
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a deployment of that name.")] = False,
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Return once accepted.")] = False,
    install_requirements: Annotated[
        bool,
        typer.Option(
            "--install-requirements", help="pip-install the spec's unmet requirements (through constraints)."
        ),
    ] = False,
) -> None:
    """Deploy a model and follow its progress until it is ready."""
    from berth.cli.progress import DeployProgress
    from berth.cli.render import console, print_usage

    overrides: dict[str, Any] = {"replicas": replicas, "device": device, "dtype": dtype, "task": task}
    overrides |= {"runtime": runtime, "port": port, "revision": revision, "file": file}
    options: dict[str, Any] = {"replace": replace, "install_requirements": install_requirements}
    with client() as berth:
        if detach:
            started = berth.deploy(model, name=name, wait=False, **options, **overrides)
            console.print(f"deploying {started.name}; follow it with `berth status {started.name}`")
            return
        with DeployProgress(name or model) as progress:
            deployment = berth.deploy(model, name=name, on_event=progress, **options, **overrides)
        print_usage(deployment)


def ls(as_json: JsonOpt = False) -> None:
    """List deployments: state, replicas ready/total, endpoint, restarts, model."""
    from berth.cli.listing import ls as list_deployments

    list_deployments(as_json)


def status(name: NameArg, as_json: JsonOpt = False) -> None:
    """Show one deployment: state, model, endpoint, replicas, last error."""
    with client() as berth:
        deployment = berth.get(name)
    if as_json:
        print_json(deployment.model_dump(mode="json"))
        return
    from berth.cli.render import print_deployment

    print_deployment(deployment)


def logs(
    name: NameArg,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    tail: Annotated[int, typer.Option("--tail", "-n", help="Lines from the end.", min=0)] = 200,
) -> None:
    """Print a deployment's log (its workers' output)."""
    with client() as berth:
        if not follow:
            typer.echo(berth.logs(name, tail=tail), nl=False)
            return
        try:
            for line in berth.follow_logs(name, tail=tail):
                typer.echo(line)
        except KeyboardInterrupt:  # Ctrl-C is how one stops following
            return


def predict(
    name: NameArg,
    text: Annotated[
        str | None,
        typer.Argument(
            metavar="INPUT",
            help="Text, a JSON object/array (sent as is / as inputs), or @file.json.",
            show_default=False,
        ),
    ] = None,
    files: Annotated[
        list[str] | None,
        typer.Option(
            "--file",
            metavar="F",
            help="A file to send as one input (- reads stdin); repeat for several.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="OUT",
            help="Write a binary answer's raw bytes to OUT (- for stdout).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Call a deployment through the control plane and print its JSON answer.

    INPUT is text, a JSON object or array, or @file.json.
    --file F sends a file instead (a path, or - for stdin), one input per --file, as multipart/form-data.
    A binary output (an image, a mesh) is printed inside the JSON as base64.
    -o OUT writes that output's raw bytes to OUT (- for stdout) and says how many of which media type.

    Examples:
      berth predict minilm "I love this"
      berth predict vit --file cat.jpg
      cat cat.jpg | berth predict vit --file -
      berth predict chair3d --file chair.png -o chair.glb
    """
    if files and text is not None:
        raise InvalidInput("give INPUT or --file, not both: files are sent alone, one input each")
    if not files and text is None:
        raise InvalidInput("nothing to send: give INPUT (text, JSON or @file.json) or --file F")
    inputs = parse_input(text) if text is not None else None
    upload = read_files(files) if files else None
    with client() as berth:
        if output is None:
            print_json(berth.predict(name, inputs, file=upload))
            return
        data, media_type = predict_raw(berth, name, inputs, upload)
    write_output(output, data, media_type)


def start(name: NameArg) -> None:
    """Start a stopped deployment."""
    with client() as berth:
        typer.echo(f"{name}: {berth.start(name).state.value}")


def stop(name: NameArg) -> None:
    """Stop a deployment's workers (it stays listed; `berth start` brings it back)."""
    with client() as berth:
        typer.echo(f"{name}: {berth.stop(name).state.value}")


def restart(name: NameArg) -> None:
    """Restart a deployment's workers."""
    with client() as berth:
        typer.echo(f"{name}: {berth.restart(name).state.value}")


def rm(name: NameArg) -> None:
    """Stop a deployment and forget it."""
    with client() as berth:
        berth.remove(name)
    typer.echo(f"removed {name}")
