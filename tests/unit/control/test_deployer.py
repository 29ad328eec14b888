"""The deployer's reading of a worker's readiness body: the signature it records, with the task served."""

from __future__ import annotations

from berth.api.types import SignaturePublic
from berth.control.deployer import _signature
from berth.spec import Task

TEXT = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1]}], "outputs": []}


def test_the_recorded_signature_carries_the_task_the_worker_serves() -> None:
    signature = _signature({"task": "object-detection", "signature": TEXT})
    assert signature is not None
    assert signature.task is Task.OBJECT_DETECTION
    assert [tensor.name for tensor in signature.inputs] == ["text"]


def test_a_task_this_control_plane_does_not_know_is_left_out_and_the_signature_kept() -> None:
    for info in ({"task": "painting", "signature": TEXT}, {"signature": TEXT}):
        signature = _signature(info)
        assert signature == SignaturePublic.model_validate(TEXT)
        assert signature.task is None


def test_no_readable_signature_is_none() -> None:
    assert _signature({"task": "fill-mask"}) is None
    assert _signature({"signature": {"inputs": "text"}}) is None
