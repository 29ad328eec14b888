"""V2 input tensors to the runtime's items: decoded, checked against its signature, split into rows.

A `[N, ...]` tensor is N items of shape `[...]`. With several inputs, item i is the i-th row of
each, as a dict keyed by input name; a runtime with one input gets the bare row. A numeric row is a
numpy array (a numpy scalar for a `[N]` tensor); a BYTES row is a string, or nested lists of them.

NOTE: a BYTES element reaches the model as UTF-8 text, whether it came as a JSON string or as binary
data, unless its input declares content `image`, `audio` or `file`: then it is that file, decoded
as `/predict` decodes one (a PIL image, an `Audio`, bytes), and an image input also takes `UINT8`
pixels and an audio input `FP32` samples (`v2_media`).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import numpy as np

from berth.errors import InvalidInput
from berth.runtimes.base import V2_DATATYPES, TensorSpec
from berth.spec import Limits
from berth.worker.protocols.v2_binary import decode_tensor, slice_binary
from berth.worker.protocols.v2_media import MEDIA_CONTENT, check_media, media_values
from berth.worker.protocols.v2_types import V2InferRequest, V2Tensor, binary_data_size

Array = np.ndarray[Any, Any]


def input_arrays(body: V2InferRequest, binary: bytes) -> list[Array]:
    """Each input tensor as an array of its shape, from its JSON data or its piece of `binary`."""
    sizes = [binary_data_size(tensor, index) for index, tensor in enumerate(body.inputs)]
    pieces = slice_binary(sizes, binary)
    return [
        _array(tensor, index, piece)
        for index, (tensor, piece) in enumerate(zip(body.inputs, pieces, strict=True))
    ]


async def model_inputs(
    tensors: list[V2Tensor], arrays: list[Array], declared: tuple[TensorSpec, ...], limits: Limits
) -> list[Any]:
    """The items to predict on, one per row, after checking names, datatypes and shapes."""
    seen: dict[str, int] = {}
    for index, tensor in enumerate(tensors):
        if tensor.name in seen:
            raise InvalidInput(f"body.inputs[{index}].name: input {tensor.name!r} is sent twice")
        seen[tensor.name] = index
    if declared:
        _check_against(tensors, seen, declared)
    elif len(tensors) != 1:
        raise InvalidInput(f"body.inputs: this model takes one input tensor, got {len(tensors)}")
    batch = {tensor.shape[0] if tensor.shape else 0 for tensor in tensors}
    if len(batch) > 1:
        sizes = ", ".join(f"{t.name!r} {t.shape}" for t in tensors)
        raise InvalidInput(f"body.inputs: every input needs the same first (batch) dimension; got {sizes}")
    if batch == {0}:
        raise InvalidInput("body.inputs[0].shape: send at least one row (the first dimension is the batch)")
    specs = {spec.name: spec for spec in declared}
    values = [
        _values(t, a, specs.get(t.name), limits, i)
        for i, (t, a) in enumerate(zip(tensors, arrays, strict=True))
    ]
    columns = [_rows(array) for array in await asyncio.gather(*values)]
    if len(columns) == 1:
        return columns[0]
    names = [tensor.name for tensor in tensors]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _check_against(tensors: list[V2Tensor], seen: dict[str, int], declared: tuple[TensorSpec, ...]) -> None:
    takes = ", ".join(f"{d.name!r} ({d.datatype} {list(d.shape)})" for d in declared)
    names = {spec.name for spec in declared}
    for index, tensor in enumerate(tensors):
        if tensor.name not in names:
            raise InvalidInput(
                f"body.inputs[{index}].name: unknown input {tensor.name!r}; this model takes {takes}"
            )
    for spec in declared:
        if spec.name not in seen:
            raise InvalidInput(f"body.inputs: input {spec.name!r} is missing; this model takes {takes}")
        index = seen[spec.name]
        tensor = tensors[index]
        if spec.content in MEDIA_CONTENT:
            check_media(tensor, spec, index)
            continue
        if tensor.datatype != spec.datatype:
            raise InvalidInput(
                f"body.inputs[{index}].datatype: input {spec.name!r} takes {spec.datatype}, "
                f"got {tensor.datatype}"
            )
        fixed = all(
            want < 0 or want == got for want, got in zip(spec.shape[1:], tensor.shape[1:], strict=False)
        )
        if len(tensor.shape) != len(spec.shape) or not fixed:
            raise InvalidInput(
                f"body.inputs[{index}].shape: input {spec.name!r} takes shape {list(spec.shape)} "
                f"(batch first, -1 for any size), got {tensor.shape}"
            )


def _array(tensor: V2Tensor, index: int, piece: bytes | None) -> Array:
    where = f"body.inputs[{index}]"
    if tensor.datatype not in V2_DATATYPES:
        raise InvalidInput(
            f"{where}.datatype: unknown datatype {tensor.datatype!r}; V2 has {', '.join(V2_DATATYPES)}"
        )
    if any(dim < 0 for dim in tensor.shape):
        raise InvalidInput(f"{where}.shape: a request's shape has no -1, got {tensor.shape}")
    if piece is not None:
        return decode_tensor(tensor.name, tensor.datatype, tensor.shape, piece)  # BYTES: bytes elements
    if tensor.data is None:
        raise InvalidInput(f"{where}.data: input {tensor.name!r} has no data (nor a binary_data_size)")
    data = _flatten(tensor.data)
    if math.prod(tensor.shape) != len(data):
        raise InvalidInput(
            f"{where}.shape: shape {tensor.shape} holds {math.prod(tensor.shape)} elements "
            f"but data has {len(data)}"
        )
    if tensor.datatype == "BYTES":
        if not all(isinstance(item, str) for item in data):
            bad = next(item for item in data if not isinstance(item, str))
            raise InvalidInput(f"{where}.data: BYTES elements are strings in JSON, got {type(bad).__name__}")
        array = np.empty(len(data), dtype=object)
        array[:] = data
        return array.reshape(tensor.shape)
    return _numeric(data, tensor, where)


def _numeric(data: list[Any], tensor: V2Tensor, where: str) -> Array:
    boolean = tensor.datatype == "BOOL"
    wanted: type | tuple[type, ...] = (
        bool if boolean else (int if tensor.datatype[0] in "UI" else (int, float))
    )
    # NOTE: JSON true is a Python int too; it is refused for numbers, and numbers for BOOL.
    bad = next((x for x in data if isinstance(x, bool) is not boolean or not isinstance(x, wanted)), None)
    if bad is not None:
        raise InvalidInput(
            f"{where}.data: {tensor.datatype} elements must be numbers of that type, got {bad!r}"
        )
    try:
        return np.asarray(data, dtype=V2_DATATYPES[tensor.datatype]).reshape(tensor.shape)
    except (OverflowError, ValueError) as exc:
        raise InvalidInput(f"{where}.data: not {tensor.datatype}: {exc}") from None


async def _values(
    tensor: V2Tensor, array: Array, spec: TensorSpec | None, limits: Limits, index: int
) -> Array:
    if spec is not None and spec.content in MEDIA_CONTENT:
        return await media_values(tensor, array, spec, limits, index)
    return _as_text(array, f"body.inputs[{index}]") if tensor.datatype == "BYTES" else array


def _as_text(array: Array, where: str) -> Array:
    flat = array.ravel()
    for position, element in enumerate(flat):
        if isinstance(element, str):  # from JSON
            continue
        try:
            flat[position] = element.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(
                f"{where}: element {position} is not UTF-8 text, and this model takes text"
            ) from None
    return flat.reshape(array.shape)


def _rows(array: Array) -> list[Any]:
    if array.dtype == object:
        return [row.tolist() if isinstance(row, np.ndarray) else row for row in array]
    return list(array)


def _flatten(data: list[Any]) -> list[Any]:
    if not any(isinstance(item, list) for item in data):
        return data
    return [leaf for item in data for leaf in (_flatten(item) if isinstance(item, list) else [item])]
