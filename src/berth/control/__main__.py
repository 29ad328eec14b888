"""`python -m berth.control [--host H] [--port P]`: run the control plane in this process."""

from __future__ import annotations

import argparse
import logging
import sys

from berth import pidfile, proctitle
from berth.errors import BerthError, Conflict
from berth.logs import configure_logging
from berth.settings import Settings, get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m berth.control", description="Run berth's control plane.")
    parser.add_argument("--host", help="address to bind (default BERTH_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default BERTH_PORT, 8000)")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except BerthError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    if args.host:
        settings = settings.model_copy(update={"host": args.host})
    configure_logging(settings.log_level, settings.log_format)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per health probe is noise

    host, port = settings.host, args.port or settings.port
    other = pidfile.running(settings.home)
    if other is not None:  # two control planes on one home would both supervise its workers
        print(f"error: {pidfile.already_running(other)}", file=sys.stderr)
        return Conflict.exit_code
    proctitle.set_title(proctitle.control(port))  # before the record: a reader checks the title
    record = pidfile.write(settings.home, host, port)
    try:
        return serve(settings, host, port)
    finally:
        pidfile.remove(settings.home, record)


def serve(settings: Settings, host: str, port: int) -> int:
    """Run the control plane until SIGTERM/SIGINT; the process exit code."""
    import uvicorn

    from berth.control.app import create_app
    from berth.server import GracefulServer

    try:
        app = create_app(settings)
    except BerthError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    server = GracefulServer(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, ws="websockets-sansio")
    )
    server.run()
    return 0 if server.started else 4


if __name__ == "__main__":
    sys.exit(main())
