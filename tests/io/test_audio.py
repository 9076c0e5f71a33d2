"""Audio files and resampling: round trips, corruption, validation, frequency fidelity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from soundstage.dsp.resample import resample
from soundstage.errors import FileFormatError, InvalidAudioError, OverwriteInputError
from soundstage.io.audio import (
    as_2d,
    audio_duration,
    read_audio,
    validate_audio,
    write_audio,
)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _noise(channels: int = 2, n: int = 8000, seed: int = 0, peak: float = 0.9) -> np.ndarray:
    x = np.random.default_rng(seed).uniform(-peak, peak, size=(channels, n))
    return x.astype(np.float32)


def _tone(freq: float, sr: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / sr)[np.argmax(spectrum)])


# --- round trips ---------------------------------------------------------------------------


def test_wav_float_round_trip_is_exact(tmp_path: Path) -> None:
    x = _noise(peak=1.5)
    path = write_audio(tmp_path / "a.wav", x, 22050)
    y, sr = read_audio(path)
    assert sr == 22050 and y.dtype == np.float32
    np.testing.assert_array_equal(y, x)
    assert sf.info(path).subtype == "FLOAT"


def test_flac_round_trip_within_24_bit(tmp_path: Path) -> None:
    x = _noise(channels=3)
    y, sr = read_audio(write_audio(tmp_path / "a.flac", x, 16000))
    assert sr == 16000 and y.shape == x.shape
    err = np.max(np.abs(y - x))
    assert 0 < err <= 2.0**-22


def test_pcm16_subtype_override_quantises_to_16_bit(tmp_path: Path) -> None:
    x = _noise(channels=1)
    path = write_audio(tmp_path / "a.wav", x, 8000, subtype="pcm_16")
    y, _ = read_audio(path)
    assert sf.info(path).subtype == "PCM_16"
    assert 2.0**-18 < np.max(np.abs(y - x)) <= 2.0**-15


def test_ogg_vorbis_keeps_a_tone(tmp_path: Path) -> None:
    x = _tone(440.0, 16000, 1.0)
    y, sr = read_audio(write_audio(tmp_path / "a.ogg", x, 16000), mono=True)
    assert sr == 16000 and y.shape == x.shape
    assert np.corrcoef(x, y)[0, 1] > 0.99
    assert sf.info(tmp_path / "a.ogg").subtype == "VORBIS"


def test_mono_averages_channels_and_1d_is_one_channel(tmp_path: Path) -> None:
    x = _noise(channels=2)
    y, _ = read_audio(write_audio(tmp_path / "s.wav", x, 16000), mono=True)
    np.testing.assert_allclose(y, x.mean(axis=0), atol=1e-7)
    z, _ = read_audio(write_audio(tmp_path / "m.wav", x[0], 16000))
    assert z.shape == (1, x.shape[1])
    np.testing.assert_array_equal(z[0], x[0])


def test_read_with_sr_resamples(tmp_path: Path) -> None:
    x = _tone(1000.0, 44100, 0.5)
    y, sr = read_audio(write_audio(tmp_path / "t.wav", x, 44100), sr=16000, mono=True)
    assert sr == 16000
    assert abs(y.size - 8000) <= 1
    assert abs(_peak_hz(y, 16000) - 1000.0) <= 2.0
    assert audio_duration(tmp_path / "t.wav") == pytest.approx(0.5)


@pytest.mark.skipif(not (DATA / "ambient" / "dcase_acoustic_scene.wav").exists(), reason="no data")
def test_real_stereo_recording() -> None:
    path = DATA / "ambient" / "dcase_acoustic_scene.wav"
    x, sr = read_audio(path)
    assert sr == 44100 and x.shape[0] == 2 and x.dtype == np.float32
    assert x.shape[1] / sr == pytest.approx(10.0, abs=0.01)
    m, sr16 = read_audio(path, sr=16000, mono=True)
    assert sr16 == 16000 and abs(m.size - round(x.shape[1] * 16000 / 44100)) <= 1
    assert np.sqrt(np.mean(m**2)) == pytest.approx(np.sqrt(np.mean(x.mean(0) ** 2)), rel=0.02)


# --- resampling ----------------------------------------------------------------------------


@pytest.mark.parametrize(("sr_in", "sr_out"), [(44100, 16000), (16000, 48000), (48000, 22050)])
def test_resample_keeps_frequency_and_length_ratio(sr_in: int, sr_out: int) -> None:
    x = _tone(1250.0, sr_in, 0.4)
    y = resample(x, sr_in=sr_in, sr_out=sr_out)
    assert y.dtype == np.float32
    assert abs(y.size - x.size * sr_out / sr_in) <= 1
    assert abs(_peak_hz(y, sr_out) - 1250.0) <= sr_out / y.size
    mid = slice(y.size // 4, 3 * y.size // 4)
    assert np.sqrt(np.mean(y[mid] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_integer_upsampling_passes_through_original_samples() -> None:
    x = _tone(700.0, 16000, 0.25) + _tone(2300.0, 16000, 0.25, amp=0.2)
    y = resample(x, sr_in=16000, sr_out=48000)
    np.testing.assert_allclose(y[::3][200:-200], x[200:-200], atol=2e-3)


def test_resample_multichannel_matches_each_channel() -> None:
    x = _noise(channels=3, n=4000)
    y = resample(x, sr_in=16000, sr_out=24000)
    assert y.shape == (3, 6000)
    for c in range(3):
        np.testing.assert_allclose(y[c], resample(x[c], sr_in=16000, sr_out=24000), atol=1e-6)


def test_resample_identity_returns_float32_copy() -> None:
    x = np.linspace(-1, 1, 100)
    y = resample(x, sr_in=8000, sr_out=8000)
    assert y.dtype == np.float32 and y is not x
    np.testing.assert_allclose(y, x, atol=1e-7)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sr_in": 0, "sr_out": 16000},
        {"sr_in": 16000, "sr_out": -1},
        {"sr_in": 16000, "sr_out": 8000, "quality": "best"},
    ],
)
def test_resample_rejects_bad_arguments(kwargs) -> None:
    with pytest.raises(InvalidAudioError):
        resample(np.zeros(100, np.float32), **kwargs)
    with pytest.raises(InvalidAudioError, match="shape"):
        resample(np.zeros((1, 2, 3), np.float32), sr_in=1, sr_out=2)


# --- corrupt and missing files ---------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="no such file"):
        read_audio(tmp_path / "nope.wav")


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_file_is_an_error(tmp_path: Path, suffix: str, keep: float) -> None:
    good = write_audio(tmp_path / f"good{suffix}", _noise(n=16000), 16000)
    data = good.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(FileFormatError, match="cut"):
        read_audio(cut)


def test_corrupt_header_and_non_audio_are_errors(tmp_path: Path) -> None:
    good = write_audio(tmp_path / "good.wav", _noise(), 16000)
    data = bytearray(good.read_bytes())
    data[:4] = b"JUNK"
    bad = tmp_path / "bad.wav"
    bad.write_bytes(bytes(data))
    with pytest.raises(FileFormatError, match="bad.wav"):
        read_audio(bad)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(FileFormatError, match="empty.wav"):
        read_audio(tmp_path / "empty.wav")


def test_zero_sample_file_is_invalid_audio(tmp_path: Path) -> None:
    sf.write(tmp_path / "zero.wav", np.zeros((0, 1), np.float32), 16000)
    with pytest.raises(InvalidAudioError, match="no audio samples"):
        read_audio(tmp_path / "zero.wav")


# --- validation and refused writes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("signal", "message"),
    [
        (np.array([0.1, np.nan, 0.2], np.float32), "NaN"),
        (np.array([[0.0, np.inf]], np.float32), "NaN or infinite"),
        (np.zeros(0, np.float32), "empty"),
        (np.zeros((1, 0), np.float32), "empty"),
        (np.zeros((2, 3, 4), np.float32), "shape"),
        (np.array(["a", "b"]), "dtype"),
    ],
)
def test_bad_audio_rejected_and_nothing_written(tmp_path: Path, signal, message) -> None:
    with pytest.raises(InvalidAudioError, match=message):
        validate_audio(signal)
    with pytest.raises(InvalidAudioError, match=message):
        write_audio(tmp_path / "x.wav", signal, 16000)
    assert list(tmp_path.iterdir()) == []


def test_samples_by_channels_layout_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidAudioError, match=r"\(channels, samples\)"):
        write_audio(tmp_path / "x.wav", _noise(channels=2).T, 16000)
    assert list(tmp_path.iterdir()) == []


def test_pcm_formats_refuse_clipping_peaks(tmp_path: Path) -> None:
    with pytest.raises(InvalidAudioError, match="exceeds 1.0"):
        write_audio(tmp_path / "x.flac", _noise(peak=1.5), 16000)
    assert list(tmp_path.iterdir()) == []


def test_bad_rate_suffix_and_subtype(tmp_path: Path) -> None:
    with pytest.raises(InvalidAudioError, match="sample rate"):
        write_audio(tmp_path / "x.wav", _noise(), 0)
    with pytest.raises(FileFormatError, match=r"\.wav, \.flac, \.ogg"):
        write_audio(tmp_path / "x.mp3", _noise(), 16000)
    with pytest.raises(FileFormatError, match="VORBIS"):
        write_audio(tmp_path / "x.flac", _noise(), 16000, subtype="VORBIS")
    assert list(tmp_path.iterdir()) == []


def test_writing_onto_input_refused_and_input_intact(tmp_path: Path) -> None:
    source = write_audio(tmp_path / "in.wav", _noise(), 16000)
    before = source.read_bytes()
    x, sr = read_audio(source)
    with pytest.raises(OverwriteInputError, match="in.wav"):
        write_audio(tmp_path / "." / "in.wav", 0.5 * x, sr, inputs=[source])
    assert source.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["in.wav"]


def test_helpers() -> None:
    x = validate_audio(np.arange(4, dtype=np.int16))
    assert x.dtype == np.float32
    assert as_2d(x).shape == (1, 4)
    two = np.zeros((2, 5), np.float32)
    assert as_2d(two) is two
    with pytest.raises(InvalidAudioError):
        as_2d(np.zeros((1, 1, 1)))
