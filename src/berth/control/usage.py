"""Ready-to-paste calls for a deployment that just became ready, written from its model's signature.

A text model gets JSON text, a numeric one rows of the width it declares, an image, audio or file
model an upload, and a model whose one output is a file gets the raw bytes written to a file. Four
kinds, in the order the web UI shows them: `curl` (the worker's `/predict`), `python` (`berth.Client`
through the control plane), `openai` (where the task has an OpenAI route: embeddings, chat) and
`tritonclient` (the Open Inference Protocol route). An API key is referenced from `$BERTH_API_KEY`,
never written out. A task that needs request parameters (zero-shot labels, a forecast's length) gets
them in every example. Files an example reads (example.jpg, example.wav, example.bin) are named in a
comment line, for the user to supply. tests/integration/test_usage_examples.py runs every one.
"""

from __future__ import annotations

import json
import mimetypes
import shlex
from dataclasses import dataclass
from typing import Any

from berth.api.types import SignaturePublic, TensorPublic

EXAMPLE_INPUT = {
    "text-generation": "Once upon a time",
    "fill-mask": "Paris is the [MASK] of France.",
    "token-classification": "My name is Sarah and I live in London.",
}
DEFAULT_INPUT = "I love this product!"
# Tasks that cannot answer without request parameters: each example sends these.
EXAMPLE_PARAMETERS: dict[str, dict[str, Any]] = {
    "zero-shot-classification": {"candidate_labels": ["praise", "complaint"]},
    "zero-shot-image-classification": {"candidate_labels": ["a cat", "a dog"]},
    "time-series-forecasting": {"prediction_length": 4},
}
BINARY = ("image", "audio", "file")  # inputs that travel as files
EXAMPLE_FILES = {"image": "example.jpg", "audio": "example.wav", "file": "example.bin"}
FILE_NOTES = {
    "image": "a JPEG or PNG image of your own",
    "audio": "a WAV, FLAC or OGG recording of your own",
    "file": "a file of your own for the model to read",
}
EXTENSIONS = {"model/gltf-binary": ".glb", "image/jpeg": ".jpg", "image/png": ".png", "audio/wav": ".wav"}
TEXT_TENSOR = TensorPublic(name="text", datatype="BYTES", shape=[-1])
VARIABLE_SIZE = 3  # the length an example gives a dimension that takes any size


@dataclass(frozen=True)
class Call:
    """What every example of one deployment shares: where it is, what it takes and what it gives."""

    name: str
    endpoint: str
    secured: bool
    text: str
    inputs: list[TensorPublic]
    file_output: TensorPublic | None  # its one output, when that is a file or an image: written to a file
    parameters: dict[str, Any] | None = None  # what the task needs on every request

    @property
    def upload(self) -> TensorPublic | None:
        """The one file-like input, sent as a file upload; None for a JSON body."""
        single = self.inputs[0] if len(self.inputs) == 1 else None
        return single if single is not None and single.content in BINARY else None

    @property
    def raw_output(self) -> str | None:
        """The media type the file output is asked for in (`Accept`), and comes back as."""
        output = self.file_output
        if output is None:
            return None
        return output.media_type or ("image/png" if output.content == "image" else "application/octet-stream")

    @property
    def out_file(self) -> str:
        media = self.raw_output or ""
        return "out" + (EXTENSIONS.get(media) or mimetypes.guess_extension(media) or ".bin")

    def notes(self) -> list[str]:
        """The comment lines naming the files the example reads."""
        kinds = dict.fromkeys(t.content for t in self.inputs if t.content in BINARY)
        return [f"# {EXAMPLE_FILES[kind]}: {FILE_NOTES[kind]}" for kind in kinds if kind is not None]


def usage_examples(
    name: str, endpoint: str, task: str, secured: bool, signature: SignaturePublic | None = None
) -> dict[str, str]:
    """curl, Python, OpenAI-client (where the task fits) and tritonclient calls for this deployment."""
    inputs = list(signature.inputs) if signature is not None and signature.inputs else [TEXT_TENSOR]
    outputs = signature.outputs if signature is not None else []
    single = outputs[0] if len(outputs) == 1 else None
    file_output = single if single is not None and single.content in ("file", "image") else None
    text = EXAMPLE_INPUT.get(task, DEFAULT_INPUT)
    call = Call(name, endpoint, secured, text, inputs, file_output, EXAMPLE_PARAMETERS.get(task))
    examples = {"curl": curl_example(call), "python": python_example(call)}
    if len(inputs) == 1 and _kind(inputs[0]) == "text":
        openai = openai_example(call, task)
        if openai is not None:
            examples["openai"] = openai
    examples["tritonclient"] = tritonclient_example(call)
    return examples


def curl_example(call: Call) -> str:
    words = ["curl", "-s", "-X", "POST", f"{call.endpoint}/predict"]
    if call.secured:
        words += ["-H", '"Authorization: Bearer $BERTH_API_KEY"']
    upload = call.upload
    if upload is not None:
        words += ["-F", f"file=@{EXAMPLE_FILES[str(upload.content)]}"]
        if call.parameters is not None:
            words += ["-F", shlex.quote(f"parameters={json.dumps(call.parameters)}")]
    elif any(t.content in BINARY for t in call.inputs):
        # NOTE: several inputs and a file among them: one JSON item, the file as base64 from the shell
        words += ["-H", "'Content-Type: application/json'", "-d", _shell_json(call)]
    else:
        words += ["-H", "'Content-Type: application/json'", "-d", shlex.quote(json.dumps(_json_body(call)))]
    if call.raw_output is not None:
        words += ["-H", shlex.quote(f"Accept: {call.raw_output}"), "-o", call.out_file]
        words += ["-w", shlex.quote(f"wrote {call.out_file} (%{{content_type}})\\n")]
    return "\n".join([*call.notes(), " ".join(words)])


def python_example(call: Call) -> str:
    method = "predict" if call.file_output is None else "predict_raw"
    upload = call.upload
    if upload is not None:
        arguments = f'file="{EXAMPLE_FILES[str(upload.content)]}"'
    elif len(call.inputs) == 1 and _kind(call.inputs[0]) == "text":
        arguments = repr(call.text)
    else:
        arguments = _python_inputs(call)
    if call.parameters is not None:
        arguments += f", parameters={call.parameters!r}"
    request = f'Client().{method}("{call.name}", {arguments})'
    reads = upload is None and any(t.content in BINARY for t in call.inputs)
    standard = (["import base64"] if reads else []) + (
        ["from pathlib import Path"] if reads or method != "predict" else []
    )
    lines = [*call.notes(), *standard, *([""] if standard else []), "from berth import Client", ""]
    if call.file_output is None:
        return "\n".join([*lines, f"print({request})"])
    return "\n".join(
        [
            *lines,
            f"data, media_type = {request}",
            f'Path("{call.out_file}").write_bytes(data)',
            f'print("wrote {call.out_file}", media_type)',
        ]
    )


def openai_example(call: Call, task: str) -> str | None:
    key = 'os.environ["BERTH_API_KEY"]' if call.secured else '"unused"'
    client = (
        "import os\nfrom openai import OpenAI\n\n"
        f'client = OpenAI(base_url="{call.endpoint}/v1", api_key={key})\n'
    )
    if task == "feature-extraction":
        return client + f'print(client.embeddings.create(model="{call.name}", input=[{call.text!r}]))'
    if task == "text-generation":
        return client + (
            f'reply = client.chat.completions.create(model="{call.name}", '
            f'messages=[{{"role": "user", "content": {call.text!r}}}])\n'
            "print(reply.choices[0].message.content)"
        )
    return None


def tritonclient_example(call: Call) -> str:
    binary = any(t.content in BINARY for t in call.inputs)
    standard = ["import os"] if call.secured else []
    standard += ["from pathlib import Path"] if binary or call.file_output else []
    lines = [*call.notes(), *standard, *([""] if standard else [])]
    lines += ["import numpy as np", "import tritonclient.http as httpclient", ""]
    url = call.endpoint.removeprefix("http://").removeprefix("https://")
    lines += [
        f"# POST {call.endpoint}/v2/models/{call.name}/infer (Open Inference Protocol / KServe V2)",
        f'client = httpclient.InferenceServerClient(url="{url}")',
    ]
    if call.secured:
        lines.append('headers = {"Authorization": f"Bearer {os.environ[\'BERTH_API_KEY\']}"}')
    names = []
    for index, tensor in enumerate(call.inputs):
        variable = f"input{index}"
        names.append(variable)
        array, shape = _numpy(tensor, call.text)
        lines += [
            f'{variable} = httpclient.InferInput("{tensor.name}", {shape}, "{tensor.datatype}")',
            f"{variable}.set_data_from_numpy({array})",
        ]
    headers = ", headers=headers" if call.secured else ""
    parameters = "" if call.parameters is None else f", parameters={call.parameters!r}"
    lines.append(
        f'result = client.infer("{call.name}", [{", ".join(names)}]{parameters}{headers})'
        "  # binary tensors both ways"
    )
    if call.file_output is not None:
        return "\n".join(
            [
                *lines,
                f'data = result.as_numpy("{call.file_output.name}")[0]  # the file\'s bytes, as they came',
                f'Path("{call.out_file}").write_bytes(data)',
                f'print("wrote {call.out_file}", len(data), "bytes")',
            ]
        )
    return "\n".join(
        [
            *lines,
            'for output in result.get_response()["outputs"]:',
            '    print(output["name"], result.as_numpy(output["name"]))',
        ]
    )


def _kind(tensor: TensorPublic) -> str:
    if tensor.datatype != "BYTES":
        return "numeric"
    return tensor.content if tensor.content in BINARY else "text"


def _sample(tensor: TensorPublic, text: str) -> Any:
    """One text or numeric input's example value in JSON: the text, or a row of numbers of its shape."""
    if _kind(tensor) == "text":
        return text
    return _numbers(tensor.datatype, [d if d >= 0 else VARIABLE_SIZE for d in tensor.shape[1:]])


def _numbers(datatype: str, shape: list[int], start: int = 0) -> Any:
    if not shape:
        if datatype == "BOOL":
            return start % 2 == 0
        return start + 1 if datatype[0] in "UI" else (start + 1) * 0.5
    size = 1
    for dim in shape[1:]:
        size *= dim
    return [_numbers(datatype, shape[1:], start + i * size) for i in range(shape[0])]


def _json_body(call: Call) -> dict[str, Any]:
    extra = {} if call.parameters is None else {"parameters": call.parameters}
    if len(call.inputs) == 1 and _kind(call.inputs[0]) == "text":
        return {"text": call.text, **extra}
    if len(call.inputs) == 1:
        return {"inputs": [_sample(call.inputs[0], call.text)], **extra}
    return {"inputs": [{t.name: _sample(t, call.text) for t in call.inputs}], **extra}


def _shell_json(call: Call) -> str:
    """The one-item body in single quotes, each file's base64 spliced in by the shell."""
    parts = []
    for tensor in call.inputs:
        kind = _kind(tensor)
        if kind in BINARY:
            value = f"\"'\"$(base64 < {EXAMPLE_FILES[kind]} | tr -d '\\n')\"'\""
        else:
            value = json.dumps(_sample(tensor, call.text))
        parts.append(f"{json.dumps(tensor.name)}: {value}")
    extra = "" if call.parameters is None else f', "parameters": {json.dumps(call.parameters)}'
    return "'" + '{"inputs": [{' + ", ".join(parts) + "}]" + extra + "}'"


def _python_inputs(call: Call) -> str:
    def value(tensor: TensorPublic) -> str:
        if _kind(tensor) in BINARY:
            return f'base64.b64encode(Path("{EXAMPLE_FILES[_kind(tensor)]}").read_bytes()).decode()'
        return repr(_sample(tensor, call.text))

    if len(call.inputs) == 1:
        return f"[{value(call.inputs[0])}]"
    return "[{" + ", ".join(f"{t.name!r}: {value(t)}" for t in call.inputs) + "}]"


def _numpy(tensor: TensorPublic, text: str) -> tuple[str, list[int]]:
    """The numpy expression and the V2 shape of a one-row batch of this input."""
    kind = _kind(tensor)
    if kind == "text":
        return f"np.array([{text!r}], dtype=object)", [1]
    if kind in BINARY:
        return f'np.array([Path("{EXAMPLE_FILES[kind]}").read_bytes()], dtype=object)', [1]
    row = _sample(tensor, text)
    shape = [1, *[d if d >= 0 else VARIABLE_SIZE for d in tensor.shape[1:]]]
    dtype = {"BOOL": "bool_"}.get(tensor.datatype, tensor.datatype.lower().replace("fp", "float"))
    return (
        f"np.array([{json.dumps(row).replace('true', 'True').replace('false', 'False')}], dtype=np.{dtype})",
        shape,
    )
