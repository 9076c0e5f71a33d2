"""Tests for windowed-sinc fractional delays."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample

from soundstage.dsp.delay import HALF_TAPS, render_impulses, sinc_kernels
from soundstage.errors import SoundstageError

UPSAMPLE = 16


def peak_position(h: np.ndarray) -> float:
    """Sub-sample peak: band-limited upsampling, then a parabola through the top three points.

    A parabola on the raw samples is biased by up to ~0.1 sample on a sinc, so the
    signal is first interpolated onto a grid ``UPSAMPLE`` times finer.
    """
    fine = resample(h, h.size * UPSAMPLE)
    k = int(np.argmax(fine))
    a, b, c = fine[k - 1 : k + 2]
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) / UPSAMPLE


@pytest.mark.parametrize("delay", [100.0, 100.25, 100.5, 100.75, 57.1, 203.9])
def test_peak_sits_at_fractional_delay(delay: float) -> None:
    h = render_impulses(np.array([delay]), np.array([1.0]), 320)
    assert abs(peak_position(h) - delay) < 0.05
    assert int(np.argmax(h)) == int(np.round(delay)) or abs(delay % 1 - 0.5) < 1e-9


def test_half_sample_delay_is_symmetric_and_samples_follow_sinc() -> None:
    h = render_impulses(np.array([100.5]), np.array([1.0]), 256)
    np.testing.assert_allclose(h[100], h[101], atol=1e-12)
    np.testing.assert_allclose(h[100 - 10 : 101], h[101 : 101 + 11][::-1], atol=1e-12)
    k = np.arange(256)
    near = np.abs(k - 100.5) < 4
    np.testing.assert_allclose(h[near], np.sinc(k[near] - 100.5), atol=1e-2)
    integer = render_impulses(np.array([50.0]), np.array([2.0]), 128)
    expected = np.zeros(128)
    expected[50] = 2.0
    np.testing.assert_allclose(integer, expected, atol=1e-12)


@pytest.mark.parametrize("delay", [100.25, 100.5, 100.75, 203.3])
def test_matches_frequency_domain_fractional_delay(delay: float) -> None:
    n = 2048
    rng = np.random.default_rng(int(delay * 4))
    w = np.linspace(0.0, np.pi, n // 2 + 1)
    passband = w < 0.8 * np.pi
    spectrum = np.fft.rfft(rng.standard_normal(n)) * passband
    naive = np.fft.irfft(spectrum * np.exp(-1j * w * delay), n)
    h = render_impulses(np.array([delay]), np.array([1.0]), n)
    rendered = np.fft.irfft(spectrum * np.fft.rfft(h), n)
    assert np.linalg.norm(rendered - naive) / np.linalg.norm(naive) < 1e-3
    response_error = np.abs(np.fft.rfft(h)[passband] - np.exp(-1j * w[passband] * delay))
    assert response_error.max() < 1e-2


def test_linearity_of_renders() -> None:
    rng = np.random.default_rng(3)
    d1, d2 = rng.uniform(0, 500, 20), rng.uniform(0, 500, 15)
    a1, a2 = rng.standard_normal(20), rng.standard_normal(15)
    both = render_impulses(np.concatenate([d1, d2]), np.concatenate([a1, a2]), 600)
    separate = render_impulses(d1, a1, 600) + render_impulses(d2, a2, 600)
    np.testing.assert_allclose(both, separate, atol=1e-12)
    np.testing.assert_allclose(render_impulses(d1, 3.0 * a1, 600), 3.0 * render_impulses(d1, a1, 600), atol=1e-12)


def test_multichannel_amplitudes() -> None:
    rng = np.random.default_rng(4)
    delays = rng.uniform(10, 300, 12)
    amps = rng.standard_normal((12, 3))
    out = render_impulses(delays, amps, 400)
    assert out.shape == (3, 400)
    for c in range(3):
        np.testing.assert_allclose(out[c], render_impulses(delays, amps[:, c], 400), atol=1e-12)
    single = render_impulses(np.array([150.3]), np.array([[1.0, -0.5]]), 400)
    np.testing.assert_allclose(single[1], -0.5 * single[0], atol=1e-12)


def test_impulses_near_edges_are_truncated_not_wrapped() -> None:
    delays, amps = np.array([2.3, 398.6, 1000.0]), np.array([1.0, -1.0, 5.0])
    out = render_impulses(delays, amps, 400)
    roomy = render_impulses(delays + 60.0, amps, 520)
    np.testing.assert_allclose(out, roomy[60:460], atol=1e-12)
    window = 0.5 * (1 + np.cos(np.pi * 0.3 / (HALF_TAPS + 1)))
    assert out[2] == pytest.approx(np.sinc(0.3) * window, abs=1e-12)


def test_sinc_kernels_are_normalised_interpolators() -> None:
    frac = np.array([0.0, 0.1, 0.5, 0.9])
    kernels = sinc_kernels(frac)
    assert kernels.shape == (4, 2 * HALF_TAPS + 1)
    np.testing.assert_allclose(kernels.sum(axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(kernels[0], np.eye(2 * HALF_TAPS + 1)[HALF_TAPS], atol=1e-12)


def test_channel_first_amplitudes_are_rejected() -> None:
    amps = np.array([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]])
    with pytest.raises(SoundstageError):
        render_impulses(np.array([10.0, 20.0, 30.0, 40.0]), amps, 64)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_finite_delays_are_rejected() -> None:
    with pytest.raises(SoundstageError):
        render_impulses(np.array([np.nan, 5.0]), np.array([1.0, 1.0]), 16)


def test_filters_are_applied_per_impulse_at_their_delay() -> None:
    rng = np.random.default_rng(3)
    delays = np.array([40.0, 97.3, 151.75])
    amps = rng.standard_normal((3, 2))
    filters = rng.standard_normal((3, 12))
    out = render_impulses(delays, amps, 400, filters=filters)
    naive = np.zeros((2, 400))
    for d, a, f in zip(delays, amps, filters):
        train = render_impulses(np.array([d]), a[None], 400)
        naive += np.stack([np.convolve(t, f)[:400] for t in train])
    np.testing.assert_allclose(out, naive, atol=1e-10)


def test_filters_with_wrong_shape_are_rejected() -> None:
    with pytest.raises(SoundstageError, match="filters have shape"):
        render_impulses(np.array([1.0, 2.0]), np.ones(2), 10, filters=np.ones((3, 4)))
