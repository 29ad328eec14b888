"""Production exports: the same spec that runs locally, as Docker Compose (behind nginx), Kubernetes and
KServe files, plus a cloud cost estimate.

Exporters are pure: specs and `ExportOptions` in, `{relative path: text}` out, never touching the
network, Docker or a cluster, and never importing torch. Structured YAML (Compose, Kubernetes, KServe)
is built as dicts and dumped, so indentation can never break it; nginx.conf, the Dockerfile, the
entrypoint and READMEs are Jinja2 templates in `templates/`. Secret values never reach a file: secret
env keys become `.env` references or Secret `secretKeyRef`s.
"""

from berth.exporters.bundle import archive, bundle
from berth.exporters.cost import (
    CLOUDS,
    CloudChoice,
    CostEstimate,
    Instance,
    estimate,
    load_catalog,
    parse_clouds,
)
from berth.exporters.nginx import render_nginx
from berth.exporters.options import TARGETS, ExportOptions, HpaOptions, Target
from berth.exporters.sizing import Sizing, size_deployment

__all__ = [
    "CLOUDS",
    "TARGETS",
    "CloudChoice",
    "CostEstimate",
    "ExportOptions",
    "HpaOptions",
    "Instance",
    "Sizing",
    "Target",
    "archive",
    "bundle",
    "estimate",
    "load_catalog",
    "parse_clouds",
    "render_nginx",
    "size_deployment",
]
