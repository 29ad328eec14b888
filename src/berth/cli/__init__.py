"""The `berth` command.

`main` answers `berth ls` from `berth.cli.listing` (standard library only) and hands every other
command to the Typer app in `berth.cli.app`, whose command modules load the client, httpx and Rich
only inside the commands that need them. Either way a `BerthError` becomes one `error: ...` line on
stderr and the error's exit code.
"""

from __future__ import annotations

import os
import sys

# The argument lists `main` answers without Typer; any other form of `ls` (`--help`, a typo) goes
# to Typer, which owns the help text and the usage errors.
QUICK_LS = {("ls",): False, ("ls", "--json"): True}


def main() -> None:
    """The console script's entry point."""
    # NOTE: pydantic scans every installed distribution's entry points for plugins on first use
    # (~25 ms of each command); berth's CLI uses none. A user who sets the variable still wins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    as_json = QUICK_LS.get(tuple(sys.argv[1:]))
    if as_json is None:
        from berth.cli.app import app

        app()
        return
    from berth.cli.listing import ls
    from berth.errors import BerthError

    try:
        ls(as_json)
    except BerthError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        sys.exit(exc.exit_code)
