"""Tests for block FFT convolution."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.dsp import convolve as conv
from soundstage.dsp.convolve import convolve_sum, fft_convolve
from soundstage.errors import InvalidAudioError


def naive(signal: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """Channel-by-channel np.convolve with the same broadcasting rules."""
    sig, kern = np.atleast_2d(signal), np.atleast_2d(ir)
    n_ch = max(sig.shape[0], kern.shape[0])
    rows = [np.convolve(sig[c % sig.shape[0]], kern[c % kern.shape[0]]) for c in range(n_ch)]
    out = np.stack(rows)
    return out[0] if signal.ndim == 1 and ir.ndim == 1 else out


SHAPES = [
    ((300,), (17,)),
    ((300,), (2, 17)),
    ((300,), (1, 17)),
    ((2, 300), (17,)),
    ((2, 300), (1, 17)),
    ((2, 300), (2, 17)),
    ((1, 300), (3, 17)),
    ((3, 40), (3, 500)),
    ((40,), (2, 500)),
    ((5,), (5,)),
    ((1,), (7,)),
]


@pytest.mark.parametrize("sig_shape,ir_shape", SHAPES)
def test_matches_np_convolve_all_broadcasting_cases(sig_shape: tuple, ir_shape: tuple) -> None:
    rng = np.random.default_rng(sum(sig_shape) + 7 * sum(ir_shape))
    signal, ir = rng.standard_normal(sig_shape), rng.standard_normal(ir_shape)
    expected = naive(signal, ir)
    got = fft_convolve(signal, ir)
    assert got.dtype == np.float32
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5 * np.abs(expected).max())


def test_many_blocks_match_np_convolve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conv, "MIN_FFT", 64)
    monkeypatch.setattr(conv, "MAX_FFT", 64)
    rng = np.random.default_rng(11)
    signal, ir = rng.standard_normal((2, 5003)), rng.standard_normal(45)
    assert conv._block_fft_size(45, 5003) < 128
    for mode, stop in (("full", None), ("same", 5003)):
        expected = naive(signal, ir)[:, :stop]
        np.testing.assert_allclose(fft_convolve(signal, ir, mode=mode), expected, atol=1e-4)
    # An ir longer than the signal takes the block role itself.
    short, long_ir = signal[:, :45], signal[:1, :3000]
    np.testing.assert_allclose(fft_convolve(short, long_ir), naive(short, long_ir), atol=1e-4)


@pytest.mark.parametrize("sig_shape,ir_shape", SHAPES)
def test_same_mode_is_first_n_samples(sig_shape: tuple, ir_shape: tuple) -> None:
    rng = np.random.default_rng(3)
    signal, ir = rng.standard_normal(sig_shape), rng.standard_normal(ir_shape)
    full = fft_convolve(signal, ir)
    same = fft_convolve(signal, ir, mode="same")
    n = sig_shape[-1]
    assert same.shape == full.shape[:-1] + (n,)
    np.testing.assert_allclose(same, full[..., :n], atol=1e-6 * np.abs(full).max())


def test_impulse_identity_and_pure_delay() -> None:
    rng = np.random.default_rng(4)
    signal = rng.standard_normal((2, 1000)).astype(np.float32)
    delta = np.zeros(64)
    delta[0] = 1.0
    out = fft_convolve(signal, delta)
    np.testing.assert_allclose(out[:, :1000], signal, atol=1e-6)
    np.testing.assert_allclose(out[:, 1000:], 0.0, atol=1e-6)
    delayed = np.zeros((2, 64))
    delayed[0, 10] = 0.5
    delayed[1, 37] = -2.0
    out = fft_convolve(signal[0], delayed, mode="same")
    np.testing.assert_allclose(out[0, 10:], 0.5 * signal[0, :990], atol=1e-6)
    np.testing.assert_allclose(out[1, 37:], -2.0 * signal[0, :963], atol=1e-5)
    np.testing.assert_allclose(out[:, :10], 0.0, atol=1e-6)


def test_mono_speech_with_binaural_ir_gives_two_channels() -> None:
    rng = np.random.default_rng(5)
    speech, ir = rng.standard_normal(2000), rng.standard_normal((2, 300))
    out = fft_convolve(speech, ir)
    assert out.shape == (2, 2299)
    np.testing.assert_allclose(out[1], np.convolve(speech, ir[1]), atol=1e-4)


def test_long_stereo_signal_with_long_ir_completes() -> None:
    sr = 16000
    rng = np.random.default_rng(6)
    signal = rng.standard_normal((2, 60 * sr)).astype(np.float32)
    decay = np.exp(-np.arange(2 * sr) / (0.3 * sr))
    ir = (rng.standard_normal((2, 2 * sr)) * decay).astype(np.float32)
    out = fft_convolve(signal, ir, mode="same")
    assert out.shape == (2, 60 * sr) and out.dtype == np.float32
    assert np.all(np.isfinite(out))
    # Spot-check one output sample deep inside against a direct dot product.
    k = 45 * sr + 123
    direct = signal[:, k - 2 * sr + 1 : k + 1][:, ::-1].astype(np.float64) * ir.astype(np.float64)
    np.testing.assert_allclose(out[:, k], direct.sum(axis=1), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    "signal,ir",
    [
        (np.zeros(0), np.ones(4)),
        (np.ones(10), np.zeros((2, 0))),
        (np.array([1.0, np.nan]), np.ones(3)),
        (np.ones(10), np.array([np.inf, 1.0])),
        (np.ones((2, 2, 10)), np.ones(3)),
        (np.ones((2, 10)), np.ones((3, 4))),
    ],
)
def test_bad_input_raises(signal: np.ndarray, ir: np.ndarray) -> None:
    with pytest.raises(InvalidAudioError):
        fft_convolve(signal, ir)


def test_unknown_mode_raises() -> None:
    with pytest.raises(InvalidAudioError, match="mode"):
        fft_convolve(np.ones(10), np.ones(3), mode="valid")


def test_convolve_sum_equals_the_sum_of_direct_convolutions() -> None:
    rng = np.random.default_rng(11)
    signals = [rng.standard_normal(n) for n in (5000, 12000, 300)]
    irs = [rng.standard_normal((2, m)) for m in (700, 40, 2500)]
    out = convolve_sum(signals, irs)
    expected = np.zeros((2, max(n + m - 1 for n, m in [(5000, 700), (12000, 40), (300, 2500)])))
    for s, h in zip(signals, irs):
        for c in range(2):
            full = np.convolve(s, h[c])
            expected[c, : full.size] += full
    assert out.shape == expected.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=1e-3 * np.abs(expected).max())


def test_convolve_sum_rejects_mismatched_inputs() -> None:
    with pytest.raises(InvalidAudioError, match="same number"):
        convolve_sum([np.ones(10)], [])
    with pytest.raises(InvalidAudioError, match="one channel count"):
        convolve_sum([np.ones(10), np.ones(10)], [np.ones((2, 3)), np.ones((4, 3))])
