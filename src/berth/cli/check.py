"""`berth check | init`: can this host run berth (and a given model), and first-run files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from berth.cli.common import print_json
from berth.errors import Conflict

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
SPEC_FILE = "berth.yaml"
ENV_FILE = ".env"
# One line of help per setting in the generated `.env`; README.md's "Settings" has more.
SETTING_NOTES = {
    "host": "address the control plane binds",
    "port": "control plane port",
    "home": "registry (berth.db), logs/ and deployments/",
    "database_url": "SQLAlchemy URL; default sqlite in BERTH_HOME, or postgresql+psycopg://...",
    "worker_ports": "ports workers may use",
    "api_key": "set to require `Authorization: Bearer KEY` on every route but health",
    "cors_origins": "comma-separated origins allowed to call the API from a browser",
    "max_model_size_gb": "refuse models larger than this",
    "max_memory_per_model_gb": "refuse models that need more memory than this",
    "download_timeout_s": "give up a download after this long",
    "health_interval_s": "seconds between worker readiness probes",
    "health_failure_threshold": "failed probes in a row before a restart",
    "alert_webhook_url": "POSTed a JSON alert when a deployment fails or restarts",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "log_format": "text or json",
}


def check(
    spec: Annotated[
        str | None,
        typer.Argument(help="A spec file or model to check this host against.", show_default=False),
    ] = None,
    exporting: Annotated[bool, typer.Option("--export", help="Also require Docker/Compose/kubectl.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Check prerequisites (Python, torch, GPU and driver, disk, RAM, tools), each with a fix hint."""
    from berth.checks import exit_code, run_checks
    from berth.client import build_spec
    from berth.settings import get_settings

    deployment = build_spec(spec) if spec is not None else None
    checks = run_checks(home=get_settings().home, spec=deployment, exporting=exporting)
    if as_json:
        print_json([c.model_dump(mode="json") for c in checks])
    else:
        from berth.cli.render import print_checks

        print_checks(checks)
    raise typer.Exit(exit_code(checks))


def init(
    model: Annotated[str, typer.Argument(help="The model the spec deploys.")] = DEFAULT_MODEL,
    name: Annotated[str | None, typer.Option(help="Deployment name (default: from the model).")] = None,
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the files.")] = Path(),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write `.env` (every BERTH_ setting, commented) and a `berth.yaml` spec for a model."""
    import yaml

    from berth.client import build_spec

    spec = build_spec(model, name=name)
    env_path, spec_path = directory / ENV_FILE, directory / SPEC_FILE
    existing = [str(p) for p in (env_path, spec_path) if p.exists()]
    if existing and not force:
        raise Conflict(f"{' and '.join(existing)} already exist(s); pass --force to overwrite")
    directory.mkdir(parents=True, exist_ok=True)
    env_path.write_text(env_template(), encoding="utf-8")
    header = f"# berth deployment spec; deploy it with `berth deploy {SPEC_FILE}`\n"
    spec_path.write_text(header + yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    typer.echo(f"wrote {env_path} and {spec_path}; next: `berth up -d` and `berth deploy {spec_path}`")


def env_template() -> str:
    """Every BERTH_ setting with its default, commented out, so a user uncomments what they change."""
    from berth.settings import Settings

    lines = ["# berth settings. The environment overrides this file; uncomment a line to change it.", ""]
    for field_name, field in Settings.model_fields.items():
        note = SETTING_NOTES.get(field_name)
        if note:
            lines.append(f"# {note}")
        default = field.get_default(call_default_factory=True)
        lines.append(f"# BERTH_{field_name.upper()}={_env_value(default)}")
    return "\n".join(lines) + "\n"


def _env_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)
