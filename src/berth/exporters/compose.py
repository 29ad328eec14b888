"""The Docker Compose bundle: nginx in front (the only published port), the control plane, one service
per deployment, named volumes for caches and the registry, and postgres when the options ask for it."""

from __future__ import annotations

import math
from typing import Any

import berth
from berth.exporters import common as c
from berth.exporters import packages
from berth.exporters.nginx import render_nginx
from berth.exporters.options import ExportOptions
from berth.exporters.sizing import Sizing, mebibytes, size_deployment
from berth.settings import get_settings
from berth.spec import DeploymentSpec

NGINX_IMAGE = "nginxinc/nginx-unprivileged:1.27-alpine"  # runs as a non-root user, listens on 8080
NGINX_PORT = 8080
POSTGRES_IMAGE = "postgres:17-alpine"
IMAGE_REF = "${BERTH_IMAGE:-%s}"
HARDENING: dict[str, Any] = {
    "read_only": True,
    "tmpfs": ["/tmp"],  # noqa: S108 - a private tmpfs per container
    "security_opt": ["no-new-privileges:true"],
    "cap_drop": ["ALL"],
}


def compose_bundle(specs: list[DeploymentSpec], options: ExportOptions) -> dict[str, str]:
    c.check_names(specs)
    sizings = {spec.name: size_deployment(spec) for spec in specs}
    any_gpu = any(s.gpu for s in sizings.values())
    context = _template_context(specs, sizings, options, any_gpu)
    files = {
        "docker-compose.yml": c.dump_yaml(compose_document(specs, sizings, options)),
        "Dockerfile": c.render("Dockerfile.j2", **context),
        "docker-entrypoint.sh": c.render("docker-entrypoint.sh.j2", **context),
        "nginx/nginx.conf": render_nginx(
            specs,
            {spec.name: f"{spec.name}:{c.WORKER_PORT}" for spec in specs},
            control_plane=f"control-plane:{c.CONTROL_PLANE_PORT}",
            listen=NGINX_PORT,
            static_root=c.UI_DIR,
        ),
        ".env.example": c.render("env.example.j2", **context),
        "README.md": c.render("compose-README.md.j2", **context),
    }
    files.update({f"specs/{spec.name}.yaml": c.spec_yaml(spec) for spec in specs})
    files.update(packages.bundle_files(specs, context["constraints"]))
    return files


def compose_document(
    specs: list[DeploymentSpec], sizings: dict[str, Sizing], options: ExportOptions
) -> dict[str, Any]:
    services: dict[str, Any] = {}
    postgres = options.postgres
    if postgres is not None and postgres.bundled:
        services["postgres"] = _postgres_service(postgres.user, postgres.database)
    services["control-plane"] = _control_plane_service(options)
    for spec in specs:
        services[spec.name] = _worker_service(spec, sizings[spec.name], options)
    services["nginx"] = _nginx_service(specs, options)
    volumes: dict[str, dict[str, Any]] = {"hf-cache": {}, "registry": {}, "ui": {}}
    if options.ml_packages == "volume":
        volumes |= {"pip-cache": {}, "ml-packages": {}}
    if "postgres" in services:
        volumes["postgres-data"] = {}
    return {"name": "berth", "services": services, "volumes": volumes}


def _berth_service(options: ExportOptions) -> dict[str, Any]:
    return {
        "image": IMAGE_REF % options.image,
        "build": {"context": ".", "dockerfile": "Dockerfile"},
        "restart": "unless-stopped",
        **HARDENING,
    }


def _healthcheck(test: list[str], start_period_s: int) -> dict[str, Any]:
    return {
        "test": test,
        "interval": "15s",
        "timeout": "5s",
        "retries": 3,
        "start_period": f"{start_period_s}s",
        "start_interval": "2s",
    }


def _control_plane_service(options: ExportOptions) -> dict[str, Any]:
    environment: dict[str, Any] = {
        "BERTH_HOME": c.BERTH_HOME,
        # the workers are services of their own here: no template process importing torch for nothing
        "BERTH_PRELOAD_WORKERS": "false",
        "BERTH_UI_EXPORT_DIR": c.UI_DIR,
        "BERTH_API_KEY": None,  # passed through from the shell or .env when set; auth is on when it is
        "HF_TOKEN": None,
    }
    depends_on: dict[str, Any] = {}
    postgres = options.postgres
    if postgres is not None and postgres.bundled:
        environment["BERTH_DATABASE_URL"] = postgres.url(
            "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}", "postgres"
        )
        depends_on["postgres"] = {"condition": "service_healthy"}
    elif postgres is not None:
        environment["BERTH_DATABASE_URL"] = "${BERTH_DATABASE_URL:?set BERTH_DATABASE_URL in .env}"
    service = {
        **_berth_service(options),
        "command": c.control_plane_command(),
        "environment": environment,
        "volumes": [f"registry:{c.BERTH_HOME}", f"ui:{c.UI_DIR}", f"hf-cache:{c.HF_HOME}"],
        "expose": [str(c.CONTROL_PLANE_PORT)],
        "healthcheck": _healthcheck(c.http_probe(c.CONTROL_PLANE_PORT, "/health/ready"), 60),
    }
    if depends_on:
        service["depends_on"] = depends_on
    return service


def _worker_service(spec: DeploymentSpec, sizing: Sizing, options: ExportOptions) -> dict[str, Any]:
    environment: dict[str, Any] = {"BERTH_HEALTH_PORT": str(c.WORKER_PORT), "HF_TOKEN": None}
    environment |= c.plain_env(spec)
    for key in c.secret_keys(spec):
        environment[key] = f"${{{key}:?set {key} in .env}}"
    volumes = [f"./specs/{spec.name}.yaml:{c.SPEC_DIR}/{spec.name}.yaml:ro", f"hf-cache:{c.HF_HOME}"]
    if options.ml_packages == "volume":
        environment["BERTH_INSTALL_ML"] = "1"
        volumes += [f"pip-cache:{c.PIP_CACHE}", f"ml-packages:{c.ML_PACKAGES_DIR}"]
    if c.is_local(spec):
        volumes.append(f"./models/{spec.name}:{c.MODELS_DIR}/{spec.name}:ro")
    reservations: dict[str, Any] = {"memory": mebibytes(sizing.ram_bytes)}
    if sizing.gpu:
        _, _, index = spec.device.partition(":")
        device: dict[str, Any] = {"driver": "nvidia", "capabilities": ["gpu"]}
        device |= {"device_ids": [index]} if index else {"count": 1}
        reservations["devices"] = [device]
    return {
        **_berth_service(options),
        "command": c.worker_command(spec.name),
        "environment": environment,
        "volumes": volumes,
        "expose": [str(c.WORKER_PORT)],
        "healthcheck": _healthcheck(c.http_probe(c.WORKER_PORT, "/health/ready"), options.start_period_s),
        # NOTE: a stop drains the batcher; give in-flight requests their full timeout before SIGKILL.
        "stop_grace_period": f"{math.ceil(spec.limits.request_timeout_s) + 10}s",
        "deploy": {
            "replicas": spec.replicas,
            "resources": {
                "limits": {"memory": mebibytes(sizing.ram_limit_bytes)},
                "reservations": reservations,
            },
        },
    }


def _nginx_service(specs: list[DeploymentSpec], options: ExportOptions) -> dict[str, Any]:
    # `restart: true` restarts nginx when a worker is recreated, so it resolves the new address.
    depends_on: dict[str, Any] = {"control-plane": {"condition": "service_healthy"}}
    depends_on |= {spec.name: {"condition": "service_healthy", "restart": True} for spec in specs}
    return {
        "image": NGINX_IMAGE,
        "restart": "unless-stopped",
        **HARDENING,
        "ports": [f"${{BERTH_HTTP_PORT:-{options.http_port}}}:{NGINX_PORT}"],
        "volumes": ["./nginx/nginx.conf:/etc/nginx/nginx.conf:ro", f"ui:{c.UI_DIR}:ro"],
        "environment": {"NGINX_ENTRYPOINT_QUIET_LOGS": "1"},
        "depends_on": depends_on,
        "healthcheck": _healthcheck(
            ["CMD", "wget", "-q", "--spider", f"http://127.0.0.1:{NGINX_PORT}/health"], 30
        ),
    }


def _postgres_service(user: str, database: str) -> dict[str, Any]:
    return {
        "image": POSTGRES_IMAGE,
        "restart": "unless-stopped",
        "environment": {
            "POSTGRES_USER": user,
            "POSTGRES_DB": database,
            "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}",
        },
        "volumes": ["postgres-data:/var/lib/postgresql/data"],
        "healthcheck": _healthcheck(["CMD-SHELL", f"pg_isready -U {user} -d {database}"], 30),
    }


def _template_context(
    specs: list[DeploymentSpec], sizings: dict[str, Sizing], options: ExportOptions, any_gpu: bool
) -> dict[str, Any]:
    return {
        "version": berth.__version__,
        "specs": specs,
        "sizings": sizings,
        "options": options,
        "postgres": options.postgres,
        "bake": options.ml_packages == "bake",
        "ml_requirements": c.ml_requirements(specs),
        "spec_requirements": packages.requirements_of(specs),
        "constraints": packages.constraints_text(specs, get_settings().constraints),
        "predictor_code": bool(packages.bundle_code(specs)),
        "predictors_dir": packages.PREDICTORS_DIR,
        "torch_index": None if any_gpu else c.CPU_TORCH_INDEX,
        "secret_keys": sorted({key for spec in specs for key in c.secret_keys(spec)}),
        "local_models": [s.name for s in specs if c.is_local(s)],
        "uid": c.RUN_AS_USER,
        "spec_dir": c.SPEC_DIR,
        "ml_packages_dir": c.ML_PACKAGES_DIR,
        "hf_home": c.HF_HOME,
        "pip_cache": c.PIP_CACHE,
        "berth_home": c.BERTH_HOME,
        "ui_dir": c.UI_DIR,
        "models_dir": c.MODELS_DIR,
        "ui_package_dir": options.ui_package_dir,
        "control_plane_port": c.CONTROL_PLANE_PORT,
        "worker_port": c.WORKER_PORT,
        "start_period_s": options.start_period_s,
        "nginx_image": NGINX_IMAGE,
        "gib": lambda n: f"{n / 1024**3:.1f} GiB",
    }
