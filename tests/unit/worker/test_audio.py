"""Audio decoding: files and raw PCM to mono float32 at the declared rate, with the duration limit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from berth.errors import InvalidInput, PayloadTooLarge
from berth.worker.audio import decode_audio, pcm_audio
from tests.sounds import encode, lying_flac, peak_hz, rms, tone, wav

LIMIT = 600.0


@pytest.mark.parametrize("format", ["WAV", "FLAC", "OGG", "MP3"])
def test_each_format_decodes_to_mono_float32_resampled_to_the_declared_rate(format: str) -> None:
    stereo = np.stack([tone(440), tone(440)], axis=1)
    audio = decode_audio(encode(stereo, 8_000, format), "body", LIMIT, 16_000)
    assert audio.sample_rate == 16_000
    assert (audio.samples.dtype, audio.samples.ndim) == (np.float32, 1)
    # MP3 and Vorbis pad a few ms at the edges; the duration stays 1 s within that
    assert audio.seconds == pytest.approx(1.0, abs=0.08 if format in ("MP3", "OGG") else 0.001)
    assert peak_hz(audio.samples, 16_000) == pytest.approx(440, abs=2)
    assert rms(audio.samples) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)


def test_channels_are_averaged_not_one_of_them_taken() -> None:
    opposite = np.stack([tone(440, amplitude=0.5), -tone(440, amplitude=0.5)], axis=1)
    assert rms(decode_audio(encode(opposite, subtype="FLOAT"), "body", LIMIT, None).samples) < 1e-6
    unequal = np.stack([tone(440, amplitude=0.4), tone(440, amplitude=0.2)], axis=1)
    mixed = decode_audio(encode(unequal, subtype="FLOAT"), "body", LIMIT, None)
    assert rms(mixed.samples) == pytest.approx(0.3 / np.sqrt(2), rel=1e-3)


@pytest.mark.parametrize(("rate", "hz", "target"), [(8_000, 440, 16_000), (48_000, 3_000, 16_000)])
def test_resampling_keeps_the_duration_and_the_pitch(rate: int, hz: int, target: int) -> None:
    # 5 s spans several decoding blocks (65536 frames each at 48 kHz), resampled as they are read
    audio = decode_audio(encode(tone(hz, 5.0, rate), rate), "body", LIMIT, target)
    assert audio.sample_rate == target
    assert len(audio.samples) == pytest.approx(5 * target, abs=2)
    assert peak_hz(audio.samples, target) == pytest.approx(hz, abs=0.5)
    assert rms(audio.samples) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_no_declared_rate_keeps_the_files_and_its_samples() -> None:
    samples = tone(440, 0.5, 22_050)
    audio = decode_audio(encode(samples, 22_050, subtype="FLOAT"), "body", LIMIT, None)
    assert audio.sample_rate == 22_050
    np.testing.assert_array_equal(audio.samples, samples)


def test_too_long_is_413_from_the_header_before_any_frame_is_decoded() -> None:
    liar = lying_flac(seconds=30)  # decodable header, undecodable frames
    with pytest.raises(PayloadTooLarge) as refused:
        decode_audio(liar, "form field 'clip'", 10, 16_000)
    message = str(refused.value)
    assert message.startswith("form field 'clip': the audio is 30.0 s long")
    assert "at most 10 s (limits.max_audio_seconds)" in message
    # under a limit it passes, the frames are decoded, and they are not there: so the 413 came first
    with pytest.raises(InvalidInput, match="form field 'clip': not decodable audio"):
        decode_audio(liar, "form field 'clip'", 60, 16_000)


def test_the_limit_is_inclusive() -> None:
    assert decode_audio(wav(seconds=2.0), "body", 2.0, None).seconds == 2.0
    with pytest.raises(PayloadTooLarge):
        decode_audio(wav(seconds=2.01), "body", 2.0, None)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"not audio at all" * 20, "not decodable audio (Format not recognised); send WAV, FLAC, OGG or MP3"),
        (b"", "not decodable audio"),
        (wav()[:30], "not decodable audio"),
        (encode(np.zeros(0, dtype=np.float32)), "the audio has no samples"),
        (encode(tone(440, 0.1, 500), 500), "the audio's sample rate, 500 Hz, is outside 1000..384000 Hz"),
    ],
)
def test_what_is_not_audio_is_422_naming_the_field(data: bytes, fragment: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_audio(data, "body.inputs[2]", LIMIT, 16_000)
    assert str(refused.value).startswith("body.inputs[2]: ")
    assert fragment in str(refused.value)


def test_pcm_is_resampled_and_copied() -> None:
    samples = tone(440, 1.0, 8_000).astype(np.float64)
    before = samples.copy()
    audio = pcm_audio(samples, 8_000, "body.audio", LIMIT, 16_000)
    assert (audio.sample_rate, len(audio.samples), audio.samples.dtype) == (16_000, 16_000, np.float32)
    assert peak_hz(audio.samples, 16_000) == pytest.approx(440, abs=1)
    np.testing.assert_array_equal(samples, before)
    kept = pcm_audio([0.0, 0.5, -1, 1], 8_000, "body.audio", LIMIT, None)
    assert (kept.sample_rate, kept.samples.tolist()) == (8_000, [0.0, 0.5, -1.0, 1.0])


@pytest.mark.parametrize(
    ("samples", "rate", "fragment"),
    [
        ([[0.1, 0.2], [0.3, 0.4]], 16_000, "a flat list of numbers (mono), got a 2-D array"),
        ([[0.1], [0.2, 0.3]], 16_000, "a flat list of numbers"),
        (["0.1", "0.2"], 16_000, "a flat list of numbers (mono), got elements of type <U3"),
        ([True, False], 16_000, "a flat list of numbers"),
        ([], 16_000, "the audio has no samples"),
        ([0.1, float("nan")], 16_000, "finite numbers (no NaN or infinity)"),
        ([0.0, 1200.0, -32768.0], 16_000, "in [-1, 1], got a peak of 32768; scale integer PCM first"),
        ([0.1], 16_000.0, "the sampling rate must be an integer number of Hz, got 16000.0"),
        ([0.1], True, "must be an integer number of Hz, got True"),
        ([0.1], 999, "the sampling rate, 999 Hz, is outside 1000..384000 Hz"),
        ([0.1], 400_000, "outside 1000..384000 Hz"),
    ],
)
def test_bad_pcm_is_422_naming_the_field(samples: Any, rate: Any, fragment: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        pcm_audio(samples, rate, "body.inputs[0]", LIMIT, 16_000)
    assert str(refused.value).startswith("body.inputs[0]: ")
    assert fragment in str(refused.value)


def test_pcm_past_the_limit_is_413() -> None:
    assert pcm_audio(np.zeros(16_000), 8_000, "body", 2.0, None).seconds == 2.0
    with pytest.raises(PayloadTooLarge, match=r"the audio is 2\.5 s long.*limits\.max_audio_seconds"):
        pcm_audio(np.zeros(20_000), 8_000, "body", 2.0, None)
