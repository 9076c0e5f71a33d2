"""Loudspeaker layouts, VBAP gains, the LFE channel and the Loudspeakers receiver."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.errors import InvalidAudioError, InvalidGeometryError, SoundstageError
from soundstage.geometry import azel_to_vector, sphere_grid
from soundstage.spatial.panning import (
    LAYOUTS,
    SPEAKER_BITS,
    Layout,
    Loudspeakers,
    _triangulation,
    add_lfe,
    get_layout,
    vbap_gains,
)

# Microsoft dwChannelMask values of the standard layouts (FFmpeg: stereo, 5.1(side), 7.1, 7.1.4).
EXPECTED = {
    "stereo": (("FL", "FR"), 0x3, None),
    "5.1": (("FL", "FR", "FC", "LFE", "SL", "SR"), 0x60F, 3),
    "7.1": (("FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"), 0x63F, 3),
    "7.1.4": (("FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR", "TFL", "TFR", "TBL", "TBR"), 0x2D63F, 3),
}
MIRROR = {"FL": "FR", "FR": "FL", "BL": "BR", "BR": "BL", "SL": "SR", "SR": "SL",
          "TFL": "TFR", "TFR": "TFL", "TBL": "TBR", "TBR": "TBL"}  # fmt: skip


def _gain(layout: Layout, gains: np.ndarray, label: str) -> np.ndarray:
    return gains[:, layout.labels.index(label)]


# --- layouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(EXPECTED))
def test_layout_channels_follow_mask_bit_order(name: str) -> None:
    layout = get_layout(name)
    labels, mask, lfe = EXPECTED[name]
    assert layout.labels == labels and layout.channel_mask == mask and layout.lfe == lfe
    bits = [SPEAKER_BITS[label] for label in layout.labels]
    assert bits == sorted(bits) and sum(bits) == mask
    assert layout.channels == bin(mask).count("1") == len(layout.azimuths) == len(layout.elevations)


def test_layout_angles_put_left_at_positive_azimuth() -> None:
    five = get_layout("5.1")
    assert dict(zip(five.labels, five.azimuths)) == {"FL": 30, "FR": -30, "FC": 0, "LFE": 0, "SL": 110, "SR": -110}
    seven = get_layout("7.1")
    assert dict(zip(seven.labels, seven.azimuths))["BL"] == 135 and dict(zip(seven.labels, seven.azimuths))["SR"] == -90
    assert five.directions[0, 0] < 0 < five.directions[1, 0]  # FL toward -x (left), FR toward +x
    heights = get_layout("7.1.4")
    assert heights.is_3d and not seven.is_3d
    assert all(heights.elevations[heights.labels.index(t)] == 45 for t in ("TFL", "TFR", "TBL", "TBR"))


def test_unknown_layout_names_the_known_ones() -> None:
    with pytest.raises(InvalidAudioError, match=r"'5\.1'.*'7\.1'"):
        get_layout("9.1")
    assert isinstance(pytest.raises(SoundstageError, get_layout, 51).value, InvalidAudioError)
    assert get_layout(LAYOUTS["7.1"]) is LAYOUTS["7.1"]


def test_layout_validation() -> None:
    with pytest.raises(InvalidGeometryError, match="bit"):
        Layout("bad", ("L", "R"), (30, -30), (0, 0), None, 0x7)
    with pytest.raises(InvalidGeometryError, match="same direction"):
        Layout("bad", ("A", "B", "C"), (30, 30, -30), (0, 0, 0), None, 0)
    with pytest.raises(InvalidGeometryError, match="labels"):
        Layout("bad", ("A", "B"), (30, -30, 0), (0, 0), None, 0)


# --- VBAP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_gains_are_non_negative_unit_energy_with_silent_lfe(name: str) -> None:
    layout = get_layout(name)
    gains = vbap_gains(layout, sphere_grid(3000))
    assert gains.shape == (3000, layout.channels)
    assert gains.min() >= 0.0
    np.testing.assert_allclose(np.sum(gains**2, axis=1), 1.0, atol=1e-12)
    if layout.lfe is not None:
        assert not np.any(gains[:, layout.lfe])
    assert np.all(np.count_nonzero(gains, axis=1) <= (4 if layout.is_3d else 2))


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_source_on_a_loudspeaker_drives_only_it(name: str) -> None:
    layout = get_layout(name)
    main = layout.main_channels
    gains = vbap_gains(layout, azel_to_vector(np.array(layout.azimuths)[main], np.array(layout.elevations)[main]))
    np.testing.assert_array_equal(gains, np.eye(layout.channels)[main])


def test_stereo_left_source_plays_only_left_and_back_is_a_crossfade() -> None:
    stereo = get_layout("stereo")
    np.testing.assert_array_equal(vbap_gains(stereo, azel_to_vector(30.0)), [[1.0, 0.0]])
    np.testing.assert_array_equal(vbap_gains(stereo, azel_to_vector(-30.0)), [[0.0, 1.0]])
    assert vbap_gains(stereo, azel_to_vector(10.0))[0, 0] > vbap_gains(stereo, azel_to_vector(-10.0))[0, 0]
    # Behind the pair: the 300 degree gap from L (+30) counter-clockwise to R (-30).
    az = np.array([60.0, 120.0, 180.0, -100.0])
    fraction = np.mod(az - 30.0, 360.0) / 300.0
    expected = np.column_stack([np.cos(0.5 * np.pi * fraction), np.sin(0.5 * np.pi * fraction)])
    np.testing.assert_allclose(vbap_gains(stereo, azel_to_vector(az)), expected, atol=1e-12)


def test_pair_between_fl_and_fc_follows_the_tangent_law() -> None:
    layout = get_layout("5.1")
    az = np.linspace(0.5, 29.5, 30)
    gains = vbap_gains(layout, azel_to_vector(az))
    # The FC-FL pair is symmetric about 15 deg with half-aperture 15 deg:
    # (g_FL - g_FC) / (g_FL + g_FC) = tan(az - 15) / tan(15), with g_FL^2 + g_FC^2 = 1.
    ratio = np.tan(np.radians(az - 15.0)) / np.tan(np.radians(15.0))
    norm = np.sqrt(2.0 * (1.0 + ratio**2))
    np.testing.assert_allclose(_gain(layout, gains, "FL"), (1 + ratio) / norm, atol=1e-12)
    np.testing.assert_allclose(_gain(layout, gains, "FC"), (1 - ratio) / norm, atol=1e-12)
    others = [c for c, lab in enumerate(layout.labels) if lab not in ("FL", "FC")]
    assert not np.any(gains[:, others])


def test_horizontal_layout_pans_elevated_sources_by_azimuth() -> None:
    az = np.linspace(-180, 180, 37)
    flat = vbap_gains("7.1", azel_to_vector(az, 0.0))
    np.testing.assert_allclose(vbap_gains("7.1", azel_to_vector(az, 50.0)), flat, atol=1e-12)
    np.testing.assert_allclose(vbap_gains("7.1", azel_to_vector(az, -70.0)), flat, atol=1e-12)


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_gains_change_continuously_with_direction(name: str) -> None:
    step = 0.05
    circle = np.arange(-180.0, 180.0 + step, step)
    paths = [azel_to_vector(circle, el) for el in (0.0, 25.0, 44.0, 60.0, -30.0)]
    paths += [azel_to_vector(az, np.arange(-89.0, 89.0, step)) for az in (0.0, 37.0, 180.0, -100.0)]
    for path in paths:
        jumps = np.abs(np.diff(vbap_gains(name, path), axis=0))
        assert jumps.max() < 5.0 * np.radians(step)


def _solid_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Solid angle of spherical triangles (Van Oosterom & Strackee 1983)."""
    triple = np.abs(np.einsum("ij,ij->i", a, np.cross(b, c)))
    denom = 1 + np.einsum("ij,ij->i", a, b) + np.einsum("ij,ij->i", b, c) + np.einsum("ij,ij->i", c, a)
    return 2 * np.arctan2(triple, denom)


def test_3d_triangles_cover_the_sphere_once() -> None:
    vertices, downmix, simplices, inverses = _triangulation(get_layout("7.1.4"))
    corners = vertices[simplices]
    total = _solid_angle(corners[:, 0], corners[:, 1], corners[:, 2]).sum()
    assert total == pytest.approx(4 * np.pi, rel=1e-12)
    weights = np.einsum("nk,tkj->ntj", sphere_grid(4000), inverses)
    assert np.all(weights.min(axis=2).max(axis=1) >= -1e-12)
    assert downmix.shape == (len(vertices), 12) and not np.any(downmix[:, 3])


def test_3d_gains_point_at_the_source_and_are_mirror_symmetric() -> None:
    layout = get_layout("7.1.4")
    directions = sphere_grid(3000)
    gains = vbap_gains(layout, directions)
    # Between the ear-level and the height ring, the gain-weighted speaker vectors point at the source.
    elevation = np.degrees(np.arcsin(directions[:, 2]))
    ring = (elevation >= 0) & (elevation <= 44)
    velocity = gains[ring] @ layout.directions
    cosine = np.einsum("ij,ij->i", velocity, directions[ring]) / np.linalg.norm(velocity, axis=1)
    np.testing.assert_allclose(cosine, 1.0, atol=1e-12)
    # Left/right mirror image swaps the left and right speakers.
    swap = [layout.labels.index(MIRROR.get(label, label)) for label in layout.labels]
    mirrored = vbap_gains(layout, directions * [-1.0, 1.0, 1.0])
    np.testing.assert_allclose(mirrored, gains[:, swap], atol=1e-12)
    # On the horizontal plane 7.1.4 pans like 7.1; straight up uses the four height speakers.
    az = np.linspace(-180, 180, 73)
    flat = vbap_gains(layout, azel_to_vector(az))
    np.testing.assert_allclose(flat[:, :8], vbap_gains("7.1", azel_to_vector(az)), atol=1e-12)
    np.testing.assert_allclose(vbap_gains(layout, [0.0, 0.0, 1.0])[0, 8:], 0.5, atol=1e-12)
    below = vbap_gains(layout, [0.0, 0.0, -1.0])[0]
    np.testing.assert_allclose(below[layout.main_channels[:7]], 7**-0.5, atol=1e-12)


def test_custom_layouts_and_bad_directions() -> None:
    quad = Layout("quad", ("FL", "FR", "BL", "BR"), (45, -45, 135, -135), (0, 0, 0, 0), None, 0x33)
    gains = vbap_gains(quad, azel_to_vector(np.linspace(-180, 180, 91)))
    np.testing.assert_allclose(np.sum(gains**2, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(vbap_gains(quad, azel_to_vector(90.0)), [[0.5**0.5, 0, 0.5**0.5, 0]], atol=1e-12)
    frontal = Layout("front", ("L", "R", "C", "H"), (30, -30, 0, 0), (0, 0, 0, 45), None, 0)
    with pytest.raises(InvalidGeometryError, match="surround"):
        vbap_gains(frontal, [0.0, 1.0, 0.0])
    with pytest.raises(InvalidGeometryError, match=r"\(n, 3\)"):
        vbap_gains("5.1", np.ones((4, 2)))
    with pytest.raises(InvalidGeometryError, match="zero length"):
        vbap_gains("5.1", np.zeros(3))


# --- LFE -------------------------------------------------------------------------------------


def _tone(freq: float, sr: int, seconds: float) -> np.ndarray:
    return np.sin(2 * np.pi * freq * np.arange(int(sr * seconds)) / sr)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def test_lfe_carries_only_the_low_end_at_minus_10_db() -> None:
    sr = 8000
    layout = get_layout("5.1")
    gains = vbap_gains(layout, azel_to_vector([20.0, 140.0]))
    low, high = _tone(50.0, sr, 1.0), _tone(1000.0, sr, 1.0)
    signals = gains.T @ np.stack([low, high])
    out = add_lfe(signals, layout, sr)
    main = layout.main_channels
    np.testing.assert_array_equal(out[main], signals[main])
    steady = slice(sr // 2, None)
    low_only = add_lfe(gains.T @ np.stack([low, 0 * high]), layout, sr)
    high_only = add_lfe(gains.T @ np.stack([0 * low, high]), layout, sr)
    low_sum = low_only[main].sum(axis=0)
    assert 20 * np.log10(_rms(low_only[3, steady]) / _rms(low_sum[steady])) == pytest.approx(-10.0, abs=0.05)
    assert 20 * np.log10(_rms(high_only[3, steady]) / _rms(high_only[main].sum(axis=0)[steady])) < -60.0
    np.testing.assert_allclose(out[3], low_only[3] + high_only[3], atol=1e-12)
    quiet = add_lfe(low_only, layout, sr, gain_db=-20.0)
    assert _rms(quiet[3, steady]) == pytest.approx(_rms(low_only[3, steady]) / 10**0.5, rel=1e-9)


def test_lfe_off_and_layouts_without_lfe() -> None:
    sr = 8000
    signals = np.random.default_rng(0).normal(size=(6, 2000))
    off = add_lfe(signals, "5.1", sr, gain_db=None)
    assert not np.any(off[3]) and np.array_equal(off[[0, 1, 2, 4, 5]], signals[[0, 1, 2, 4, 5]])
    stereo = signals[:2].astype(np.float32)
    same = add_lfe(stereo, "stereo", sr)
    assert same.dtype == np.float32 and np.array_equal(same, stereo) and same is not stereo
    with pytest.raises(InvalidAudioError, match=r"\(6, samples\)"):
        add_lfe(signals[:5], "5.1", sr)
    with pytest.raises(InvalidAudioError, match="cutoff"):
        add_lfe(signals, "5.1", sr, cutoff_hz=5000.0)
    with pytest.raises(InvalidAudioError, match="sample rate"):
        add_lfe(signals, "5.1", 0)


# --- receiver --------------------------------------------------------------------------------


def test_loudspeakers_receiver_gives_gains_and_honours_yaw() -> None:
    rig = Loudspeakers("5.1")
    assert rig.channels == 6 and rig.layout == "5.1" and rig.orientation == (0.0, 0.0, 0.0)
    filters, offsets = rig.head_response(sphere_grid(50), 48000)
    assert filters.shape == (50, 6, 1) and offsets.shape == (50, 6) and not np.any(offsets)
    np.testing.assert_array_equal(filters[:, :, 0], vbap_gains("5.1", sphere_grid(50)))
    assert rig.frequency_independent
    turned = Loudspeakers("5.1", yaw_deg=30.0)
    # Turned 30 deg to the left, the rig's centre faces world azimuth +30; world front is now its FR.
    np.testing.assert_allclose(turned.response(azel_to_vector(30.0), 48000)[0][0, :, 0], [0, 0, 1, 0, 0, 0], atol=1e-12)
    np.testing.assert_allclose(turned.response(azel_to_vector(0.0), 48000)[0][0, :, 0], [0, 1, 0, 0, 0, 0], atol=1e-12)
    mixing = rig.diffuse_mixing(48000, n_fft=16)
    power = np.real(np.einsum("fij,fij->fi", mixing, mixing.conj()))
    np.testing.assert_allclose(power.sum(axis=1), 1.0, atol=1e-9)
    assert np.all(power[:, 3] < 1e-12)
    with pytest.raises(InvalidGeometryError, match="orientation"):
        Loudspeakers("stereo", yaw_deg=float("nan"))
