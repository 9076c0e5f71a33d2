"""Procedural sources (sources/procedural.py): seeded, at their level, seamless loops, and each
with the spectral or rhythmic character its name promises."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks, welch

from soundstage.errors import SoundstageError
from soundstage.sources.procedural import CATEGORIES, HUM_FUNDAMENTALS, synthesize
from soundstage.speech.tts import espeak_available

SR = 16000
NEEDS_TTS = {"crowd", "talker"}


def _categories():
    marks = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
    return [pytest.param(c, marks=marks) if c in NEEDS_TTS else c for c in CATEGORIES]


def _band_power(x: np.ndarray, low: float, high: float) -> float:
    f, p = welch(x, SR, nperseg=4096)
    return float(p[(f >= low) & (f < high)].sum())


def _fraction(x: np.ndarray, low: float, high: float) -> float:
    return _band_power(x, low, high) / _band_power(x, 0, SR / 2)


def _envelope(x: np.ndarray, hop: int = 160) -> np.ndarray:
    """Frame energy every 10 ms, mean removed."""
    e = np.square(x[: x.size // hop * hop]).reshape(-1, hop).mean(axis=1)
    return e - e.mean()


def _period_s(x: np.ndarray, low_s: float, high_s: float, hop: int = 160) -> float:
    """Lag (s) of the strongest circular autocorrelation peak of the energy envelope within [low_s, high_s]."""
    e = _envelope(x, hop)
    ac = np.fft.irfft(np.abs(np.fft.rfft(e)) ** 2, e.size)
    lags = np.arange(e.size) * hop / SR
    window = (lags >= low_s) & (lags <= high_s)
    return float(lags[window][np.argmax(ac[window])])


def test_there_are_at_least_twelve_categories_with_distinct_recipes():
    assert len(CATEGORIES) >= 12
    assert len({c.make for c in CATEGORIES.values()}) == len(CATEGORIES)
    for needed in ("wind", "rain", "stream", "waves", "fire", "birds", "insects", "traffic",
                   "crowd", "footsteps", "hum", "engine", "clock", "keyboard"):
        assert needed in CATEGORIES


@pytest.mark.parametrize("category", _categories())
def test_seeded_any_length_at_its_level(category):
    a = synthesize(category, 3.3, SR, seed=4)
    assert a.shape == (round(3.3 * SR),) and np.all(np.isfinite(a))
    assert np.array_equal(a, synthesize(category, 3.3, SR, seed=4))
    assert not np.allclose(a, synthesize(category, 3.3, SR, seed=5))
    level = 10 * np.log10(np.mean(a**2) / 0.5)
    assert level == pytest.approx(CATEGORIES[category].level_dbfs, abs=1e-6)
    assert np.abs(a).max() < 1.0  # no clipping at the nominal level
    assert synthesize(category, 0.25, SR, seed=1).shape == (SR // 4,)


@pytest.mark.parametrize("category", _categories())
def test_loops_without_a_click(category):
    for seed, duration in ((0, 4.0), (1, 1.7)):
        x = synthesize(category, duration, SR, seed=seed)
        steps = np.abs(np.diff(np.concatenate([x, x])))
        join = steps[x.size - 1]
        assert join <= np.quantile(steps, 0.999), f"{category} seed {seed}: step at the loop point is an outlier"
    # the check has teeth: a tone cut after a fractional number of cycles clicks
    t = np.arange(int(1.7 * SR)) / SR
    cut = np.abs(np.diff(np.tile(np.sin(2 * np.pi * 50.3 * t), 2)))
    assert cut[t.size - 1] > np.quantile(cut, 0.999)


def test_rain_is_broadband():
    x = synthesize("rain", 6.0, SR, seed=0)
    octaves = [_band_power(x, fc / np.sqrt(2), fc * np.sqrt(2)) / fc for fc in (500, 1000, 2000, 4000)]
    spread_db = 10 * np.log10(max(octaves) / min(octaves))  # power per Hz across 350 Hz-5.7 kHz
    assert spread_db < 10.0


@pytest.mark.parametrize("seed", range(4))
def test_hum_is_tonal_at_its_mains_fundamental(seed):
    x = synthesize("hum", 4.0, SR, seed=seed)
    f, p = np.fft.rfftfreq(x.size, 1 / SR), np.abs(np.fft.rfft(x)) ** 2
    peak = f[np.argmax(p)]
    assert min(abs(peak - h) for h in HUM_FUNDAMENTALS) < 0.5
    for k in (2, 3):  # harmonics stand out of the airflow noise
        near = np.abs(f - k * peak) < 0.5
        floor = np.median(p[(f > k * peak - 20) & (f < k * peak + 20)])
        assert p[near].max() > 100 * floor


def test_engine_is_a_low_harmonic_series():
    x = synthesize("engine", 6.0, SR, seed=2)
    f, p = welch(x, SR, nperseg=8192)
    low = f < 400
    peaks, _ = find_peaks(10 * np.log10(p[low]), prominence=10)
    fundamental = f[low][peaks[0]]
    assert 19.0 <= fundamental <= 36.0
    ratios = f[low][peaks[:5]] / fundamental
    assert np.allclose(ratios, np.round(ratios), atol=0.1)  # peaks at multiples of the firing rate
    assert _fraction(x, 0, 1000) > 0.8


def test_birds_and_insects_sing_high():
    assert _fraction(synthesize("birds", 6.0, SR, seed=3), 1500, 8000) > 0.9
    insects = synthesize("insects", 6.0, SR, seed=3)
    assert _fraction(insects, 3800, 5200) > 0.9


def test_wind_and_traffic_are_low_and_swell():
    for category in ("wind", "traffic"):
        x = synthesize(category, 12.0, SR, seed=1)
        assert _fraction(x, 0, 1500) > 0.8
        e = _envelope(x, 1600) + np.mean(np.square(x))  # 100 ms frame energy
        assert np.quantile(e, 0.9) > 3 * np.quantile(e, 0.1)  # gusts / passing cars, not a steady noise


def test_clock_ticks_once_a_second_and_steps_keep_a_walking_pace():
    clock = synthesize("clock", 8.0, SR, seed=0)
    assert _period_s(clock, 0.5, 1.5) == pytest.approx(1.0, abs=0.02)
    steps = synthesize("footsteps", 8.0, SR, seed=0)
    assert 1 / 2.25 <= _period_s(steps, 0.3, 0.8) <= 1 / 1.55


def test_waves_break_every_few_seconds():
    x = synthesize("waves", 40.0, SR, seed=0)
    assert 5.0 <= _period_s(x, 3.0, 15.0, hop=1600) <= 13.0


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
def test_crowd_is_a_murmur_of_voices():
    x = synthesize("crowd", 6.0, SR, seed=0)
    assert _fraction(x, 100, 3500) > 0.9  # speech band, dulled above
    e = _envelope(x, 160) + np.mean(np.square(x))
    assert np.quantile(e, 0.05) > 0.05 * np.median(e)  # several voices: never a pause


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
def test_a_talker_is_one_voice_that_pauses():
    x = synthesize("talker", 8.0, SR, seed=0)
    assert _fraction(x, 100, 5000) > 0.9  # speech
    e = _envelope(x, 160) + np.mean(np.square(x))
    assert np.quantile(e, 0.05) < 0.01 * np.median(e)  # one voice: it stops between words and sentences


def test_bad_requests_are_refused():
    with pytest.raises(SoundstageError, match=r"unknown sound category 'dragon'.*wind.*keyboard"):
        synthesize("dragon", 1.0, SR)
    with pytest.raises(SoundstageError, match="positive number of seconds"):
        synthesize("rain", 0.0, SR)
    with pytest.raises(SoundstageError, match="positive number of seconds"):
        synthesize("rain", float("nan"), SR)
    with pytest.raises(SoundstageError, match=">= 16000"):
        synthesize("rain", 1.0, 8000)
