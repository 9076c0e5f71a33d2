"""Rendering sources in free field and in rooms, into any receiver."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from soundstage.acoustics import Room
from soundstage.acoustics.receiver import Omni
from soundstage.constants import SPEED_OF_SOUND
from soundstage.dsp.convolve import fft_convolve
from soundstage.errors import InvalidGeometryError
from soundstage.spatial.moving import Trajectory
from soundstage.spatial.render import Source, free_field_response, render_sources, source_response

SR = 16000


def static(signal: np.ndarray, position, **kw) -> Source:
    return Source(signal, Trajectory(np.zeros(1), np.asarray(position, float)[None]), **kw)


def noise(seconds: float = 0.5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * SR)).astype(np.float32)


def test_free_field_direct_sound_has_delay_r_over_c_and_gain_one_over_r() -> None:
    for distance in (1.0, 2.0, 3.7):
        ir = free_field_response([0, distance, 0], [0, 0, 0], Omni(), SR)[0]
        peak = int(np.argmax(np.abs(ir)))
        assert abs(peak - distance / SPEED_OF_SOUND * SR) <= 0.5
        np.testing.assert_allclose(ir.sum(), 1 / distance, rtol=1e-3)  # DC gain


def test_free_field_at_two_metres_is_six_db_quieter_than_at_one() -> None:
    x = noise()
    near = render_sources([static(x, [1.0, 0.0, 0.0])], [0, 0, 0], Omni(), SR)
    far = render_sources([static(x, [2.0, 0.0, 0.0])], [0, 0, 0], Omni(), SR)
    ratio = 10 * np.log10((near**2).sum() / (far**2).sum())
    assert abs(ratio - 20 * np.log10(2)) < 0.05


def test_source_at_the_listener_is_rejected() -> None:
    with pytest.raises(InvalidGeometryError, match="listener's position"):
        render_sources([static(noise(), [1, 2, 3], name="voice")], [1, 2, 3], Omni(), SR)


def test_static_mix_equals_the_sum_of_each_source_through_its_response() -> None:
    room = Room.for_rt60([6.0, 5.0, 3.0], 0.4)
    a, b = noise(0.4, 1), noise(0.3, 2)
    sources = [static(a, [1.5, 4.0, 1.2], gain_db=-6.0), static(b, [4.5, 1.0, 1.7], start=0.1)]
    mix = render_sources(sources, [3, 2.5, 1.5], Omni(), SR, room=room, seed=5)
    ir_a = source_response([1.5, 4.0, 1.2], [3, 2.5, 1.5], Omni(), SR, room=room, seed=5)
    ir_b = source_response([4.5, 1.0, 1.7], [3, 2.5, 1.5], Omni(), SR, room=room, seed=6)
    expected = np.zeros_like(mix)
    part_a = fft_convolve(a * 10 ** (-6 / 20), ir_a)
    part_b = fft_convolve(b, ir_b)
    expected[:, : part_a.shape[1]] += part_a
    expected[:, int(0.1 * SR) : int(0.1 * SR) + part_b.shape[1]] += part_b
    np.testing.assert_allclose(mix, expected, atol=2e-5 * np.abs(expected).max())


def test_room_responses_are_at_unit_gain_at_one_metre() -> None:
    room = Room.for_rt60([6.0, 5.0, 3.0], 0.3, air=None)
    distance = 93 * SPEED_OF_SOUND / SR  # a whole number of samples: the peak is one sample
    ir = source_response([3.0, 1.0 + distance, 1.5], [3.0, 1.0, 1.5], Omni(), SR, room=room)[0]
    np.testing.assert_allclose(ir[93], 1 / distance, rtol=0.02)


def test_a_source_outside_the_room_is_heard_in_free_field(caplog: pytest.LogCaptureFixture) -> None:
    room = Room.for_rt60([6.0, 5.0, 3.0], 0.5)
    with caplog.at_level(logging.WARNING):
        ir = source_response([3.0, 9.0, 1.5], [3.0, 2.0, 1.5], Omni(), SR, room=room)
    assert "outside the room" in caplog.text
    np.testing.assert_allclose(ir, free_field_response([3.0, 9.0, 1.5], [3.0, 2.0, 1.5], Omni(), SR), atol=1e-7)


def test_moving_source_in_a_room_keeps_reverberating_after_it_stops() -> None:
    room = Room.for_rt60([8.0, 6.0, 3.0], 0.8)
    x = noise(0.8, 3)
    path = Trajectory(np.array([0.0, 0.8]), np.array([[2.0, 4.0, 1.5], [6.0, 4.0, 1.5]]))
    wet = render_sources([Source(x, path)], [4, 2, 1.5], Omni(), SR, room=room)
    dry = render_sources([Source(x, path)], [4, 2, 1.5], Omni(), SR)
    assert np.all(np.isfinite(wet)) and wet.shape[1] > 1.3 * SR and dry.shape[1] < 0.9 * SR
    assert (wet[0, int(0.9 * SR) : int(1.1 * SR)] ** 2).mean() > 1e-4 * (wet[0, : int(0.8 * SR)] ** 2).mean()
    level = 10 * np.log10((wet[0, : int(0.8 * SR)] ** 2).mean() / (dry[0, : int(0.8 * SR)] ** 2).mean())
    assert 0.0 < level < 15.0  # reflections add energy to the direct sound, not orders of magnitude
