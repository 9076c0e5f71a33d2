"""Image sources against hand-computed mirrors and a naive recursive reference."""


import numpy as np
import pytest

from soundstage.acoustics.directivity import cardioid
from soundstage.acoustics.image_source import image_sources
from soundstage.acoustics.materials import Material
from soundstage.acoustics.room import Room
from soundstage.constants import SPEED_OF_SOUND

DIMS = (5.0, 4.0, 3.0)
SRC = np.array([1.2, 2.9, 1.7])
LST = np.array([3.6, 1.1, 1.3])


def _mirror(p, axis, plane):
    q = np.array(p, dtype=float)
    q[axis] = 2 * plane - q[axis]
    return q


def test_first_order_mirrors_by_hand():
    room = Room.shoebox(DIMS, Material.uniform(0.3), air=None)
    images = image_sources(room, SRC, LST, max_order=1)
    expected = [SRC] + [_mirror(SRC, axis, plane) for axis in range(3) for plane in (0.0, DIMS[axis])]
    delays = sorted(np.linalg.norm(e - LST) / SPEED_OF_SOUND for e in expected)
    assert len(images) == 7
    assert np.allclose(images.delays, delays, atol=1e-12)
    refl = np.sqrt(0.7)
    dist = images.delays * SPEED_OF_SOUND
    assert np.allclose(images.gains[:, 3], np.where(images.orders == 0, 1.0, refl) / (4 * np.pi * dist))


def _naive_images(order):
    """Breadth-first mirroring across the six planes; returns {rounded position: reflection count}."""
    planes = [(axis, plane) for axis in range(3) for plane in (0.0, DIMS[axis])]
    found = {tuple(np.round(SRC, 9)): 0}
    frontier = [(SRC, None)]
    for depth in range(1, order + 1):
        nxt = []
        for pos, last in frontier:
            for k, (axis, plane) in enumerate(planes):
                if k == last:
                    continue
                img = _mirror(pos, axis, plane)
                key = tuple(np.round(img, 9))
                if key not in found:
                    found[key] = depth
                    nxt.append((img, k))
        frontier = nxt
    return found


def test_matches_naive_recursive_mirroring_up_to_order_4():
    room = Room.shoebox(DIMS, Material.uniform(0.3), air=None)
    images = image_sources(room, SRC, LST, max_order=4)
    naive = _naive_images(4)
    ours = {tuple(np.round(p, 9)): int(o) for p, o in zip(images.positions, images.orders)}
    assert ours == naive


def test_per_wall_gains_follow_reflection_counts():
    absorption = {"west": 0.1, "east": 0.2, "south": 0.3, "north": 0.4, "floor": 0.5, "ceiling": 0.6}
    room = Room.shoebox(DIMS, {k: Material.uniform(v) for k, v in absorption.items()}, air=None)
    images = image_sources(room, SRC, LST, max_order=5)
    beta = np.sqrt(1 - np.array(list(absorption.values())))
    dist = images.delays * SPEED_OF_SOUND
    expected = np.prod(beta[None, :] ** images.hits, axis=1) / (4 * np.pi * dist)
    assert np.allclose(images.gains[:, 0], expected)


def test_max_time_keeps_exactly_the_images_in_reach():
    room = Room.shoebox(DIMS, Material.uniform(0.3), air=None)
    everything = image_sources(room, SRC, LST, max_order=12)
    limited = image_sources(room, SRC, LST, max_time=0.03)
    reach = everything.delays <= 0.03
    assert len(limited) == int(reach.sum())
    assert np.allclose(limited.delays, everything.delays[reach])


def test_air_absorption_along_the_path():
    room = Room.shoebox(DIMS, Material.uniform(0.0))
    dry = Room.shoebox(DIMS, Material.uniform(0.0), air=None)
    a = image_sources(room, SRC, LST, max_order=2)
    b = image_sources(dry, SRC, LST, max_order=2)
    dist = a.delays * SPEED_OF_SOUND
    db = 20 * np.log10(b.gains / a.gains)
    from soundstage.acoustics.air import air_attenuation_db

    assert np.allclose(db, dist[:, None] * air_attenuation_db()[None, :])


def test_source_directivity_sees_mirrored_directions():
    room = Room.shoebox(DIMS, Material.uniform(0.0), air=None)
    down = image_sources(room, SRC, LST, max_order=1, source_directivity=cardioid((0, 0, -1)))
    omni = image_sources(room, SRC, LST, max_order=1)
    ratio = down.gains[:, 0] / omni.gains[:, 0]
    floor = np.flatnonzero(down.hits[:, 4] == 1)[0]
    ceiling = np.flatnonzero(down.hits[:, 5] == 1)[0]
    # The floor path leaves the source towards the floor image's mirror of the arrival ray.
    d = LST - SRC * [1, 1, -1]
    leaving = d * [1, 1, -1] / np.linalg.norm(d)
    assert ratio[floor] == pytest.approx(0.5 + 0.5 * leaving @ [0, 0, -1])
    assert ratio[floor] > 0.8 and ratio[ceiling] < 0.2
    d = LST - [SRC[0], SRC[1], 2 * DIMS[2] - SRC[2]]
    assert ratio[ceiling] == pytest.approx(0.5 + 0.5 * (d * [1, 1, -1] / np.linalg.norm(d)) @ [0, 0, -1])


def test_receiver_directivity_faces_the_source():
    room = Room.shoebox(DIMS, Material.uniform(0.0), air=None)
    towards = cardioid(SRC - LST)
    away = cardioid(LST - SRC)
    on = image_sources(room, SRC, LST, max_order=0, receiver_directivity=towards)
    off = image_sources(room, SRC, LST, max_order=0, receiver_directivity=away)
    assert on.gains[0, 0] == pytest.approx(1 / (4 * np.pi * np.linalg.norm(SRC - LST)))
    assert off.gains[0, 0] == pytest.approx(0.0, abs=1e-12)
