"""What a GGUF file says about its model, read from its header: no weights are loaded.

A GGUF file carries its own metadata (`general.architecture`, `<arch>.context_length`, the layer and
head counts, `general.file_type`) and a table of tensors with their types and shapes, ahead of the
tensor data. The `gguf` package's `GGUFReader` parses that part through a memory map, so reading a
multi-gigabyte file touches only its first megabytes. The package is imported here, lazily: without
it (berth's `llama-cpp` extra is not installed) `read_gguf` falls back to the file's size and says
the header could not be read.

The KV cache's size follows llama.cpp's default, an f16 key and value per layer and KV head:
2 x block_count x head_count_kv x (embedding_length / head_count) x 2 bytes per token.

Before a hub GGUF is downloaded, only its file name and size are known: `quantization_from_name`
reads the quantization from the name (`...Q4_K_M.gguf`), which also gives a parameter estimate.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from berth.errors import UnsupportedModel

KV_CACHE_BYTES = 2  # llama.cpp's default KV cache type, f16
# llama.cpp's pooling types (enum llama_pooling_type): anything above NONE makes an embedding model
POOLING_NONE = 0
# architectures llama.cpp runs as encoders only: their GGUFs embed or rank, they do not generate
ENCODER_ARCHITECTURES = frozenset(
    {
        "bert",
        "nomic-bert",
        "nomic-bert-moe",
        "jina-bert-v2",
        "jina-bert-v3",
        "modern-bert",
        "neo-bert",
        "t5encoder",
    }
)
# Approximate bits per weight of each llama.cpp file type (what `llama-quantize --help` lists), for a
# parameter estimate from a file's size before its header can be read.
BITS_PER_WEIGHT: dict[str, float] = {
    "F32": 32.0, "F16": 16.0, "BF16": 16.0, "Q8_0": 8.5, "Q6_K": 6.56,
    "Q5_K_M": 5.69, "Q5_K_S": 5.54, "Q5_1": 6.0, "Q5_0": 5.5,
    "Q4_K_M": 4.89, "Q4_K_S": 4.58, "Q4_1": 5.0, "Q4_0": 4.5, "IQ4_XS": 4.25, "IQ4_NL": 4.5,
    "Q3_K_L": 4.27, "Q3_K_M": 3.91, "Q3_K_S": 3.5, "IQ3_M": 3.7, "IQ3_S": 3.44, "IQ3_XS": 3.3,
    "IQ3_XXS": 3.06, "Q2_K": 3.35, "Q2_K_S": 2.96, "IQ2_M": 2.7, "IQ2_S": 2.5, "IQ2_XS": 2.31,
    "IQ2_XXS": 2.06, "IQ1_M": 1.75, "IQ1_S": 1.56, "TQ1_0": 1.69, "TQ2_0": 2.06, "MXFP4_MOE": 4.25,
}  # fmt: skip
# longest names first, so Q4_K_M is not read as Q4_K or Q4_0 as Q4
_NAMES_BY_LENGTH = sorted(BITS_PER_WEIGHT, key=len, reverse=True)


@dataclass(frozen=True)
class GGUFInfo:
    """A GGUF file's model, as its header describes it; None where the header says nothing."""

    path: Path
    file_bytes: int
    header_read: bool  # False: the `gguf` package is missing, only the size is known
    architecture: str | None = None
    name: str | None = None
    parameters: int | None = None  # the sum of the tensors' element counts
    quantization: str | None = None  # Q4_K_M, F16, ...: general.file_type, else the dominant tensor type
    context_length: int | None = None
    kv_bytes_per_token: int | None = None
    pooling: int | None = None  # `<arch>.pooling_type`, set by embedding models
    metadata: dict[str, Any] = field(default_factory=dict)  # general.* and <arch>.* scalars

    @property
    def is_embedding(self) -> bool:
        """Whether the file is an embedding (or ranking) model, which llama.cpp does not generate with."""
        return self.architecture in ENCODER_ARCHITECTURES or (self.pooling or POOLING_NONE) > POOLING_NONE


def gguf_available() -> bool:
    """Whether the `gguf` package (berth's `llama-cpp` extra) is installed, without importing it."""
    import importlib.util

    try:
        return importlib.util.find_spec("gguf") is not None
    except ValueError:  # a module entry without a spec: set to None in sys.modules, i.e. blocked
        return False


def read_gguf(path: Path) -> GGUFInfo:
    """The model `path` holds, from its header (or its size alone without the `gguf` package).

    Raises `UnsupportedModel` when the file is not a GGUF file the package can parse.
    """
    size = path.stat().st_size
    if not gguf_available():
        return GGUFInfo(path, size, header_read=False, quantization=quantization_from_name(path.name))
    from gguf import GGUFReader

    try:
        reader = GGUFReader(path)
    except (ValueError, OSError, IndexError, KeyError) as exc:  # the reader's errors on a bad file
        raise UnsupportedModel(
            f"{str(path)!r} is not a valid GGUF file ({type(exc).__name__}: {exc}); "
            "download or convert it again"
        ) from None
    fields = _scalars(reader)
    architecture = _str(fields.get("general.architecture"))
    prefix = f"{architecture}." if architecture else "\0"
    tensor_types = Counter[str]()
    parameters = 0
    for tensor in reader.tensors:
        parameters += int(tensor.n_elements)
        tensor_types[tensor.tensor_type.name] += int(tensor.n_elements)
    return GGUFInfo(
        path=path,
        file_bytes=size,
        header_read=True,
        architecture=architecture,
        name=_str(fields.get("general.name")),
        parameters=parameters or None,
        quantization=_file_type_name(fields.get("general.file_type")) or _dominant(tensor_types),
        context_length=_positive(fields.get(prefix + "context_length")),
        kv_bytes_per_token=kv_bytes_per_token(fields, prefix),
        pooling=_positive(fields.get(prefix + "pooling_type")),
        metadata={k: v for k, v in fields.items() if k.startswith(("general.", prefix))},
    )


def kv_bytes_per_token(fields: dict[str, Any], prefix: str) -> int | None:
    """llama.cpp's f16 KV cache for one token: a key and a value per layer and KV head."""
    layers = _positive(fields.get(prefix + "block_count"))
    width = _positive(fields.get(prefix + "embedding_length"))
    heads = _widest(fields.get(prefix + "attention.head_count"))
    if not (layers and width and heads):
        return None
    # NOTE: head_count_kv may be per layer (an array) in hybrid models; the widest layer bounds the cache
    kv_heads = _widest(fields.get(prefix + "attention.head_count_kv")) or heads
    head_dim = _positive(fields.get(prefix + "attention.key_length")) or width // heads
    return 2 * layers * kv_heads * head_dim * KV_CACHE_BYTES


def quantization_from_name(filename: str) -> str | None:
    """The llama.cpp file type a GGUF file's name says, e.g. `Q4_K_M` in `Llama-3-8B.Q4_K_M.gguf`."""
    upper = filename.upper()
    for name in _NAMES_BY_LENGTH:
        if re.search(rf"(?<![A-Z0-9]){re.escape(name)}(?![A-Z0-9_])", upper):
            return name
    return None


def parameters_from_size(size: int, quantization: str | None) -> int | None:
    """A parameter estimate from a file's size at its quantization's bits per weight."""
    bits = BITS_PER_WEIGHT.get(quantization or "")
    return None if bits is None else int(size * 8 / bits)


def _scalars(reader: Any) -> dict[str, Any]:
    """The header's key-value fields, short arrays included and long ones (the vocabulary) left out."""
    from gguf import GGUFValueType

    values: dict[str, Any] = {}
    for key, entry in reader.fields.items():
        if not entry.types or key.startswith("GGUF."):
            continue
        if entry.types[0] == GGUFValueType.ARRAY and len(entry.data) > 1024:
            continue  # tokenizer.ggml.tokens and merges: large, and never needed here
        try:
            values[key] = entry.contents()
        except (UnicodeDecodeError, ValueError, IndexError):
            continue
    return values


def _file_type_name(value: Any) -> str | None:
    from gguf import LlamaFileType

    if not isinstance(value, int):
        return None
    try:
        name = LlamaFileType(value).name
    except ValueError:
        return None
    return None if name == "GUESSED" else name.removeprefix("MOSTLY_").removeprefix("ALL_")


def _dominant(tensor_types: Counter[str]) -> str | None:
    return tensor_types.most_common(1)[0][0] if tensor_types else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _widest(value: Any) -> int | None:
    if isinstance(value, list):
        return max((v for v in value if _positive(v)), default=None)
    return _positive(value)
