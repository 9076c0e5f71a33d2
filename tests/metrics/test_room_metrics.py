"""Room-response metrics: reverberation-time error and mel cepstral distortion with DTW."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import fftconvolve

from soundstage.acoustics.analysis import analyze
from soundstage.acoustics.from_profile import PROFILE_BANDS, synthesize_from_spec
from soundstage.errors import InvalidAudioError
from soundstage.metrics.room import broadband_t30, dtw, mel_cepstra, mel_cepstral_distortion, rte

SR = 16000


def _voice(seed: int, f0: float, formants: tuple[float, ...], seconds: float = 1.5) -> np.ndarray:
    """A speech-like test signal: a gliding harmonic source through resonances, in syllables."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    pitch = f0 * (1.0 + 0.15 * np.sin(2 * np.pi * 1.3 * t + seed))
    phase = 2 * np.pi * np.cumsum(pitch) / SR
    src = sum(np.sin(k * phase) / k for k in range(1, 30))
    spec = np.fft.rfft(src + 0.05 * rng.standard_normal(t.size))
    f = np.fft.rfftfreq(t.size, 1 / SR)
    shape = sum(1.0 / (1.0 + ((f - fc) / (0.1 * fc)) ** 2) for fc in formants)
    x = np.fft.irfft(spec * shape, t.size)
    syllables = np.clip(np.sin(2 * np.pi * 3.0 * t + seed), 0, None) ** 0.5
    return (x * syllables / np.max(np.abs(x))).astype(np.float64)


X = _voice(0, 120.0, (500.0, 1500.0, 2500.0))
OTHER = _voice(5, 210.0, (800.0, 1200.0, 3200.0))


def _spec(t30: float) -> dict:
    return {"t30": {str(b): t30 for b in PROFILE_BANDS}, "drr_db": 0.0, "direct_delay_s": 0.002}


def test_mcd_identity_and_scale_invariance():
    assert mel_cepstral_distortion(X, X, SR) == 0.0
    assert mel_cepstral_distortion(X, 10.0 * X, SR) < 1e-6  # c0 (level) is left out
    assert mel_cepstral_distortion(X, OTHER, SR) > 1.0


def test_mcd_symmetric():
    rng = np.random.default_rng(1)
    y = X + 0.1 * rng.standard_normal(X.size)
    assert mel_cepstral_distortion(X, y, SR) == pytest.approx(mel_cepstral_distortion(y, X, SR), rel=1e-9)
    assert mel_cepstral_distortion(X, OTHER, SR) == pytest.approx(mel_cepstral_distortion(OTHER, X, SR), rel=1e-9)


def test_mcd_grows_with_reverberation_and_noise():
    # The same utterance with more and more reverberation (kept to the dry length).
    reverb = [mel_cepstral_distortion(X, fftconvolve(X, synthesize_from_spec(_spec(t), seed=0))[: X.size], SR)
              for t in (0.2, 0.7, 2.0)]
    assert 0 < reverb[0] < reverb[1] < reverb[2], reverb
    rng = np.random.default_rng(2)
    noise = rng.standard_normal(X.size) * np.sqrt(np.mean(X**2))
    noisy = [mel_cepstral_distortion(X, X + noise * 10 ** (-snr / 20), SR) for snr in (30.0, 15.0, 0.0)]
    assert 0 < noisy[0] < noisy[1] < noisy[2], noisy


def test_dtw_absorbs_a_time_shift():
    shifted = np.concatenate([np.zeros(int(0.05 * SR)), X])
    shift = mel_cepstral_distortion(X, shifted, SR)
    different = mel_cepstral_distortion(X, OTHER, SR)
    assert shift < 0.2 * different, (shift, different)


def _naive_dtw(d: np.ndarray) -> tuple[float, list[tuple[int, int]]]:
    n, m = d.shape
    acc = np.full((n, m), math.inf)
    for i in range(n):
        for j in range(m):
            best = 0.0 if i == j == 0 else min(
                acc[i - 1, j - 1] if i and j else math.inf,
                acc[i - 1, j] if i else math.inf,
                acc[i, j - 1] if j else math.inf,
            )
            acc[i, j] = d[i, j] + best
    i, j, path = n - 1, m - 1, [(n - 1, m - 1)]
    while (i, j) != (0, 0):
        steps = [(i - 1, j - 1), (i - 1, j), (i, j - 1)]
        i, j = min((s for s in steps if s[0] >= 0 and s[1] >= 0), key=lambda s: acc[s])
        path.append((i, j))
    return float(acc[-1, -1]), path[::-1]


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (5, 1), (7, 9), (12, 8)])
def test_vectorised_dtw_equals_naive(shape):
    d = np.random.default_rng(sum(shape)).random(shape)
    total, path = _naive_dtw(d)
    rows, cols = dtw(d)
    assert list(zip(rows.tolist(), cols.tolist())) == path
    assert float(d[rows, cols].sum()) == pytest.approx(total, rel=1e-12)


def test_mel_cepstra_shape():
    c = mel_cepstra(X, SR)
    assert c.shape == (1 + X.size // 160, 13)


def test_rte_and_broadband_t30():
    assert rte(1.25, 0.75) == pytest.approx(0.5)
    assert rte(0.3, 0.9) == pytest.approx(0.6)
    h = synthesize_from_spec(_spec(0.8), seed=4)
    t30 = broadband_t30(h, SR)
    assert t30 == pytest.approx(analyze(h, SR).broadband["t30"], rel=1e-12)
    assert t30 == pytest.approx(0.8, rel=0.05)


def test_broadband_t30_falls_back_to_t20():
    # Cut where the decay has fallen by about 27 dB (mostly reverberant energy): T30 cannot be
    # measured, T20 can.
    h = synthesize_from_spec({**_spec(1.0), "drr_db": -10.0}, seed=0, duration=0.45, calibrate=0)
    p = analyze(h, SR).broadband
    assert math.isnan(p["t30"]) and math.isfinite(p["t20"])
    assert broadband_t30(h, SR) == pytest.approx(p["t20"])


def test_bad_inputs():
    with pytest.raises(InvalidAudioError, match="t30_true_s"):
        rte(0.5, float("nan"))
    with pytest.raises(InvalidAudioError, match=">= 0"):
        rte(-0.1, 0.5)
    with pytest.raises(InvalidAudioError, match="silent"):
        mel_cepstral_distortion(X, np.zeros(100), SR)
    with pytest.raises(InvalidAudioError, match="mono"):
        mel_cepstral_distortion(X, np.ones((2, 100)), SR)
    with pytest.raises(InvalidAudioError, match="sample rate"):
        mel_cepstral_distortion(X, X, 0)
