"""Room-box fits on rendered shoeboxes and real NYU Depth v2 frames; priors; the layout type."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from soundstage.acoustics.room import SURFACES
from soundstage.errors import InvalidGeometryError, InvalidImageError
from soundstage.io.depth import read_depth
from soundstage.scene.camera import Intrinsics, backproject, camera_rotation
from soundstage.scene.layout import PRIOR_DIMS, RoomLayout, SurfaceFit, fit_room, layout_from_prior
from soundstage.scene.synthetic import render_room

NYU = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "rgbd" / "nyu_metric3d"
SMALL = Intrinsics.from_fov(160, 120)

# (dims, camera, yaw, pitch, faces that are in view and must be fitted)
CASES = [
    ((3.0, 7.0, 2.5), (1.5, 0.8, 1.4), 0.0, -10.0, {"west", "east", "north", "floor", "ceiling"}),
    ((4.5, 8.0, 2.8), (2.5, 1.0, 1.6), 10.0, -10.0, {"west", "east", "north", "floor", "ceiling"}),
    ((3.2, 9.0, 2.6), (1.2, 1.0, 1.5), -25.0, -10.0, {"east", "north", "floor", "ceiling"}),
    ((6.0, 5.0, 3.0), (2.0, 1.2, 1.6), 30.0, -10.0, {"west", "north", "floor"}),
    ((3.5, 6.0, 2.5), (1.5, 1.0, 1.4), -30.0, -10.0, {"east", "north", "floor"}),
]


def _true_distances(dims, camera):
    return dict(zip(SURFACES, [camera[0], dims[0] - camera[0], camera[1], dims[1] - camera[1],
                               camera[2], dims[2] - camera[2]]))


def _render(dims, camera, yaw, pitch, seed=0):
    boxes = [((0.3, dims[1] - 1.5, 0.0), (1.3, dims[1] - 0.8, 0.8), (90, 60, 40)),  # a sideboard
             ((dims[0] - 1.0, 2.5, 0.0), (dims[0] - 0.3, 3.5, 1.0), (30, 30, 160))]  # a cabinet
    _, depth, _, labels = render_room(dims, camera, yaw, pitch, intrinsics=SMALL, boxes=boxes, noise_m=0.01,
                                      rng=seed, return_labels=True)
    return backproject(depth, SMALL), labels


@pytest.mark.parametrize("dims, camera, yaw, pitch, seen", CASES)
def test_fit_recovers_rendered_shoeboxes(dims, camera, yaw, pitch, seen):
    points, labels = _render(dims, camera, yaw, pitch)
    layout = fit_room(points, rng=1)
    truth = camera_rotation(yaw, pitch)
    for axis in range(3):  # the room's axes (and so every face normal) within 5 degrees
        assert np.degrees(np.arccos(np.clip(layout.rotation[axis] @ truth[axis], -1, 1))) < 5.0
    cam = layout.camera_position
    assert np.all(cam > 0) and np.all(cam < layout.dims)
    fitted = {s for s, f in layout.surfaces.items() if f.source == "fitted"}
    assert seen <= fitted and "south" not in fitted
    true = _true_distances(dims, camera)
    for surface in fitted:
        fit = layout.surfaces[surface]
        assert fit.observed and fit.distance == pytest.approx(true[surface], rel=0.05), surface
        share = np.mean(labels == SURFACES.index(surface))
        assert fit.inlier_fraction == pytest.approx(share, abs=0.1), surface
    for axis in range(3):
        if {SURFACES[2 * axis], SURFACES[2 * axis + 1]} <= fitted:
            assert layout.dims[axis] == pytest.approx(dims[axis], rel=0.10)
    # The back wall follows its prior; an unseen side wall mirrors the seen one.
    south = layout.surfaces["south"]
    assert south.source == "prior" and not south.observed
    assert south.distance == pytest.approx(max(1.0, 0.5 * layout.surfaces["north"].distance))
    for side, other in (("west", "east"), ("east", "west")):
        if side not in fitted and other in fitted:
            assert layout.surfaces[side].source == "mirrored"
            assert layout.surfaces[side].distance == pytest.approx(layout.surfaces[other].distance)
    assert any(note.startswith("south:") for note in layout.notes)
    room = layout.to_room(points.reshape(-1, 3))
    outside = np.any((room < -0.1) | (room > np.asarray(layout.dims) + 0.1), axis=1)
    assert outside.mean() < 0.01


def test_flat_point_lists_fit_without_normals():
    dims, camera, yaw, pitch, _ = CASES[0]
    points, _ = _render(dims, camera, yaw, pitch)
    layout = fit_room(points.reshape(-1, 3), rng=0)
    np.testing.assert_allclose(layout.dims[0], dims[0], rtol=0.1)
    np.testing.assert_allclose(layout.dims[2], dims[2], rtol=0.1)
    np.testing.assert_allclose(layout.rotation, camera_rotation(yaw, pitch), atol=0.05)


def test_ceiling_prior_and_highest_points():
    dims, camera, yaw, pitch, _ = CASES[3]  # the ceiling is out of view
    points, _ = _render(dims, camera, yaw, pitch)
    tall = fit_room(points, ceiling_prior=3.0)
    assert tall.surfaces["ceiling"].source == "prior" and tall.dims[2] == pytest.approx(3.0, abs=0.05)
    assert any("ceiling" in note and "3 m above the floor" in note for note in tall.notes)
    low = fit_room(points, ceiling_prior=2.0)  # the walls are seen higher than that
    assert low.surfaces["ceiling"].source == "point extent"
    z = low.to_room(points.reshape(-1, 3))[:, 2]
    assert low.dims[2] > 2.0 and np.mean(z > low.dims[2] + 0.02) < 0.01


def test_a_lone_wall_falls_back_on_stated_priors():
    _, depth, _ = render_room((10.0, 10.0, 6.0), (5.0, 9.0, 3.0), intrinsics=SMALL)
    layout = fit_room(backproject(depth, SMALL), camera_height_prior=1.5, ceiling_prior=2.6)
    sources = {s: f.source for s, f in layout.surfaces.items()}
    assert sources == {"west": "prior", "east": "prior", "south": "prior", "north": "fitted",
                       "floor": "prior", "ceiling": "prior"}
    assert layout.surfaces["north"].distance == pytest.approx(1.0, abs=0.02)
    assert layout.dims == pytest.approx((2.0, 2.0, 2.6), abs=0.02)
    assert layout.camera_position == pytest.approx((1.0, 1.0, 1.5), abs=0.02)
    assert any("camera's up axis" in note for note in layout.notes)
    np.testing.assert_allclose(layout.rotation, camera_rotation(), atol=1e-3)


def test_too_few_points_or_wrong_shapes_are_refused():
    points, _ = _render(*CASES[0][:4])
    sparse = np.full_like(points, np.nan)
    sparse[:10, :50] = points[:10, :50]  # 500 valid points
    with pytest.raises(InvalidImageError, match="only 500 valid depth points"):
        fit_room(sparse)
    with pytest.raises(InvalidImageError, match=r"\(H, W, 3\) or \(N, 3\)"):
        fit_room(np.zeros((10, 10)))
    with pytest.raises(InvalidGeometryError, match="ceiling_prior"):
        fit_room(points, ceiling_prior=0.0)
    with pytest.raises(InvalidGeometryError, match="max_points"):
        fit_room(points, max_points=10)


def test_layout_round_trip_and_transforms():
    points, _ = _render(*CASES[1][:4])
    layout = fit_room(points)
    back = RoomLayout.from_dict(json.loads(json.dumps(layout.to_dict())))
    assert back.dims == layout.dims and back.notes == layout.notes and back.surfaces == layout.surfaces
    np.testing.assert_allclose(back.rotation, layout.rotation)
    np.testing.assert_allclose(back.translation, layout.translation)
    p = np.array([[0.3, -0.2, 2.0], [1.0, 0.5, 4.0]])
    np.testing.assert_allclose(layout.to_camera(layout.to_room(p)), p, atol=1e-12)
    np.testing.assert_allclose(layout.to_room(np.zeros(3)), layout.camera_position)
    lx, ly, lz = layout.dims
    assert layout.volume == pytest.approx(lx * ly * lz)
    areas = layout.surface_areas()
    assert areas["floor"] == pytest.approx(lx * ly) and areas["west"] == pytest.approx(ly * lz)
    assert areas["north"] == pytest.approx(lx * lz)


def test_layout_rejects_inconsistent_fields():
    good = layout_from_prior()
    with pytest.raises(InvalidGeometryError, match="rotation"):
        RoomLayout(good.dims, np.diag([1.0, 1.0, -1.0]), good.translation, good.surfaces)
    with pytest.raises(InvalidGeometryError, match="surfaces"):
        RoomLayout(good.dims, good.rotation, good.translation, {"floor": good.surfaces["floor"]})
    with pytest.raises(InvalidGeometryError, match="positive"):
        RoomLayout((4.0, 0.0, 2.5), good.rotation, good.translation, good.surfaces)
    with pytest.raises(InvalidGeometryError, match="to_dict"):
        RoomLayout.from_dict({"dims": [1, 2, 3]})
    with pytest.raises(InvalidGeometryError, match="source"):
        SurfaceFit.from_dict({"observed": True, "inlier_fraction": 0.1, "source": "guess", "distance": 1.0})


def test_layout_from_prior_is_a_typical_room_seen_from_its_back_third():
    k = Intrinsics.from_fov(640, 480)
    layout = layout_from_prior(k, (640, 480), camera_height=1.4)
    assert layout.dims == PRIOR_DIMS == (5.0, 4.0, 2.6)
    np.testing.assert_allclose(layout.camera_position, (2.5, 4.0 / 3.0, 1.4))
    assert all(f.source == "prior" and not f.observed and f.inlier_fraction == 0 for f in layout.surfaces.values())
    np.testing.assert_allclose(layout.rotation @ [0, 0, 1], [0, 1, 0], atol=1e-12)  # looking north
    assert layout.surfaces["north"].distance == pytest.approx(4.0 - 4.0 / 3.0)
    assert layout.surfaces["ceiling"].distance == pytest.approx(1.2)
    assert any("60 x 47 deg" in note for note in layout.notes)
    with pytest.raises(InvalidImageError, match="differs"):
        layout_from_prior(k, (480, 640))
    with pytest.raises(InvalidGeometryError, match="camera height"):
        layout_from_prior(camera_height=3.0)


@pytest.mark.skipif(not NYU.is_dir(), reason="shared RGB-D data absent")
@pytest.mark.parametrize("frame", ["00000", "00050", "00100"])
def test_real_nyu_frames_give_a_plausible_room(frame):
    meta = json.loads((NYU / "test_annotations.json").read_text())["files"][0]
    k = Intrinsics(*meta["cam_in"], width=640, height=480)
    depth = read_depth(NYU / f"sync_depth_{frame}.png", depth_scale=meta["depth_scale"], image_shape=(480, 640))
    points = backproject(depth, k)
    start = time.perf_counter()
    layout = fit_room(points, rng=0)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0  # about 0.2 s on one idle core
    assert all(1.5 <= d <= 15.0 for d in layout.dims), layout.dims
    cam = layout.camera_position
    assert np.all(cam > 0) and np.all(cam < layout.dims)
    assert layout.surfaces["floor"].source == "fitted"
    assert 1.0 < cam[2] < 2.0  # NYU was recorded with a hand-held Kinect
    up_in_camera = layout.rotation[2]
    assert up_in_camera @ [0.0, -1.0, 0.0] > np.cos(np.radians(30.0))
    room = layout.to_room(points[np.isfinite(points[..., 2])])
    outside = np.any((room < -0.1) | (room > np.asarray(layout.dims) + 0.1), axis=1)
    assert outside.mean() < 0.05
