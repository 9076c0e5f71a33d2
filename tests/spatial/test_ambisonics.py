"""AmbiX ambisonics: harmonics, encoding, rotation, loudspeaker and binaural decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import fft as sfft
from scipy.signal import correlate
from scipy.special import eval_legendre

from soundstage.errors import InvalidAudioError, InvalidGeometryError, SoundstageError
from soundstage.geometry import azel_to_vector, rotation_matrix, sphere_grid, vector_to_azel
from soundstage.spatial.ambisonics import (
    Ambisonics,
    acn_degrees,
    binaural_decoder,
    decode_binaural,
    decode_to_layout,
    decoder_matrix,
    encode,
    magls_cutoff,
    rotate,
    sh_matrix,
    sh_rotation,
)
from soundstage.spatial.panning import Layout, get_layout

KEMAR = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")
SR = 48000


def random_directions(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos = np.sum(a * b, axis=-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def energy_vector(gains: np.ndarray, layout: Layout) -> np.ndarray:
    """rE = sum g^2 u / sum g^2 for gains ``(n, channels)``."""
    power = gains**2
    return power @ layout.directions / power.sum(axis=1, keepdims=True)


def uniform_layout(n: int) -> Layout:
    az, el = vector_to_azel(sphere_grid(n))
    return Layout(f"uniform{n}", tuple(f"S{i}" for i in range(n)), tuple(az), tuple(el), None, 0)


# --- spherical harmonics ---------------------------------------------------------------


def test_harmonics_match_closed_forms_up_to_order_3() -> None:
    d = random_directions(50)
    az, el = (np.radians(a) for a in vector_to_azel(d))
    s3 = np.sqrt(3.0) / 2.0
    expected = np.stack([
        np.ones_like(az), np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el),  # W Y Z X
        s3 * np.cos(el) ** 2 * np.sin(2 * az), s3 * np.sin(2 * el) * np.sin(az),  # V T
        (3 * np.sin(el) ** 2 - 1) / 2, s3 * np.sin(2 * el) * np.cos(az), s3 * np.cos(el) ** 2 * np.cos(2 * az),  # R S U
    ], axis=1)  # fmt: skip
    y = sh_matrix(3, d)
    np.testing.assert_allclose(y[:, :9], expected, atol=1e-12)
    np.testing.assert_allclose(y[:, 9], np.sqrt(5 / 8) * np.cos(el) ** 3 * np.sin(3 * az), atol=1e-12)
    np.testing.assert_allclose(y[:, 12], np.sin(el) * (5 * np.sin(el) ** 2 - 3) / 2, atol=1e-12)
    np.testing.assert_allclose(y[:, 15], np.sqrt(5 / 8) * np.cos(el) ** 3 * np.cos(3 * az), atol=1e-12)
    # first order in Cartesian form: a source on the left (-x) is positive in Y
    np.testing.assert_allclose(y[:, 1:4], np.stack([-d[:, 0], d[:, 2], d[:, 1]], axis=1), atol=1e-12)


def test_addition_theorem_holds_for_every_degree_up_to_7() -> None:
    u, v = random_directions(30, 1), random_directions(30, 2)
    yu, yv, deg = sh_matrix(7, u), sh_matrix(7, v), acn_degrees(7)
    for n in range(8):  # SN3D: sum_m Y_nm(u) Y_nm(v) = P_n(u . v)
        np.testing.assert_allclose(np.sum(yu[:, deg == n] * yv[:, deg == n], axis=1),
                                   eval_legendre(n, np.sum(u * v, axis=1)), atol=1e-10)  # fmt: skip


def test_diffuse_field_gives_uncorrelated_channels_of_power_one_over_2n_plus_1() -> None:
    mixing = Ambisonics(3).diffuse_mixing(SR, 64)[0].real
    cross = mixing @ mixing.T
    np.testing.assert_allclose(cross, np.diag(1.0 / (2 * acn_degrees(3) + 1)), atol=2e-4)


# --- encoding and rotation ---------------------------------------------------------------


def test_encode_single_source_and_superposition() -> None:
    rng = np.random.default_rng(3)
    sig, dirs = rng.normal(size=(3, 100)), random_directions(3, 4)
    field = encode(sig, dirs, 2)
    assert field.shape == (9, 100)
    singles = sum(encode(sig[i], dirs[i], 2) for i in range(3))
    np.testing.assert_allclose(field, singles, atol=1e-12)
    np.testing.assert_allclose(encode(sig[0], dirs[0], 2), np.outer(sh_matrix(2, dirs[0])[0], sig[0]))


def test_bad_inputs_raise_with_the_expected_values_named() -> None:
    with pytest.raises(InvalidAudioError, match="0..7"):
        Ambisonics(8)
    with pytest.raises(InvalidAudioError, match="0..7"):
        sh_matrix(-1, [0, 1, 0])
    with pytest.raises(InvalidGeometryError, match=r"\(2, 3\)"):
        encode(np.zeros((2, 10)), [0, 1, 0], 1)
    with pytest.raises(InvalidAudioError, match=r"\(order \+ 1\)\*\*2"):
        rotate(np.zeros((5, 10)), 30)
    with pytest.raises(InvalidAudioError, match="max-re"):
        decoder_matrix(1, "5.1", weighting="in-phase")
    with pytest.raises(SoundstageError, match="magls"):
        binaural_decoder(1, None, SR, method="nearest")
    with pytest.raises(InvalidAudioError, match="HRTF"):
        binaural_decoder(1, None, SR)
    with pytest.raises(InvalidGeometryError, match="finite"):
        sh_rotation(2, float("nan"))
    with pytest.raises(InvalidGeometryError):
        sh_matrix(1, [0, 0, 0])


def test_rotation_moves_encodings_exactly_at_every_order() -> None:
    d = random_directions(40, 5)
    for order, angles in [(1, (30, 0, 0)), (3, (20, -35, 50)), (7, (-120, 10, 75))]:
        rot = rotation_matrix(*angles)
        moved = rotate(sh_matrix(order, d).T, *angles)
        np.testing.assert_allclose(moved, sh_matrix(order, d @ rot.T).T, atol=1e-10)
        m = sh_rotation(order, *angles)
        np.testing.assert_allclose(m @ m.T, np.eye(len(m)), atol=1e-10)  # orthogonal: M.T undoes it
        deg = acn_degrees(order)
        assert np.all(m[deg[:, None] != deg[None, :]] == 0.0)  # block diagonal by degree


def test_rotations_compose_like_the_3d_rotations() -> None:
    d = random_directions(20, 6)
    a, b = (25.0, 40.0, -10.0), (-70.0, 15.0, 30.0)
    both = sh_rotation(3, *a) @ sh_rotation(3, *b)
    composed = rotation_matrix(*a) @ rotation_matrix(*b)
    np.testing.assert_allclose(both @ sh_matrix(3, d).T, sh_matrix(3, d @ composed.T).T, atol=1e-10)
    np.testing.assert_allclose(sh_rotation(3, *a).T @ rotate(sh_matrix(3, d).T, *a), sh_matrix(3, d).T, atol=1e-10)


def test_yaw_pitch_roll_turn_the_front_left_up_and_the_right_down() -> None:
    front, right, left = azel_to_vector(0, 0), azel_to_vector(-90, 0), azel_to_vector(90, 0)
    np.testing.assert_allclose(rotate(encode([1.0], front, 3), 90)[:, 0], sh_matrix(3, left)[0], atol=1e-10)
    np.testing.assert_allclose(rotate(sh_matrix(3, front)[0], 0, 90), sh_matrix(3, [0, 0, 1])[0], atol=1e-10)
    np.testing.assert_allclose(rotate(sh_matrix(3, right)[0], 0, 0, 90), sh_matrix(3, [0, 0, -1])[0], atol=1e-10)


def test_ambisonics_receiver_is_an_oriented_sh_microphone() -> None:
    mic = Ambisonics(3, yaw_deg=90)
    assert (mic.channels, mic.layout, mic.frequency_independent) == (16, "ambix3", True)
    d = random_directions(10, 7)
    filters, offsets = mic.response(d, SR)
    assert filters.shape == (10, 16, 1) and not np.any(offsets)
    np.testing.assert_allclose(filters[:, :, 0], (sh_rotation(3, 90).T @ sh_matrix(3, d).T).T, atol=1e-10)
    # a head turned to the left hears a frontal source on its right
    heard = mic.response(azel_to_vector(0, 0), SR)[0][0, :, 0]
    np.testing.assert_allclose(heard, sh_matrix(3, azel_to_vector(-90, 0))[0], atol=1e-10)


# --- loudspeaker decoding ---------------------------------------------------------------


def test_energy_vector_points_at_the_source_on_a_dense_uniform_layout() -> None:
    layout, src = uniform_layout(100), random_directions(200, 8)
    r_max = energy_vector((decoder_matrix(3, layout) @ sh_matrix(3, src).T).T, layout)
    r_basic = energy_vector((decoder_matrix(3, layout, weighting="basic") @ sh_matrix(3, src).T).T, layout)
    assert angle_between(r_max, src).max() < 5.0
    # max-rE reaches the theoretical |rE| = cos(137.9 deg / (N + 1.51)) and beats the basic decoder
    np.testing.assert_allclose(np.linalg.norm(r_max, axis=1), np.cos(np.radians(137.9 / 4.51)), atol=0.02)
    assert np.linalg.norm(r_basic, axis=1).mean() < np.linalg.norm(r_max, axis=1).mean() - 0.03


def test_energy_vector_on_7_1_4_follows_the_source() -> None:
    layout = get_layout("7.1.4")
    az = np.arange(-90.0, 91.0, 10.0)
    src = np.concatenate([azel_to_vector(az, 0.0 * az), azel_to_vector([45.0, -45.0, 135.0, -135.0], 45.0)])
    r = energy_vector((decoder_matrix(3, layout) @ sh_matrix(3, src).T).T, layout)
    (src_az, src_el), (r_az, r_el) = vector_to_azel(src), vector_to_azel(r)
    assert np.abs((r_az - src_az + 180) % 360 - 180).max() < 5.0
    # with no loudspeakers below the horizon the image rises a few degrees, never more than 8
    assert np.abs(r_el - src_el).max() < 8.0


def test_decoder_level_lfe_and_front_left_source_on_5_1() -> None:
    layout = get_layout("5.1")
    for weighting in ("max-re", "basic"):
        d = decoder_matrix(3, layout, weighting=weighting)
        assert d.shape == (6, 16) and np.all(d[layout.lfe] == 0.0)
        probe = d @ sh_matrix(3, sphere_grid(1000)).T
        assert abs(np.mean(np.sum(probe**2, axis=0)) - 1.0) < 0.01  # unit energy on average, like VBAP
    sig = np.random.default_rng(9).normal(size=2000)
    feeds = decode_to_layout(encode(sig, azel_to_vector(30, 0), 3), "5.1")
    energy = np.sum(feeds**2, axis=1)
    assert np.argmax(energy) == layout.labels.index("FL")
    assert energy[layout.labels.index("FL")] > 0.5 * energy.sum()
    assert energy[layout.labels.index("FL")] > 4 * energy[layout.labels.index("FR")]


# --- binaural decoding ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sphere_head():
    from soundstage.spatial.hrtf import spherical_head_hrtf

    return spherical_head_hrtf(SR)


@pytest.fixture(scope="module")
def kemar():
    from soundstage.spatial.hrtf import load_sofa

    return load_sofa(KEMAR)


HRTFS = ["sphere_head", pytest.param("kemar", marks=pytest.mark.skipif(not KEMAR.exists(), reason="no KEMAR file"))]


def band_energy(x: np.ndarray, low: float, high: float = SR / 2) -> np.ndarray:
    spectrum = np.abs(sfft.rfft(x, axis=-1)) ** 2
    freqs = sfft.rfftfreq(x.shape[-1], 1 / SR)
    return spectrum[..., (freqs >= low) & (freqs < high)].sum(axis=-1)


def low_pass(x: np.ndarray, cutoff: float) -> np.ndarray:
    spectrum = sfft.rfft(x, axis=-1)
    spectrum[..., sfft.rfftfreq(x.shape[-1], 1 / SR) > cutoff] = 0.0
    return sfft.irfft(spectrum, x.shape[-1], axis=-1)


def hrtf_spectra(hrtf, directions: np.ndarray, n: int) -> np.ndarray:
    """Transfer functions ``(n_dirs, 2, n // 2 + 1)``: aligned filters delayed by their onsets (phase shift)."""
    filters, onsets = hrtf.resampled(SR).lookup(directions)
    phase = np.exp(-2j * np.pi * np.arange(n // 2 + 1) * onsets[..., None] / n)
    return sfft.rfft(filters, n, axis=-1) * phase


@pytest.mark.parametrize("name", HRTFS)
@pytest.mark.parametrize("method", ["magls", "virtual"])
def test_left_source_is_louder_and_earlier_at_the_left_ear(name: str, method: str, request) -> None:
    hrtf = request.getfixturevalue(name)
    noise = np.random.default_rng(10).normal(size=SR // 4)
    left, right = decode_binaural(encode(noise, azel_to_vector(90, 0), 3), SR, hrtf=hrtf, method=method)
    assert left.shape == noise.shape
    assert band_energy(left, 1000) > 4 * band_energy(right, 1000)  # > 6 dB above 1 kHz
    # interaural time difference, carried below 1.5 kHz
    lags = np.arange(-len(noise) + 1, len(noise))
    lag = lags[np.argmax(correlate(low_pass(right, 1500), low_pass(left, 1500)))]  # right = left delayed by `lag`
    itd = 0.0875 / 343.0 * (np.pi / 2 + 1) * SR  # Woodworth, 31.5 samples
    assert 0.75 * itd < lag < 1.25 * itd


def test_low_frequencies_match_rendering_with_the_hrtf(sphere_head) -> None:
    noise = np.random.default_rng(11).normal(size=SR // 4)
    n = 2 * len(noise)
    for d in random_directions(4, 12):
        direct = sfft.irfft(sfft.rfft(noise, n) * hrtf_spectra(sphere_head, d, n)[0], n)[:, : len(noise)]
        decoded = decode_binaural(encode(noise, d, 3), SR, hrtf=sphere_head)
        error = band_energy(decoded - direct, 50, 1000).sum() / band_energy(direct, 50, 1000).sum()
        assert error < 0.005  # -23 dB: below the MagLS cutoff the decoder is the least-squares fit


@pytest.mark.parametrize("name", HRTFS)
def test_magls_fits_hrtf_magnitudes_above_the_cutoff_better_than_least_squares(name: str, request) -> None:
    hrtf = request.getfixturevalue(name)
    d, n = sphere_grid(200), 4096
    target = hrtf_spectra(hrtf, d, n)
    freqs = sfft.rfftfreq(n, 1 / SR)
    above, below = (freqs > magls_cutoff(3)) & (freqs < 16000), (freqs > 50) & (freqs < 0.8 * magls_cutoff(3))
    errors, spectra = {}, {}
    for method in ("magls", "ls"):
        filters = binaural_decoder(3, hrtf, SR, method=method)
        assert filters.shape[:2] == (2, 16)
        spectra[method] = sfft.rfft(filters, n, axis=-1)
        fitted = np.einsum("pk,ekf->pef", sh_matrix(3, d), spectra[method])
        errors[method] = np.mean(np.abs(20 * np.log10(np.abs(fitted[..., above]) / np.abs(target[..., above]))))
    assert errors["magls"] < 0.4 * errors["ls"] and errors["magls"] < 4.0  # mean |dB error|
    # below the cutoff MagLS is the least-squares solution
    diff = np.linalg.norm(spectra["magls"][..., below] - spectra["ls"][..., below])
    assert diff < 0.03 * np.linalg.norm(spectra["ls"][..., below])


def test_decode_binaural_uses_the_default_hrtf(sphere_head, monkeypatch) -> None:
    import soundstage.spatial.hrtf as hrtf_module

    monkeypatch.setattr(hrtf_module, "default_hrtf", lambda sr=None: sphere_head)
    field = encode(np.random.default_rng(13).normal(size=2000), azel_to_vector(40, 10), 2)
    np.testing.assert_array_equal(decode_binaural(field, SR), decode_binaural(field, SR, hrtf=sphere_head))
    with pytest.raises(InvalidAudioError, match=r"\(K, samples\)"):
        decode_binaural(field[:, 0], SR)
