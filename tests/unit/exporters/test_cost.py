"""Cost: the chosen instance always fits and is the cheapest that does; too big says so."""

from __future__ import annotations

import re

import pytest

from berth.errors import InvalidSpec, ModelTooLarge
from berth.exporters import CLOUDS, estimate, load_catalog, parse_clouds
from berth.exporters.cost import fits
from berth.exporters.sizing import GIB, size_deployment
from berth.spec import DeploymentSpec, parse_spec


def spec(max_memory_gb: float, device: str = "cpu", replicas: int = 1) -> DeploymentSpec:
    return parse_spec(
        {
            "name": "m",
            "model": {"source": "org/model"},  # not cached: sized from limits.max_memory_gb
            "device": device,
            "replicas": replicas,
            "limits": {"max_memory_gb": max_memory_gb, "max_model_size_gb": max_memory_gb},
        }
    )


def test_the_catalog_is_dated_sourced_and_complete() -> None:
    catalog = load_catalog()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", catalog.as_of)
    assert set(catalog.clouds) == set(CLOUDS)
    for cloud in catalog.clouds.values():
        assert 8 <= len(cloud.instances) <= 15
        assert cloud.sources
        assert all(url.startswith("https://") for url in cloud.sources)
        assert any(i.gpu_count == 0 for i in cloud.instances)
        assert any(i.gpu_count for i in cloud.instances)
        for instance in cloud.instances:
            assert instance.usd_per_hour > 0
            assert instance.vcpus > 0
            assert instance.ram_gib > 0
            assert (instance.gpu is None) == (instance.gpu_count == 0) == (instance.gpu_memory_gib == 0)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("memory_gb", [0.1, 0.5, 2, 7, 15, 30, 60, 75, 120, 200])
def test_the_chosen_instance_fits_and_is_the_cheapest_that_does(memory_gb: float, device: str) -> None:
    deployment = spec(memory_gb, device)
    try:
        result = estimate(deployment)
    except ModelTooLarge:
        return  # covered by the next tests
    sizing = size_deployment(deployment)
    catalog = load_catalog()
    for choice in result.choices:
        fitting = [i for i in catalog.clouds[choice.cloud].instances if fits(i, sizing)]
        if choice.instance is None:
            assert fitting == []
            assert choice.reason
            assert "no instance fits" in choice.reason
            continue
        instance = choice.instance
        assert (instance.ram_gib - 1) * GIB >= sizing.ram_bytes
        if device == "cuda":
            assert instance.gpu_memory_gib * GIB >= sizing.gpu_memory_bytes
        else:
            assert instance.gpu_count == 0
        assert instance.usd_per_hour == min(i.usd_per_hour for i in fitting)


def test_replicas_multiply_and_a_month_is_730_hours() -> None:
    one = estimate(spec(2), ["aws"])
    three = estimate(spec(2), ["aws"], replicas=3)
    assert three.choices[0].usd_per_hour == pytest.approx(3 * (one.choices[0].usd_per_hour or 0))
    assert three.choices[0].usd_per_month == pytest.approx(
        (three.choices[0].usd_per_hour or 0) * 730, abs=0.01
    )


def test_a_small_cpu_model_gets_a_small_instance() -> None:
    result = estimate(spec(0.1), ["aws", "digitalocean"])
    assert [c.instance.name for c in result.choices if c.instance] == ["t3.medium", "s-2vcpu-4gb"]


def test_one_cloud_without_a_fit_says_so_while_others_answer() -> None:
    # ~82 GiB on one GPU: only Azure's 94 GB H100 NVL holds it.
    result = estimate(spec(72, "cuda"))
    answers = {c.cloud: c for c in result.choices}
    assert answers["azure"].instance is not None
    for cloud in ("aws", "gcp", "digitalocean"):
        assert answers[cloud].instance is None
        assert "no instance fits" in (answers[cloud].reason or "")
        assert "GPU" in (answers[cloud].reason or "")


def test_a_model_too_large_for_every_instance_is_an_error() -> None:
    with pytest.raises(ModelTooLarge, match="no listed instance on aws, gcp"):
        estimate(spec(5000), ["aws", "gcp"])
    with pytest.raises(ModelTooLarge, match="on one GPU"):
        estimate(spec(200, "cuda"))


def test_unknown_clouds_are_refused() -> None:
    assert parse_clouds("AWS, gcp") == ["aws", "gcp"]
    with pytest.raises(InvalidSpec, match="choose from aws, gcp, azure, digitalocean"):
        parse_clouds("aws,ibm")
