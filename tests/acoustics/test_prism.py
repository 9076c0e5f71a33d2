"""Prism rooms (vertical walls over a floor plan): geometry, occlusion and image sources."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.acoustics.analysis import analyze
from soundstage.acoustics.image_source import image_sources
from soundstage.acoustics.materials import get_material
from soundstage.acoustics.prism import PrismRoom
from soundstage.acoustics.rir import synthesize_rir
from soundstage.acoustics.room import Room
from soundstage.constants import SPEED_OF_SOUND
from soundstage.errors import InvalidGeometryError

DIMS = (6.0, 5.0, 3.0)
SHOEBOX_MATERIALS = {"west": "brick", "east": "glass", "south": "plaster", "north": "wood",
                     "floor": "carpet_thin", "ceiling": "ceiling_tile"}


def _rectangle() -> tuple[PrismRoom, Room]:
    lx, ly, lz = DIMS
    # plan walls: 0 south (y = 0), 1 east (x = lx), 2 north (y = ly), 3 west (x = 0)
    order = ["south", "east", "north", "west", "floor", "ceiling"]
    prism = PrismRoom.from_plan([(0, 0), (lx, 0), (lx, ly), (0, ly)], lz, [SHOEBOX_MATERIALS[s] for s in order])
    return prism, Room.shoebox(DIMS, SHOEBOX_MATERIALS)


def test_rectangular_prism_reproduces_the_shoebox_images():
    prism, box = _rectangle()
    src, lst = (1.3, 3.6, 1.5), (4.2, 1.1, 1.2)
    a = image_sources(prism, src, lst, max_time=0.03)
    b = image_sources(box, src, lst, max_time=0.03)
    assert len(a) == len(b) > 50
    hits_a = a.hits[:, [3, 1, 0, 2, 4, 5]]  # prism order (S, E, N, W, floor, ceiling) -> shoebox order
    sort_a = np.lexsort((*hits_a.T, np.round(a.delays, 12)))
    sort_b = np.lexsort((*b.hits.T, np.round(b.delays, 12)))
    np.testing.assert_array_equal(hits_a[sort_a], b.hits[sort_b])
    np.testing.assert_allclose(a.delays[sort_a], b.delays[sort_b], atol=1e-12)
    np.testing.assert_allclose(a.gains[sort_a], b.gains[sort_b], rtol=1e-9)
    assert prism.volume == pytest.approx(box.volume) and prism.surface_areas().sum() == pytest.approx(
        box.surface_areas().sum())
    np.testing.assert_allclose(prism.rt60(), box.rt60(), rtol=1e-12)


def test_l_shaped_geometry():
    room = PrismRoom.l_shaped((8.0, 6.0, 3.0), (3.0, 2.0), "plaster")
    assert room.floor_area == pytest.approx(8 * 6 - 3 * 2)
    assert room.volume == pytest.approx(42 * 3)
    walls = room.surface_areas()[:6] / 3.0
    np.testing.assert_allclose(walls, [8, 4, 3, 2, 5, 6])  # perimeter pieces, counter-clockwise
    room.check_inside((1, 5, 1.5))
    with pytest.raises(InvalidGeometryError, match="outside the room"):
        room.check_inside((7, 5, 1.5))  # in the cut-away corner
    a = 0.161 * room.volume / (room.surface_areas().sum() * get_material("plaster").absorption[3])
    assert PrismRoom.l_shaped((8.0, 6.0, 3.0), (3.0, 2.0), "plaster", air=None).rt60(formula="sabine")[3] == pytest.approx(a, rel=1e-3)


def test_talker_around_the_corner_has_no_direct_sound():
    room = PrismRoom.l_shaped((8.0, 6.0, 3.0), (3.0, 2.0), "plaster")
    listener = (7.0, 3.5, 1.5)  # the long leg, below the cut-away corner
    hidden = (1.0, 5.8, 1.5)     # the short leg: the line between them crosses the wall y = 4, 5 < x < 8
    seen = (1.0, 1.0, 1.5)
    h = image_sources(room, hidden, listener, max_time=0.1)
    assert np.all(h.orders > 0) and h.delays[0] > np.linalg.norm(np.subtract(hidden, listener)) / SPEED_OF_SOUND
    v = image_sources(room, seen, listener, max_time=0.1)
    assert v.orders[0] == 0 and v.delays[0] == pytest.approx(np.hypot(6.0, 2.5) / SPEED_OF_SOUND)


def test_inner_corner_wall_reflection_arrives_at_the_mirror_distance():
    room = PrismRoom.l_shaped((8.0, 6.0, 3.0), (3.0, 2.0), "plaster")
    src, lst = np.array([6.0, 2.0, 1.5]), np.array([7.0, 3.0, 1.5])
    # wall 2 is y = 4 from x = 5 to 8 (facing -y): image at y = 6
    images = image_sources(room, src, lst, max_order=1)
    first = images.hits[:, 2] == 1
    assert np.count_nonzero(first) == 1
    assert images.delays[first][0] == pytest.approx(np.linalg.norm([6.0 - 7.0, 6.0 - 3.0, 0]) / SPEED_OF_SOUND)
    # the plane of wall 2 (y = 4) runs on over the short leg, where there is no wall: no reflection
    # there; the far wall y = 6 (wall 4) reflects instead
    far = image_sources(room, (1.0, 2.0, 1.5), (2.0, 3.0, 1.5), max_order=1)
    assert far.hits[:, 2].sum() == 0 and far.hits[:, 4].sum() == 1


def test_l_shaped_response_decays_at_the_eyring_rate():
    room = PrismRoom.l_shaped((9.0, 7.0, 3.0), (4.0, 3.0), "plaster")
    rir = synthesize_rir(room, (2.0, 2.0, 1.6), (6.0, 1.5, 1.4), sr=16000, seed=3)
    t30 = analyze(rir.data, 16000).bands[1000]["t30"]
    assert t30 == pytest.approx(room.rt60()[3], rel=0.1)


@pytest.mark.parametrize("plan, message", [
    ([(0, 0), (1, 0)], "at least 3"),
    ([(0, 0), (4, 0), (4, 4), (2, -2), (0, 4)], "cross"),
    ([(0, 0), (1, 0), (2, 0), (2, 2), (0, 2)], "collinear"),
    ([(0, 0), (0, 0), (2, 2), (0, 2)], "repeats"),
])
def test_bad_plans_are_refused(plan, message):
    with pytest.raises(InvalidGeometryError, match=message):
        PrismRoom.from_plan(plan, 3.0)
