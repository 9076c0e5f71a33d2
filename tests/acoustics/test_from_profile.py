"""Impulse responses from a compact spec: measured T30, DRR and delay match the spec."""

from __future__ import annotations

import math

import numpy as np
import pytest

from soundstage.acoustics.analysis import analyze
from soundstage.acoustics.from_profile import (
    PROFILE_BANDS,
    TAIL_GAP_S,
    InvalidProfileError,
    default_duration,
    spec_from_profile,
    spec_to_vector,
    synthesize_from_spec,
    vector_to_spec,
)
from soundstage.dsp.delay import render_impulses
from soundstage.errors import SoundstageError

SR = 16000


def _spec(t30: tuple[float, ...], drr: float, delay: float) -> dict:
    return {"t30": {str(b): t for b, t in zip(PROFILE_BANDS, t30)}, "drr_db": drr, "direct_delay_s": delay}


# Room-like specs: T30 0.2-2.5 s, different per band (neighbouring bands within ~1.3x), DRR -10..+10 dB,
# delays 3-15 ms with fractional sample parts.
SPECS = [
    _spec((0.2, 0.25, 0.3, 0.3, 0.28, 0.22), 10.0, 0.003),
    _spec((1.2, 1.0, 0.8, 0.7, 0.6, 0.5), 0.0, 0.0071),
    _spec((2.5, 2.2, 2.0, 1.8, 1.5, 1.1), -10.0, 0.015),
    _spec((0.6, 0.75, 0.9, 0.8, 0.7, 0.55), -5.0, 0.01034),
    _spec((0.4, 0.4, 0.4, 0.4, 0.4, 0.4), 5.0, 0.00423),
]


@pytest.mark.parametrize("spec", SPECS)
def test_measured_parameters_match_spec(spec):
    h = synthesize_from_spec(spec, sr=SR, seed=3)
    assert h.dtype == np.float32 and h.ndim == 1
    assert h.size == round(default_duration(spec) * SR)
    p = analyze(h, SR)
    for band in PROFILE_BANDS:
        rel = p.bands[band]["t30"] / spec["t30"][str(band)] - 1.0
        # 125 Hz: an 88 Hz wide band holds few independent noise samples per T30, so one realisation's
        # decay scatters most there (and it picks up the 250 Hz band's leakage); 10 % instead of 5 %.
        assert abs(rel) <= (0.10 if band == 125 else 0.05), (band, rel)
    assert abs(p.broadband["drr_db"] - spec["drr_db"]) <= 1.0
    assert abs(p.direct_delay - spec["direct_delay_s"]) * SR <= 1.0


def test_without_calibration_t30_still_close_and_drr_exact():
    spec = SPECS[1]
    p = analyze(synthesize_from_spec(spec, seed=0, calibrate=0), SR)
    assert abs(p.broadband["drr_db"] - spec["drr_db"]) <= 0.1
    for band in (500, 1000, 2000, 4000):
        assert abs(p.bands[band]["t30"] / spec["t30"][str(band)] - 1.0) <= 0.10


def test_onset_gap_and_build_up():
    spec = SPECS[4]
    h = synthesize_from_spec(spec, seed=1).astype(np.float64)
    delay = spec["direct_delay_s"] * SR
    tail = h - render_impulses(np.array([delay]), np.array([1.0]), h.size)
    peak = int(np.argmax(np.abs(h)))
    assert peak == round(delay)
    # Nothing but the direct sound up to the end of the +-2.5 ms direct window; then the tail builds
    # up: weaker in its first 2 ms than 5 ms later.
    start = math.ceil(delay + TAIL_GAP_S * SR)
    assert start > round(delay) + 40
    assert np.max(np.abs(tail[:start])) < 1e-6
    early, later = tail[start : start + 32], tail[start + 80 : start + 112]
    assert 0 < np.sqrt(np.mean(early**2)) < 0.5 * np.sqrt(np.mean(later**2))


def test_deterministic_per_seed():
    a = synthesize_from_spec(SPECS[3], seed=7)
    b = synthesize_from_spec(SPECS[3], seed=7)
    c = synthesize_from_spec(SPECS[3], seed=8)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_duration_argument_and_default_bounds():
    h = synthesize_from_spec(SPECS[0], duration=0.5, calibrate=0)
    assert h.size == 8000
    short = _spec((0.1,) * 6, 0.0, 0.0)
    assert default_duration(short) == pytest.approx(0.3)
    long = _spec((9.0,) * 6, 0.0, 0.01)
    assert default_duration(long) == pytest.approx(4.01)


def test_vector_round_trip_exact():
    for spec in SPECS:
        v = spec_to_vector(spec)
        assert v.shape == (8,) and v.dtype == np.float64
        assert v[6] == spec["drr_db"]
        assert v[0] == pytest.approx(math.log(spec["t30"]["125"]), abs=0)
        back = vector_to_spec(v)
        assert back["t30"].keys() == spec["t30"].keys()
        for k, t in spec["t30"].items():
            assert back["t30"][k] == pytest.approx(t, rel=1e-14)
        assert back["direct_delay_s"] == pytest.approx(spec["direct_delay_s"], rel=1e-14)
        assert np.allclose(spec_to_vector(back), v, rtol=0, atol=1e-14)
    assert spec_to_vector(_spec((0.5,) * 6, 0.0, 0.0))[7] == pytest.approx(math.log(1e-6))


def test_int_band_keys_accepted():
    spec = {"t30": {b: 0.5 for b in PROFILE_BANDS}, "drr_db": 1, "direct_delay_s": 0.004}
    assert np.allclose(spec_to_vector(spec)[:6], math.log(0.5))


def test_spec_from_profile_fills_missing_bands():
    h = synthesize_from_spec(SPECS[1], seed=2)
    prof = analyze(h, SR).to_dict()
    spec = spec_from_profile(prof)
    assert set(spec["t30"]) == {str(b) for b in PROFILE_BANDS}
    assert spec["drr_db"] == pytest.approx(prof["broadband"]["drr_db"])
    assert spec["direct_delay_s"] == pytest.approx(prof["direct_delay"])
    assert spec["t30"]["1000"] == pytest.approx(prof["bands"]["1000"]["t30"])
    prof["bands"]["125"]["t30"] = None
    prof["bands"]["4000"]["t30"] = float("nan")
    filled = spec_from_profile(prof)
    assert filled["t30"]["125"] == pytest.approx(prof["bands"]["250"]["t30"])
    assert filled["t30"]["4000"] == pytest.approx(prof["bands"]["2000"]["t30"])
    for b in PROFILE_BANDS:
        prof["bands"][str(b)]["t30"] = None
    assert list(spec_from_profile(prof)["t30"].values()) == pytest.approx([prof["broadband"]["t30"]] * 6)
    prof["broadband"]["t30"] = None
    assert list(spec_from_profile(prof)["t30"].values()) == pytest.approx([prof["broadband"]["t20"]] * 6)
    prof["broadband"]["t20"] = None
    with pytest.raises(InvalidProfileError, match="no T30"):
        spec_from_profile(prof)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"t30": {str(b): 0.5 for b in PROFILE_BANDS[:-1]}}, "lacks bands"),
        ({"t30": {**{str(b): 0.5 for b in PROFILE_BANDS}, "125": 0.01}}, r"\[0.05, 20"),
        ({"t30": {**{str(b): 0.5 for b in PROFILE_BANDS}, "500": float("nan")}}, "finite T30"),
        ({"t30": {**{str(b): 0.5 for b in PROFILE_BANDS}, "500": "long"}}, "must be a number"),
        ({"drr_db": float("inf")}, "drr_db"),
        ({"direct_delay_s": -0.001}, ">= 0"),
    ],
)
def test_bad_specs_rejected(change, match):
    spec = {**SPECS[0], **change}
    with pytest.raises(InvalidProfileError, match=match):
        synthesize_from_spec(spec)
    assert issubclass(InvalidProfileError, SoundstageError)


def test_bad_arguments_rejected():
    with pytest.raises(InvalidProfileError, match="lacks keys"):
        spec_to_vector({"t30": {}})
    with pytest.raises(InvalidProfileError, match="8 finite"):
        vector_to_spec(np.zeros(7))
    with pytest.raises(InvalidProfileError, match="duration"):
        synthesize_from_spec(SPECS[2], duration=0.01)
    with pytest.raises(InvalidProfileError, match="sample rate"):
        synthesize_from_spec(SPECS[0], sr=-5)
