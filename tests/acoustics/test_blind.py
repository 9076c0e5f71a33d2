"""Blind T60, speech activity and ambience from recordings (acoustics/blind.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import fftconvolve

from soundstage.acoustics import blind
from soundstage.acoustics.analysis import analyze
from soundstage.acoustics.from_profile import synthesize_from_spec
from soundstage.errors import InvalidAudioError

SR = 16000
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def bursts(seconds: float, seed: int = 0, on=(0.12, 0.3), off=(0.15, 0.4)) -> np.ndarray:
    """Noise bursts of random length separated by silences: a source that stops dead."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * SR))
    t = int(0.1 * SR)
    while t < out.size:
        n = int(rng.uniform(*on) * SR)
        out[t : t + n] = rng.standard_normal(min(n, out.size - t)) * rng.uniform(0.3, 1.0)
        t += n + int(rng.uniform(*off) * SR)
    return out


def room(t30: float, drr_db: float = 0.0, seed: int = 0) -> np.ndarray:
    spec = {"t30": {str(b): t30 for b in (125, 250, 500, 1000, 2000, 4000)}, "drr_db": drr_db, "direct_delay_s": 0.003}
    return synthesize_from_spec(spec, sr=SR, seed=seed)


def test_ml_decay_rate_recovers_an_exponential_decay():
    rng = np.random.default_rng(1)
    k = np.arange(40)
    for t60 in (0.2, 0.6, 2.0):
        rho = 3 * math.log(10) * blind.BLOCK_S / t60
        mean = np.exp(-2 * rho * k)
        # block energies of Gaussian noise: chi-square with 2 x 40 degrees of freedom per block
        power = mean * rng.chisquare(80, size=(200, k.size)) / 80
        est = blind.decay_rates(power, blind.BLOCK_S)
        assert np.median(est) == pytest.approx(t60, rel=0.05)


def test_ml_decay_ignores_blocks_at_the_noise_floor():
    k = np.arange(40)
    t60, floor = 0.3, 1e-2  # the decay reaches the floor halfway through the frame
    power = np.exp(-6 * math.log(10) * blind.BLOCK_S * k / t60) + floor
    with_floor = blind.decay_rates(power, blind.BLOCK_S, floor)[0]
    without = blind.decay_rates(power, blind.BLOCK_S)[0]
    assert with_floor == pytest.approx(t60, rel=0.1)
    assert without > 1.2 * with_floor  # the floor drags an untruncated fit slower


@pytest.mark.parametrize("t30", [0.3, 0.7])
def test_blind_t60_of_bursts_in_a_room_matches_its_measured_t30(t30):
    h = room(t30, drr_db=-5.0, seed=3)  # a talker a few metres away
    true = analyze(h, SR).bands[1000]["t30"]
    y = fftconvolve(bursts(12.0, seed=2), h)[: 12 * SR]
    est = blind.blind_t60(y, SR)
    assert est["1000"] == pytest.approx(true, rel=0.15)
    assert est["broadband"] == pytest.approx(true, rel=0.15)


def test_blind_t60_grows_with_the_room():
    src = bursts(10.0, seed=4)
    est = [blind.blind_t60(fftconvolve(src, room(t, drr_db=-5.0))[: src.size], SR)["broadband"] for t in (0.3, 0.6, 1.2)]
    assert all(b > 1.3 * a for a, b in zip(est, est[1:]))


def test_bands_without_decays_are_nan_not_guesses():
    # a steady tone: no free decay anywhere
    t = np.arange(4 * SR) / SR
    est = blind.blind_t60(np.sin(2 * np.pi * 440 * t), SR)
    assert math.isnan(est["broadband"])
    assert all(math.isnan(v) for v in est.values())


def test_activity_follows_the_bursts():
    src = bursts(8.0, seed=5)
    active = blind.speech_activity(src + 1e-4 * np.random.default_rng(0).standard_normal(src.size), SR)
    truth = np.abs(src[: active.size * 320]).reshape(active.size, 320).max(axis=1) > 0
    assert np.mean(active == truth) > 0.9


def test_ambience_level_and_speech_to_ambience_ratio_from_pauses():
    rng = np.random.default_rng(6)
    noise_rms = 0.003
    src = bursts(10.0, seed=7, off=(0.4, 0.8))
    noise = noise_rms * rng.standard_normal(src.size)
    amb = blind.ambience(src + noise, SR)
    assert amb.source == "pauses"
    assert amb.level_dbfs == pytest.approx(10 * np.log10(noise_rms**2 / 0.5), abs=1.0)
    sound = np.abs(src) > 0
    frames = blind._blocks(sound.astype(float), 320) > 0.5
    active = blind.speech_activity(src + noise, SR)
    true_ratio = 10 * np.log10(blind._blocks(src**2, 320)[active].mean() / noise_rms**2)
    assert amb.speech_to_ambience_db == pytest.approx(true_ratio, abs=1.0)
    assert frames.any()


def test_ambience_by_minimum_statistics_when_sound_never_pauses():
    rng = np.random.default_rng(8)
    t = np.arange(6 * SR) / SR
    # a glide up and down 200 Hz - 4 kHz every 0.5 s, loud and soft four times a second like
    # syllables: never silent for long, and each frequency sounds only now and then
    f = 200 * 20 ** np.abs(((t / 0.5) % 2) - 1)
    glide = 0.3 * np.sin(2 * np.pi * np.cumsum(f) / SR) * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t))
    noise = 0.01 * rng.standard_normal(t.size)
    amb = blind.ambience(glide + noise, SR)
    assert amb.source == "minimum statistics"
    assert amb.level_dbfs == pytest.approx(10 * np.log10(1e-4 / 0.5), abs=2.0)


def test_profile_has_the_analysis_keys():
    y = fftconvolve(bursts(6.0, seed=9), room(0.5))[: 6 * SR] + 1e-4 * np.random.default_rng(0).standard_normal(6 * SR)
    p = blind.blind_profile(y, SR)
    json.dumps(p)
    assert p["method"] == "blind"
    assert set(p["bands"]) == {"125", "250", "500", "1000", "2000", "4000"}
    assert p["broadband"]["t30"] == pytest.approx(0.5, rel=0.2)
    assert set(p["ambience"]) == {"level_dbfs", "speech_to_ambience_db", "source", "seconds"}


@pytest.mark.parametrize("x, sr, match", [
    (np.zeros(2 * SR), SR, "digital silence"),
    (np.ones(SR // 2), SR, "at least 1 s"),
    (np.ones(2 * SR), 4000, "sample rate"),
    (np.full(2 * SR, np.nan), SR, "finite"),
])
def test_bad_recordings_are_refused(x, sr, match):
    with pytest.raises(InvalidAudioError, match=match):
        blind.blind_profile(x, sr)


def test_unknown_band_is_refused():
    with pytest.raises(InvalidAudioError, match="unknown octave bands"):
        blind.blind_t60(bursts(2.0), SR, bands=(300,))


@pytest.mark.skipif(not (DATA / "rirs").is_dir(), reason="shared data not available")
def test_real_speech_in_measured_rooms():
    """Shared clean speech convolved with every shared measured response: the 1 kHz estimate tracks the measured T30."""
    from soundstage.dsp.resample import resample
    from soundstage.io.audio import read_audio

    def mono(path):
        x, sr = read_audio(path)
        x = np.asarray(x[0] if x.ndim == 2 else x, dtype=np.float64)
        return resample(x, sr_in=sr, sr_out=SR) if sr != SR else x

    speech = sorted((DATA / "speech").glob("cmu_arctic_*.wav"))[:3]
    dry = np.concatenate([s / np.abs(s).max() for s in map(mono, speech)])
    rirs = [p for p in sorted((DATA / "rirs").glob("*.wav")) if "speech" not in p.name]
    true, est = [], []
    for p in rirs:
        h = mono(p)
        true.append(analyze(h, SR).bands[1000]["t30"])
        est.append(blind.blind_t60(fftconvolve(dry, h)[: dry.size], SR)["1000"])
    true, est = np.array(true), np.array(est)
    assert len(rirs) >= 10
    assert np.median(np.abs(est / true - 1)) < 0.15
    assert np.corrcoef(true, est)[0, 1] > 0.9
