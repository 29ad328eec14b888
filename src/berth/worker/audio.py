"""Audio inputs: encoded bytes, or raw float PCM, to the mono `Audio` a predictor declared, safely.

Decoding and resampling are CPU work, so the protocols run `decode_audio` and `pcm_audio` in a
thread, never on the event loop. A file is read with soundfile (libsndfile: WAV, FLAC, OGG/Vorbis,
MP3 and the rest it knows); its duration is checked from its header, before any sample is decoded,
against `limits.max_audio_seconds`: a small file that claims hours of audio (FLAC compresses silence
to almost nothing) is a 413, never an out-of-memory kill. Channels are mixed down to mono float32,
then resampled to the input's declared `sample_rate` (None keeps the file's).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from berth.errors import InvalidInput, PayloadTooLarge
from berth.runtimes.base import AUDIO_RATES, Audio

RATES = f"{AUDIO_RATES.start}..{AUDIO_RATES.stop - 1} Hz"
_BLOCK = 65_536  # frames decoded at a time: a block of 8-channel float32 is 2 MiB


def decode_audio(data: bytes, field: str, max_seconds: float, sample_rate: int | None) -> Audio:
    """`data` decoded, mixed to mono and resampled to `sample_rate` (None: the file's rate).

    413 past `max_seconds` (from the header, before decoding), 422 if it is no audio libsndfile reads.
    """
    import soundfile

    # NOTE: opening a SoundFile parses only the header (what soundfile.info reports); the frames are
    # decoded below, block by block, and never more than the limit allows even if the header lies.
    try:
        sound = soundfile.SoundFile(io.BytesIO(data))
    except (soundfile.SoundFileError, RuntimeError, TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{field}: not decodable audio ({_reason(exc)}); send WAV, FLAC, OGG or MP3"
        ) from None
    with sound:
        rate = sound.samplerate
        if rate not in AUDIO_RATES:
            raise InvalidInput(f"{field}: the audio's sample rate, {rate} Hz, is outside {RATES}")
        _check_length(sound.frames / rate, field, max_seconds)
        limit = int(max_seconds * rate)
        try:
            samples = _mono(sound, limit, rate, sample_rate, field, max_seconds)
        except (soundfile.SoundFileError, RuntimeError, ValueError) as exc:
            raise InvalidInput(f"{field}: not decodable audio ({_reason(exc)})") from None
    if samples.size == 0:
        raise InvalidInput(f"{field}: the audio has no samples")
    # NOTE: clipped, as a player would: a float file may exceed [-1, 1], and resampling overshoots a
    # full-scale edge slightly; raw PCM past it is refused instead (it is usually unscaled int16).
    return Audio(np.clip(samples, -1.0, 1.0, out=samples), sample_rate or rate)


def pcm_audio(samples: Any, rate: int, field: str, max_seconds: float, sample_rate: int | None) -> Audio:
    """Raw PCM (a 1-D sequence of floats in [-1, 1] at `rate` Hz) as mono float32 at `sample_rate`.

    422 naming `field` for anything else (an int16 range, NaN, a nested list, a bad rate); 413 past
    `max_seconds`.
    """
    if isinstance(rate, bool) or not isinstance(rate, int | np.integer):
        raise InvalidInput(f"{field}: the sampling rate must be an integer number of Hz, got {rate!r}")
    if rate not in AUDIO_RATES:
        raise InvalidInput(f"{field}: the sampling rate, {rate} Hz, is outside {RATES}")
    try:
        array = np.asarray(samples)
    except (TypeError, ValueError):  # ragged nesting
        raise InvalidInput(f"{field}: the samples must be a flat list of numbers") from None
    if array.ndim != 1 or array.dtype.kind not in "fiu":
        shape = f"a {array.ndim}-D array" if array.dtype.kind in "fiu" else f"elements of type {array.dtype}"
        raise InvalidInput(f"{field}: the samples must be a flat list of numbers (mono), got {shape}")
    if array.size == 0:
        raise InvalidInput(f"{field}: the audio has no samples")
    _check_length(array.size / rate, field, max_seconds)
    mono = array.astype(np.float32)  # a copy: the caller's array is never changed
    if not np.isfinite(mono).all():
        raise InvalidInput(f"{field}: the samples must be finite numbers (no NaN or infinity)")
    peak = float(np.abs(mono).max())
    if peak > 1.0:
        raise InvalidInput(
            f"{field}: samples must lie in [-1, 1], got a peak of {peak:g}; scale integer PCM first "
            "(int16: divide by 32768)"
        )
    if sample_rate is not None and sample_rate != rate:
        import soxr

        mono = np.clip(soxr.resample(mono, rate, sample_rate), -1.0, 1.0)
    return Audio(mono, sample_rate or rate)


def _mono(sound: Any, limit: int, rate: int, sample_rate: int | None, field: str, max_seconds: float) -> Any:
    """Every frame of `sound`, mixed to mono and resampled, one block at a time."""
    stream = None
    if sample_rate is not None and sample_rate != rate:
        import soxr

        # NOTE: resampling as it decodes keeps at most one block at the file's rate in memory.
        stream = soxr.ResampleStream(rate, sample_rate, 1, dtype="float32")
    chunks = []
    read = 0
    while True:
        block = sound.read(_BLOCK, dtype="float32", always_2d=True)
        read += len(block)
        if read > limit:  # the header said less than the file holds
            _check_length(read / rate, field, max_seconds)
        last = len(block) < _BLOCK
        mono = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32)
        chunks.append(stream.resample_chunk(mono, last=last) if stream is not None else mono)
        if last:
            break
    return np.concatenate(chunks).astype(np.float32, copy=False)


def _check_length(seconds: float, field: str, max_seconds: float) -> None:
    if seconds > max_seconds:
        raise PayloadTooLarge(
            f"{field}: the audio is {seconds:.1f} s long; this deployment takes at most {max_seconds:g} s "
            "(limits.max_audio_seconds): send a shorter clip"
        )


def _reason(exc: Exception) -> str:
    # NOTE: libsndfile's own sentence ("Format not recognised."), not soundfile's wrapper, which names
    # the in-memory file object ("Error opening <_io.BytesIO object at 0x...>").
    reason = getattr(exc, "error_string", None) or str(exc) or type(exc).__name__
    return str(reason).rstrip(".")
