"""Plane fits, sequential RANSAC, organised-cloud normals, gravity and wall axes."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.errors import InvalidGeometryError
from soundstage.scene.camera import Intrinsics, backproject, camera_rotation
from soundstage.scene.planes import (
    Plane,
    estimate_normals,
    fit_plane,
    gravity_from_planes,
    manhattan_axes,
    ransac_planes,
)
from soundstage.scene.synthetic import render_room


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two lines (sign ignored)."""
    return float(np.degrees(np.arccos(np.clip(abs(np.dot(a, b)), 0.0, 1.0))))


def _plane_points(normal, offset, n, rng, noise=0.0, size=3.0, width=None):
    """``n`` points on ``normal . p + offset = 0`` spread over a ``size`` x ``width`` rectangle."""
    normal = np.asarray(normal, float) / np.linalg.norm(normal)
    a = np.cross(normal, [1.0, 0.0, 0.0] if abs(normal[0]) < 0.9 else [0.0, 1.0, 0.0])
    a /= np.linalg.norm(a)
    b = np.cross(normal, a)
    half = np.array([size, size if width is None else width]) / 2
    uv = rng.uniform(-half, half, (n, 2))
    return -offset * normal + uv[:, :1] * a + uv[:, 1:] * b + rng.normal(0.0, noise, (n, 1)) * normal


def test_fit_plane_recovers_a_noisy_plane_and_faces_the_origin():
    rng = np.random.default_rng(1)
    normal = np.array([0.2, -0.9, 0.3]) / np.linalg.norm([0.2, -0.9, 0.3])
    pts = _plane_points(normal, 1.7, 2000, rng, noise=0.01, size=3.0, width=1.0)
    plane = fit_plane(pts)
    assert _angle_deg(plane.normal, normal) < 1.0
    assert plane.offset == pytest.approx(1.7, abs=0.01)  # d > 0: the origin's distance
    assert np.dot(plane.normal, normal) > 0 and plane.inliers == 2000
    assert plane.rms == pytest.approx(0.01, rel=0.1)
    assert plane.extent == pytest.approx((0.96 * 3.0, 0.96 * 1.0), rel=0.05)  # 2nd-98th percentiles
    assert np.abs(plane.distance(pts)).mean() < 0.02


def test_fit_plane_rejects_degenerate_input():
    with pytest.raises(InvalidGeometryError, match="at least 3"):
        fit_plane(np.zeros((2, 3)))
    with pytest.raises(InvalidGeometryError, match="one line"):
        fit_plane(np.outer(np.arange(5.0), [1.0, 2.0, 3.0]))
    with pytest.raises(InvalidGeometryError, match="finite"):
        fit_plane(np.array([[0, 0, 1], [1, 0, 1], [np.nan, 1, 1]], float))
    with pytest.raises(InvalidGeometryError, match=r"\(N, 3\)"):
        fit_plane(np.zeros((5, 2)))


def test_ransac_finds_floor_and_wall_among_outliers():
    rng = np.random.default_rng(2)
    floor = _plane_points([0, -1, 0], 1.4, 3000, rng, noise=0.008, size=4.0) + [0, 0, 3]
    wall = _plane_points([0, 0, -1], 4.0, 2000, rng, noise=0.008, size=4.0)
    clutter = rng.uniform([-2, -1.5, 1], [2, 1.4, 4], (2000, 3))
    pts = np.concatenate([floor, wall, clutter])
    planes = ransac_planes(pts, threshold=0.03, max_planes=4, rng=0)
    assert len(planes) >= 2
    first, second = planes[0], planes[1]
    assert _angle_deg(first.normal, [0, 1, 0]) < 2.0 and first.offset == pytest.approx(1.4, abs=0.03)
    assert _angle_deg(second.normal, [0, 0, 1]) < 2.0 and second.offset == pytest.approx(4.0, abs=0.03)
    assert first.inliers >= 0.95 * 3000 and second.inliers >= 0.95 * 2000
    # Each point goes to one plane; few clutter points are taken by the true planes.
    assert len(np.intersect1d(first.indices, second.indices)) == 0
    assert np.mean(first.indices >= 5000) < 0.03
    # The remaining planes, if any, are smaller than both.
    assert all(p.inliers < second.inliers for p in planes[2:])


def test_ransac_is_seeded_and_validates_arguments():
    rng = np.random.default_rng(3)
    pts = np.concatenate([_plane_points([1, 0, 0], 2.0, 800, rng, 0.01), rng.uniform(-2, 2, (400, 3))])
    a = ransac_planes(pts, rng=5)
    b = ransac_planes(pts, rng=5)
    assert [p.inliers for p in a] == [p.inliers for p in b]
    with pytest.raises(InvalidGeometryError, match="threshold"):
        ransac_planes(pts, threshold=0.0)
    with pytest.raises(InvalidGeometryError, match="normals"):
        ransac_planes(pts, normals=np.zeros((3, 3)))


def test_normals_of_a_rendered_room_point_at_the_camera_along_the_faces():
    k = Intrinsics.from_fov(160, 120)
    _, depth, _, labels = render_room((4.0, 5.0, 2.6), (2.0, 1.0, 1.5), 0.0, -10.0, intrinsics=k, return_labels=True)
    depth[50, 60] = np.nan  # a hole in the depth map
    normals = estimate_normals(backproject(depth, k), step=2)
    room = normals @ camera_rotation(0.0, -10.0).T
    for label, expected in ((3, [0, -1, 0]), (4, [0, 0, 1])):  # north wall faces south, floor faces up
        sel = (labels == label) & np.isfinite(room[..., 0])
        assert sel.sum() > 100
        agree = room[sel] @ np.array(expected, float)
        assert np.median(agree) > 0.999  # oriented toward the camera, not merely parallel
    assert np.all(np.isfinite(normals[0])) and np.all(np.isfinite(normals[:, -1]))  # one-sided at the border
    assert room[-1, 80] @ [0, 0, 1] > 0.999  # the bottom row sees the floor
    # The stencil reaches exactly `step` pixels: the hole blanks those pixels' normals only.
    for v, u in ((50, 58), (50, 62), (48, 60), (52, 60)):
        assert np.all(np.isnan(normals[v, u]))
    assert np.all(np.isfinite(normals[[50, 50, 49, 51], [59, 61, 60, 60]]))


def test_ransac_with_normals_separates_the_faces_of_a_rendered_room():
    k = Intrinsics.from_fov(160, 120)
    _, depth, _ = render_room((4.0, 5.0, 2.6), (2.0, 1.0, 1.5), 20.0, -10.0, intrinsics=k, noise_m=0.005)
    points = backproject(depth, k)
    normals = estimate_normals(points, step=2)
    planes = ransac_planes(points.reshape(-1, 3), normals=normals.reshape(-1, 3), threshold=0.03, rng=0)
    rot = camera_rotation(20.0, -10.0)
    axes = [np.argmax(np.abs(rot @ p.normal)) for p in planes[:3]]
    assert sorted(axes) == [0, 1, 2]  # west wall, north wall and floor, each found once
    for p in planes[:3]:
        assert np.max(np.abs(rot @ p.normal)) > np.cos(np.radians(2.0))


def test_gravity_prefers_the_lowest_large_upward_plane():
    floor = Plane(np.array([0.0, -1.0, 0.0]), 1.5, 4000)
    table = Plane(np.array([0.0, -1.0, 0.0]), 0.8, 6000)
    tilted = Plane(np.array([0.0, -np.cos(0.35), -np.sin(0.35)]), 1.2, 3000)  # 20 deg tilted: still a floor candidate
    tiny = Plane(np.array([0.0, -1.0, 0.0]), 2.5, 100)  # too small to be the floor
    up, note = gravity_from_planes([table, floor, tiny])
    np.testing.assert_allclose(up, [0, -1, 0])
    assert "floor" in note
    up, _ = gravity_from_planes([tilted])
    np.testing.assert_allclose(up, tilted.normal)
    up, note = gravity_from_planes([Plane(np.array([0.0, 1.0, 0.0]), 1.0, 500)])
    np.testing.assert_allclose(up, [0, -1, 0])
    assert "ceiling" in note
    up, note = gravity_from_planes([Plane(np.array([0.0, 0.0, -1.0]), 3.0, 500)])
    np.testing.assert_allclose(up, [0, -1, 0], atol=1e-9)
    assert "camera's up axis" in note


def test_walls_correct_a_badly_tilted_floor_strip_and_a_tilted_camera():
    wall = Plane(np.array([0.0, 0.0, -1.0]), 3.0, 10000)  # the wall ahead
    strip = Plane(np.array([0.0, -np.cos(0.14), np.sin(0.14)]), 1.5, 300)  # 8 deg off about its long axis
    up, _ = gravity_from_planes([wall, strip])
    assert np.degrees(np.arccos(up @ [0, -1, 0])) < 0.5
    # A camera rolled 15 deg that sees two walls and no floor: their normals fix gravity.
    roll = camera_rotation(0.0, 0.0, 15.0)
    walls = [Plane(roll.T @ np.array(n, float), 2.0, 4000) for n in ([0, -1, 0], [1, 0, 0])]
    up, note = gravity_from_planes(walls)
    assert np.degrees(np.arccos(up @ roll.T @ [0, 0, 1])) < 0.5  # the camera's own up is 15 deg off
    assert "2 walls" in note


def test_manhattan_axes_turn_north_toward_the_closest_wall_normal():
    up = np.array([0.0, -1.0, 0.0])
    rot = camera_rotation(25.0)  # the camera is turned 25 deg left of the room's north
    walls = [Plane(rot.T @ n, 2.0, w) for n, w in (([0, -1, 0], 3000), ([1, 0, 0], 1000), ([-1, 0, 0], 500))]
    oblique = Plane(camera_rotation(-20.0).T @ np.array([0.0, -1.0, 0.0]), 1.0, 2000)  # 45 deg off: ignored
    axes, note = manhattan_axes(walls + [oblique], up)
    np.testing.assert_allclose(axes, rot, atol=1e-9)  # rows: room axes in the camera frame
    assert "4 vertical planes" in note and "25.0 deg" in note
    axes, note = manhattan_axes([], up)
    np.testing.assert_allclose(axes, camera_rotation(), atol=1e-12)
    assert "assumed" in note
