"""KServe InferenceServices: KServe's own Hugging Face runtime where it serves the model as berth would
(a hub id and a task that runtime knows), otherwise a custom predictor running the berth worker, whose
Open Inference Protocol (V2) routes are what KServe expects."""

from __future__ import annotations

from typing import Any

import berth
from berth.exporters import common as c
from berth.exporters.kubernetes import SECRET_NAME, container_security, metadata, secret_env
from berth.exporters.options import ExportOptions
from berth.exporters.sizing import Sizing, mebibytes, size_deployment
from berth.spec import DeploymentSpec, RuntimeName, Task

# berth task → the task name of KServe's Hugging Face server (`kserve/huggingfaceserver`).
HF_RUNTIME_TASKS = {
    Task.FEATURE_EXTRACTION: "text_embedding",
    Task.TEXT_CLASSIFICATION: "sequence_classification",
    Task.TOKEN_CLASSIFICATION: "token_classification",
    Task.FILL_MASK: "fill_mask",
    Task.TEXT_GENERATION: "text_generation",
    Task.TEXT2TEXT_GENERATION: "text2text_generation",
}
HF_RUNTIMES = {RuntimeName.AUTO, RuntimeName.TRANSFORMERS, RuntimeName.SENTENCE_TRANSFORMERS}


def uses_hf_runtime(spec: DeploymentSpec) -> bool:
    hf_model = spec.runtime in HF_RUNTIMES and not c.uses_llama_cpp(spec)  # a GGUF file is berth's to serve
    return c.hub_id(spec) is not None and spec.task in HF_RUNTIME_TASKS and hf_model


def kserve_bundle(specs: list[DeploymentSpec], options: ExportOptions) -> dict[str, str]:
    c.check_names(specs)
    manifests: dict[str, dict[str, Any]] = {}
    for spec in specs:
        sizing = size_deployment(spec)
        if not uses_hf_runtime(spec):
            manifests[f"{spec.name}-configmap.yaml"] = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": metadata(f"{spec.name}-spec", "worker", options),
                "data": {f"{spec.name}.yaml": c.spec_yaml(spec)},
            }
        manifests[f"{spec.name}-inferenceservice.yaml"] = inference_service(spec, sizing, options)
    files = {path: c.dump_yaml(doc) for path, doc in manifests.items()}
    files["kustomization.yaml"] = c.dump_yaml(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "namespace": options.namespace,
            "resources": list(manifests),
        }
    )
    files["README.md"] = c.render(
        "kserve-README.md.j2",
        specs=specs,
        options=options,
        version=berth.__version__,
        hf=[s.name for s in specs if uses_hf_runtime(s)],
        secret=SECRET_NAME,
        secret_keys=sorted({key for spec in specs for key in c.secret_keys(spec)}),
    )
    return files


def inference_service(spec: DeploymentSpec, sizing: Sizing, options: ExportOptions) -> dict[str, Any]:
    predictor: dict[str, Any] = {
        "minReplicas": options.hpa.min_replicas if options.hpa else spec.replicas,
        "maxReplicas": options.hpa.max_replicas if options.hpa else spec.replicas,
    }
    if options.hpa is not None:
        predictor |= {"scaleMetric": "cpu", "scaleTarget": options.hpa.target_cpu_percent}
    if sizing.gpu:
        predictor["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    env = [{"name": key, "value": value} for key, value in c.plain_env(spec).items()]
    env += [secret_env(key, optional=False) for key in c.secret_keys(spec)]
    if "HF_TOKEN" not in spec.env:
        env.append(secret_env("HF_TOKEN", optional=True))
    if uses_hf_runtime(spec):
        predictor["model"] = {
            "modelFormat": {"name": "huggingface"},
            "storageUri": f"hf://{spec.model.source}",
            "args": _hf_args(spec, sizing),
            "env": env,
            "resources": _resources(sizing),
        }
    else:
        predictor["protocolVersion"] = "v2"
        predictor["containers"] = [
            {
                "name": "kserve-container",
                "image": options.image,
                "args": c.worker_command(spec.name),
                "ports": [{"containerPort": c.WORKER_PORT, "protocol": "TCP"}],
                "env": [{"name": "BERTH_HEALTH_PORT", "value": str(c.WORKER_PORT)}, *env],
                "resources": _resources(sizing),
                "readinessProbe": {
                    "httpGet": {"path": "/v2/health/ready", "port": c.WORKER_PORT},
                    "periodSeconds": 5,
                },
                "securityContext": {**container_security(), "runAsNonRoot": True, "runAsUser": c.RUN_AS_USER},
                "volumeMounts": [
                    {
                        "name": "spec",
                        "mountPath": f"{c.SPEC_DIR}/{spec.name}.yaml",
                        "subPath": f"{spec.name}.yaml",
                    },
                    {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108
                    {"name": "cache", "mountPath": c.HF_HOME},
                ],
            }
        ]
        predictor["volumes"] = [
            {"name": "spec", "configMap": {"name": f"{spec.name}-spec"}},
            {"name": "tmp", "emptyDir": {}},
            {"name": "cache", "emptyDir": {}},
        ]
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": metadata(spec.name, "worker", options),
        "spec": {"predictor": predictor},
    }


def _hf_args(spec: DeploymentSpec, sizing: Sizing) -> list[str]:
    args = [
        f"--model_name={spec.name}",
        f"--model_revision={spec.model.revision}",
        f"--task={HF_RUNTIME_TASKS[spec.task]}",
        f"--dtype={sizing.dtype}",
    ]
    if not sizing.gpu:
        args.append("--backend=huggingface")  # vLLM, the default for generation, needs a GPU
    if spec.trust_remote_code:
        args.append("--trust_remote_code")
    return args


def _resources(sizing: Sizing) -> dict[str, Any]:
    requests = {"cpu": str(sizing.cpus), "memory": mebibytes(sizing.ram_bytes)}
    limits = {"cpu": str(sizing.cpu_limit), "memory": mebibytes(sizing.ram_limit_bytes)}
    if sizing.gpu:
        requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = "1"
    return {"requests": requests, "limits": limits}
