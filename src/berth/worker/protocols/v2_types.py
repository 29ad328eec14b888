"""The Open Inference Protocol's request body, and the protocol parameters berth consumes itself.

`binary_data_output` (request), `binary_data` and `classification` (per requested output) and
`binary_data_size` (per input) belong to the protocol: the V2 layer reads them here and they never
reach the model. Every other request parameter is the model's (e.g. `top_k`), checked by its runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from berth.errors import InvalidInput, MalformedRequest

PROTOCOL_PARAMETERS = frozenset({"binary_data_output"})


class V2Tensor(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    data: list[Any] | None = None  # absent when the tensor travels as binary data


class V2RequestedOutput(BaseModel):
    name: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class V2InferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    inputs: list[V2Tensor] = Field(min_length=1)
    outputs: list[V2RequestedOutput] | None = None

    def model_parameters(self) -> dict[str, Any]:
        """The request parameters meant for the model: all but the protocol's own."""
        return {key: value for key, value in self.parameters.items() if key not in PROTOCOL_PARAMETERS}

    def binary_outputs(self) -> bool:
        """`binary_data_output`: the default for every output that does not say `binary_data` itself."""
        return _flag(self.parameters, "binary_data_output", "body.parameters")


@dataclass(frozen=True)
class OutputTensor:
    """One output of a whole request, batch dimension first (object dtype for BYTES)."""

    name: str
    datatype: str
    array: np.ndarray[Any, Any]


@dataclass(frozen=True)
class OutputRequest:
    """How the client wants one output: as binary data or JSON, and whether as top-K classes."""

    name: str
    binary: bool
    classification: int  # 0: the tensor itself

    @classmethod
    def parse(cls, requested: V2RequestedOutput, index: int, binary_default: bool) -> OutputRequest:
        where = f"body.outputs[{index}].parameters"
        _refuse_shared_memory(requested.parameters, where)
        binary = binary_default
        if "binary_data" in requested.parameters:
            binary = _flag(requested.parameters, "binary_data", where)
        count = requested.parameters.get("classification", 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidInput(f"{where}.classification: must be a whole number of classes, got {count!r}")
        return cls(requested.name, binary, count)


def _flag(parameters: dict[str, Any], key: str, where: str) -> bool:
    value = parameters.get(key, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"{where}.{key}: must be true or false, got {value!r}")
    return value


def _refuse_shared_memory(parameters: dict[str, Any], where: str) -> None:
    shared = sorted(key for key in parameters if key.startswith("shared_memory"))
    if shared:
        raise MalformedRequest(
            f"{where}.{shared[0]}: this server has no shared-memory extension; send the data in the body"
        )


def binary_data_size(tensor: V2Tensor, index: int) -> int | None:
    """An input's `binary_data_size`, or None when its data is JSON."""
    where = f"body.inputs[{index}].parameters"
    _refuse_shared_memory(tensor.parameters, where)
    size = tensor.parameters.get("binary_data_size")
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise MalformedRequest(f"{where}.binary_data_size: must be a byte count, got {size!r}")
    if tensor.data is not None:
        raise MalformedRequest(
            f"body.inputs[{index}]: input {tensor.name!r} has both data and binary_data_size; send one"
        )
    return size
