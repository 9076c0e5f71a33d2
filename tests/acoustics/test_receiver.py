"""Receivers in the room engine: each arrival through its direction's response, a diffuse tail with the right coherence."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import csd, welch

from soundstage.acoustics import Room, synthesize_rir
from soundstage.acoustics.receiver import Omni, Receiver
from soundstage.constants import SPEED_OF_SOUND
from soundstage.geometry import azel_to_vector, sphere_grid

SR = 16000


class SpacedPair(Receiver):
    """Two omnidirectional microphones ``spacing`` metres apart on the x axis (left one at -x)."""

    channels = 2
    layout = "spaced-pair"

    def __init__(self, spacing: float) -> None:
        self.spacing = spacing

    def head_response(self, directions: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
        x = np.array([-self.spacing / 2, self.spacing / 2])
        # A plane wave from u reaches the microphone at p a time p.u / c earlier than the centre.
        offsets = (self.spacing / 2 - directions[:, :1] * x[None, :]) / SPEED_OF_SOUND * sr
        return np.ones((len(directions), 2, 1)), offsets


class FirstOrder(Receiver):
    """First-order SN3D ambisonic microphone (ACN order W, Y, Z, X)."""

    channels = 4
    layout = "foa-test"

    def head_response(self, directions: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
        x, y, z = directions.T
        gains = np.stack([np.ones_like(x), -x, z, y], axis=1)
        return gains[:, :, None], np.zeros((len(directions), 4))


@pytest.fixture(scope="module")
def room() -> Room:
    return Room.for_rt60([7.0, 5.0, 3.0], 1.2)


def test_default_receiver_is_an_omni_microphone(room: Room) -> None:
    a = synthesize_rir(room, [2, 2, 1.5], [5, 3, 1.6], sr=SR, seed=4)
    b = synthesize_rir(room, [2, 2, 1.5], [5, 3, 1.6], sr=SR, seed=4, receiver=Omni())
    np.testing.assert_array_equal(a.data, b.data)
    assert a.layout == "mono" and a.data.shape[0] == 1


def test_direct_sound_reaches_each_microphone_at_its_own_time(room: Room) -> None:
    src, lst = np.array([2.0, 2.1, 1.3]), np.array([5.0, 2.1, 1.3])  # source on the -x side: left mic first
    ir = synthesize_rir(room, src, lst, sr=SR, receiver=SpacedPair(0.5))
    assert ir.data.shape[0] == 2 and ir.layout == "spaced-pair"
    distance = np.linalg.norm(src - lst)
    first_reflection = 2 * np.hypot(distance / 2, 1.3) / SPEED_OF_SOUND  # off the floor
    for channel, mic_x in enumerate([-0.25, 0.25]):
        # Offsets count from the earliest possible arrival, half the spacing before the centre.
        expected = (distance + mic_x + 0.25) / SPEED_OF_SOUND
        arrival = np.argmax(np.abs(ir.data[channel, : int(first_reflection * SR) - 2])) / SR
        assert abs(arrival - expected) < 1.5 / SR


def test_first_order_direct_gains_follow_the_direction(room: Room) -> None:
    src, lst = np.array([3.0, 4.0, 1.6]), np.array([3.0, 2.0, 1.6])  # source straight ahead (+y)
    ir = synthesize_rir(room, src, lst, sr=SR, receiver=FirstOrder())
    first = int(np.argmax(np.abs(ir.data[0])))
    peaks = ir.data[:, first]
    np.testing.assert_allclose(peaks[3], peaks[0], rtol=0.02)  # X = W for a frontal source
    assert abs(peaks[1]) < 0.05 * peaks[0] and abs(peaks[2]) < 0.05 * peaks[0]


def test_ambisonic_tail_has_diffuse_field_channel_powers(room: Room) -> None:
    ir = synthesize_rir(room, [2, 2, 1.5], [5, 3, 1.6], sr=SR, receiver=FirstOrder(), seed=1)
    tail = ir.data[:, int(0.15 * SR) : int(0.6 * SR)]
    power = (tail**2).mean(axis=1)
    np.testing.assert_allclose(power[1:] / power[0], 1 / 3, rtol=0.12)
    corr = np.corrcoef(tail)
    assert np.max(np.abs(corr - np.eye(4))) < 0.1
    mono = synthesize_rir(room, [2, 2, 1.5], [5, 3, 1.6], sr=SR, seed=1).data[0, int(0.15 * SR) : int(0.6 * SR)]
    np.testing.assert_allclose(power[0], (mono**2).mean(), rtol=0.1)


def test_spaced_pair_tail_has_the_diffuse_field_coherence() -> None:
    spacing = 0.3
    reverberant = Room.for_rt60([7.0, 5.0, 3.0], 6.0)  # a long, nearly stationary tail
    ir = synthesize_rir(reverberant, [2, 2, 1.5], [5, 3, 1.6], sr=SR, receiver=SpacedPair(spacing), seed=2, duration=4)
    tail = ir.data[:, int(0.12 * SR) : int(2.0 * SR)].astype(float)
    tail = tail * np.exp(np.log(1e6) / 2 * np.arange(tail.shape[1]) / SR / 6.0)  # undo the decay
    f, cross = csd(tail[0], tail[1], fs=SR, nperseg=256)
    _, p0 = welch(tail[0], fs=SR, nperseg=256)
    _, p1 = welch(tail[1], fs=SR, nperseg=256)
    coherence = cross.real / np.sqrt(p0 * p1)
    k = 2 * np.pi * f * spacing / SPEED_OF_SOUND
    theory = np.sinc(k / np.pi)  # sin(kd) / (kd) of a spherically isotropic field
    band = (f > 100) & (f < 4000)
    assert np.sqrt(np.mean((coherence[band] - theory[band]) ** 2)) < 0.08


def test_without_direct_sound_the_first_arrival_is_a_reflection(room: Room) -> None:
    src, lst = [2.0, 2.0, 1.5], [5.0, 3.0, 1.6]
    full = synthesize_rir(room, src, lst, sr=SR, receiver=FirstOrder(), seed=3)
    reflected = synthesize_rir(room, src, lst, sr=SR, receiver=FirstOrder(), seed=3, direct=False)
    direct_index = int(round(np.linalg.norm(np.subtract(src, lst)) / SPEED_OF_SOUND * SR))
    assert abs(full.data[0, direct_index]) > 10 * abs(reflected.data[0, direct_index])
    np.testing.assert_allclose(full.data[:, int(0.2 * SR) :], reflected.data[:, int(0.2 * SR) :], atol=1e-6)


def test_diffuse_mixing_reproduces_the_average_cross_power() -> None:
    pair = SpacedPair(0.2)
    mixing = pair.diffuse_mixing(SR, 256)
    cross = mixing @ np.swapaxes(mixing.conj(), -1, -2)
    f = np.arange(129) / 256 * SR
    k = 2 * np.pi * f * 0.2 / SPEED_OF_SOUND
    np.testing.assert_allclose(cross[:, 0, 0].real, 1.0, atol=1e-9)
    np.testing.assert_allclose(cross[:, 0, 1].real, np.sinc(k / np.pi), atol=0.01)
    assert pair.frequency_independent is False and FirstOrder().frequency_independent is True


def test_orientation_turns_the_receiver() -> None:
    mic = FirstOrder()
    mic.orientation = (90.0, 0.0, 0.0)  # facing world -x (azimuth +90)
    filters, _ = mic.response(azel_to_vector(90.0, 0.0)[None], SR)
    np.testing.assert_allclose(filters[0, :, 0], [1, 0, 0, 1], atol=1e-12)
    assert sphere_grid(10).shape == (10, 3)


@pytest.mark.parametrize("receiver", [None, FirstOrder(), SpacedPair(0.2)], ids=["omni", "first-order", "spaced-pair"])
def test_direct_reflections_and_tail_add_up_to_the_whole_response(room: Room, receiver) -> None:
    src, lst = [2.0, 2.0, 1.5], [5.0, 3.0, 1.6]
    whole = synthesize_rir(room, src, lst, sr=SR, receiver=receiver, seed=7).data
    parts = [
        synthesize_rir(room, src, lst, sr=SR, receiver=receiver, seed=7, direct=d, reflections=r, tail=t).data
        for d, r, t in [(True, False, False), (False, True, False), (False, False, True)]
    ]
    np.testing.assert_allclose(sum(parts), whole, atol=1e-6 * np.abs(whole).max())
    assert np.abs(parts[2][:, : int(0.03 * SR)]).max() < 1e-3 * np.abs(whole).max()  # the tail starts late
