"""Tiny randomly initialised speech models, saved like real ones: a Wav2Vec2 CTC model and a Whisper.

Both are built from configs with `torch.manual_seed(0)` and saved with their processor files, so that
berth detects `automatic-speech-recognition` from config.json and loads them as a hub download would.
The Wav2Vec2 model spells with a character vocabulary (`|` between words); the Whisper model has a
small byte-level BPE tokenizer trained here plus Whisper's special tokens (start of transcript, two
languages, the two tasks, no-timestamps) and its 1501 timestamp tokens, with a generation config that
names them, so that language, task and timestamps work as on a real checkpoint.

    from tests.tiny_speech import build_wav2vec2_ctc, build_whisper
    folder = build_whisper(tmp_path / "whisper")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.tiny_models import SEED, _quiet

SAMPLE_RATE = 16_000
CTC_VOCAB = ("<pad>", "<s>", "</s>", "<unk>", "|", *"abcdefghijklmnopqrstuvwxyz'")
WHISPER_LANGUAGES = ("en", "fr")
WHISPER_MAX_TOKENS = 16  # the decoder's positions (real Whisper has 448); short, so tests decode fast
_WHISPER_SPECIALS = (
    "<|startoftranscript|>",
    *(f"<|{code}|>" for code in WHISPER_LANGUAGES),
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
)
_CORPUS = (
    "the quick brown fox jumps over the lazy dog. ",
    "hello world, how are you today? i am fine, thank you! ",
    "".join(chr(c) for c in range(32, 127)),
)


def build_wav2vec2_ctc(folder: Path) -> Path:
    """Wav2Vec2ForCTC (hidden 32, 2 layers, a 3-layer conv stack of stride 320) with a character
    tokenizer and a 16 kHz feature extractor that returns an attention mask, saved as one processor."""
    import torch
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    _quiet()
    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps({token: index for index, token in enumerate(CTC_VOCAB)}))
    tokenizer = Wav2Vec2CTCTokenizer(
        str(vocab_file), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|"
    )
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=SAMPLE_RATE,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=True,
    )
    torch.manual_seed(SEED)
    config = Wav2Vec2Config(
        vocab_size=len(CTC_VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16, 16, 16),
        conv_stride=(5, 8, 8),
        conv_kernel=(10, 8, 8),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        # NOTE: layer norm in the conv stack, as the models that take an attention mask have, so that a
        # clip padded in a batch transcribes exactly as it does alone.
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        pad_token_id=CTC_VOCAB.index("<pad>"),
        ctc_loss_reduction="mean",
    )
    Wav2Vec2ForCTC(config).eval().save_pretrained(folder)
    Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


def build_whisper(folder: Path) -> Path:
    """WhisperForConditionalGeneration (d_model 32, 2+2 layers, 80 mel bins, a 30 s window) with a
    byte-level BPE tokenizer, Whisper's special and timestamp tokens and a multilingual generation config."""
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
    )

    _quiet()
    tokenizer = _whisper_tokenizer()
    ids: Any = tokenizer.convert_tokens_to_ids
    timestamp_begin = ids("<|notimestamps|>") + 1
    torch.manual_seed(SEED)
    config = WhisperConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        num_mel_bins=80,
        max_source_positions=1500,
        max_target_positions=WHISPER_MAX_TOKENS,
        decoder_start_token_id=ids("<|startoftranscript|>"),
        bos_token_id=ids("<|endoftext|>"),
        eos_token_id=ids("<|endoftext|>"),
        pad_token_id=ids("<|endoftext|>"),
        init_std=0.5,  # NOTE: the default 0.02 leaves a 32-wide model deaf: every clip decodes alike
    )
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():
        # NOTE: random weights favour the 1501 timestamp tokens by their number alone; with their
        # (tied) embeddings at zero a clip decodes to text, and timestamps come only when asked for.
        model.get_input_embeddings().weight[timestamp_begin:] = 0.0
    model.generation_config = GenerationConfig(
        decoder_start_token_id=config.decoder_start_token_id,
        bos_token_id=config.bos_token_id,
        eos_token_id=config.eos_token_id,
        pad_token_id=config.pad_token_id,
        max_length=WHISPER_MAX_TOKENS,
        no_timestamps_token_id=ids("<|notimestamps|>"),
        prev_sot_token_id=ids("<|startofprev|>"),
        is_multilingual=True,
        lang_to_id={f"<|{code}|>": ids(f"<|{code}|>") for code in WHISPER_LANGUAGES},
        task_to_id={"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")},
        # as real checkpoints do: no special token is ever generated, and never end-of-text first
        suppress_tokens=[ids(token) for token in _WHISPER_SPECIALS],
        begin_suppress_tokens=[config.eos_token_id],
    )
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=80), tokenizer).save_pretrained(folder)
    return folder


def _whisper_tokenizer() -> Any:
    """A WhisperTokenizer over a byte-level BPE trained here: `<|endoftext|>` first, then the BPE, the
    special tokens in Whisper's order and the timestamp tokens `<|0.00|>` .. `<|30.00|>` right after them
    (Whisper tells a timestamp token by its id: above the last special token)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import WhisperTokenizer

    bpe = Tokenizer(models.BPE(unk_token="<|endoftext|>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(_CORPUS) * 8, trainer)
    trained = json.loads(bpe.to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in trained["merges"]]
    tokenizer = WhisperTokenizer(vocab=trained["vocab"], merges=merges)
    tokenizer.add_special_tokens({"additional_special_tokens": list(_WHISPER_SPECIALS)})
    timestamps = [
        AddedToken(f"<|{i * 0.02:.2f}|>", lstrip=False, rstrip=False, normalized=False, special=False)
        for i in range(1501)
    ]
    tokenizer.add_tokens(timestamps)
    return tokenizer
