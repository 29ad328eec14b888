"""Runtime results (one per input) as V2 output tensors, and the response the client asked for.

Results become one tensor per output, batch dimension first: numpy rows are stacked, a dict per
input is one tensor per key, and an output the runtime declares numeric is cast to its datatype.
The client then picks outputs (`outputs`), asks for top-K classes (`classification: K`: each row's K
largest values as `"value:index"` BYTES strings, as Triton writes them when it has no label file),
and chooses per output between JSON `data` and the binary extension.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from berth.errors import InvalidInput, MalformedRequest, ModelError
from berth.runtimes.base import V2_DATATYPES, Blob, TensorSpec
from berth.worker.protocols.v2_binary import encode_tensor
from berth.worker.protocols.v2_types import OutputRequest, OutputTensor

_FROM_NUMPY = {numpy_name: datatype for datatype, numpy_name in V2_DATATYPES.items() if datatype != "BYTES"}


def output_tensors(results: list[Any], declared: tuple[TensorSpec, ...]) -> list[OutputTensor]:
    specs = {spec.name: spec for spec in declared}
    first = results[0]
    if isinstance(first, dict) and all(isinstance(r, dict) and r.keys() == first.keys() for r in results):
        return [_column(str(key), [r[key] for r in results], specs.get(str(key))) for key in first]
    name = declared[0].name if declared else "output"
    return [_column(name, results, specs.get(name))]


def pick(outputs: list[OutputTensor], requested: list[OutputRequest] | None) -> list[OutputTensor]:
    """The requested outputs in the requested order (all when none is named), classified if asked."""
    if requested is None:
        return outputs
    available = {output.name: output for output in outputs}
    picked = []
    for index, want in enumerate(requested):
        if want.name not in available:
            raise InvalidInput(
                f"body.outputs[{index}].name: unknown output {want.name!r}; "
                f"this model returns {', '.join(map(repr, available))}"
            )
        tensor = available[want.name]
        picked.append(classify(tensor, want.classification) if want.classification else tensor)
    return picked


def classify(tensor: OutputTensor, count: int) -> OutputTensor:
    """Each row's `count` largest values as `"value:index"` strings, best first: BYTES `[N, count]`."""
    if tensor.datatype in ("BYTES", "BOOL"):
        raise MalformedRequest(
            f"output {tensor.name!r} is {tensor.datatype}; classification needs a numeric output"
        )
    rows = tensor.array.reshape(len(tensor.array), -1)
    count = min(count, rows.shape[1])
    order = np.argsort(-rows.astype(np.float64), axis=1, kind="stable")[:, :count]
    labels = np.empty(order.shape, dtype=object)
    for row, indices in enumerate(order):
        labels[row] = [f"{_value(rows[row, i].item())}:{int(i)}" for i in indices]
    return OutputTensor(tensor.name, "BYTES", labels)


def _value(value: float | int) -> str:
    return f"{value:f}" if isinstance(value, float) else str(value)


def render(outputs: list[OutputTensor], binary: set[str]) -> tuple[list[dict[str, Any]], bytes]:
    """Output entries for the JSON header, and the raw data of those named in `binary`, in order."""
    entries = []
    blobs = []
    for tensor in outputs:
        entry: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": list(tensor.array.shape),
        }
        if tensor.name in binary:
            raw = encode_tensor(tensor.datatype, tensor.array)
            entry["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            entry["data"] = _json_data(tensor)
        entries.append(entry)
    return entries, b"".join(blobs)


def _json_data(tensor: OutputTensor) -> Any:
    flat = tensor.array.ravel()
    if tensor.datatype != "BYTES":
        # NOTE: orjson writes numpy rows straight from their buffer; FP16 it cannot, so it goes as floats.
        return flat.astype(np.float32) if tensor.datatype == "FP16" else flat
    data = []
    for element in flat:
        if isinstance(element, bytes):
            try:
                element = element.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(
                    f"output {tensor.name!r} holds binary data that JSON cannot carry; "
                    "ask for it with the output parameter binary_data: true"
                ) from None
        data.append(element)
    return data


def _column(name: str, values: list[Any], spec: TensorSpec | None) -> OutputTensor:
    if spec is not None and spec.datatype != "BYTES":
        return _declared(name, values, spec)
    if all(isinstance(v, np.ndarray | np.generic) for v in values):
        stacked = np.stack(values)
        if str(stacked.dtype) not in _FROM_NUMPY:
            stacked = stacked.astype(np.float32)
        return OutputTensor(name, _FROM_NUMPY[str(stacked.dtype)], stacked)
    if all(isinstance(v, str | bytes) for v in values):
        return OutputTensor(name, "BYTES", _objects(values))
    if all(isinstance(v, Blob) for v in values):  # a binary output (a file, an image): its bytes
        return OutputTensor(name, "BYTES", _objects([v.data for v in values]))
    if all(isinstance(v, bool) for v in values):
        return OutputTensor(name, "BOOL", np.array(values, dtype=bool))
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return OutputTensor(name, "INT64", np.array(values, dtype=np.int64))
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return OutputTensor(name, "FP32", np.array(values, dtype=np.float32))
    # Nested structures (entities, fill-mask candidates) travel as one JSON string per input.
    documents = [orjson.dumps(v, option=orjson.OPT_SERIALIZE_NUMPY).decode() for v in values]
    return OutputTensor(name, "BYTES", _objects(documents))


def _declared(name: str, values: list[Any], spec: TensorSpec) -> OutputTensor:
    """A numeric output the runtime declares: cast to its datatype, its shape checked."""
    try:
        array = np.asarray(values, dtype=V2_DATATYPES[spec.datatype])
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"output {name!r} is declared {spec.datatype}, but the model returned {exc}"
        ) from None
    fixed = all(want < 0 or want == got for want, got in zip(spec.shape[1:], array.shape[1:], strict=False))
    if array.ndim != len(spec.shape) or not fixed:
        raise ModelError(
            f"output {name!r} is declared {spec.datatype} {list(spec.shape)}, "
            f"but the model returned shape {list(array.shape)}"
        )
    return OutputTensor(name, spec.datatype, array)


def _objects(values: list[Any]) -> np.ndarray[Any, Any]:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array
