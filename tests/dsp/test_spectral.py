"""Tests for the STFT, its inverse and the Slaney mel filter bank."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.dsp.spectral import hz_to_mel, istft, mel_filterbank, mel_spectrogram, mel_to_hz, stft
from soundstage.errors import InvalidAudioError, SoundstageError


def naive_stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Centred, zero-padded, periodic-Hann STFT written as a plain per-frame loop."""
    n = np.arange(n_fft)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)
    padded = np.concatenate([np.zeros(n_fft // 2), x, np.zeros(n_fft // 2)])
    n_frames = 1 + (len(padded) - n_fft) // hop
    cols = [np.fft.fft(padded[t * hop : t * hop + n_fft] * window)[: n_fft // 2 + 1] for t in range(n_frames)]
    return np.stack(cols, axis=1)


def naive_mel_filters(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Slaney-normalised triangles built one filter and one bin at a time."""

    def to_mel(f: float) -> float:
        return f * 3.0 / 200.0 if f < 1000.0 else 15.0 + 27.0 * np.log(f / 1000.0) / np.log(6.4)

    def to_hz(m: float) -> float:
        return m * 200.0 / 3.0 if m < 15.0 else 1000.0 * 6.4 ** ((m - 15.0) / 27.0)

    lo, hi = to_mel(fmin), to_mel(fmax)
    points = [to_hz(lo + (hi - lo) * i / (n_mels + 1)) for i in range(n_mels + 2)]
    weights = np.zeros((n_mels, n_fft // 2 + 1))
    for i in range(n_mels):
        left, centre, right = points[i], points[i + 1], points[i + 2]
        for k in range(n_fft // 2 + 1):
            f = k * sr / n_fft
            if left < f <= centre:
                weights[i, k] = (f - left) / (centre - left)
            elif centre < f < right:
                weights[i, k] = (right - f) / (right - centre)
        weights[i] *= 2.0 / (right - left)
    return weights


@pytest.mark.parametrize("n_fft,hop", [(1024, 256), (512, 256), (512, 128), (256, 64), (255, 100)])
@pytest.mark.parametrize("n", [4000, 4001, 4097])
def test_stft_istft_round_trip_float64(n_fft: int, hop: int, n: int) -> None:
    x = np.random.default_rng(n + hop).standard_normal(n)
    spec = stft(x, n_fft=n_fft, hop=hop)
    assert spec.shape == (n_fft // 2 + 1, 1 + (n + 2 * (n_fft // 2) - n_fft) // hop)
    y = istft(spec, hop=hop, length=n, n_fft=n_fft)
    assert np.linalg.norm(y - x) / np.linalg.norm(x) < 1e-6
    np.testing.assert_allclose(y, x, atol=1e-9)


def test_round_trip_multichannel_float32_and_other_windows() -> None:
    x = np.random.default_rng(1).standard_normal((2, 3, 5000)).astype(np.float32)
    for window in ("hann", "hamming", ("kaiser", 8.0)):
        spec = stft(x, n_fft=512, hop=128, window=window)
        assert spec.dtype == np.complex64 and spec.shape == (2, 3, 257, 40)
        y = istft(spec, hop=128, window=window, length=5000)
        assert y.dtype == np.float32
        assert np.linalg.norm(y - x) / np.linalg.norm(x) < 1e-6


def test_istft_default_length_and_batch_matches_single() -> None:
    x = np.random.default_rng(2).standard_normal((3, 2048))
    spec = stft(x, n_fft=256, hop=64)
    y = istft(spec, hop=64)
    assert y.shape == (3, 2048)
    np.testing.assert_allclose(y, x, atol=1e-10)
    np.testing.assert_allclose(spec[1], stft(x[1], n_fft=256, hop=64), atol=1e-12)


@pytest.mark.parametrize("n_fft,hop,n", [(64, 16, 300), (128, 50, 777), (256, 256, 1000)])
def test_stft_matches_naive_loop(n_fft: int, hop: int, n: int) -> None:
    x = np.random.default_rng(3).standard_normal(n)
    np.testing.assert_allclose(stft(x, n_fft=n_fft, hop=hop), naive_stft(x, n_fft, hop), atol=1e-10)


def test_stft_uncentred_frames_start_at_multiples_of_hop() -> None:
    x = np.random.default_rng(4).standard_normal(1000)
    spec = stft(x, n_fft=128, hop=32, center=False, window="boxcar")
    assert spec.shape == (65, 1 + (1000 - 128) // 32)
    np.testing.assert_allclose(spec[:, 5], np.fft.rfft(x[160:288]), atol=1e-10)
    y = istft(spec, hop=32, center=False, window="boxcar")
    np.testing.assert_allclose(y, x[: y.shape[-1]], atol=1e-10)


def test_sine_energy_lands_in_its_bin() -> None:
    sr, n_fft = 16000, 1024
    t = np.arange(sr) / sr
    k = 64
    spec = np.abs(stft(np.sin(2 * np.pi * k * sr / n_fft * t), n_fft=n_fft, hop=256))
    assert np.all(spec[:, 2:-2].argmax(axis=0) == k)
    # Parseval on a Hann frame: |X[k]| = A * sum(w) / 2 = n_fft / 4 for a unit sine on bin k.
    np.testing.assert_allclose(spec[k, 2:-2], n_fft / 4, rtol=1e-6)


def test_hz_mel_known_values_and_inverse() -> None:
    assert hz_to_mel(1000.0) == pytest.approx(15.0)
    assert hz_to_mel(440.0) == pytest.approx(6.6)
    assert hz_to_mel(60.0) == pytest.approx(0.9)
    assert hz_to_mel(6400.0) == pytest.approx(15.0 + 27.0)
    assert mel_to_hz(15.0 + 27.0) == pytest.approx(6400.0)
    freqs = np.array([0.0, 50.0, 999.0, 1000.0, 1001.0, 4000.0, 11025.0, 24000.0])
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(freqs)), freqs, rtol=1e-12, atol=1e-9)
    assert np.all(np.diff(hz_to_mel(freqs)) > 0)


@pytest.mark.parametrize(
    "sr,n_fft,n_mels,fmin,fmax",
    [(16000, 512, 40, 0.0, 8000.0), (22050, 1024, 80, 30.0, 8000.0), (8000, 64, 10, 100.0, 4000.0)],
)
def test_mel_filterbank_matches_naive_triangles(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> None:
    fb = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    assert fb.shape == (n_mels, n_fft // 2 + 1)
    np.testing.assert_allclose(fb, naive_mel_filters(sr, n_fft, n_mels, fmin, fmax), rtol=1e-9, atol=1e-12)


def test_mel_filterbank_tiny_case_by_hand() -> None:
    # sr=8000, n_fft=8: bins at 0, 1000, 2000, 3000, 4000 Hz; 1 filter over 0..2000 Hz
    # (0, 15, 25.08 mel) peaks at 1000 Hz with height 2 / 2000 under slaney normalisation.
    fb = mel_filterbank(sr=8000, n_fft=8, n_mels=1, fmin=0.0, fmax=mel_to_hz(2 * 15.0))
    centre = mel_to_hz(15.0)
    assert centre == pytest.approx(1000.0)
    upper = mel_to_hz(30.0)
    expected = np.array([0.0, 1.0, (upper - 2000.0) / (upper - 1000.0), 0.0, 0.0]) * 2.0 / upper
    np.testing.assert_allclose(fb[0], expected, atol=1e-15)
    unnorm = mel_filterbank(sr=8000, n_fft=8, n_mels=1, fmin=0.0, fmax=upper, norm=None)
    assert unnorm[0, 1] == pytest.approx(1.0)


def test_slaney_filters_have_unit_area_per_hz() -> None:
    sr, n_fft = 16000, 8192
    fb = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=40, fmin=20.0)
    area = fb.sum(axis=1) * sr / n_fft
    np.testing.assert_allclose(area, 1.0, rtol=2e-2)


def test_mel_spectrogram_of_sine_peaks_in_right_bin() -> None:
    sr = 16000
    t = np.arange(sr) / sr
    centres = mel_to_hz(np.linspace(0.0, hz_to_mel(sr / 2), 66))[1:-1]
    for index in (6, 20, 35, 58):
        sine = np.sin(2 * np.pi * centres[index] * t).astype(np.float32)
        mel = mel_spectrogram(sine, sr=sr, n_fft=1024, hop=256, n_mels=64)
        assert mel.shape == (64, 1 + sr // 256) and mel.dtype == np.float32
        assert np.all(mel[:, 4:-4].argmax(axis=0) == index)


def test_mel_spectrogram_equals_filters_times_power_spectrum() -> None:
    x = np.random.default_rng(5).standard_normal((2, 4000))
    mel = mel_spectrogram(x, sr=16000, n_fft=512, hop=128, n_mels=40, fmin=50.0, fmax=7000.0, power=1.0)
    fb = mel_filterbank(sr=16000, n_fft=512, n_mels=40, fmin=50.0, fmax=7000.0)
    np.testing.assert_allclose(mel, fb @ np.abs(stft(x, n_fft=512, hop=128)), rtol=1e-10)


@pytest.mark.parametrize("bad", [np.zeros(0), np.array([0.0, np.nan, 1.0]), np.array([1.0, np.inf]), np.zeros((2, 0))])
def test_bad_audio_raises(bad: np.ndarray) -> None:
    with pytest.raises(InvalidAudioError):
        stft(bad)
    with pytest.raises(InvalidAudioError):
        mel_spectrogram(bad, sr=16000)


def test_bad_parameters_raise_with_message() -> None:
    x = np.ones(2048)
    with pytest.raises(SoundstageError, match="hop"):
        stft(x, hop=0)
    with pytest.raises(SoundstageError, match="n_fft"):
        stft(x, n_fft=1)
    with pytest.raises(SoundstageError, match="hop"):
        istft(stft(x), hop=-4)
    with pytest.raises(InvalidAudioError, match="n_fft"):
        stft(np.ones(100), n_fft=256, center=False)
    with pytest.raises(InvalidAudioError, match="fmax"):
        mel_filterbank(sr=16000, n_fft=512, fmax=9000.0)
    with pytest.raises(InvalidAudioError, match="norm"):
        mel_filterbank(sr=16000, n_fft=512, norm="area")
    with pytest.raises(InvalidAudioError):
        istft(np.full((257, 4), np.nan, dtype=complex))
