"""The control plane's Prometheus metrics, read from the registry at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from berth.api.types import DeploymentState
from berth.control.registry import Registry


class RegistryCollector(Collector):
    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[GaugeMetricFamily]:
        deployments = self._registry.list()
        states = GaugeMetricFamily("berth_deployments", "Deployments by state", labels=["state"])
        for state in DeploymentState:
            states.add_metric([state.value], sum(1 for d in deployments if d.state is state))
        yield states
        restarts = GaugeMetricFamily(
            "berth_replica_restarts", "Automatic restarts of a deployment's replicas", labels=["deployment"]
        )
        ready = GaugeMetricFamily("berth_replicas_ready", "Ready replicas", labels=["deployment"])
        for deployment in deployments:
            restarts.add_metric([deployment.name], deployment.restarts)
            ready.add_metric(
                [deployment.name], sum(1 for r in deployment.replicas if r.state is DeploymentState.READY)
            )
        yield restarts
        yield ready


def metrics_registry(registry: Registry) -> CollectorRegistry:
    collectors = CollectorRegistry()
    collectors.register(RegistryCollector(registry))
    return collectors
