"""The ray caster: analytic depths, points on the labelled faces, boxes, textures, noise, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from soundstage.acoustics.room import SURFACES
from soundstage.errors import InvalidGeometryError
from soundstage.scene.camera import Intrinsics, backproject, camera_rotation
from soundstage.scene.synthetic import DEFAULT_COLOURS, TEXTURES, render_room

ODD = Intrinsics.from_fov(161, 121)  # the optical axis passes through pixel (80, 60)
DIMS = (5.0, 4.0, 2.6)


def _room_points(depth, yaw, pitch, camera, k=ODD):
    return backproject(depth, k) @ camera_rotation(yaw, pitch).T + np.asarray(camera)


def test_default_render_shapes_and_types():
    rgb, depth, k = render_room(DIMS, (2.5, 1.0, 1.5), intrinsics=Intrinsics.from_fov(64, 48))
    assert rgb.shape == (48, 64, 3) and rgb.dtype == np.uint8
    assert depth.shape == (48, 64) and depth.dtype == np.float32 and np.all(np.isfinite(depth))
    assert k == Intrinsics.from_fov(64, 48)
    labels = render_room(DIMS, (2.5, 1.0, 1.5), intrinsics=Intrinsics.from_fov(32, 24), return_labels=True)[3]
    assert labels.shape == (24, 32) and labels.dtype == np.int32


@pytest.mark.parametrize(
    "camera, yaw, pitch, expected",
    [
        ((2.5, 1.0, 1.5), 0.0, 0.0, 3.0),  # straight at the north wall
        ((2.0, 1.5, 1.2), 20.0, 0.0, 2.5 / math.cos(math.radians(20))),
        ((3.0, 0.5, 1.4), -15.0, 10.0, 3.5 / (math.cos(math.radians(15)) * math.cos(math.radians(10)))),
        ((2.5, 2.0, 1.5), 0.0, -60.0, 1.5 / math.sin(math.radians(60))),  # down at the floor
        ((2.5, 2.0, 1.5), 90.0, 0.0, 2.5),  # west wall
    ],
)
def test_depth_at_the_image_centre_is_the_analytic_distance(camera, yaw, pitch, expected):
    _, depth, _ = render_room(DIMS, camera, yaw, pitch, intrinsics=ODD)
    assert depth[60, 80] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("yaw, pitch", [(0.0, 0.0), (30.0, -10.0), (-135.0, 25.0)])
def test_every_pixel_lies_on_the_face_its_label_names(yaw, pitch):
    camera = (1.2, 2.9, 1.1)
    _, depth, _, labels = render_room(DIMS, camera, yaw, pitch, intrinsics=ODD, return_labels=True)
    pts = _room_points(depth, yaw, pitch, camera)
    assert np.all(pts > -1e-4) and np.all(pts < np.asarray(DIMS) + 1e-4)
    for i, name in enumerate(SURFACES):
        axis, upper = divmod(i, 2)
        on = labels == i
        if on.any():
            np.testing.assert_allclose(pts[on][:, axis], DIMS[axis] if upper else 0.0, atol=1e-4, err_msg=name)
    assert set(np.unique(labels)) <= set(range(6))


def test_boxes_occlude_the_walls_and_their_points_lie_on_the_box():
    lo, hi = np.array([1.5, 2.5, 0.0]), np.array([3.5, 3.2, 0.9])
    camera = (2.5, 0.8, 1.5)
    _, depth, _, labels = render_room(DIMS, camera, 0.0, -15.0, intrinsics=ODD, boxes=[(lo, hi, (40, 40, 160))],
                                      return_labels=True)
    box = labels == 6
    assert box.sum() > 200
    pts = _room_points(depth, 0.0, -15.0, camera)[box]
    assert np.all(pts >= lo - 1e-4) and np.all(pts <= hi + 1e-4)
    on_face = np.isclose(pts, lo, atol=1e-4) | np.isclose(pts, hi, atol=1e-4)
    assert np.all(on_face.any(axis=1))  # on the surface, not inside
    assert np.isclose(pts[:, 2], hi[2], atol=1e-4).any() and np.isclose(pts[:, 1], lo[1], atol=1e-4).any()
    _, bare, _ = render_room(DIMS, camera, 0.0, -15.0, intrinsics=ODD)
    assert np.all(depth[box] < bare[box]) and np.array_equal(depth[~box], bare[~box])


def test_colours_and_textures():
    camera = (2.5, 1.0, 1.5)
    rgb, _, _, labels = render_room(DIMS, camera, 0.0, -20.0, intrinsics=ODD, colours={"north": (200, 40, 30)},
                                    textures=False, return_labels=True)
    np.testing.assert_array_equal(rgb[labels == 3], np.tile([200, 40, 30], ((labels == 3).sum(), 1)))
    np.testing.assert_array_equal(np.unique(rgb[labels == 4], axis=0), [DEFAULT_COLOURS["floor"]])
    rgb, _, _, labels = render_room(DIMS, camera, 0.0, -20.0, intrinsics=ODD, return_labels=True)
    lum = rgb.astype(float).mean(axis=2)
    assert lum[labels == 4].std() > 8.0  # wood planks and grain
    assert lum[labels == 3].std() < 3.0  # flat paint
    brick, _, _, labels = render_room(DIMS, camera, 0.0, 0.0, intrinsics=ODD, colours={"north": (170, 80, 60)},
                                      textures={"north": "brick"}, return_labels=True)
    north = brick[labels == 3].astype(float)
    mortar = np.all(north > 180, axis=1)
    assert 0.05 < mortar.mean() < 0.4  # joints are a minority of a brick wall
    assert set(TEXTURES) >= {"flat", "paint", "wood", "brick", "carpet", "tiles"}


def test_depth_noise_has_the_requested_spread_and_is_seeded():
    _, clean, _ = render_room(DIMS, (2.5, 1.0, 1.5), intrinsics=ODD)
    _, noisy, _ = render_room(DIMS, (2.5, 1.0, 1.5), intrinsics=ODD, noise_m=0.02, rng=3)
    _, again, _ = render_room(DIMS, (2.5, 1.0, 1.5), intrinsics=ODD, noise_m=0.02, rng=3)
    assert np.std(noisy - clean) == pytest.approx(0.02, rel=0.05)
    np.testing.assert_array_equal(noisy, again)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(camera_position=(6.0, 1.0, 1.5)), "outside the room"),
        (dict(dims=(5.0, -4.0, 2.6)), "positive"),
        (dict(boxes=[((2, 0.5, 0), (3, 1.5, 2), (0, 0, 0))]), "inside box 0"),
        (dict(boxes=[((2, 2, 0), (1, 3, 1), (0, 0, 0))]), "min < max"),
        (dict(textures={"floor": "marble"}), "unknown texture"),
        (dict(colours={"roof": (1, 2, 3)}), "unknown surface"),
        (dict(colours={"floor": (300, 0, 0)}), "0-255"),
        (dict(noise_m=-0.1), "noise"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(kwargs, words):
    args = dict(dims=DIMS, camera_position=(2.5, 1.0, 1.5), intrinsics=Intrinsics.from_fov(16, 12))
    args.update(kwargs)
    with pytest.raises(InvalidGeometryError, match=words):
        render_room(**args)
