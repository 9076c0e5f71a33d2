"""Pinhole intrinsics, back-projection and projection, camera-to-room rotation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from soundstage.errors import InvalidGeometryError, InvalidImageError, SoundstageError
from soundstage.scene.camera import (
    DEFAULT_HFOV_DEG,
    Intrinsics,
    backproject,
    camera_rotation,
    parse_intrinsics,
    project,
)

NYU = Intrinsics(518.8579, 519.46961, 325.58245, 253.73617, 640, 480)


def test_from_fov_gives_the_requested_field_of_view_and_centred_principal_point():
    k = Intrinsics.from_fov(640, 480)
    assert k.fx == k.fy == pytest.approx(320.0 / math.tan(math.radians(30.0)))
    assert (k.cx, k.cy) == (319.5, 239.5)
    assert k.hfov_deg == pytest.approx(DEFAULT_HFOV_DEG)
    assert Intrinsics.from_fov(200, 100, 90.0).fx == pytest.approx(100.0)
    assert k.shape == (480, 640)


def test_backproject_follows_the_pinhole_formula_and_keeps_holes():
    depth = np.full((480, 640), 2.0, dtype=np.float32)
    depth[10, 20] = np.nan
    depth[11, 20] = 0.0
    pts = backproject(depth, NYU)
    assert pts.shape == (480, 640, 3) and pts.dtype == np.float32
    u, v = 600, 50
    expected = ((u - NYU.cx) * 2.0 / NYU.fx, (v - NYU.cy) * 2.0 / NYU.fy, 2.0)
    np.testing.assert_allclose(pts[v, u], expected, rtol=1e-5)
    assert np.all(np.isnan(pts[10, 20])) and np.all(np.isnan(pts[11, 20]))
    assert np.all(np.isfinite(pts[12, 20]))


def test_project_inverts_backproject():
    rng = np.random.default_rng(0)
    k = Intrinsics.from_fov(64, 48, 70.0)
    depth = rng.uniform(0.5, 8.0, (48, 64)).astype(np.float32)
    uv = project(backproject(depth, k), k)
    vv, uu = np.mgrid[0:48, 0:64]
    np.testing.assert_allclose(uv[..., 0], uu, atol=1e-3)
    np.testing.assert_allclose(uv[..., 1], vv, atol=1e-3)


def test_project_points_behind_the_camera_are_nan():
    uv = project(np.array([[0.0, 0.0, -1.0], [0.1, 0.0, 0.0], [0.0, 0.0, 2.0]]), NYU)
    assert np.all(np.isnan(uv[:2]))
    np.testing.assert_allclose(uv[2], (NYU.cx, NYU.cy))


def test_resized_intrinsics_see_the_same_point_at_scaled_pixels():
    half = NYU.resized(320, 240)
    point = np.array([0.7, -0.3, 2.5])
    u, v = project(point, NYU)
    uh, vh = project(point, half)
    assert uh == pytest.approx((u + 0.5) / 2 - 0.5) and vh == pytest.approx((v + 0.5) / 2 - 0.5)


def test_parse_intrinsics_accepts_commas_and_spaces():
    k = parse_intrinsics("518.8579, 519.46961 325.58245,253.73617", 640, 480)
    assert (k.fx, k.fy, k.cx, k.cy) == pytest.approx((518.8579, 519.46961, 325.58245, 253.73617))
    assert (k.width, k.height) == (640, 480)


@pytest.mark.parametrize(
    "text, words",
    [
        ("500,500,320", "four numbers"),
        ("a,b,c,d", "four numbers"),
        ("500,500,320,240,1", "four numbers"),
        ("0,500,320,240", "focal lengths must be positive"),
        ("500,-5,320,240", "focal lengths must be positive"),
        ("500,500,700,240", "outside"),
        ("500,500,320,-1", "outside"),
    ],
)
def test_parse_intrinsics_rejects_bad_strings_with_a_clear_message(text, words):
    with pytest.raises(InvalidGeometryError, match=words):
        parse_intrinsics(text, 640, 480)


def test_intrinsics_dict_round_trip_through_json():
    k = Intrinsics.from_dict(json.loads(json.dumps(NYU.to_dict())))
    assert k == NYU
    with pytest.raises(InvalidGeometryError, match="lacks"):
        Intrinsics.from_dict({"fx": 1.0})


def test_intrinsics_reject_bad_sizes_and_values():
    with pytest.raises(InvalidImageError, match="width"):
        Intrinsics(500, 500, 0, 0, 0, 480)
    with pytest.raises(InvalidImageError, match="height"):
        Intrinsics(500, 500, 0, 0, 640, 47.5)
    with pytest.raises(SoundstageError, match="fx"):
        Intrinsics("x", 500, 0, 0, 640, 480)
    with pytest.raises(InvalidGeometryError, match="field of view"):
        Intrinsics.from_fov(640, 480, 180.0)


def test_backproject_rejects_wrong_shapes_and_negative_depth():
    with pytest.raises(InvalidImageError, match="matching sizes"):
        backproject(np.ones((48, 64)), NYU)
    with pytest.raises(InvalidImageError, match=r"\(H, W\)"):
        backproject(np.ones((480, 640, 1)), NYU)
    bad = np.ones((480, 640))
    bad[0, 0] = -1.0
    with pytest.raises(InvalidImageError, match="negative"):
        backproject(bad, NYU)


def test_camera_rotation_maps_the_optical_axis_to_the_heading():
    level = camera_rotation()
    np.testing.assert_allclose(level @ [0, 0, 1], [0, 1, 0], atol=1e-12)  # forward -> north
    np.testing.assert_allclose(level @ [0, -1, 0], [0, 0, 1], atol=1e-12)  # image up -> up
    np.testing.assert_allclose(level @ [1, 0, 0], [1, 0, 0], atol=1e-12)  # image right -> east
    left = camera_rotation(90.0)
    np.testing.assert_allclose(left @ [0, 0, 1], [-1, 0, 0], atol=1e-12)  # yaw +90 looks west (left)
    down = camera_rotation(0.0, -30.0)
    np.testing.assert_allclose(down @ [0, 0, 1], [0, math.cos(math.radians(30)), -0.5], atol=1e-12)
    assert np.linalg.det(camera_rotation(20.0, -10.0, 5.0)) == pytest.approx(1.0)
