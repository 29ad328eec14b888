"""The `berth` Typer app: commands that are thin adapters over `berth.Client` and berth's services.

Start-up must stay instant: this module and the command modules import only Typer at the top;
the client, httpx, Rich and everything heavier load inside the command that needs them. Every
`BerthError` a command raises becomes one `error: ...` line on stderr and the error's exit code.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

import berth
from berth.cli import check as check
from berth.cli import deployments as deployments
from berth.cli import models as models
from berth.cli import monitor as monitor
from berth.cli import server as server
from berth.errors import BerthError


class BerthGroup(TyperGroup):
    """The root command group: reports a BerthError as one line and its exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BerthError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(code=exc.exit_code) from None


app = typer.Typer(
    name="berth",
    cls=BerthGroup,
    help="Turn a machine-learning model into a production inference service, and keep it running.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """berth: serve models over HTTP with adaptive batching, and keep them running."""


@app.command()
def version() -> None:
    """Print berth's version."""
    typer.echo(berth.__version__)


app.command("check")(check.check)
app.command("init")(check.init)
app.command("up")(server.up)
app.command("down")(server.down)
app.command("pull")(models.pull)
app.command("deploy")(deployments.deploy)
app.command("ls")(deployments.ls)
app.command("status")(deployments.status)
app.command("logs")(deployments.logs)
app.command("predict")(deployments.predict)
app.command("start")(deployments.start)
app.command("stop")(deployments.stop)
app.command("restart")(deployments.restart)
app.command("rm")(deployments.rm)
app.command("top")(monitor.top)
app.command("bench")(monitor.bench)
app.command("models")(models.models)


def _forward(function: str, help_text: str) -> None:
    # NOTE: `export` and `cost` live in `berth.cli.exports`, which imports the exporters (Jinja2, the
    # model sources) at the top. Importing it here would slow every command, so these placeholders
    # import it when called and hand it the arguments, its own `--help` included.
    forwarding = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}
    name = function.removesuffix("_command")

    def forward(ctx: typer.Context) -> None:
        try:
            import berth.cli.exports as exports
        except ImportError:
            raise BerthError(f"this berth build has no `berth {name}`") from None
        sub = typer.Typer(add_completion=False)
        sub.command(help=getattr(exports, function).__doc__)(getattr(exports, function))
        sub(args=ctx.args, prog_name=f"berth {name}")

    app.command(name, context_settings=forwarding, help=help_text, add_help_option=False)(forward)


_forward("export_command", "Export deployments to Docker Compose (with nginx), Kubernetes or KServe.")
_forward("cost_command", "Estimate what a spec costs to run on cloud GPU/CPU instances.")
