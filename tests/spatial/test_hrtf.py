"""HRTF sets: SOFA reading, onset alignment, interpolation, resampling, the spherical head."""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy import fft as sfft

from soundstage.constants import SPEED_OF_SOUND
from soundstage.errors import FileFormatError, InvalidAudioError, InvalidGeometryError
from soundstage.geometry import azel_to_vector, sphere_grid, unit
from soundstage.spatial import hrtf as hrtf_module
from soundstage.spatial.hrtf import HRTF, default_hrtf, load_sofa, spherical_head_hrtf

KEMAR = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")
needs_kemar = pytest.mark.skipif(not KEMAR.is_file(), reason="MIT KEMAR SOFA file not installed")


@pytest.fixture(scope="module")
def kemar() -> HRTF:
    return load_sofa(KEMAR)


@pytest.fixture(scope="module")
def sphere() -> HRTF:
    return spherical_head_hrtf(48000)


def _write_sofa(path: Path, ir: np.ndarray, positions: np.ndarray, *, sr: float = 48000.0,
                convention: str = "SimpleFreeFieldHRIR", kind: str = "spherical",
                receivers: np.ndarray | None = None, delay: np.ndarray | None = None) -> None:
    with h5py.File(path, "w") as f:
        f.attrs["Conventions"] = "SOFA"
        f.attrs["SOFAConventions"] = convention
        f.create_dataset("Data.IR", data=ir)
        f.create_dataset("Data.SamplingRate", data=[sr])
        f.create_dataset("Data.Delay", data=np.zeros((1, 2)) if delay is None else delay)
        src = f.create_dataset("SourcePosition", data=positions)
        src.attrs["Type"] = kind
        src.attrs["Units"] = "degree, degree, metre" if kind == "spherical" else "metre"
        rec = f.create_dataset("ReceiverPosition", data=np.array([[0, 0.09, 0], [0, -0.09, 0]])[..., None]
                               if receivers is None else receivers)
        rec.attrs["Type"] = "cartesian"


def _synthetic_set(n: int = 256):
    """A small set: 26 directions, each ear one shaped pulse at a known fractional delay."""
    az, el = np.meshgrid(np.arange(0.0, 360.0, 45.0), [-45.0, 0.0, 45.0])
    az, el = np.r_[az.ravel(), 0.0, 0.0], np.r_[el.ravel(), 90.0, -90.0]
    x = azel_to_vector(az, el)[:, 0]
    delays = np.stack([40.0 + 12.3 * x, 40.0 - 12.3 * x], axis=1)  # left ear (at -x) first for x < 0
    t = np.arange(n) - delays[..., None]  # a smooth (band-limited) pulse with an echo, sampled late
    ir = np.exp(-((t / 1.5) ** 2)) - 0.5 * np.exp(-(((t - 3) / 1.5) ** 2)) + 0.3 * np.exp(-(((t - 9) / 2) ** 2))
    return ir, np.stack([az, el, np.full_like(az, 1.5)], axis=1), delays


def _band_power(filters: np.ndarray, sr: int, lo: float, hi: float) -> np.ndarray:
    nfft = 4096
    freqs = np.arange(nfft // 2 + 1) * sr / nfft
    return np.mean(np.abs(sfft.rfft(filters, nfft)[..., (freqs >= lo) & (freqs <= hi)]) ** 2, axis=-1)


@needs_kemar
def test_kemar_loads_with_its_directions(kemar: HRTF) -> None:
    assert kemar.sr == 44100 and kemar.filters.shape == (710, 2, 220) and kemar.onsets.shape == (710, 2)
    with h5py.File(KEMAR) as f:
        pos = f["SourcePosition"][()]
    np.testing.assert_allclose(kemar.directions, azel_to_vector(pos[:, 0], pos[:, 1]), atol=1e-12)
    assert kemar.elevations.min() == pytest.approx(-40.0) and kemar.elevations.max() == pytest.approx(90.0)
    assert kemar.onsets.min() == 0.0 and kemar.latency == pytest.approx(0.00025 * 44100)


@needs_kemar
def test_kemar_interaural_delay_at_the_left(kemar: HRTF) -> None:
    i = np.argmin(np.linalg.norm(kemar.directions - azel_to_vector(90.0, 0.0), axis=1))
    itd = (kemar.onsets[i, 1] - kemar.onsets[i, 0]) / kemar.sr
    assert 0.55e-3 < itd < 0.75e-3


def test_synthetic_sofa_onsets_order_and_delay(tmp_path: Path) -> None:
    ir, pos, delays = _synthetic_set()
    # Receiver 0 is the right ear here (SOFA y < 0), with its own file delay.
    receivers = np.array([[0, -0.09, 0], [0, 0.09, 0]])[..., None]
    path = tmp_path / "set.sofa"
    _write_sofa(path, ir[:, ::-1], pos, receivers=receivers, delay=np.array([[3.0, 1.0]]))
    h = load_sofa(path)
    np.testing.assert_allclose(h.directions, azel_to_vector(pos[:, 0], pos[:, 1]), atol=1e-12)
    total = delays + [1.0, 3.0]
    np.testing.assert_allclose(h.onsets, total - total.min(), atol=0.02)
    # The aligned filters are one and the same pulse.
    assert np.abs(h.filters - h.filters[0, 0]).max() < 0.01 * np.abs(h.filters).max()
    # Putting the onsets back gives the right interaural lag (cross-correlation peak).
    lateral = np.argmax(np.abs(h.onsets[:, 1] - h.onsets[:, 0]))
    left, right = h.impulse_responses(h.directions[lateral])[0]
    n = 4 * len(left)
    cross = sfft.irfft(sfft.rfft(right, n) * np.conj(sfft.rfft(left, n)), n, axis=-1)
    cross = np.roll(cross, n // 2)
    k = np.argmax(cross)
    lag = k - n // 2 + 0.5 * (cross[k - 1] - cross[k + 1]) / (cross[k - 1] - 2 * cross[k] + cross[k + 1])
    assert lag == pytest.approx(total[lateral, 1] - total[lateral, 0], abs=0.15)


def test_cartesian_source_positions(tmp_path: Path) -> None:
    ir, pos, _ = _synthetic_set()
    az, el = np.radians(pos[:, 0]), np.radians(pos[:, 1])
    sofa_xyz = 1.5 * np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=1)  # x front, y left
    _write_sofa(tmp_path / "c.sofa", ir, sofa_xyz, kind="cartesian")
    h = load_sofa(tmp_path / "c.sofa")
    np.testing.assert_allclose(h.directions, azel_to_vector(pos[:, 0], pos[:, 1]), atol=1e-12)


def test_wrong_convention_is_rejected(tmp_path: Path) -> None:
    ir, pos, _ = _synthetic_set()
    _write_sofa(tmp_path / "fir.sofa", ir, pos, convention="GeneralFIR")
    with pytest.raises(FileFormatError, match="GeneralFIR.*SimpleFreeFieldHRIR"):
        load_sofa(tmp_path / "fir.sofa")


def test_unreadable_files_are_rejected(tmp_path: Path) -> None:
    text = tmp_path / "notes.sofa"
    text.write_text("not a netCDF file\n")
    with pytest.raises(FileFormatError, match="notes.sofa"):
        load_sofa(text)
    with pytest.raises(FileFormatError, match="missing.sofa"):
        load_sofa(tmp_path / "missing.sofa")
    ir, pos, _ = _synthetic_set()
    _write_sofa(tmp_path / "short.sofa", ir, pos[:5])
    with pytest.raises(FileFormatError, match="source positions"):
        load_sofa(tmp_path / "short.sofa")


def _left_source_checks(h: HRTF) -> None:
    filters, onsets = h.lookup(azel_to_vector(60.0, 0.0))
    assert onsets[0, 0] + 5e-5 * h.sr < onsets[0, 1]  # left ear at least 50 us earlier
    high = _band_power(filters[0], h.sr, 1000.0, 0.45 * h.sr)
    assert high[0] > 2.0 * high[1]


@needs_kemar
def test_kemar_source_on_the_left(kemar: HRTF) -> None:
    _left_source_checks(kemar)


def test_spherical_head_source_on_the_left(sphere: HRTF) -> None:
    _left_source_checks(sphere)


def test_spherical_head_itd_is_woodworths(sphere: HRTF) -> None:
    azimuths = np.arange(0.0, 90.1, 7.5)  # half of them between grid points
    _, onsets = sphere.lookup(azel_to_vector(azimuths, 0.0))
    itd = (onsets[:, 1] - onsets[:, 0]) / sphere.sr
    assert itd[0] == pytest.approx(0.0, abs=1e-9) and np.all(np.diff(itd) > 0)
    theta = np.radians(azimuths)
    woodworth = 0.0875 / SPEED_OF_SOUND * (theta + np.sin(theta))
    np.testing.assert_allclose(itd, woodworth, atol=5e-6)
    np.testing.assert_allclose(itd[::2], woodworth[::2], atol=1e-9)  # measured grid points are exact


def test_spherical_head_shadow(sphere: HRTF) -> None:
    """Facing an ear: +6 dB at high frequency; deepest shadow near 150 deg from the ear: -20 dB; 0 dB at DC."""
    filters, _ = sphere.lookup(azel_to_vector([100.0, 100.0 - 150.0], 0.0))
    gain = np.sqrt(_band_power(filters[:, 0], sphere.sr, 20000.0, 23000.0) / _band_power(filters[:, 0], sphere.sr, 0.0, 30.0))
    np.testing.assert_allclose(20 * np.log10(gain), [6.0, -20.0], atol=0.6)


@pytest.mark.parametrize("which", ["kemar", "sphere"])
def test_lookup_at_measured_directions_is_exact(which: str, request: pytest.FixtureRequest) -> None:
    if which == "kemar" and not KEMAR.is_file():
        pytest.skip("MIT KEMAR SOFA file not installed")
    h = request.getfixturevalue(which)
    filters, onsets = h.lookup(h.directions * 2.0)
    np.testing.assert_array_equal(filters, h.filters)
    np.testing.assert_array_equal(onsets, h.onsets)


@pytest.mark.parametrize("which", ["kemar", "sphere"])
def test_lookup_weights_are_the_enclosing_triangle(which: str, request: pytest.FixtureRequest) -> None:
    """Against a brute-force search: non-negative weights of three vertices whose mix points along the ray."""
    if which == "kemar" and not KEMAR.is_file():
        pytest.skip("MIT KEMAR SOFA file not installed")
    h = request.getfixturevalue(which)
    d = unit(np.random.default_rng(3).normal(size=(500, 3)))
    d[:50, 2] = -np.abs(d[:50, 2]) - 2.0  # steeply downward, into any gap below the set
    d = unit(d)
    vertices, weights = h._mesh.weights(d)
    assert np.all(weights >= 0) and np.allclose(weights.sum(axis=1), 1.0)
    mixed = np.einsum("nk,nkj->nj", weights, h.directions[vertices])
    np.testing.assert_allclose(unit(mixed), d, atol=1e-9)
    # Brute force: the same triangle is found by testing every face of the hull.
    for i in range(0, 500, 50):
        hits = [t for t in h._mesh.triangles if np.all(np.linalg.solve(h.directions[t].T, d[i]) >= -1e-9)]
        assert any(set(t) >= set(vertices[i][weights[i] > 1e-9]) for t in hits)


@needs_kemar
def test_lookup_halfway_between_neighbours(kemar: HRTF) -> None:
    a = np.argmin(np.linalg.norm(kemar.directions - azel_to_vector(30.0, 0.0), axis=1))
    b = np.argmin(np.linalg.norm(kemar.directions - azel_to_vector(35.0, 0.0), axis=1))
    filters, onsets = kemar.lookup(kemar.directions[a] + kemar.directions[b])
    lo, hi = np.minimum(kemar.onsets[a], kemar.onsets[b]), np.maximum(kemar.onsets[a], kemar.onsets[b])
    assert np.all(lo < onsets[0]) and np.all(onsets[0] < hi)
    np.testing.assert_allclose(onsets[0], (kemar.onsets[a] + kemar.onsets[b]) / 2, atol=1e-9)
    np.testing.assert_allclose(filters[0], (kemar.filters[a] + kemar.filters[b]) / 2, atol=1e-12)


@needs_kemar
def test_resampling_keeps_the_itd_in_seconds(kemar: HRTF) -> None:
    up = kemar.resampled(48000)
    assert up is kemar.resampled(48000) and kemar.resampled(44100) is kemar
    assert up.sr == 48000 and up.filters.shape[-1] == round(220 * 48000 / 44100)
    np.testing.assert_allclose(up.onsets / 48000, kemar.onsets / 44100, atol=1e-12)
    # The filters keep their spectrum below the old Nyquist frequency.
    before, after = _band_power(kemar.filters[::50], 44100, 500, 15000), _band_power(up.filters[::50], 48000, 500, 15000)
    np.testing.assert_allclose(after, before, rtol=0.02)


@pytest.mark.parametrize("which", ["kemar", "sphere"])
def test_level_convention(which: str, request: pytest.FixtureRequest) -> None:
    if which == "kemar" and not KEMAR.is_file():
        pytest.skip("MIT KEMAR SOFA file not installed")
    h = request.getfixturevalue(which)
    filters, _ = h.lookup(sphere_grid(1500))
    assert np.mean(_band_power(filters, h.sr, 200.0, 800.0)) == pytest.approx(1.0, rel=0.03)
    # Sensible: straight ahead the head is nearly transparent at these frequencies.
    front, _ = h.lookup(azel_to_vector(0.0, 0.0))
    assert 0.5 < np.mean(_band_power(front, h.sr, 200.0, 800.0)) < 2.0


def test_impulse_responses_put_integer_onsets_back() -> None:
    dirs = np.concatenate([np.eye(3), -np.eye(3)])
    filters = np.random.default_rng(0).normal(size=(6, 2, 16))
    onsets = np.arange(12, dtype=float).reshape(6, 2) * 3
    h = HRTF(dirs, filters, onsets, 16000, "test")
    irs = h.impulse_responses(dirs)
    for i in range(6):
        for ear in range(2):
            start = int(onsets[i, ear])
            np.testing.assert_allclose(irs[i, ear, start : start + 16], filters[i, ear], atol=1e-12)
            assert np.sum(irs[i, ear] ** 2) == pytest.approx(np.sum(filters[i, ear] ** 2), rel=1e-12)


def test_invalid_sets_are_rejected() -> None:
    ring = azel_to_vector(np.arange(0.0, 360.0, 30.0), 0.0)
    with pytest.raises(InvalidGeometryError, match="triangulated"):
        HRTF(ring, np.zeros((12, 2, 8)), np.zeros((12, 2)), 48000, "flat")
    upper = azel_to_vector(np.arange(0.0, 360.0, 30.0), 30.0)
    with pytest.raises(InvalidGeometryError, match="hemisphere"):
        HRTF(np.r_[upper, [[0.0, 0.0, 1.0]]], np.zeros((13, 2, 8)), np.zeros((13, 2)), 48000, "upper")
    dirs = np.concatenate([np.eye(3), -np.eye(3)])
    with pytest.raises(InvalidAudioError, match="filters"):
        HRTF(dirs, np.zeros((6, 3, 8)), np.zeros((6, 2)), 48000, "bad")
    with pytest.raises(InvalidAudioError, match="onsets"):
        HRTF(dirs, np.zeros((6, 2, 8)), -np.ones((6, 2)), 48000, "bad")
    with pytest.raises(InvalidAudioError, match="sample rate"):
        HRTF(dirs, np.zeros((6, 2, 8)), np.zeros((6, 2)), 48000, "ok").resampled(0)


def test_default_hrtf_falls_back_to_the_spherical_head(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("SOUNDSTAGE_HRTF", raising=False)
    monkeypatch.setattr(hrtf_module, "DEFAULT_SOFA", str(tmp_path / "absent.sofa"))
    with caplog.at_level(logging.WARNING, logger="soundstage.spatial.hrtf"):
        h = default_hrtf(32000)
    assert h.name == "spherical head (Brown & Duda 1998)" and h.sr == 32000
    assert "absent.sofa" in caplog.text and "SOUNDSTAGE_HRTF" in caplog.text


def test_default_hrtf_explicit_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOUNDSTAGE_HRTF", str(tmp_path / "missing.sofa"))
    with pytest.raises(FileFormatError, match="SOUNDSTAGE_HRTF"):
        default_hrtf()
    ir, pos, _ = _synthetic_set()
    _write_sofa(tmp_path / "mine.sofa", ir, pos)
    monkeypatch.setenv("SOUNDSTAGE_HRTF", str(tmp_path / "mine.sofa"))
    h = default_hrtf()
    assert h.name.endswith("mine.sofa") and len(h.directions) == 26 and default_hrtf() is h
    assert default_hrtf(16000) is h.resampled(16000)


@needs_kemar
def test_default_hrtf_is_kemar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOUNDSTAGE_HRTF", raising=False)
    h = default_hrtf()
    assert Path(h.name).resolve() == KEMAR.resolve() and len(h.directions) == 710
