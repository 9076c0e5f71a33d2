"""Ambience resynthesis: seamless loops and spectrum-matched noise (sources/ambience.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import welch

from soundstage.acoustics import blind
from soundstage.errors import InvalidAudioError
from soundstage.sources.ambience import CROSSFADE_S, loop_ambience, noise_from_psd, segments_from_mask, set_level

SR = 16000
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def brown(n: int, seed: int) -> np.ndarray:
    """Rumble (integrated white noise, high-passed): a hard cut in it is a step, i.e. a click."""
    x = np.cumsum(np.random.default_rng(seed).standard_normal(n))
    x -= np.convolve(x, np.ones(801) / 801, mode="same")
    return x / np.abs(x).max()


def test_loop_is_as_long_as_asked_at_the_level_asked():
    segs = [np.random.default_rng(s).standard_normal(int(0.7 * SR)) for s in range(3)]
    out = set_level(loop_ambience(segs, 10 * SR, SR, seed=1), -40.0)
    assert out.shape == (10 * SR,)
    assert 10 * np.log10(np.mean(out**2) / 0.5) == pytest.approx(-40.0, abs=1e-9)


def test_loop_joins_keep_the_power_and_make_no_click():
    segs = [brown(int(0.6 * SR), s) for s in range(3)]
    out = loop_ambience(segs, 8 * SR, SR, seed=2)
    # equal-power crossfades of uncorrelated stretches: no dip in the 20 ms power anywhere
    power = blind._blocks(out**2, 320)
    assert power.min() > 0.2 * np.median(power)
    # the largest sample-to-sample step is no larger than inside the stretches themselves
    inside = max(np.abs(np.diff(s)).max() for s in segs)
    assert np.abs(np.diff(out)).max() <= 1.05 * inside
    # whereas butting the stretches together without crossfades does click
    butted = np.concatenate(segs * 3)
    assert np.abs(np.diff(butted)).max() > 2 * inside


def test_loop_is_seeded():
    segs = [np.random.default_rng(s).standard_normal(SR) for s in range(2)]
    a, b, c = (loop_ambience(segs, 3 * SR, SR, seed=k) for k in (5, 5, 6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_noise_from_psd_has_the_spectrum():
    freqs = np.linspace(0, SR / 2, 321)
    psd = 1.0 / (1.0 + (freqs / 500.0) ** 2)  # pink-ish: -3 dB at 500 Hz, falling 6 dB per octave above
    x = noise_from_psd(freqs, psd, 20 * SR, SR, seed=0)
    f, p = welch(x, SR, nperseg=1024)
    target = np.interp(f, freqs, psd)
    band = (f > 100) & (f < 6000)
    ratio_db = 10 * np.log10(p[band] / target[band])
    assert np.ptp(ratio_db) < 2.0  # same shape within 2 dB from 100 Hz to 6 kHz


def test_segments_from_mask_keeps_long_quiet_runs():
    x = np.arange(100 * 320, dtype=float)
    mask = np.zeros(100, bool)
    mask[10:30] = True  # 0.4 s
    mask[50:55] = True  # 0.1 s: too short
    segs = segments_from_mask(x, mask, 320, SR)
    assert len(segs) == 1 and segs[0][0] == 10 * 320 and segs[0].size == 20 * 320


@pytest.mark.parametrize("call, match", [
    (lambda: loop_ambience([np.ones(100)], SR, SR), "no ambience stretch"),
    (lambda: loop_ambience([np.ones(SR)], 0, SR), "at least one sample"),
    (lambda: noise_from_psd(np.arange(3.0), np.zeros(3), SR, SR), "zero everywhere"),
    (lambda: noise_from_psd(np.arange(3.0), -np.ones(3), SR, SR), "non-negative"),
    (lambda: set_level(np.zeros(10), -20), "silence"),
])
def test_bad_input_is_refused(call, match):
    with pytest.raises(InvalidAudioError, match=match):
        call()


@pytest.mark.skipif(not (DATA / "ambient").is_dir(), reason="shared data not available")
def test_real_kitchen_ambience_loops_with_its_spectrum():
    from soundstage.io.audio import read_audio

    x, sr = read_audio(DATA / "ambient" / "speechcommands_doing_the_dishes.wav")
    x = np.asarray(x[0] if x.ndim == 2 else x, dtype=np.float64)[: 20 * sr]
    segs = [x[k : k + 2 * sr] for k in range(0, x.size - 2 * sr, 4 * sr)]
    out = loop_ambience(segs, 30 * sr, sr, seed=0)
    f, p_src = welch(np.concatenate(segs), sr, nperseg=2048)
    _, p_out = welch(out, sr, nperseg=2048)
    band = (f > 100) & (f < 6000)
    assert np.median(np.abs(10 * np.log10(p_out[band] / p_src[band]))) < 1.0
    assert CROSSFADE_S * sr < segs[0].size


def _talk_over(noise: np.ndarray, seed: int, pauses=(0.4, 0.9)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = noise.copy()
    t = int(0.3 * SR)
    while t < x.size - SR // 2:
        n = int(rng.uniform(0.15, 0.35) * SR)
        x[t : t + n] += 0.3 * rng.standard_normal(n)
        t += n + int(rng.uniform(*pauses) * SR)
    return x


def test_resynthesize_loops_the_pauses_at_the_measured_level():
    from soundstage.sources.ambience import resynthesize

    noise = 0.01 * brown(12 * SR, 3)
    out, amb, how = resynthesize(_talk_over(noise, 1), SR, 20 * SR, seed=0)
    assert amb.source == "pauses" and how == "loop" and out.shape == (20 * SR,)
    true_db = 10 * np.log10(np.mean(noise**2) / 0.5)
    assert 10 * np.log10(np.mean(out**2) / 0.5) == pytest.approx(true_db, abs=1.0)
    f, p_out = welch(out, SR, nperseg=2048)
    _, p_true = welch(noise, SR, nperseg=2048)
    band = (f > 50) & (f < 2000)  # where the rumble has its energy
    assert np.median(np.abs(10 * np.log10(p_out[band] / p_true[band]))) < 2.0


def test_resynthesize_without_pauses_shapes_noise():
    from soundstage.sources.ambience import resynthesize

    noise = 0.01 * np.random.default_rng(4).standard_normal(8 * SR)
    t = np.arange(8 * SR) / SR
    f = 200 * 20 ** np.abs(((t / 0.5) % 2) - 1)
    glide = 0.3 * np.sin(2 * np.pi * np.cumsum(f) / SR) * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t))
    out, amb, how = resynthesize(glide + noise, SR, 5 * SR, seed=1)
    assert amb.source == "minimum statistics" and how == "shaped noise"
    assert 10 * np.log10(np.mean(out**2) / 0.5) == pytest.approx(10 * np.log10(1e-4 / 0.5), abs=2.0)


def test_resynthesize_shapes_noise_when_the_pauses_are_too_short_to_loop():
    from soundstage.sources.ambience import MIN_LOOP_S, noise_from_psd, resynthesize, set_level

    noise = 0.01 * brown(4 * SR, 5)
    x = _talk_over(noise, 2, pauses=(0.25, 0.35))
    out, amb, how = resynthesize(x, SR, 6 * SR, seed=3)
    assert amb.source == "pauses" and amb.seconds < MIN_LOOP_S and how == "shaped noise"
    np.testing.assert_allclose(out, set_level(noise_from_psd(amb.freqs, amb.psd, 6 * SR, SR, seed=3), amb.level_dbfs))
