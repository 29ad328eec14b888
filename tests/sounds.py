"""Audio built in the tests with soundfile and numpy: each with a property a test can check independently."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import soundfile

Array = np.ndarray[Any, Any]


def tone(hz: float = 440.0, seconds: float = 1.0, rate: int = 8_000, amplitude: float = 0.5) -> Array:
    """A sine of `hz` at `rate`, float32: its FFT peak is at `hz`, its RMS amplitude / sqrt(2)."""
    t = np.arange(round(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def encode(samples: Array, rate: int = 8_000, format: str = "WAV", subtype: str | None = None) -> bytes:
    """`samples` (frames, or frames x channels) as a file of `format`: WAV, FLAC, OGG, MP3."""
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=format, subtype=subtype)
    return buffer.getvalue()


def wav(hz: float = 440.0, seconds: float = 1.0, rate: int = 8_000) -> bytes:
    return encode(tone(hz, seconds, rate), rate)


def lying_flac(seconds: float = 30.0, rate: int = 8_000, keep: int = 400) -> bytes:
    """The first `keep` bytes of a FLAC of `seconds` of silence: its header still says `seconds`, but
    the frames are cut off, so decoding it fails. Only a check made from the header can answer 413."""
    return encode(np.zeros(round(seconds * rate), dtype=np.float32), rate, "FLAC")[:keep]


def peak_hz(samples: Array, rate: int) -> float:
    """The frequency of the strongest FFT bin."""
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()])


def rms(samples: Array) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
