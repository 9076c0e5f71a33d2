"""Impulse-response synthesis: timing, level, decay and determinism."""

import numpy as np
import pytest

from soundstage.acoustics.analysis import analyze
from soundstage.acoustics.materials import Material
from soundstage.acoustics.rir import synthesize_rir, synthesize_rirs
from soundstage.acoustics.room import Room
from soundstage.constants import SPEED_OF_SOUND
from soundstage.dsp.filterbank import octave_filterbank
from soundstage.errors import InvalidAudioError, InvalidGeometryError

ANECHOIC = Material.uniform(1.0)


@pytest.mark.parametrize("sr", [16000, 48000])
@pytest.mark.parametrize("listener", [(2.0, 2.0, 1.5), (5.37, 3.11, 2.2)])
def test_direct_delay_is_distance_over_c(sr, listener):
    room = Room.shoebox((8, 6, 3.5), "plaster")
    src = (1.3, 4.2, 1.6)
    h = synthesize_rir(room, src, listener, sr=sr, duration=0.3).data[0]
    expected = np.linalg.norm(np.subtract(src, listener)) / SPEED_OF_SOUND * sr
    first = int(np.argmax(np.abs(h[: int(expected) + 40])))
    assert abs(first - expected) <= 1.0


def test_direct_level_falls_as_one_over_r():
    room = Room.shoebox((30, 30, 30), ANECHOIC, air=None)
    src = np.array([15.0, 15.0, 15.0])
    energies = {}
    for r in (1.0, 2.0, 4.0, 8.0):
        h = synthesize_rir(room, src, src + [r, 0, 0], sr=16000, duration=0.1).data[0]
        energies[r] = float(np.sum(h.astype(np.float64) ** 2))
    for r in (2.0, 4.0, 8.0):
        assert 10 * np.log10(energies[1.0] / energies[r]) == pytest.approx(20 * np.log10(r), abs=0.05)
    # Absolute level: a unit point source gives 1 / (4 pi r) (band-limited impulse energy ~ amplitude^2).
    assert np.sqrt(energies[1.0]) == pytest.approx(1 / (4 * np.pi), rel=0.03)


def test_floor_reflection_arrives_at_its_mirror_image():
    room = Room.shoebox((10, 10, 4), {"default": ANECHOIC, "floor": Material.uniform(0.0)}, air=None)
    sr, src, lst = 48000, np.array([3.0, 4.0, 1.5]), np.array([7.0, 5.0, 1.2])
    h = synthesize_rir(room, src, lst, sr=sr, duration=0.1).data[0]
    image = src * [1, 1, -1]
    for distance in (np.linalg.norm(src - lst), np.linalg.norm(image - lst)):
        t = distance / SPEED_OF_SOUND * sr
        window = slice(int(t) - 20, int(t) + 21)
        peak = window.start + int(np.argmax(h[window]))
        assert abs(peak - t) <= 1.0
        # A band-limited impulse's energy equals its amplitude squared.
        energy = float(np.sum(h[window].astype(np.float64) ** 2))
        assert np.sqrt(energy) == pytest.approx(1 / (4 * np.pi * distance), rel=0.05)


ROOMS = [((4, 3, 2.5), 0.3), ((6, 5, 3), 0.6), ((8, 6, 3.5), 0.8), ((12, 9, 4), 1.2), ((20, 15, 8), 2.0)]


@pytest.mark.parametrize("dims,rt60", ROOMS)
def test_t30_matches_design(dims, rt60):
    room = Room.for_rt60(dims, rt60, air=None)
    src = np.multiply(dims, (0.3, 0.6, 0.45))
    lst = np.multiply(dims, (0.7, 0.35, 0.5))
    profiles = [analyze(synthesize_rir(room, src, lst, sr=16000, seed=s).data[0], 16000) for s in range(3)]
    assert profiles[0].broadband["t30"] == pytest.approx(rt60, rel=0.05)
    # A single octave-band T30 estimate of a noise decay scatters by 2-4 %; average three tails.
    for band in (500, 1000, 2000, 4000):
        mean = np.mean([p.bands[band]["t30"] for p in profiles])
        assert mean == pytest.approx(rt60, rel=0.05), band


def test_per_band_decay_follows_air_absorption():
    room = Room.for_rt60((25, 18, 9), 1.5, air=None)
    room = Room(room.dims, room.materials)  # same surfaces, now with air absorption
    design = room.rt60()
    profile = analyze(synthesize_rir(room, (6, 7, 2), (17, 10, 1.7), sr=32000).data[0], 32000)
    for i, band in enumerate((500, 1000, 2000, 4000, 8000)):
        assert profile.bands[band]["t30"] == pytest.approx(design[i + 2], rel=0.05), band


def test_tail_energy_continues_the_early_part():
    room = Room.for_rt60((8, 6, 3.5), 0.8, air=None)
    ir = synthesize_rir(room, (2, 3, 1.6), (6, 2.5, 1.5), sr=16000)
    h, t_c = ir.data[0].astype(np.float64), ir.metadata["crossover_s"]
    bands = octave_filterbank(h, 16000)[2:6]
    before = slice(int((t_c - 0.04) * 16000), int((t_c - 0.005) * 16000))
    after = slice(int((t_c + 0.005) * 16000), int((t_c + 0.04) * 16000))
    decay = np.exp(-np.log(1e6) * 0.045 / 0.8)  # energy lost over the 45 ms between window centres
    ratio_db = 10 * np.log10((bands[:, after] ** 2).sum(1) / ((bands[:, before] ** 2).sum(1) * decay))
    assert np.all(np.abs(ratio_db) < 1.5), ratio_db


def test_seed_controls_only_the_tail():
    room = Room.for_rt60((6, 5, 3), 0.6)
    a = synthesize_rir(room, (1, 2, 1.5), (4, 3, 1.5), seed=1)
    b = synthesize_rir(room, (1, 2, 1.5), (4, 3, 1.5), seed=1)
    c = synthesize_rir(room, (1, 2, 1.5), (4, 3, 1.5), seed=2)
    assert np.array_equal(a.data, b.data)
    early = int((a.metadata["crossover_s"] - 0.01) * a.sr)
    diff = np.sum((a.data[0, :early] - c.data[0, :early]).astype(np.float64) ** 2)
    assert diff < 1e-6 * np.sum(a.data[0, :early].astype(np.float64) ** 2)
    assert not np.allclose(a.data[0, early + 2000 :], c.data[0, early + 2000 :])


def test_batch_equals_single_pairs():
    room = Room.for_rt60((6, 5, 3), 0.5)
    sources = np.array([[1, 1, 1.5], [2, 3, 1.2], [5, 4, 2.0]])
    listener = np.array([3.0, 2.5, 1.6])
    batch = synthesize_rirs(room, sources, listener, seed=7)
    assert batch.data.shape[0] == 3
    for i, s in enumerate(sources):
        single = synthesize_rir(room, s, listener, seed=7 + i, duration=batch.duration)
        assert np.array_equal(batch.data[i], single.data[0])


def test_bad_inputs():
    room = Room.shoebox((4, 3, 3))
    with pytest.raises(InvalidGeometryError, match="source"):
        synthesize_rir(room, (5, 1, 1), (1, 1, 1))
    with pytest.raises(InvalidGeometryError, match="listener"):
        synthesize_rir(room, (1, 1, 1), (1, 1, -0.5))
    with pytest.raises(InvalidAudioError, match="sample rate"):
        synthesize_rir(room, (1, 1, 1), (2, 2, 2), sr=0)
