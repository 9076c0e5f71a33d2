"""Tests for the exact-reconstruction octave filter bank."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.constants import OCTAVE_BANDS
from soundstage.dsp.filterbank import band_edges, band_masks, crossover_frequencies, octave_filterbank
from soundstage.errors import InvalidAudioError, SoundstageError

SR = 48000


@pytest.mark.parametrize("sr", [16000, 48000])
def test_bands_sum_to_white_noise(sr: int) -> None:
    x = np.random.default_rng(0).standard_normal(sr // 2)
    bands = octave_filterbank(x, sr)
    assert bands.shape == (len(OCTAVE_BANDS), x.size)
    np.testing.assert_allclose(bands.sum(axis=0), x, atol=1e-6 * np.abs(x).max())
    assert np.all(np.std(bands, axis=1) > 1e-3)


def test_bands_sum_to_impulse() -> None:
    x = np.zeros(4096)
    x[1000] = 1.0
    bands = octave_filterbank(x, SR)
    np.testing.assert_allclose(bands.sum(axis=0), x, atol=1e-6)
    # Zero phase: every band response is symmetric about the impulse.
    np.testing.assert_allclose(bands[:, 1000 - 500 : 1000], bands[:, 1001 : 1000 + 501][:, ::-1], atol=1e-9)


@pytest.mark.parametrize("index", range(len(OCTAVE_BANDS)))
def test_tone_at_band_centre_stays_in_its_band(index: int) -> None:
    t = np.arange(SR // 2) / SR
    tone = np.sin(2 * np.pi * OCTAVE_BANDS[index] * t)
    energy = (octave_filterbank(tone, SR) ** 2).sum(axis=1)
    assert energy[index] / energy.sum() > 0.9
    assert energy[index] / (tone**2).sum() > 0.9


def test_band_energy_of_white_noise_grows_with_bandwidth() -> None:
    # Octave bands double in width, so white-noise power per band doubles (inner bands).
    x = np.random.default_rng(1).standard_normal(4 * SR)
    power = (octave_filterbank(x, SR) ** 2).mean(axis=1)
    ratios = power[2:-1] / power[1:-2]
    np.testing.assert_allclose(ratios, 2.0, rtol=0.1)


def test_band_masks_partition_unity() -> None:
    freqs = np.concatenate([[0.0], np.geomspace(1.0, 24000.0, 2000)])
    masks = band_masks(freqs)
    assert masks.shape == (len(OCTAVE_BANDS), freqs.size)
    assert masks.min() >= 0.0 and masks.max() <= 1.0 + 1e-12
    np.testing.assert_allclose(masks.sum(axis=0), 1.0, atol=1e-12)
    centres = band_masks(np.asarray(OCTAVE_BANDS, dtype=float))
    np.testing.assert_allclose(centres, np.eye(len(OCTAVE_BANDS)), atol=1e-12)
    cross = band_masks(crossover_frequencies())
    for k in range(len(OCTAVE_BANDS) - 1):
        assert cross[k, k] == pytest.approx(0.5) and cross[k + 1, k] == pytest.approx(0.5)


def test_edges_and_crossovers_are_geometric() -> None:
    lo, hi = band_edges()
    np.testing.assert_allclose(hi / lo, 2.0)
    np.testing.assert_allclose(crossover_frequencies(), hi[:-1])


def test_multichannel_input_matches_per_channel() -> None:
    x = np.random.default_rng(2).standard_normal((3, 5000)).astype(np.float32)
    bands = octave_filterbank(x, SR)
    assert bands.shape == (len(OCTAVE_BANDS), 3, 5000)
    assert bands.dtype == np.float32
    for c in range(3):
        np.testing.assert_allclose(bands[:, c], octave_filterbank(x[c], SR), atol=1e-6)
    np.testing.assert_allclose(bands.sum(axis=0), x, atol=1e-5)


def test_empty_input_raises() -> None:
    with pytest.raises(InvalidAudioError):
        octave_filterbank(np.zeros(0), SR)
    with pytest.raises(InvalidAudioError):
        octave_filterbank(np.zeros((2, 0)), SR)


def test_non_finite_input_raises() -> None:
    with pytest.raises(SoundstageError):
        octave_filterbank(np.array([0.0, np.nan, 1.0]), SR)
