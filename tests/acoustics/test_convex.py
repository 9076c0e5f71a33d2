"""Convex rooms: geometry, Borish image sources against the shoebox model and naive references."""

import itertools

import numpy as np
import pytest

from soundstage.acoustics.analysis import analyze
from soundstage.acoustics.convex import ConvexRoom
from soundstage.acoustics.image_source import image_sources
from soundstage.acoustics.materials import Material
from soundstage.acoustics.rir import synthesize_rir
from soundstage.acoustics.room import Room
from soundstage.constants import SPEED_OF_SOUND
from soundstage.errors import InvalidGeometryError

BOX_NORMALS = [[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1]]
# 6 x 5 m floor, ceiling rising from 2.5 m (y = 0) to 4 m (y = 5).
WEDGE = [[0, 0, 0], [6, 0, 0], [6, 5, 0], [0, 5, 0], [0, 0, 2.5], [6, 0, 2.5], [6, 5, 4], [0, 5, 4]]
SRC, LST = np.array([1.2, 2.9, 1.7]), np.array([3.6, 1.1, 1.3])


def test_box_geometry_matches_shoebox():
    box = ConvexRoom.from_planes(BOX_NORMALS, [0, 5, 0, 4, 0, 3], "carpet")
    shoe = Room.shoebox((5, 4, 3), "carpet")
    assert box.volume == pytest.approx(60.0)
    assert np.allclose(box.surface_areas(), shoe.surface_areas())
    assert np.allclose(box.rt60(), shoe.rt60())


@pytest.mark.parametrize("build", ["planes", "vertices"])
def test_box_images_equal_shoebox_images(build):
    absorption = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    materials = [Material.uniform(a) for a in absorption]
    shoe = Room.shoebox((5, 4, 3), dict(zip(["west", "east", "south", "north", "floor", "ceiling"], materials)))
    if build == "planes":
        box = ConvexRoom.from_planes(BOX_NORMALS, [0, 5, 0, 4, 0, 3], materials)
    else:
        corners = list(itertools.product([0, 5], [0, 4], [0, 3]))
        box = ConvexRoom.from_vertices(corners, Material.uniform(0.3))
    a = image_sources(box, SRC, LST, max_time=0.05)
    b = image_sources(shoe if build == "planes" else Room.shoebox((5, 4, 3), Material.uniform(0.3)),
                              SRC, LST, max_time=0.05)
    assert len(a) == len(b) > 100
    order_a, order_b = np.lexsort(a.positions.T), np.lexsort(b.positions.T)
    assert np.allclose(a.positions[order_a], b.positions[order_b], atol=1e-9)
    assert np.array_equal(a.orders[order_a], b.orders[order_b])
    assert np.allclose(a.gains[order_a], b.gains[order_b], rtol=1e-9)


def _naive_paths(room, order):
    """Every plane sequence up to ``order``, mirrored and traced back with scalar loops."""
    n, d = room.normals, room.offsets
    found = []
    for depth in range(order + 1):
        for seq in itertools.product(range(len(d)), repeat=depth):
            if any(seq[i] == seq[i + 1] for i in range(depth - 1)):
                continue
            images = [SRC.copy()]
            for k in seq:
                p = images[-1]
                images.append(p - 2 * (n[k] @ p - d[k]) * n[k])
            point, ok = LST.copy(), True
            for level in range(depth, 0, -1):
                k, image = seq[level - 1], images[level]
                t = (d[k] - n[k] @ point) / (n[k] @ (image - point))
                hit = point + t * (image - point)
                ok &= 0 < t < 1 and all(n[j] @ hit - d[j] <= 1e-7 for j in range(len(d)))
                point = hit
            if ok:
                found.append(np.linalg.norm(images[-1] - LST))
    return np.sort(found)


def test_wedge_matches_naive_path_tracing():
    wedge = ConvexRoom.from_vertices(WEDGE, Material.uniform(0.2))
    assert wedge.volume == pytest.approx(6 * 5 * (2.5 + 4) / 2)
    images = image_sources(wedge, SRC, LST, max_order=3)
    assert np.allclose(images.delays * SPEED_OF_SOUND, _naive_paths(wedge, 3))


def test_reflection_off_a_small_face_can_be_hidden():
    # A 10 x 4 x 3 box with its (x = 10, y = 4) vertical edge chamfered by a 1 m cut.
    normals = BOX_NORMALS + [[1, 1, 0]]
    offsets = [0, 10, 0, 4, 0, 3, 13]  # x + y <= 13 (normals are normalised on input)
    room = ConvexRoom.from_planes(normals, offsets, Material.uniform(0.1))
    chamfer = len(offsets) - 1
    src, lst = np.array([1.0, 1.0, 1.5]), np.array([2.0, 3.0, 1.5])
    n, dd = room.normals[chamfer], room.offsets[chamfer]
    mirror = src - 2 * (n @ src - dd) * n
    t = (dd - n @ lst) / (n @ (mirror - lst))
    hit = lst + t * (mirror - lst)
    assert np.any(room.normals @ hit - room.offsets > 1e-6)  # the specular point misses the face
    first = image_sources(room, src, lst, max_order=1)
    assert first.hits[:, chamfer].sum() == 0 and len(first) == 7
    # Seen from near the chamfer, the same reflection is audible.
    src2, lst2 = np.array([8.8, 2.6, 1.5]), np.array([9.2, 2.2, 1.2])
    near = image_sources(room, src2, lst2, max_order=1)
    assert near.hits[:, chamfer].sum() == 1


def test_t30_in_a_wedge_follows_eyring():
    shape = ConvexRoom.from_vertices(WEDGE, Material.uniform(0.0), air=None)
    target = 0.7
    alpha = -np.expm1(-4 * np.log(1e6) * shape.volume / (SPEED_OF_SOUND * target) / shape.surface_areas().sum())
    room = ConvexRoom.from_vertices(WEDGE, Material.uniform(float(alpha)), air=None)
    assert np.allclose(room.rt60(), target)
    profile = analyze(synthesize_rir(room, SRC, LST, sr=16000).data[0], 16000)
    assert profile.broadband["t30"] == pytest.approx(target, rel=0.05)
    expected = np.linalg.norm(SRC - LST) / SPEED_OF_SOUND
    assert profile.direct_delay == pytest.approx(expected, abs=1 / 16000)


def test_bad_convex_geometry():
    with pytest.raises(InvalidGeometryError, match="no volume|closed"):
        ConvexRoom.from_planes(BOX_NORMALS[:5], [0, 5, 0, 4, 0])
    with pytest.raises(InvalidGeometryError, match="do not bound"):
        ConvexRoom.from_planes(BOX_NORMALS + [[1, 0, 0]], [0, 5, 0, 4, 0, 3, 9])
    with pytest.raises(InvalidGeometryError, match="flat"):
        ConvexRoom.from_vertices([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])
    with pytest.raises(InvalidGeometryError, match="one per surface"):
        ConvexRoom.from_planes(BOX_NORMALS, [0, 5, 0, 4, 0, 3], ["plaster", "wood"])
    wedge = ConvexRoom.from_vertices(WEDGE)
    with pytest.raises(InvalidGeometryError, match="outside the room"):
        wedge.check_inside((3, 0.5, 3.0), name="source")  # above the low end of the ceiling
