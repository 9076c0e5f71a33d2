"""The binaural receiver: HRTF lookups in the head frame, head orientation, diffuse field, room rendering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from soundstage.acoustics import Room, synthesize_rir
from soundstage.acoustics.receiver import Receiver
from soundstage.errors import InvalidAudioError, InvalidGeometryError
from soundstage.geometry import azel_to_vector
from soundstage.spatial import hrtf as hrtf_module
from soundstage.spatial.binaural import Binaural
from soundstage.spatial.hrtf import HRTF, load_sofa, spherical_head_hrtf

KEMAR = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")


@pytest.fixture(scope="module")
def sphere() -> HRTF:
    return spherical_head_hrtf(48000)


@pytest.fixture(scope="module", params=["sphere", "kemar"])
def any_hrtf(request: pytest.FixtureRequest, sphere: HRTF) -> HRTF:
    if request.param == "sphere":
        return sphere
    if not KEMAR.is_file():
        pytest.skip("MIT KEMAR SOFA file not installed")
    return load_sofa(KEMAR)


def test_binaural_is_a_hashable_two_channel_receiver(sphere: HRTF) -> None:
    b = Binaural(sphere)
    assert isinstance(b, Receiver) and b.channels == 2 and b.layout == "binaural"
    assert b.orientation == (0.0, 0.0, 0.0) and len({b, Binaural(sphere)}) == 2
    assert not b.frequency_independent


def test_head_response_is_the_resampled_lookup(sphere: HRTF) -> None:
    b = Binaural(sphere)
    d = azel_to_vector([0.0, 37.0, -120.0], [0.0, 20.0, -30.0])
    filters, onsets = b.head_response(d, 16000)
    expected = sphere.resampled(16000).lookup(d)
    np.testing.assert_array_equal(filters, expected[0])
    np.testing.assert_array_equal(onsets, expected[1])
    assert filters.shape == (3, 2, 80) and sphere.resampled(16000) is sphere.resampled(16000)
    np.testing.assert_allclose(onsets / 16000, sphere.lookup(d)[1] / 48000, atol=1e-12)


def test_turned_head_hears_the_source_in_front(any_hrtf: HRTF) -> None:
    """Turned 90 deg left, a source at world azimuth 90 is straight ahead: equal onsets."""
    turned = Binaural(any_hrtf, yaw_deg=90.0)
    filters, onsets = turned.response(azel_to_vector(90.0, 0.0), any_hrtf.sr)
    front = any_hrtf.lookup(azel_to_vector(0.0, 0.0))
    assert onsets[0, 0] == pytest.approx(onsets[0, 1], abs=0.05)
    np.testing.assert_allclose(onsets, front[1], atol=1e-9)
    np.testing.assert_allclose(filters, front[0], atol=1e-9)
    # Turned right instead, the source straight ahead in the world is on the head's left.
    _, onsets = Binaural(any_hrtf, yaw_deg=-90.0).response(azel_to_vector(0.0, 0.0), any_hrtf.sr)
    assert onsets[0, 0] + 0.4e-3 * any_hrtf.sr < onsets[0, 1]


def test_diffuse_field_coherence_and_level(sphere: HRTF) -> None:
    """Two ears ~17 cm apart: coherent at low frequency, incoherent above ~1 kHz; unit power at 200-800 Hz."""
    sr, n_fft = 16000, 512
    mixing = Binaural(sphere).diffuse_mixing(sr, n_fft)
    cross = mixing @ np.conj(np.swapaxes(mixing, 1, 2))
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    power = cross[:, [0, 1], [0, 1]].real
    coherence = np.abs(cross[:, 0, 1]) / np.sqrt(power[:, 0] * power[:, 1])
    assert np.all(coherence[(freqs > 50) & (freqs < 150)] > 0.9)
    assert np.all(coherence[(freqs > 2000) & (freqs < 5000)] < 0.4)
    band = (freqs >= 200) & (freqs <= 800)
    np.testing.assert_allclose(power[band].mean(axis=0), 1.0, rtol=0.1)


def test_room_rendering_puts_a_left_source_on_the_left(sphere: HRTF) -> None:
    room = Room.for_rt60([6.0, 5.0, 3.0], 0.4)
    listener, source = np.array([3.5, 2.5, 1.5]), np.array([1.5, 2.5, 1.5])  # source 2 m to the left (-x)
    ir = synthesize_rir(room, source, listener, sr=16000, receiver=Binaural(sphere), seed=1)
    assert ir.data.shape[0] == 2 and ir.layout == "binaural"
    direct = slice(0, int(16000 * (2.0 / 343.0 + 0.002)))
    left, right = ir.data[0, direct], ir.data[1, direct]
    assert np.argmax(np.abs(left)) + 5 < np.argmax(np.abs(right))  # ~0.65 ms = 10 samples earlier
    assert np.sum(left**2) > 2.0 * np.sum(right**2)


def test_default_and_invalid_arguments(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SOUNDSTAGE_HRTF", raising=False)
    monkeypatch.setattr(hrtf_module, "DEFAULT_SOFA", str(tmp_path / "absent.sofa"))
    assert Binaural().hrtf.name == "spherical head (Brown & Duda 1998)"
    with pytest.raises(InvalidAudioError, match="expected an HRTF"):
        Binaural("kemar")  # type: ignore[arg-type]
    with pytest.raises(InvalidGeometryError, match="orientation"):
        Binaural(yaw_deg=float("nan"))
