import numpy as np
import pytest

from soundstage.dsp.spectral import stft
from soundstage.errors import InvalidAudioError
from soundstage.speech.features import (
    HOP,
    LOGMEL_FLOOR,
    N_FFT,
    SR,
    griffin_lim,
    log_mel,
    mel_basis,
    mel_to_magnitude,
    spectral_convergence,
)


def _naive_slaney_filters(n_mels=80, n_fft=640, sr=16000):
    def hz_to_mel(f):
        return f / (200 / 3) if f < 1000 else 15 + np.log(f / 1000) / (np.log(6.4) / 27)

    def mel_to_hz(m):
        return m * (200 / 3) if m < 15 else 1000 * np.exp((m - 15) * np.log(6.4) / 27)

    top = hz_to_mel(sr / 2)
    edges = [mel_to_hz(top * i / (n_mels + 1)) for i in range(n_mels + 2)]
    filters = np.zeros((n_mels, n_fft // 2 + 1))
    for m in range(n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        for k in range(n_fft // 2 + 1):
            f = k * sr / n_fft
            if lo < f <= mid:
                filters[m, k] = (f - lo) / (mid - lo)
            elif mid < f < hi:
                filters[m, k] = (hi - f) / (hi - mid)
        filters[m] *= 2 / (hi - lo)
    return filters


def _naive_log_mel(x):
    n = np.arange(N_FFT)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)
    dft = np.exp(-2j * np.pi * np.outer(np.arange(N_FFT // 2 + 1), n) / N_FFT)
    padded = np.concatenate([np.zeros(N_FFT // 2), x, np.zeros(N_FFT // 2)])
    filters = _naive_slaney_filters()
    rows = []
    for t in range(1 + len(x) // HOP):
        spectrum = dft @ (padded[t * HOP : t * HOP + N_FFT] * window)
        rows.append(np.log(np.maximum(filters @ np.abs(spectrum) ** 2, 1e-8)))
    return np.array(rows)


def _spectrum(x):
    return stft(x, n_fft=N_FFT, hop=HOP).T


def _voiced(seconds=1.0, seed=0):
    """Speech-like test signal: harmonics of a gliding 120-180 Hz pitch, a moving formant and noise."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = 150 + 30 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    formant = 700 + 400 * np.sin(2 * np.pi * 0.7 * t)
    x = sum(np.exp(-(((k * f0) - formant) ** 2) / 2e5) * np.sin(k * phase) / k for k in range(1, 30))
    x *= 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    return 0.3 * x + 1e-3 * np.random.default_rng(seed).standard_normal(t.size)


def test_log_mel_shape_dtype_and_floor():
    x = 0.1 * np.random.default_rng(0).standard_normal(3 * SR)
    feats = log_mel(x)
    assert feats.shape == (301, 80) and feats.dtype == np.float32
    assert LOGMEL_FLOOR == pytest.approx(np.log(1e-8))
    silent = log_mel(np.concatenate([np.zeros(SR), x[:SR]]))
    assert silent.min() >= np.float32(LOGMEL_FLOOR)
    assert np.all(silent[:90] == np.float32(LOGMEL_FLOOR))
    assert np.all(silent[110:] > LOGMEL_FLOOR + 5)


def test_log_mel_matches_naive_dft_and_slaney_mel():
    x = _voiced(0.15)
    np.testing.assert_allclose(log_mel(x), _naive_log_mel(x), rtol=0, atol=2e-4)


def test_log_mel_rejects_bad_input():
    with pytest.raises(InvalidAudioError, match="16000"):
        log_mel(np.zeros(800), sr=8000)
    with pytest.raises(InvalidAudioError, match="mono"):
        log_mel(np.zeros((2, 800)))
    with pytest.raises(InvalidAudioError, match="NaN"):
        log_mel(np.full(800, np.nan))


def test_mel_to_magnitude_recovers_dominant_harmonic():
    t = np.arange(SR) / SR
    tone = sum(0.5 / k**2 * np.sin(2 * np.pi * 250 * k * t) for k in range(1, 6))
    feats = log_mel(tone)
    mag = mel_to_magnitude(feats)
    assert mag.shape == (feats.shape[0], N_FFT // 2 + 1) and np.all(mag >= 0)
    assert np.argmax(np.median(mag[5:-5], axis=0)) == 250 * N_FFT // SR
    true = np.abs(np.fft.rfft(np.hanning(N_FFT + 1)[:-1] * tone[SR // 2 - N_FFT // 2 : SR // 2 + N_FFT // 2]))
    assert np.max(mag[50]) == pytest.approx(true.max(), rel=0.3)


def test_mel_to_magnitude_is_consistent_with_log_mel_on_speech():
    feats = log_mel(_voiced(1.0))
    mag = mel_to_magnitude(feats)
    back = np.log(np.maximum(mel_basis() @ (mag.T**2), 1e-8)).T
    loud = feats > feats.max() - 10
    assert np.abs(back - feats)[loud].mean() < 0.01


def test_griffin_lim_with_every_frame_fixed_returns_the_signal():
    x = _voiced(0.5)
    s = _spectrum(x)
    y = griffin_lim(np.abs(s), init_phase=np.angle(s), fixed=np.ones(s.shape[0], bool), n_iter=8, length=x.size)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y, x, atol=1e-6)


def test_griffin_lim_fills_a_gap_and_converges():
    x = _voiced(1.0)
    mag = np.abs(_spectrum(x))
    damaged = x.copy()
    damaged[6400:9600] = 0.0
    centres = np.arange(mag.shape[0]) * HOP
    fixed = (centres + N_FFT // 2 <= 6400) | (centres - N_FFT // 2 >= 9600)
    phase = np.angle(_spectrum(damaged))
    scores = []
    for n_iter in (0, 4, 16, 64):
        y = griffin_lim(mag, init_phase=phase, fixed=fixed, n_iter=n_iter, length=x.size)
        scores.append(spectral_convergence(y, mag, ~fixed))
        covered_by_fixed = (np.arange(x.size) < 6400 - N_FFT) | (np.arange(x.size) >= 9600 + N_FFT)
        np.testing.assert_allclose(y[covered_by_fixed], x[covered_by_fixed], atol=1e-6)
    assert all(b < a for a, b in zip(scores, scores[1:]))
    assert scores[-1] < 0.25 * scores[0]
    classic = griffin_lim(mag, init_phase=phase, fixed=fixed, n_iter=32, momentum=0.0, length=x.size)
    fast = griffin_lim(mag, init_phase=phase, fixed=fixed, n_iter=32, length=x.size)
    assert spectral_convergence(fast, mag, ~fixed) < spectral_convergence(classic, mag, ~fixed)


def test_griffin_lim_random_start_is_seeded_and_checks_input():
    mag = np.abs(np.random.default_rng(1).standard_normal((20, N_FFT // 2 + 1)))
    np.testing.assert_array_equal(griffin_lim(mag, n_iter=2, rng=3), griffin_lim(mag, n_iter=2, rng=3))
    with pytest.raises(InvalidAudioError, match="init_phase"):
        griffin_lim(mag, fixed=np.ones(20, bool))
    with pytest.raises(InvalidAudioError, match="bool"):
        griffin_lim(mag, init_phase=np.zeros_like(mag), fixed=np.ones(19, bool))
    with pytest.raises(InvalidAudioError, match="321"):
        griffin_lim(mag[:, :300])
    with pytest.raises(InvalidAudioError, match="non-negative"):
        griffin_lim(-mag)
