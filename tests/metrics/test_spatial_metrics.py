"""Binaural metrics: ITD (GCC-PHAT), ILD, IACC and HRTF-matching direction estimates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import lfilter

from soundstage.constants import OCTAVE_BANDS
from soundstage.dsp import fft_convolve, octave_filterbank
from soundstage.constants import SPEED_OF_SOUND
from soundstage.errors import InvalidAudioError
from soundstage.geometry import azel_to_vector
from soundstage.metrics.spatial import estimate_direction, iacc, ild, itd
from soundstage.spatial.hrtf import default_hrtf, load_sofa, spherical_head_hrtf

SR = 48000
KEMAR = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")


def noise(n: int = SR // 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def delayed_pair(delay: int, n: int = SR // 2) -> np.ndarray:
    """``[left, right]`` where the right ear hears the left ear's noise ``delay`` samples later."""
    x = noise(n + abs(delay))
    late, early = x[: n], x[abs(delay) :]
    return np.stack([early, late]) if delay >= 0 else np.stack([late, early])


def fractional_delay(x: np.ndarray, delay: float) -> np.ndarray:
    """``x`` delayed by ``delay`` samples (exact phase shift of the zero-padded spectrum)."""
    n = 2 * x.size
    spec = np.fft.rfft(x, n) * np.exp(-2j * np.pi * np.fft.rfftfreq(n) * delay)
    return np.fft.irfft(spec, n)[: x.size]


# ----------------------------------------------------------------------------- ITD


def test_itd_of_right_delayed_by_ten_samples():
    assert itd(delayed_pair(10), SR) == pytest.approx(10 / SR, rel=0.02)


def test_itd_sign_flips_when_the_right_ear_leads():
    assert itd(delayed_pair(-10), SR) == pytest.approx(-10 / SR, rel=0.02)
    assert itd(delayed_pair(10)[::-1], SR) == pytest.approx(-10 / SR, rel=0.02)


@pytest.mark.parametrize("delay", [0.0, 2.5, -3.3, 17.75])
def test_itd_resolves_fractions_of_a_sample(delay):
    x = noise()
    pair = np.stack([x, fractional_delay(x, delay)])
    assert itd(pair, SR) * SR == pytest.approx(delay, abs=0.02)
    assert itd(pair, SR, freq_range=None) * SR == pytest.approx(delay, abs=0.02)


def test_itd_ignores_level_and_colour_of_the_ears():
    x = noise()
    left = 0.1 * x
    right = np.asarray(fft_convolve(fractional_delay(x, 6.4), np.array([1.0, 0.6, 0.2]), mode="same"))
    # The 3-tap filter adds its own group delay at low frequencies: sum(k h_k) / sum(h_k).
    group = (0.6 + 0.4) / 1.8
    assert itd(np.stack([left, right]), SR) * SR == pytest.approx(6.4 + group, abs=0.05)


def test_itd_matches_the_naive_cross_correlation_peak():
    pair = delayed_pair(23)
    lags = np.arange(-48, 49)
    naive = [np.dot(pair[0][48:-48], pair[1][48 + k : pair.shape[1] - 48 + k]) for k in lags]
    assert itd(pair, SR, freq_range=None) * SR == pytest.approx(lags[int(np.argmax(naive))], abs=0.01)


def test_itd_stays_within_the_lag_window():
    value = itd(delayed_pair(200), SR, max_lag_s=1e-3)
    assert abs(value) <= 1e-3 + 1e-12


# ----------------------------------------------------------------------------- ILD


def test_ild_of_left_doubled_is_six_db_in_every_band():
    x = noise()
    out = ild(np.stack([2 * x, x]), SR)
    assert out.shape == (len(OCTAVE_BANDS),)
    np.testing.assert_allclose(out, 20 * np.log10(2), atol=1e-9)
    np.testing.assert_allclose(ild(np.stack([x, 2 * x]), SR), -20 * np.log10(2), atol=1e-9)


def test_ild_ignores_a_pure_delay():
    np.testing.assert_allclose(ild(delayed_pair(12), SR), 0.0, atol=0.1)


def test_ild_matches_octave_filterbank_energies():
    x = noise()
    right = lfilter([0.1], [1.0, -0.9], x)  # one-pole low-pass: about -20 dB at 8 kHz
    pair = np.stack([x, right])
    bands = octave_filterbank(pair, SR)
    naive = 10 * np.log10(np.sum(bands[:, 0] ** 2, axis=-1) / np.sum(bands[:, 1] ** 2, axis=-1))
    np.testing.assert_allclose(ild(pair, SR), naive, atol=0.1)
    assert np.ptp(naive) > 10  # the filter really does colour the right ear


# ----------------------------------------------------------------------------- IACC


def test_iacc_of_identical_channels_is_one():
    x = noise()
    assert iacc(np.stack([x, x]), SR) == pytest.approx(1.0, abs=1e-12)
    assert iacc(np.stack([x, -0.3 * x]), SR) == pytest.approx(1.0, abs=1e-12)


def test_iacc_of_independent_noises_is_near_zero():
    assert iacc(np.stack([noise(seed=1), noise(seed=2)]), SR) < 0.05


def test_iacc_of_a_delayed_copy_depends_on_the_lag_window():
    pair = delayed_pair(30)  # 0.625 ms
    assert iacc(pair, SR) == pytest.approx(1.0, abs=1e-3)
    assert iacc(pair, SR, max_lag_s=0.5e-3) < 0.05


def test_iacc_window_separates_early_and_late_sound():
    n, onset = SR // 2, 1000
    brir = np.zeros((2, n))
    brir[:, onset] = 1.0  # frontal direct sound: identical at both ears
    tail = np.exp(-np.arange(n - onset - 5000) / (0.1 * SR))
    brir[0, onset + 5000 :] = 0.01 * noise(tail.size, seed=3) * tail
    brir[1, onset + 5000 :] = 0.01 * noise(tail.size, seed=4) * tail
    early = iacc(brir, SR, window=(0.0, 0.08))
    late = iacc(brir, SR, window=(0.08, np.inf))
    assert early == pytest.approx(1.0, abs=1e-9)
    assert late < 0.1
    assert late < iacc(brir, SR) < early


# ----------------------------------------------------------------------------- through heads

HEADS = ["sphere", pytest.param("kemar", marks=pytest.mark.skipif(not KEMAR.is_file(), reason="no KEMAR SOFA file"))]


@pytest.fixture(scope="module")
def sphere():
    return spherical_head_hrtf(SR)


@pytest.fixture(scope="module")
def kemar():
    return load_sofa(KEMAR).resampled(SR)


def hear(hrtf, azimuth: float, elevation: float = 0.0, *, tilt_db: float = 0.0, seed: int = 0) -> np.ndarray:
    """A noise burst from ``(azimuth, elevation)`` through ``hrtf``, ``tilt_db`` dB per octave re 1 kHz."""
    x = noise(SR // 4, seed)
    if tilt_db:
        freqs = np.maximum(np.fft.rfftfreq(x.size, 1 / SR), 20.0)
        x = np.fft.irfft(np.fft.rfft(x) * 10 ** (tilt_db / 20 * np.log2(freqs / 1000)), x.size)
    hrir = hrtf.impulse_responses(azel_to_vector(azimuth, elevation)[None])[0]
    return np.asarray(fft_convolve(x, hrir), dtype=np.float64)


def angle_error(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


@pytest.mark.parametrize("head", HEADS)
def test_source_on_the_left_leads_and_is_louder(head, request):
    hrtf = request.getfixturevalue(head)
    high = np.asarray(OCTAVE_BANDS) >= 1000
    left, right = hear(hrtf, 60.0), hear(hrtf, -60.0)
    assert itd(left, SR) > 200e-6 and itd(right, SR) < -200e-6
    assert np.all(ild(left, SR)[high] > 0) and np.all(ild(right, SR)[high] < 0)


@pytest.mark.parametrize("head", HEADS)
def test_itd_grows_from_front_to_side(head, request):
    hrtf = request.getfixturevalue(head)
    delays = np.array([itd(hear(hrtf, az), SR) for az in range(0, 91, 10)])
    assert abs(delays[0]) < 10e-6
    assert np.all(np.diff(delays) > 0)
    assert 550e-6 < delays[-1] < 900e-6  # a human-sized head


def test_sphere_broadband_itd_is_woodworths(sphere):
    # Above the head-shadow corner the filters add no delay: the onsets' a/c (phi + sin phi) remains.
    a = 0.0875 / SPEED_OF_SOUND
    for phi in (30.0, 60.0, 90.0):
        expected = a * (np.radians(phi) + np.sin(np.radians(phi)))
        assert itd(hear(sphere, phi), SR, freq_range=None) == pytest.approx(expected, rel=0.03)


@pytest.mark.parametrize("head", HEADS)
def test_estimate_direction_recovers_azimuths(head, request):
    hrtf = request.getfixturevalue(head)
    for i, az in enumerate((0.0, 40.0, 90.0, 130.0, -150.0, 42.0, -147.0)):
        # An unknown, coloured source: the spectral tilt must not move the estimate.
        est_az, est_el = estimate_direction(hear(hrtf, az, tilt_db=(-4.0, 3.0)[i % 2], seed=i), SR, hrtf=hrtf)
        assert angle_error(est_az, az) <= 5.0, (az, est_az, est_el)
        assert angle_error(est_az, 180.0 - az) > angle_error(est_az, az) or abs(abs(az) - 90) < 1e-9


@pytest.mark.skipif(not KEMAR.is_file(), reason="no KEMAR SOFA file")
def test_estimate_direction_recovers_elevation_with_pinna_cues(kemar):
    for az, el in ((30.0, 20.0), (-100.0, -20.0), (60.0, 45.0), (160.0, 30.0)):
        est_az, est_el = estimate_direction(hear(kemar, az, el, tilt_db=-3.0), SR, hrtf=kemar)
        assert abs(est_el - el) <= 5.0 and angle_error(est_az, az) <= 5.0 / np.cos(np.radians(el)), (az, el, est_az)


def test_estimate_direction_without_refinement_returns_a_measured_direction(sphere):
    az, el = estimate_direction(hear(sphere, 37.0), SR, hrtf=sphere, refine=False)
    measured = np.stack([sphere.azimuths, sphere.elevations], axis=1)
    assert np.min(np.abs(measured - [az, el]).sum(axis=1)) < 1e-9
    assert angle_error(az, 37.0) <= 5.0


def test_estimate_direction_defaults_to_the_default_hrtf():
    x = hear(default_hrtf(SR), -70.0)
    assert estimate_direction(x, SR) == estimate_direction(x, SR, hrtf=default_hrtf(SR))
    assert angle_error(estimate_direction(x, SR)[0], -70.0) <= 5.0


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [np.zeros(100), np.zeros((3, 100)), np.zeros((2, 0)),
                                 np.stack([noise(100), np.zeros(100)]), np.full((2, 100), np.nan)])
@pytest.mark.parametrize("fn", [itd, ild, iacc, estimate_direction])
def test_bad_signals_raise(fn, bad):
    with pytest.raises(InvalidAudioError):
        fn(bad, SR)


@pytest.mark.parametrize("kwargs", [{"max_lag_s": 0.0}, {"max_lag_s": -1e-3}])
def test_bad_lag_raises(kwargs):
    for fn in (itd, iacc):
        with pytest.raises(InvalidAudioError, match="max_lag_s"):
            fn(delayed_pair(3), SR, **kwargs)


def test_bad_rate_and_window_raise():
    with pytest.raises(InvalidAudioError, match="sample rate"):
        itd(delayed_pair(3), 0)
    with pytest.raises(InvalidAudioError, match="window"):
        iacc(delayed_pair(3), SR, window=(0.1, 0.05))
    with pytest.raises(InvalidAudioError, match="frequency range"):
        itd(delayed_pair(3), SR, freq_range=(30000.0, 40000.0))
