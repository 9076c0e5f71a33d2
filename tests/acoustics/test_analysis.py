"""Tests for ISO 3382-1 room impulse response analysis."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from soundstage.acoustics.analysis import (
    DECAY_RANGES,
    PARAMETERS,
    AcousticProfile,
    analyze,
    analyze_channels,
    centre_time,
    clarity,
    decay_time,
    definition,
    direct_to_reverberant,
    energy_decay_curves,
    lundeby,
    onset_index,
    schroeder_decay,
)
from soundstage.constants import OCTAVE_BANDS
from soundstage.dsp.filterbank import octave_filterbank
from soundstage.errors import InvalidAudioError

DECAY_K = math.log(1e6)  # natural-log energy decay over 60 dB
RIR_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "rirs"


def noise_decay(T: float, sr: int, seconds: float, seed: int, floor_db: float | None = None) -> np.ndarray:
    """Gaussian noise with an energy decay of 60 dB per ``T`` seconds, optionally over a noise floor."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sr)) / sr
    h = rng.standard_normal(t.size) * np.exp(-0.5 * DECAY_K * t / T)
    if floor_db is not None:
        h += rng.standard_normal(t.size) * 10.0 ** (floor_db / 20.0)
    return h


def exact_decay(T: float, sr: int, seconds: float) -> np.ndarray:
    """Random signs times an envelope whose energy is exactly ``exp(-DECAY_K t / T)``."""
    t = np.arange(round(seconds * sr)) / sr
    return np.random.default_rng(7).choice([-1.0, 1.0], t.size) * np.exp(-0.5 * DECAY_K * t / T)


def times(h: np.ndarray, sr: int, **kwargs) -> dict[str, float]:
    edc = schroeder_decay(h, sr, **kwargs)
    return {k: decay_time(edc, sr, start_db=a, end_db=b) for k, (a, b) in DECAY_RANGES.items()}


@pytest.mark.parametrize("sr", [16000, 48000])
@pytest.mark.parametrize("T", [0.3, 0.8, 2.0])
def test_decay_times_of_exponential_noise(sr: int, T: float) -> None:
    # Averaging 8 realisations leaves the estimator's bias, not the noise of one draw.
    runs = [times(noise_decay(T, sr, 1.5 * T, seed), sr) for seed in range(8)]
    mean = {k: np.mean([r[k] for r in runs]) for k in DECAY_RANGES}
    assert mean["t30"] == pytest.approx(T, rel=0.02)
    assert mean["t20"] == pytest.approx(T, rel=0.02)
    assert mean["edt"] == pytest.approx(T, rel=0.05)
    assert all(r["t30"] == pytest.approx(T, rel=0.05) for r in runs)


@pytest.mark.parametrize("sr", [16000, 48000])
@pytest.mark.parametrize("T", [0.3, 0.8, 2.0])
def test_lundeby_truncation_handles_noise_floor(sr: int, T: float) -> None:
    seeds = range(4)
    hs = [noise_decay(T, sr, 2.5 * T, seed, floor_db=-60.0) for seed in seeds]
    cut = [times(h, sr)["t30"] for h in hs]
    raw = [times(h, sr, truncate=False)["t30"] for h in hs]
    assert all(t30 == pytest.approx(T, rel=0.05) for t30 in cut)
    # Integrating the noise flattens the curve: the untruncated T30 always comes out longer.
    assert all(r - c > 0.003 * T for r, c in zip(raw, cut))
    # Late in the decay the untruncated curve sits on the integrated noise; the truncated
    # and compensated one stays on the -60 dB per T line.
    h = hs[0]
    i = round(0.9 * T * sr) - onset_index(h)
    assert schroeder_decay(h, sr)[i] == pytest.approx(-54.0, abs=2.5)
    assert schroeder_decay(h, sr, truncate=False)[i] > -54.0 + 5.0


def test_lundeby_finds_floor_and_crossing() -> None:
    sr, T = 16000, 0.5
    h = noise_decay(T, sr, 1.5, seed=3, floor_db=-50.0)
    res = lundeby(h, sr)
    assert 10 * math.log10(res.noise_power) == pytest.approx(-50.0, abs=1.0)
    assert res.truncation / sr == pytest.approx(50.0 / 60.0 * T, rel=0.1)
    assert res.decay_rate == pytest.approx(60.0 / T, rel=0.05)


def test_lundeby_without_floor_keeps_whole_signal() -> None:
    sr, T = 16000, 0.4
    h = exact_decay(T, sr, 2.0)
    res = lundeby(h, sr)
    assert res.truncation == h.size and res.noise_power == 0.0
    assert res.decay_rate == pytest.approx(60.0 / T, rel=1e-6)
    padded = np.concatenate([h[: sr // 2], np.zeros(sr // 2)])
    assert lundeby(padded, sr).truncation == padded.size
    assert not np.any(np.isnan(schroeder_decay(h, sr)))


@pytest.mark.parametrize("n", [1, 2, 5, 12, 40, 300])
def test_short_inputs_do_not_fail(n: int) -> None:
    h = np.random.default_rng(n).standard_normal(n)
    res = lundeby(h, 16000)
    assert 1 <= res.truncation <= n
    profile = analyze(h, 16000)
    assert set(profile.broadband) == set(PARAMETERS)


def test_band_decay_times_follow_their_own_T() -> None:
    sr = 48000
    targets = dict(zip(OCTAVE_BANDS, (1.6, 1.4, 1.2, 1.0, 0.85, 0.7, 0.6)))
    n = round(1.5 * max(targets.values()) * sr)
    env = np.exp(-0.5 * DECAY_K * np.arange(n)[None, :] / sr / np.array(list(targets.values()))[:, None])
    t30 = []
    for seed in range(6):
        bands = octave_filterbank(np.random.default_rng(seed).standard_normal(n), sr)
        profile = analyze((bands * env).sum(axis=0), sr)
        t30.append([profile.bands[fc]["t30"] for fc in OCTAVE_BANDS])
    np.testing.assert_allclose(np.mean(t30, axis=0), list(targets.values()), rtol=0.05)


@pytest.mark.parametrize("T", [0.3, 1.0])
def test_energy_parameters_match_closed_form(T: float) -> None:
    sr = 16000
    h = np.concatenate([np.zeros(160), exact_decay(T, sr, 2.0 * T)])
    d50 = 1.0 - math.exp(-DECAY_K * 0.05 / T)
    d80 = 1.0 - math.exp(-DECAY_K * 0.08 / T)
    assert definition(h, sr) == pytest.approx(d50, abs=0.01)
    assert clarity(h, sr, ms=50) == pytest.approx(10 * math.log10(d50 / (1 - d50)), abs=0.3)
    assert clarity(h, sr, ms=80) == pytest.approx(10 * math.log10(d80 / (1 - d80)), abs=0.3)
    assert centre_time(h, sr) == pytest.approx(T / DECAY_K, rel=0.02)
    profile = analyze(h, sr)
    assert profile.broadband["d50"] == pytest.approx(d50, abs=0.01)
    assert profile.direct_delay == pytest.approx(0.01)


def test_energy_parameters_discount_noise_floor() -> None:
    sr, T = 16000, 0.5
    h = exact_decay(T, sr, 2.0) + 10 ** (-45 / 20) * np.random.default_rng(11).standard_normal(2 * sr)
    e = h**2
    naive = np.sum(np.arange(e.size) / sr * e) / e.sum()  # the noise tail drags this up by ~4.5 %
    assert naive > 1.03 * T / DECAY_K
    assert centre_time(h, sr) == pytest.approx(T / DECAY_K, rel=0.01)
    assert definition(h, sr) == pytest.approx(1.0 - math.exp(-DECAY_K * 0.05 / T), abs=0.002)


@pytest.mark.parametrize("a", [1.0, 0.3])
def test_direct_to_reverberant_ratio(a: float) -> None:
    sr = 16000
    h = np.zeros(sr)
    start = round(0.010 * sr)
    h[start] = a
    gap = round(0.0025 * sr) + 1
    tail = 0.05 * noise_decay(0.5, sr, (h.size - start - gap) / sr, seed=5)
    h[start + gap :] = tail
    expected = 10 * math.log10(a**2 / np.sum(tail**2))
    assert direct_to_reverberant(h, sr) == pytest.approx(expected, abs=0.2)
    assert analyze(h, sr).broadband["drr_db"] == pytest.approx(expected, abs=0.2)


def test_insufficient_dynamic_range_gives_nan() -> None:
    sr, T = 16000, 0.5
    noisy = times(noise_decay(T, sr, 1.5, seed=2, floor_db=-25.0), sr)
    assert math.isnan(noisy["t30"]) and math.isfinite(noisy["edt"])
    short = times(exact_decay(T, sr, 0.5 * T), sr)  # only 30 dB of decay recorded
    assert math.isnan(short["t30"])
    assert short["t20"] == pytest.approx(T, rel=0.02)
    assert math.isnan(analyze(noise_decay(T, sr, 1.5, seed=2, floor_db=-25.0), sr).broadband["t30"])


def test_decay_time_of_straight_line() -> None:
    sr = 1000
    edc = -60.0 * np.arange(2000) / sr / 1.25
    assert decay_time(edc, sr, start_db=-5, end_db=-35) == pytest.approx(1.25)
    assert math.isnan(decay_time(edc[:500], sr, start_db=-5, end_db=-35))
    assert math.isnan(decay_time(np.r_[edc[:500], np.full(100, np.nan)], sr, start_db=-5, end_db=-35))


def test_onset_index() -> None:
    h = np.zeros(1000)
    h[:300] = 0.02 * np.random.default_rng(0).standard_normal(300)  # below -20 dB
    h[300] = 0.2
    h[310] = 1.0
    assert onset_index(h) == 300
    assert onset_index(h, threshold_db=-10.0) == 310


def test_schroeder_curve_is_normalised_and_monotone() -> None:
    sr = 16000
    h = np.concatenate([np.zeros(50), noise_decay(0.4, sr, 0.8, seed=1, floor_db=-55.0)])
    edc = schroeder_decay(h, sr)
    assert edc.shape == (h.size - onset_index(h),)
    assert edc[0] == 0.0
    valid = edc[np.isfinite(edc)]
    assert np.all(np.diff(valid) <= 1e-9)
    assert np.isnan(edc[-1])  # after the truncation point


def test_profile_round_trip_and_keys() -> None:
    sr = 16000
    profile = analyze(noise_decay(0.6, sr, 1.0, seed=4), sr)
    data = json.loads(json.dumps(profile.to_dict(), allow_nan=False))
    assert set(data) == {"sr", "direct_delay", "broadband", "bands"}
    assert set(data["broadband"]) == set(PARAMETERS)
    assert list(data["bands"]) == [str(fc) for fc in OCTAVE_BANDS]
    assert all(set(p) == set(PARAMETERS) for p in data["bands"].values())
    assert data["bands"]["8000"]["t30"] is None  # above sr / 2 / sqrt(2)
    back = AcousticProfile.from_dict(data)
    assert back.sr == sr and back.direct_delay == profile.direct_delay
    assert back.broadband == profile.broadband
    for fc in OCTAVE_BANDS:
        np.testing.assert_array_equal(list(back.bands[fc].values()), list(profile.bands[fc].values()))


def test_channels_match_single_analysis_and_curves() -> None:
    sr = 16000
    h = np.stack([noise_decay(0.3, sr, 0.6, seed=8), noise_decay(0.7, sr, 1.2, seed=9)[: round(0.6 * sr)]])
    profiles = analyze_channels(h, sr)
    assert [p.to_dict() for p in profiles] == [analyze(h[0], sr).to_dict(), analyze(h[1], sr).to_dict()]
    curves = energy_decay_curves(h[0], sr)
    np.testing.assert_array_equal(curves["broadband"], schroeder_decay(h[0], sr))
    assert curves["time"].shape == curves["broadband"].shape == curves["bands"][1000].shape
    assert np.all(np.isnan(curves["bands"][8000]))
    for fc in (1000, 2000, 4000):
        band_t20 = decay_time(curves["bands"][fc], sr, start_db=-5, end_db=-25)
        assert band_t20 == profiles[0].bands[fc]["t20"]
        assert band_t20 == pytest.approx(0.3, rel=0.25)


@pytest.mark.parametrize(
    "h, sr",
    [([], 16000), (np.zeros(100), 16000), ([0.1, np.nan, 0.2], 16000), ([0.1, np.inf], 16000), ([1.0, 0.5], 0)],
)
def test_bad_input_raises(h, sr) -> None:
    with pytest.raises(InvalidAudioError):
        analyze(np.asarray(h, dtype=float), sr)


def test_multichannel_needs_analyze_channels() -> None:
    with pytest.raises(InvalidAudioError, match="analyze_channels"):
        analyze(np.ones((2, 100)), 16000)


RIR_FILES = sorted(p for p in RIR_DIR.glob("*.wav") if "speech" not in p.name) if RIR_DIR.is_dir() else []


@pytest.mark.skipif(not RIR_FILES, reason="shared measured responses not available")
@pytest.mark.parametrize("path", RIR_FILES, ids=lambda p: p.stem)
def test_measured_responses(path: Path) -> None:
    sf = pytest.importorskip("soundfile")
    x, sr = sf.read(path, always_2d=True)
    for profile in analyze_channels(x.T, sr):
        assert 0.1 < profile.broadband["t30"] < 5.0
        assert 0.0 < profile.broadband["d50"] < 1.0
        json.dumps(profile.to_dict(), allow_nan=False)
