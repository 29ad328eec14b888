"""Kubernetes manifests: per deployment a ConfigMap (the spec), a PVC (the model cache), a Deployment,
a Service, an Ingress and optionally an HPA; the control plane's own Deployment, Service, PVC and
Ingress; a namespace; and a kustomization listing them. Tokens come from the `berth-secrets` Secret
by reference; the manifests never hold a secret value."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import berth
from berth.errors import InvalidSpec
from berth.exporters import common as c
from berth.exporters import packages
from berth.exporters.nginx import body_size
from berth.exporters.options import ExportOptions
from berth.exporters.sizing import GIB, Sizing, gibibytes, mebibytes, size_deployment
from berth.settings import get_settings
from berth.spec import DeploymentSpec

SECRET_NAME = "berth-secrets"  # noqa: S105 - the Secret's name, not a value
CONTROL_PLANE = "berth-control-plane"
ML_PACKAGES_BYTES = 12 * GIB  # torch (CUDA build) and friends, in volume mode
STARTUP_PERIOD_S = 10


def kubernetes_bundle(specs: list[DeploymentSpec], options: ExportOptions) -> dict[str, str]:
    c.check_names(specs)
    if options.tls and not options.host:
        raise InvalidSpec("TLS needs a host name for its certificate: pass --host as well as --tls")
    manifests: dict[str, dict[str, Any]] = {"namespace.yaml": namespace(options)}
    manifests |= control_plane_manifests(specs, options)
    for spec in specs:
        manifests |= deployment_manifests(spec, size_deployment(spec), options)
    files = {path: c.dump_yaml(doc) for path, doc in manifests.items()}
    files["kustomization.yaml"] = c.dump_yaml(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "namespace": options.namespace,
            "resources": list(manifests),
        }
    )
    keys = sorted({key for spec in specs for key in c.secret_keys(spec)})
    files["secrets.env.example"] = _secrets_example(keys, options)
    files["README.md"] = c.render(
        "kubernetes-README.md.j2", specs=specs, options=options, secret_keys=keys, secret=SECRET_NAME,
        version=berth.__version__, local=[s.name for s in specs if _local(s)],
    )  # fmt: skip
    return files


def labels(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "berth",
        "app.kubernetes.io/managed-by": "berth",
    }


def metadata(name: str, component: str, options: ExportOptions, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": options.namespace, "labels": labels(name, component), **extra}


def namespace(options: ExportOptions) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": options.namespace}}


def secret_env(key: str, *, optional: bool) -> dict[str, Any]:
    ref = {"name": SECRET_NAME, "key": key, "optional": optional}
    return {"name": key, "valueFrom": {"secretKeyRef": ref}}


def pod_security() -> dict[str, Any]:
    uid = c.RUN_AS_USER
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def probe(path: str, *, period_s: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period_s,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def pvc(name: str, component: str, size: str, options: ExportOptions, *, shared: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {
        # NOTE: several pods on several nodes can mount one cache only as ReadWriteMany.
        "accessModes": ["ReadWriteMany" if shared else "ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if options.storage_class:
        spec["storageClassName"] = options.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(name, component, options),
        "spec": spec,
    }


def service(name: str, component: str, port: int, options: ExportOptions) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(name, component, options),
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def ingress(
    name: str,
    component: str,
    paths: list[dict[str, Any]],
    options: ExportOptions,
    annotations: dict[str, str],
) -> dict[str, Any]:
    annotations = {
        # WebSocket progress streams and long generations stay open for minutes.
        "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
        "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
        **annotations,
    }
    spec: dict[str, Any] = {"ingressClassName": "nginx"}
    if options.tls:
        annotations["cert-manager.io/cluster-issuer"] = options.cluster_issuer
        spec["tls"] = [{"hosts": [options.host], "secretName": f"{options.namespace}-tls"}]
    rule: dict[str, Any] = {"http": {"paths": paths}}
    if options.host:
        rule = {"host": options.host, **rule}
    spec["rules"] = [rule]
    meta = metadata(name, component, options, annotations=annotations)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def _path(path: str, path_type: str, service_name: str, port: int) -> dict[str, Any]:
    backend = {"service": {"name": service_name, "port": {"number": port}}}
    return {"path": path, "pathType": path_type, "backend": backend}


def _local(spec: DeploymentSpec) -> bool:
    return c.is_local(spec)


def control_plane_manifests(specs: list[DeploymentSpec], options: ExportOptions) -> dict[str, dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "BERTH_HOME", "value": c.BERTH_HOME},
        {"name": "BERTH_PRELOAD_WORKERS", "value": "false"},  # workers are Deployments of their own
        secret_env("BERTH_API_KEY", optional=True),
        secret_env("HF_TOKEN", optional=True),
    ]
    if options.postgres is not None:
        env.append(secret_env("BERTH_DATABASE_URL", optional=False))
    container = {
        "name": "control-plane",
        "image": options.image,
        "args": c.control_plane_command(),  # `args`, not `command`: the image's entrypoint still runs
        "ports": [{"name": "http", "containerPort": c.CONTROL_PLANE_PORT}],
        "env": env,
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        "startupProbe": probe("/health/live", period_s=2, failures=30),
        "livenessProbe": probe("/health/live", period_s=10, failures=3),
        "readinessProbe": probe("/health/ready", period_s=5, failures=3),
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": "registry", "mountPath": c.BERTH_HOME},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - an emptyDir
        ],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(CONTROL_PLANE, "control-plane", options),
        "spec": {
            "replicas": 1,
            # NOTE: one writer for the registry volume (SQLite); the old pod goes before the new one starts.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app.kubernetes.io/name": CONTROL_PLANE}},
            "template": {
                "metadata": {"labels": labels(CONTROL_PLANE, "control-plane")},
                "spec": {
                    "securityContext": pod_security(),
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "registry",
                            "persistentVolumeClaim": {"claimName": f"{CONTROL_PLANE}-registry"},
                        },
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    }
    largest = max(spec.limits.max_request_bytes for spec in specs)
    # The control plane serves the API, the docs and the built web UI itself; ingress-nginx stands in
    # for the Compose bundle's nginx.
    front = ingress(
        CONTROL_PLANE,
        "control-plane",
        [_path("/", "Prefix", CONTROL_PLANE, c.CONTROL_PLANE_PORT)],
        options,
        {"nginx.ingress.kubernetes.io/proxy-body-size": body_size(largest)},
    )
    return {
        "control-plane-pvc.yaml": pvc(
            f"{CONTROL_PLANE}-registry", "control-plane", "1Gi", options, shared=False
        ),
        "control-plane-deployment.yaml": deployment,
        "control-plane-service.yaml": service(CONTROL_PLANE, "control-plane", c.CONTROL_PLANE_PORT, options),
        "control-plane-ingress.yaml": front,
    }


def deployment_manifests(
    spec: DeploymentSpec, sizing: Sizing, options: ExportOptions
) -> dict[str, dict[str, Any]]:
    name = spec.name
    spec_text = c.spec_yaml(spec)
    code = packages.predictor_files(spec)
    data = {f"{name}.yaml": spec_text, **packages.bundle_files([spec], _constraints([spec]))}
    for path in code:
        del data[f"predictors/{path}"]  # the code travels in a ConfigMap of its own
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(f"{name}-spec", "worker", options),
        "data": data,
    }
    shared = spec.replicas > 1 or options.hpa is not None
    cache_bytes = sizing.cache_bytes + (ML_PACKAGES_BYTES if options.ml_packages == "volume" else 0)
    files = {
        f"{name}-configmap.yaml": config_map,
        f"{name}-pvc.yaml": pvc(
            f"{name}-model-cache", "worker", gibibytes(cache_bytes), options, shared=shared
        ),
        f"{name}-deployment.yaml": worker_deployment(spec, sizing, options, spec_text),
        f"{name}-service.yaml": service(name, "worker", c.WORKER_PORT, options),
        f"{name}-ingress.yaml": ingress(
            f"{name}-models",
            "worker",
            [_path(f"/models/{name}(/|$)(.*)", "ImplementationSpecific", name, c.WORKER_PORT)],
            options,
            {
                "nginx.ingress.kubernetes.io/use-regex": "true",
                "nginx.ingress.kubernetes.io/rewrite-target": "/$2",  # strip /models/<name>
                "nginx.ingress.kubernetes.io/proxy-body-size": body_size(spec.limits.max_request_bytes),
                "nginx.ingress.kubernetes.io/proxy-buffering": "off",  # server-sent events
            },
        ),
    }
    if code:
        files[f"{name}-code-configmap.yaml"] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata(f"{name}-code", "worker", options),
            "data": {_code_key(path): text for path, text in code.items()},
        }
    if options.hpa is not None:
        files[f"{name}-hpa.yaml"] = hpa(name, options)
    return files


def _constraints(specs: list[DeploymentSpec]) -> str | None:
    return packages.constraints_text(specs, get_settings().constraints)


def _code_key(path: str) -> str:
    """A ConfigMap key for a file path: `/` is not allowed in keys, and `--` is in no Python module name."""
    return path.replace("/", "--")


def _requirements_container(spec: DeploymentSpec, options: ExportOptions, gpu: bool) -> dict[str, Any]:
    """An init container that pip-installs the spec's requirements into the cache volume, once per change.

    `--target` installs their dependencies too (torch among them), hence the CPU wheel index off GPUs.
    """
    pip = "/etc/berth/pip"
    constraints = f"-c {pip}/{packages.CONSTRAINTS} " if _constraints([spec]) is not None else ""
    constraints += "" if gpu else f"--extra-index-url {c.CPU_TORCH_INDEX} "
    # NOTE: replicas share the volume; the lock makes the first one install and the others wait for it.
    script = (
        'stamp="$TARGET/.installed-$(cat /etc/berth/pip/*.txt | sha256sum | cut -c1-16)"; '
        'flock "$TARGET/.lock" sh -c \'if [ ! -f "$1" ]; then '
        'find "$TARGET" -mindepth 1 -maxdepth 1 ! -name .lock -exec rm -rf {} + && '
        f'pip install --no-warn-script-location --target "$TARGET" {constraints}-r {pip}/requirements.txt && '
        'touch "$1"; fi\' sh "$stamp"'
    )
    return {
        "name": "requirements",
        "image": options.image,
        "command": ["sh", "-ec", script],
        "env": [
            {"name": "TARGET", "value": packages.REQUIREMENTS_DIR},
            {"name": "PIP_CACHE_DIR", "value": "/tmp/pip-cache"},  # noqa: S108 - an emptyDir
        ],
        "securityContext": container_security(),
        "volumeMounts": [
            {"name": "spec", "mountPath": pip, "readOnly": True},
            {"name": "model-cache", "mountPath": packages.REQUIREMENTS_DIR, "subPath": "requirements"},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108
        ],
    }


def worker_deployment(
    spec: DeploymentSpec, sizing: Sizing, options: ExportOptions, spec_text: str
) -> dict[str, Any]:
    name = spec.name
    env: list[dict[str, Any]] = [{"name": "BERTH_HEALTH_PORT", "value": str(c.WORKER_PORT)}]
    env += [{"name": key, "value": value} for key, value in c.plain_env(spec).items()]
    env += [secret_env(key, optional=False) for key in c.secret_keys(spec)]
    if "HF_TOKEN" not in spec.env:
        env.append(secret_env("HF_TOKEN", optional=True))
    mounts: list[dict[str, Any]] = [
        {
            "name": "spec",
            "mountPath": f"{c.SPEC_DIR}/{name}.yaml",
            "subPath": f"{name}.yaml",
            "readOnly": True,
        },
        {"name": "model-cache", "mountPath": c.HF_HOME, "subPath": "huggingface"},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108
    ]
    if options.ml_packages == "volume":
        env.append({"name": "BERTH_INSTALL_ML", "value": "1"})
        mounts += [
            {"name": "model-cache", "mountPath": c.ML_PACKAGES_DIR, "subPath": "ml-packages"},
            {"name": "model-cache", "mountPath": c.PIP_CACHE, "subPath": "pip"},
        ]
    python_path = []
    if spec.requirements:
        python_path.append(packages.REQUIREMENTS_DIR)
        mounts.append(
            {"name": "model-cache", "mountPath": packages.REQUIREMENTS_DIR, "subPath": "requirements"}
        )
    code = packages.predictor_files(spec)
    if code:
        python_path.append(packages.PREDICTORS_DIR)
        mounts.append({"name": "code", "mountPath": packages.PREDICTORS_DIR, "readOnly": True})
    if python_path:
        env.append({"name": "PYTHONPATH", "value": ":".join(python_path)})
    if _local(spec):  # copied onto the volume by the user (README)
        mounts.append(
            {
                "name": "model-cache",
                "mountPath": f"{c.MODELS_DIR}/{name}",
                "subPath": f"models/{name}",
                "readOnly": True,
            }
        )
    requests = {"cpu": str(sizing.cpus), "memory": mebibytes(sizing.ram_bytes)}
    limits = {"cpu": str(sizing.cpu_limit), "memory": mebibytes(sizing.ram_limit_bytes)}
    pod: dict[str, Any] = {
        "securityContext": pod_security(),
        "terminationGracePeriodSeconds": math.ceil(spec.limits.request_timeout_s) + 10,
        "containers": [
            {
                "name": "worker",
                "image": options.image,
                "args": c.worker_command(name),
                "ports": [{"name": "http", "containerPort": c.WORKER_PORT}],
                "env": env,
                "resources": {"requests": requests, "limits": limits},
                # NOTE: the startup probe holds liveness back while a first download and load run.
                "startupProbe": probe(
                    "/health/live",
                    period_s=STARTUP_PERIOD_S,
                    failures=math.ceil(options.start_period_s / STARTUP_PERIOD_S),
                ),
                "livenessProbe": probe("/health/live", period_s=10, failures=3),
                "readinessProbe": probe("/health/ready", period_s=5, failures=3),
                "securityContext": container_security(),
                "volumeMounts": mounts,
            }
        ],
        "volumes": [
            {"name": "spec", "configMap": {"name": f"{name}-spec"}},
            {"name": "model-cache", "persistentVolumeClaim": {"claimName": f"{name}-model-cache"}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    if spec.requirements:
        pod["initContainers"] = [_requirements_container(spec, options, sizing.gpu)]
    if code:
        items = [{"key": _code_key(path), "path": path} for path in code]
        pod["volumes"].append({"name": "code", "configMap": {"name": f"{name}-code", "items": items}})
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    if sizing.gpu:
        requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = "1"
        pod["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
        # A surge pod would wait for a free GPU that a small cluster does not have.
        strategy["rollingUpdate"] = {"maxSurge": 0, "maxUnavailable": 1}
    checksum = hashlib.sha256(spec_text.encode()).hexdigest()[:16]
    template_meta = {"labels": labels(name, "worker"), "annotations": {"berth.dev/spec-checksum": checksum}}
    body: dict[str, Any] = {
        "replicas": spec.replicas,
        "strategy": strategy,
        "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        "template": {"metadata": template_meta, "spec": pod},
    }
    if options.hpa is not None:
        del body["replicas"]  # the autoscaler owns the count; an applied manifest must not reset it
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(name, "worker", options),
        "spec": body,
    }


def hpa(name: str, options: ExportOptions) -> dict[str, Any]:
    assert options.hpa is not None
    target = {"type": "Utilization", "averageUtilization": options.hpa.target_cpu_percent}
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(name, "worker", options),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": options.hpa.min_replicas,
            "maxReplicas": options.hpa.max_replicas,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": target}}],
        },
    }


def _secrets_example(keys: list[str], options: ExportOptions) -> str:
    lines = [
        f"# Values for the {SECRET_NAME} Secret; fill in, then:",
        f"#   kubectl -n {options.namespace} create secret generic {SECRET_NAME} --from-env-file=secrets.env",
        "# Keep secrets.env out of version control. Optional keys may be deleted.",
        "# BERTH_API_KEY=   (optional: require an API key on the control plane)",
        "# HF_TOKEN=        (optional unless listed below: gated or private models)",
    ]
    if options.postgres is not None:
        lines.append(f"BERTH_DATABASE_URL={options.postgres.url('change-me')}")
    lines += [f"{key}=change-me" for key in keys]
    return "\n".join(lines) + "\n"
