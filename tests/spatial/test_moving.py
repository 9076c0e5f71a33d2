"""Tests for moving sources: trajectories, delay line, Doppler shift, crossfaded receivers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import hilbert

from soundstage.acoustics.receiver import Omni, Receiver
from soundstage.constants import SPEED_OF_SOUND as C
from soundstage.dsp import fft_convolve, render_impulses, sinc_kernels
from soundstage.errors import InvalidAudioError, InvalidGeometryError, SoundstageError
from soundstage.spatial.moving import HALF_TAPS, Trajectory, render_moving

ORIGIN = np.zeros(3)


class ToyEars(Receiver):
    """Two ears on the x axis: an ITD-like onset and a 2-tap lowpass that darkens the far ear."""

    channels = 2
    layout = "toy-ears"

    def __init__(self, yaw_deg: float = 0.0) -> None:
        self.orientation = (yaw_deg, 0.0, 0.0)

    def head_response(self, directions, sr):
        x = directions[:, 0]  # +1 from the right, -1 from the left
        shade = np.stack([0.25 * (1 + x), 0.25 * (1 - x)], axis=1)  # left ear shaded by sources on the right
        filters = np.stack([1.0 - shade, shade], axis=2)
        offsets = np.stack([12.0 * (1 + x), 12.0 * (1 - x)], axis=1)
        return filters, offsets


class Mics(Receiver):
    """Three coincident microphones (omni, cardioid, figure-of-eight facing +y): pure gains."""

    channels = 3
    layout = "mics"

    def head_response(self, directions, sr):
        y = directions[:, 1]
        gains = np.stack([np.ones_like(y), 0.5 * (1 + y), y], axis=1)
        return gains[:, :, None], np.zeros_like(gains)


class FixedFilter(Receiver):
    """The same long FIR from every direction: the render must be exactly time-invariant."""

    channels = 1
    layout = "mono"

    def __init__(self, fir: np.ndarray) -> None:
        self.fir = fir

    def head_response(self, directions, sr):
        n = len(directions)
        return np.broadcast_to(self.fir, (n, 1, self.fir.size)).copy(), np.zeros((n, 1))


def noise(n: int, seed: int = 0, top: float = 1.0) -> np.ndarray:
    """White Gaussian noise; ``top < 1`` removes everything above that fraction of Nyquist."""
    x = np.random.default_rng(seed).standard_normal(n)
    spectrum = np.fft.rfft(x)
    spectrum[int(top * spectrum.size) :] = 0.0
    return np.fft.irfft(spectrum, n)


def tone_frequency(y: np.ndarray, sr: int, lo: float, hi: float) -> float:
    """Frequency (Hz) of a tone between ``lo`` and ``hi`` seconds: slope of the analytic phase."""
    phase = np.unwrap(np.angle(hilbert(y)))
    n = np.arange(int(lo * sr), int(hi * sr))
    return float(np.polyfit(n / sr, phase[n], 1)[0] / (2 * np.pi))


def circle(radius: float, period: float, points: int = 65) -> Trajectory:
    t = np.linspace(0.0, period, points)
    a = 2 * np.pi * t / period
    return Trajectory(t, np.stack([radius * np.cos(a), radius * np.sin(a), np.zeros_like(a)], axis=1))


# --- trajectories -------------------------------------------------------------------


def test_trajectory_interpolates_and_holds_outside() -> None:
    path = Trajectory.from_points([[0, [0, 1, 0]], [1, [2, 1, 0]], [3, [2, 3, 0]]])
    got = path.position_at([-1.0, 0.5, 2.0, 9.0])
    np.testing.assert_allclose(got, [[0, 1, 0], [1, 1, 0], [2, 2, 0], [2, 3, 0]])
    assert path.position_at(0.25).shape == (3,)
    assert path.position_at(np.zeros((2, 4))).shape == (2, 4, 3)
    single = Trajectory.from_points([[0.5, [1, 2, 3]]])
    np.testing.assert_allclose(single.position_at([-5.0, 5.0]), [[1, 2, 3], [1, 2, 3]])


@pytest.mark.parametrize(
    ("times", "positions", "needle"),
    [
        ([0.0, 1.0, 1.0, 2.0], np.zeros((4, 3)), "times[2]"),
        ([0.0, 2.0, 1.0], np.zeros((3, 3)), "times[2]"),
        ([[0.0, 1.0]], np.zeros((2, 3)), "expected (K,)"),
        ([0.0, 1.0], np.zeros((2, 2)), "expected (2, 3)"),
        ([0.0, 1.0], np.zeros((3, 3)), "expected (2, 3)"),
        ([0.0, np.nan], np.zeros((2, 3)), "NaN"),
        ([0.0, 1.0], [[0, 0, 0], [np.inf, 0, 0]], "NaN"),
    ],
)
def test_bad_trajectories_are_rejected(times, positions, needle) -> None:
    with pytest.raises(InvalidGeometryError, match=re.escape(needle)):
        Trajectory(np.asarray(times), np.asarray(positions))


@pytest.mark.parametrize("points", [[], [[0.0, [1, 2]]], [[0.0]], [["a", [1, 2, 3]]]])
def test_bad_points_are_rejected(points) -> None:
    with pytest.raises(InvalidGeometryError, match="trajectory"):
        Trajectory.from_points(points)


# --- static sources: the time-invariant reference --------------------------------------


def test_static_omni_is_a_band_limited_impulse_at_r_over_c() -> None:
    sr, r = 48000, 2.3456
    direction = np.array([0.6, -0.48, 0.64])
    x = np.zeros(64)
    x[10] = 1.0
    y = render_moving(x, sr, Trajectory([0.0], [r * direction]), ORIGIN, Omni())
    delay = r / C * sr
    assert y.shape == (1, 64 + int(np.ceil(delay)) + HALF_TAPS + 1) and y.dtype == np.float32
    # The response is linear phase: its slope is the arrival time, its magnitude 1/r.
    n = 4096
    spectrum = np.fft.rfft(y[0].astype(float), n)
    band = np.arange(1, int(0.4 * n / 2))
    slope = np.polyfit(2 * np.pi * band / n, np.unwrap(np.angle(spectrum[band])), 1)[0]
    assert abs(-slope - (10 + delay)) < 0.01
    np.testing.assert_allclose(np.abs(spectrum[band]), 1.0 / r, rtol=2e-3)


@pytest.mark.parametrize("receiver", [Omni(), ToyEars(), ToyEars(yaw_deg=70.0), Mics()])
def test_static_source_equals_lti_reference(receiver: Receiver) -> None:
    sr, r = 16000, 1.7
    source = r * np.array([np.cos(0.4), np.sin(0.4), 0.0]) + [0.3, -0.2, 1.1]
    listener = np.array([0.3, -0.2, 1.1])
    x = noise(3000)
    y = render_moving(x, sr, Trajectory.from_points([[0.0, source.tolist()]]), listener, receiver)
    filters, offsets = receiver.response((source - listener)[None] / r, sr)
    delay = r / C * sr
    assert y.shape == (receiver.channels, 3000 + int(np.ceil(delay + offsets.max())) + HALF_TAPS + filters.shape[2])
    for c in range(receiver.channels):
        ir = render_impulses([delay + offsets[0, c]], [1.0 / r], 200, filters=filters[:, c], half_taps=HALF_TAPS)
        ref = fft_convolve(x, ir)
        np.testing.assert_allclose(y[c], ref[: y.shape[1]], atol=2e-5 * np.abs(ref).max())
        assert np.abs(ref[y.shape[1] :]).max() < 1e-9


def test_distance_law_is_six_db_per_doubling() -> None:
    sr, x = 16000, noise(8000, top=0.8)  # inside the interpolator's flat band
    direction = np.array([0.0, 0.6, 0.8])
    near = render_moving(x, sr, Trajectory([0.0], [direction]), ORIGIN, Omni())
    far = render_moving(x, sr, Trajectory([0.0], [2 * direction]), ORIGIN, Omni())
    drop = 10 * np.log10(np.sum(far.astype(float) ** 2) / np.sum(near.astype(float) ** 2))
    assert abs(drop - 20 * np.log10(0.5)) < 0.01
    assert abs(drop + 6.02) < 0.01


def test_close_pass_is_clamped_to_min_distance() -> None:
    sr = 16000
    x = np.sin(2 * np.pi * 300 * np.arange(sr) / sr)
    path = Trajectory([0.0, 1.0], [[-2.0, 0.0, 0.0], [2.0, 0.0, 0.0]])  # straight through the listener
    y = render_moving(x, sr, path, ORIGIN, ToyEars(), min_distance=0.25)
    assert np.all(np.isfinite(y))
    assert 3.0 < np.abs(y).max() <= 4.0 * 1.01  # gain 1 / 0.25 at the pass, no more


# --- Doppler ------------------------------------------------------------------------


@pytest.mark.parametrize("speed", [30.0, -30.0])
def test_doppler_shift_for_constant_radial_speed(speed: float) -> None:
    sr, f, dur = 16000, 1000.0, 1.5
    x = np.sin(2 * np.pi * f * np.arange(int(dur * sr)) / sr)
    start = 3.0 if speed > 0 else 3.0 - speed * dur
    direction = np.array([0.48, 0.6, 0.64])
    path = Trajectory([0.0, dur], [start * direction, (start + speed * dur) * direction])
    y = render_moving(x, sr, path, ORIGIN, Omni())[0].astype(float)
    measured = tone_frequency(y, sr, 0.3, 1.2)
    # A moving source in still air: f' = f c / (c + v); the moving-observer form f (1 - v/c)
    # differs by 0.7 % at 30 m/s.
    assert measured == pytest.approx(f * C / (C + speed), rel=1e-5)


def test_doppler_off_keeps_the_pitch_but_not_the_level() -> None:
    sr, f, dur = 16000, 1000.0, 1.5
    x = np.sin(2 * np.pi * f * np.arange(int(dur * sr)) / sr)
    path = Trajectory([0.0, dur], [[0.0, 2.0, 0.0], [0.0, 2.0 + 60.0 * dur, 0.0]])
    y = render_moving(x, sr, path, ORIGIN, Omni(), doppler=False)[0].astype(float)
    assert tone_frequency(y, sr, 0.1, 1.4) == pytest.approx(f, rel=1e-5)
    hold = 2.0 / C
    for t in (0.2, 0.7, 1.3):
        n = int(t * sr)
        amplitude = np.sqrt(2 * np.mean(y[n - 80 : n + 80] ** 2))  # ten periods around t
        assert amplitude == pytest.approx(1.0 / (2.0 + 60.0 * (t - hold)), rel=1e-3)


# --- moving sources through receivers ----------------------------------------------------


def reference_render(x, sr, path, listener, receiver, hop):
    """Direct per-sample evaluation: retarded time by fixed-point iteration, sinc
    interpolation at every sample, receiver values blended between block centres."""
    n_out = x.size + 400
    t = np.arange(n_out) / sr
    tau = np.zeros(n_out)
    for _ in range(60):
        tau = np.linalg.norm(path.position_at(t - tau) - listener, axis=1) / C
    rel = path.position_at(t - tau) - listener
    gain = 1.0 / np.maximum(np.linalg.norm(rel, axis=1), 0.1)
    centres = np.arange(n_out // hop + 2) * hop
    d = rel[np.minimum(centres, n_out - 1)]
    filters, offsets = receiver.response(d / np.linalg.norm(d, axis=1, keepdims=True), sr)
    n = np.arange(n_out)
    j, w = n // hop, np.sin(0.5 * np.pi * (n % hop) / hop) ** 2
    out = np.zeros((receiver.channels, n_out))
    k = np.arange(-HALF_TAPS, HALF_TAPS + 1)
    for c in range(receiver.channels):
        delay = tau * sr + offsets[j, c] + (offsets[j + 1, c] - offsets[j, c]) * w
        whole = np.floor(delay)
        idx = (n - whole).astype(int)[:, None] - k  # as render_impulses places a delayed kernel
        taps = np.where((idx >= 0) & (idx < x.size), x[np.clip(idx, 0, x.size - 1)], 0.0)
        delayed = gain * np.sum(taps * sinc_kernels(delay - whole, half_taps=HALF_TAPS), axis=1)
        h = filters[j, c] + (filters[j + 1, c] - filters[j, c]) * w[:, None]
        for lag in range(h.shape[1]):
            out[c, lag:] += h[lag:, lag] * delayed[: n_out - lag]
    return out


@pytest.mark.parametrize("receiver", [ToyEars(yaw_deg=20.0), Mics()])
def test_fly_by_matches_per_sample_reference(receiver: Receiver) -> None:
    sr, hop = 8000, 32
    x = noise(1600, seed=3)
    path = Trajectory([0.05, 0.15], [[-3.0, 1.0, 0.5], [3.0, 1.0, 0.5]])  # 60 m/s past at 1.1 m
    listener = np.array([0.0, 0.0, 0.0])
    y = render_moving(x, sr, path, listener, receiver, block=hop)
    ref = reference_render(x, sr, path, listener, receiver, hop)
    assert y.shape[1] <= ref.shape[1]
    np.testing.assert_allclose(y, ref[:, : y.shape[1]], atol=1e-5 * np.abs(ref).max())
    assert not np.any(ref[:, y.shape[1] :])


def test_time_invariant_filter_gives_the_lti_result() -> None:
    sr = 16000
    fir = noise(300, seed=7) * np.exp(-np.arange(300) / 60.0)
    x = noise(6000, seed=1)
    path = Trajectory([0.0, 0.3], [[-2.0, 1.0, 0.0], [2.0, 1.5, 0.5]])
    plain = render_moving(x, sr, path, ORIGIN, Omni(), block=64)
    filtered = render_moving(x, sr, path, ORIGIN, FixedFilter(fir), block=64)
    ref = fft_convolve(plain, fir[None])
    assert filtered.shape == ref.shape
    np.testing.assert_allclose(filtered, ref, atol=1e-5 * np.abs(ref).max())


SOFA = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")


def ear_receiver(kind: str) -> Receiver:
    if kind == "toy":
        return ToyEars()
    binaural = pytest.importorskip("soundstage.spatial.binaural")
    hrtf = pytest.importorskip("soundstage.spatial.hrtf")
    if kind == "sphere":
        return binaural.Binaural(hrtf.spherical_head_hrtf(48000))
    return binaural.Binaural(hrtf.load_sofa(SOFA))


EARS = [
    "toy",
    "sphere",
    pytest.param("kemar", marks=pytest.mark.skipif(not SOFA.is_file(), reason="MIT KEMAR SOFA file not installed")),
]


def largest_jump(y: np.ndarray, lo: int, hi: int) -> float:
    return float(np.abs(np.diff(y[:, lo:hi].astype(float), axis=1)).max())


def splatter_db(y: np.ndarray, sr: int, lo: int, hi: int, above: float) -> float:
    """Energy above ``above`` Hz relative to all, in dB (Hann-windowed): clicks are broadband."""
    spectrum = np.abs(np.fft.rfft(y[:, lo:hi].astype(float) * np.hanning(hi - lo), axis=1)) ** 2
    freqs = np.fft.rfftfreq(hi - lo, 1.0 / sr)
    return float(10 * np.log10(spectrum[:, freqs > above].sum() / spectrum.sum()))


@pytest.mark.parametrize("kind", EARS)
def test_circling_source_has_no_clicks(kind: str) -> None:
    receiver, sr, dur = ear_receiver(kind), 48000, 2.0
    x = np.sin(2 * np.pi * 440 * np.arange(int(dur * sr)) / sr)
    lo, hi = int(0.05 * sr), int(1.95 * sr)  # skip the onset and the end of the tone
    moving = render_moving(x, sr, circle(2.0, dur), ORIGIN, receiver)
    static = [
        render_moving(x, sr, Trajectory([0.0], [[2 * np.cos(a), 2 * np.sin(a), 0.0]]), ORIGIN, receiver)
        for a in np.radians(np.arange(0, 360, 45))
    ]
    assert largest_jump(moving, lo, hi) <= 2.0 * max(largest_jump(y, lo, hi) for y in static)
    # A stepwise change of delay or filter at block edges splatters the tone above -66 dB.
    assert splatter_db(moving, sr, lo, hi, above=2000.0) < -75.0


@pytest.mark.parametrize("kind", EARS[1:])
def test_circling_binaural_source_turns_from_ear_to_ear(kind: str) -> None:
    receiver, sr = ear_receiver(kind), 48000
    y = render_moving(noise(sr, seed=5), sr, circle(1.0, 1.0), ORIGIN, receiver).astype(float)
    assert y.shape[0] == 2 and np.all(np.isfinite(y))
    left, right = y[:, int(0.45 * sr) : int(0.55 * sr)]  # source near the left (-x, azimuth +90)
    assert np.sum(left**2) > 2 * np.sum(right**2)
    left, right = y[:, int(0.92 * sr) : int(1.0 * sr)]  # near the right (+x)
    assert np.sum(right**2) > 2 * np.sum(left**2)


# --- bad input ------------------------------------------------------------------------


def test_static_source_at_the_listener_is_rejected() -> None:
    with pytest.raises(InvalidGeometryError, match="source at the listener's position"):
        render_moving(noise(100), 16000, Trajectory([0.0], [[1.0, 2.0, 3.0]]), [1.0, 2.0, 3.0], Omni())


def test_supersonic_source_is_rejected_with_doppler() -> None:
    path = Trajectory([0.0, 0.01], [[0.0, 1.0, 0.0], [0.0, 10.0, 0.0]])
    with pytest.raises(InvalidGeometryError, match="slower than sound"):
        render_moving(noise(100), 16000, path, ORIGIN, Omni())
    assert render_moving(noise(100), 16000, path, ORIGIN, Omni(), doppler=False).shape[0] == 1


@pytest.mark.parametrize(
    ("signal", "listener", "kwargs"),
    [
        (np.zeros((2, 100)), ORIGIN, {}),
        (np.array([0.0, np.nan]), ORIGIN, {}),
        (np.zeros(0), ORIGIN, {}),
        (np.zeros(100), [0.0, 0.0], {}),
        (np.zeros(100), [0.0, np.nan, 0.0], {}),
        (np.zeros(100), ORIGIN, {"block": 0}),
        (np.zeros(100), ORIGIN, {"min_distance": 0.0}),
    ],
)
def test_bad_render_arguments(signal, listener, kwargs) -> None:
    with pytest.raises(SoundstageError, match="expected"):
        render_moving(signal, 16000, Trajectory([0.0], [[0.0, 1.0, 0.0]]), listener, Omni(), **kwargs)


def test_trajectory_points_are_accepted_directly() -> None:
    x = noise(500)
    points = [[0.0, [0.0, 1.0, 0.0]], [0.02, [1.0, 1.0, 0.0]]]
    a = render_moving(x, 16000, points, ORIGIN, Omni())
    b = render_moving(x, 16000, Trajectory.from_points(points), ORIGIN, Omni())
    np.testing.assert_array_equal(a, b)
    with pytest.raises(InvalidAudioError):
        render_moving(x, 0, points, ORIGIN, Omni())
