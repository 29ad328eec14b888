"""Kubernetes and KServe manifests: strict schema validation offline, and what a schema cannot see."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
import yaml

from berth.errors import InvalidSpec
from berth.exporters import ExportOptions, HpaOptions, bundle
from berth.spec import DeploymentSpec
from tests.unit.exporters.conftest import SPECS, golden_options

K8S_VERSION = kubernetes_validate.latest_version()


def documents(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Manifest path → object, for every YAML file that is a Kubernetes object."""
    found = {}
    for path, text in files.items():
        if path.endswith(".yaml") and path != "kustomization.yaml":
            (doc,) = list(yaml.safe_load_all(text))
            found[path] = doc
    return found


def validate(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def as_pod(name: str, pod_spec: dict[str, Any]) -> dict[str, Any]:
    """A KServe predictor's pod fields as a Pod, which the core schemas can check strictly."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": pod_spec}


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_every_kubernetes_manifest_validates_in_strict_mode(kind: str) -> None:
    docs = documents(bundle("kubernetes", [SPECS[kind]()], golden_options(kind)))
    assert docs
    for path, doc in docs.items():
        try:
            validate(doc)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path}: {exc.message}")


def test_a_broken_manifest_is_rejected(cpu: DeploymentSpec) -> None:
    doc = documents(bundle("kubernetes", [cpu], ExportOptions()))["minilm-deployment.yaml"]
    unknown_field = copy.deepcopy(doc)
    unknown_field["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    wrong_type = copy.deepcopy(doc)
    wrong_type["spec"]["replicas"] = "two"
    for broken in (unknown_field, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            validate(broken)


def test_kustomization_lists_every_manifest_and_the_namespace(gpu: DeploymentSpec) -> None:
    files = bundle("kubernetes", [gpu], golden_options("gpu"))
    kustomization = yaml.safe_load(files["kustomization.yaml"])
    assert sorted(kustomization["resources"]) == sorted(documents(files))
    assert kustomization["namespace"] == "berth"
    assert {doc["metadata"].get("namespace", "berth") for doc in documents(files).values()} == {"berth"}


def test_worker_deployment_probes_resources_and_security(gpu: DeploymentSpec) -> None:
    docs = documents(bundle("kubernetes", [gpu], ExportOptions()))
    pod = docs["chat-deployment.yaml"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] >= 600
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert {"name": "tmp", "emptyDir": {}} in pod["volumes"]
    assert {v["name"]: v for v in pod["volumes"]}["model-cache"]["persistentVolumeClaim"][
        "claimName"
    ] == "chat-model-cache"
    assert docs["chat-deployment.yaml"]["spec"]["replicas"] == 2
    assert docs["chat-pvc.yaml"]["spec"]["accessModes"] == ["ReadWriteMany"]  # two replicas share it
    spec_file = yaml.safe_load(docs["chat-configmap.yaml"]["data"]["chat.yaml"])
    assert spec_file["name"] == "chat"
    assert spec_file["env"] == {}


def test_secret_env_keys_become_secret_key_refs(gpu: DeploymentSpec) -> None:
    docs = documents(bundle("kubernetes", [gpu], ExportOptions()))
    env = {
        e["name"]: e for e in docs["chat-deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    for key in ("OPENAI_API_KEY", "BERTH_API_KEY"):
        assert "value" not in env[key]
        assert env[key]["valueFrom"]["secretKeyRef"] == {
            "name": "berth-secrets",
            "key": key,
            "optional": False,
        }


def test_cpu_memory_comes_from_preflight_when_the_model_is_on_disk(minilm_path: Any) -> None:
    from berth.spec import parse_spec

    spec = parse_spec({"name": "local", "model": {"source": str(minilm_path)}, "device": "cpu"})
    docs = documents(bundle("kubernetes", [spec], ExportOptions()))
    container = docs["local-deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]
    # ~91 MB of float32 weights plus runtime headroom, far below the 16 GB default limit
    assert container["resources"]["requests"]["memory"] == "640Mi"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/models/local"]["subPath"] == "models/local"


def test_hpa_ingress_tls_and_the_control_plane(gpu: DeploymentSpec) -> None:
    options = ExportOptions(
        host="models.example.com", tls=True, hpa=HpaOptions(min_replicas=1, max_replicas=3)
    )
    docs = documents(bundle("kubernetes", [gpu], options))
    assert "replicas" not in docs["chat-deployment.yaml"]["spec"]  # the HPA owns the count
    assert docs["chat-hpa.yaml"]["spec"]["maxReplicas"] == 3
    ingress = docs["chat-ingress.yaml"]
    annotations = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert annotations["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "3600"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "4m"
    assert ingress["spec"]["tls"][0]["hosts"] == ["models.example.com"]
    assert docs["control-plane-deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]["args"][:3] == [
        "python",
        "-m",
        "berth.control",
    ]
    assert docs["control-plane-service.yaml"]["spec"]["ports"][0]["port"] == 8000


def test_tls_without_a_host_is_refused(cpu: DeploymentSpec) -> None:
    with pytest.raises(InvalidSpec, match="--host"):
        bundle("kubernetes", [cpu], ExportOptions(tls=True))


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_kserve_predictors_validate_as_pods(kind: str) -> None:
    files = bundle("kserve", [SPECS[kind]()], golden_options(kind))
    for _path, doc in documents(files).items():
        if doc["kind"] == "ConfigMap":
            validate(doc)
            continue
        assert doc["apiVersion"] == "serving.kserve.io/v1beta1"
        assert doc["kind"] == "InferenceService"
        predictor = doc["spec"]["predictor"]
        assert predictor["minReplicas"] <= predictor["maxReplicas"]
        if "model" in predictor:
            container = {
                "name": "kserve-container",
                **{k: v for k, v in predictor["model"].items() if k not in ("modelFormat", "storageUri")},
            }
            validate(as_pod(doc["metadata"]["name"], {"containers": [container]}))
        else:
            pod = {k: predictor[k] for k in ("containers", "volumes")}
            validate(as_pod(doc["metadata"]["name"], pod))


def test_kserve_uses_the_hf_runtime_only_where_it_fits(cpu: DeploymentSpec, gpu: DeploymentSpec) -> None:
    from berth.spec import parse_spec

    onnx = parse_spec(
        {"name": "onnx", "model": {"source": "/models/model.onnx"}, "task": "text-classification"}
    )
    custom = parse_spec({"name": "custom", "model": {"source": "examples.predictors:Echo"}})
    docs = documents(bundle("kserve", [cpu, gpu, onnx, custom], ExportOptions()))
    minilm = docs["minilm-inferenceservice.yaml"]["spec"]["predictor"]["model"]
    assert minilm["modelFormat"] == {"name": "huggingface"}
    assert minilm["storageUri"] == "hf://sentence-transformers/all-MiniLM-L6-v2"
    assert "--task=text_embedding" in minilm["args"]
    assert (
        "--task=text_generation" in docs["chat-inferenceservice.yaml"]["spec"]["predictor"]["model"]["args"]
    )
    for name in ("onnx", "custom"):
        predictor = docs[f"{name}-inferenceservice.yaml"]["spec"]["predictor"]
        assert predictor["protocolVersion"] == "v2"
        assert predictor["containers"][0]["args"][:3] == ["python", "-m", "berth.worker"]
        assert f"{name}-configmap.yaml" in docs
