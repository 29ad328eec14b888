"""`python -m berth.worker SPEC [--host H] [--port P] [--replica N]`: serve one deployment in this process."""

from __future__ import annotations

import argparse
import os
import sys

from berth.errors import BerthError
from berth.logs import configure_logging
from berth.settings import get_settings
from berth.spec import load_spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m berth.worker", description="Serve one berth deployment.")
    parser.add_argument("spec", help="deployment spec, YAML or JSON")
    parser.add_argument("--host", help="address to bind (default BERTH_HOST, 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, help="port (default: the spec's, else the first free in BERTH_WORKER_PORTS)"
    )
    parser.add_argument(
        "--replica", type=int, default=0, help="which replica this is (for its process title)"
    )
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_format)
        spec = load_spec(args.spec)
    except BerthError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    os.environ.update(spec.env)

    from berth.worker.boot import run_worker  # after env: the spec may configure torch/HF

    return run_worker(spec, settings, args.host or settings.host, args.port, args.replica)


if __name__ == "__main__":
    sys.exit(main())
