"""Regions: cover the image, sit on the right faces at the right 3D places, measure areas and texture."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from soundstage.acoustics.room import SURFACES
from soundstage.errors import FileFormatError, InvalidImageError
from soundstage.scene.camera import Intrinsics, backproject, camera_rotation
from soundstage.scene.regions import FACE_NORMALS, Region, segment_regions
from soundstage.scene.synthetic import render_room

SMALL = Intrinsics.from_fov(160, 120)
NYU = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "rgbd" / "nyu_metric3d"


def _scene(dims=(5.0, 4.0, 2.6), camera=(2.5, 0.8, 1.4), yaw=0.0, pitch=-10.0, intrinsics=SMALL, **kw):
    """Render, back-project into the room frame; the true layout is (dims, camera)."""
    rgb, depth, k, truth = render_room(dims, camera, yaw, pitch, intrinsics=intrinsics, return_labels=True, **kw)
    points = backproject(depth, k) @ camera_rotation(yaw, pitch).T + np.asarray(camera)
    return rgb, points, SimpleNamespace(dims=dims, camera_position=np.asarray(camera, float)), truth


def _majority(truth: np.ndarray, labels: np.ndarray, region: Region) -> tuple[int, float]:
    values, counts = np.unique(truth[labels == region.id], return_counts=True)
    return int(values[np.argmax(counts)]), float(counts.max() / counts.sum())


def test_labels_cover_the_image_and_match_the_regions():
    rgb, points, layout, _ = _scene()
    labels, regions = segment_regions(rgb, points, layout)
    assert labels.shape == rgb.shape[:2] and labels.dtype == np.int32
    assert [r.id for r in regions] == list(range(len(regions))) == list(np.unique(labels))
    assert 60 <= len(regions) <= 300
    assert sum(r.pixels for r in regions) == labels.size
    for r in regions:
        v, u = np.nonzero(labels == r.id)
        assert r.pixels == len(u)
        assert r.bbox == (u.min(), v.min(), u.max() + 1, v.max() + 1)
        assert np.all((r.mean_rgb >= 0) & (r.mean_rgb <= 1)) and 0 <= r.anisotropy <= 1 + 1e-9


@pytest.mark.parametrize("yaw, pitch", [(0.0, -10.0), (25.0, -10.0), (-30.0, 5.0)])
def test_regions_land_on_the_faces_they_show(yaw, pitch):
    dims = (5.0, 4.0, 2.6)
    rgb, points, layout, truth = _scene(dims, (2.4, 0.9, 1.4), yaw, pitch, noise_m=0.005)
    labels, regions = segment_regions(rgb, points, layout)
    on_faces = [r for r in regions if r.surface in SURFACES]
    assert sum(r.pixels for r in on_faces) > 0.9 * labels.size
    for r in on_faces:
        face, share = _majority(truth, labels, r)
        assert SURFACES[face] == r.surface and share > 0.9
        assert np.dot(r.normal, FACE_NORMALS[r.surface]) > 0.98
        assert r.planarity < 0.02
    north = [r for r in regions if r.surface == "north"]
    assert north and all(abs(r.centroid[1] - dims[1]) < 0.02 for r in north)
    assert all(abs(r.centroid[2]) < 0.02 for r in regions if r.surface == "floor")


def test_box_regions_are_objects_inside_the_box():
    lo, hi = np.array([1.8, 2.2, 0.0]), np.array([3.2, 3.0, 0.9])
    rgb, points, layout, truth = _scene(boxes=[(lo, hi, (120, 40, 40))])
    labels, regions = segment_regions(rgb, points, layout)
    box = [r for r in regions if _majority(truth, labels, r) == (6, 1.0)]
    assert sum(r.pixels for r in box) > 0.9 * np.count_nonzero(truth == 6)
    for r in box:
        assert r.surface == "object"
        assert np.all(r.centroid > lo - 1e-3) and np.all(r.centroid < hi + 1e-3)
        if r.normal[1] < -0.99:  # on the front face, which looks at the camera
            assert r.centroid[1] == pytest.approx(lo[1], abs=0.01)


def test_depth_jump_splits_a_superpixel_of_one_colour():
    wall = (222, 218, 210)
    rgb, points, layout, truth = _scene(boxes=[((1.5, 2.0, 0.5), (3.5, 2.5, 2.0), wall)], textures=False,
                                        colours={s: wall for s in SURFACES}, pitch=0.0)
    labels, regions = segment_regions(rgb, points, layout)
    for r in regions:
        in_box = np.count_nonzero(truth[labels == r.id] == 6)
        assert in_box < 0.1 * r.pixels or in_box > 0.9 * r.pixels


def test_areas_of_a_frontal_wall_and_of_the_floor_seen_from_above():
    # only the north wall is in view: 2 * 3 tan(30 deg) wide, 0.75 of that high
    rgb, points, layout, truth = _scene((5.0, 4.0, 3.0), (2.5, 1.0, 1.5), 0.0, 0.0)
    assert np.all(truth == SURFACES.index("north"))
    _, regions = segment_regions(rgb, points, layout)
    width = 2 * 3.0 * math.tan(math.radians(30))
    assert sum(r.area for r in regions) == pytest.approx(width * 0.75 * width, rel=0.02)
    # straight down from 1.5 m: a 1.73 x 1.30 m patch of floor
    rgb, points, layout, truth = _scene((5.0, 4.0, 3.0), (2.5, 2.0, 1.5), 0.0, -90.0, textures=False)
    _, regions = segment_regions(rgb, points, layout)
    assert all(r.surface == "floor" and r.normal[2] > 0.999 for r in regions)
    width = 2 * 1.5 * math.tan(math.radians(30))
    assert sum(r.area for r in regions) == pytest.approx(width * 0.75 * width, rel=0.02)


def test_texture_colour_and_orientation_features():
    rgb, points, layout, _ = _scene((5.0, 7.0, 2.6), (2.5, 0.3, 1.3), pitch=0.0)  # floor and ceiling in view
    _, regions = segment_regions(rgb, points, layout)
    floor = [r for r in regions if r.surface == "floor" and r.pixels > 100]
    walls = [r for r in regions if r.surface == "north" and r.pixels > 100]
    ceiling = [r for r in regions if r.surface == "ceiling" and r.pixels > 100]
    assert floor and walls and ceiling
    assert np.median([r.texture for r in floor]) > 5 * np.median([r.texture for r in walls])
    ceiling_rgb = np.array([244, 244, 240]) / 255  # flat texture, no shading on faces normal to z
    assert all(np.allclose(r.mean_rgb, ceiling_rgb, atol=0.01) and r.hsv[1] < 0.05 for r in ceiling)
    assert np.median([r.hsv[0] * 360 for r in floor]) == pytest.approx(28, abs=8)  # brown wood


def test_wood_grain_is_more_anisotropic_than_carpet_pile():
    medians = {}
    for texture in ("wood", "carpet"):
        rgb, points, layout, _ = _scene(pitch=-30.0, textures={"floor": texture})
        _, regions = segment_regions(rgb, points, layout)
        medians[texture] = np.median([r.anisotropy for r in regions if r.surface == "floor" and r.pixels > 100])
    assert medians["wood"] > medians["carpet"] + 0.15


def test_pixels_without_depth_become_regions_with_nan_geometry():
    rgb, points, layout, _ = _scene()
    points[:, :60] = np.nan
    labels, regions = segment_regions(rgb, points, layout)
    assert labels.min() == 0 and labels.max() == len(regions) - 1
    blind = [r for r in regions if r.bbox[2] <= 60]
    assert blind
    for r in blind:
        assert r.surface == "unknown" and not r.has_geometry and math.isnan(r.area)
        assert np.all(np.isnan(r.normal)) and r.valid_fraction == 0.0
    assert all(r.has_geometry for r in regions if r.bbox[0] >= 60)


def test_without_a_layout_there_are_no_faces():
    rgb, depth, k = render_room((5.0, 4.0, 2.6), (2.5, 1.0, 1.4), intrinsics=SMALL)
    points = backproject(depth, k)  # camera frame, camera at the origin
    _, regions = segment_regions(rgb, points, None)
    assert {r.surface for r in regions} == {"object"}
    for r in regions:  # normals face the camera
        assert np.dot(r.normal, -r.centroid) > 0


def test_region_dict_round_trip_is_json_and_keeps_nan():
    rgb, points, layout, _ = _scene()
    points[:20, :20] = np.nan
    _, regions = segment_regions(rgb, points, layout)
    regions[0].material, regions[0].material_confidence = "plaster", 0.5
    text = json.dumps([r.to_dict() for r in regions], allow_nan=False)
    back = [Region.from_dict(d) for d in json.loads(text)]
    for a, b in zip(regions, back):
        assert a.bbox == b.bbox and a.surface == b.surface and a.material == b.material
        for key in ("centroid", "normal", "mean_rgb", "hsv"):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
        assert a.area == b.area or (math.isnan(a.area) and math.isnan(b.area))
    with pytest.raises(FileFormatError, match="Region.to_dict"):
        Region.from_dict({"id": 0, "pixels": 3})


def test_bad_inputs_are_refused_with_clear_messages():
    rgb, points, layout, _ = _scene()
    with pytest.raises(InvalidImageError, match="uint8"):
        segment_regions(rgb.astype(float), points, layout)
    with pytest.raises(InvalidImageError, match="one 3D point per pixel"):
        segment_regions(rgb, points[:, :-1], layout)
    with pytest.raises(InvalidImageError, match="at least 8x8"):
        segment_regions(rgb[:4, :4], points[:4, :4], layout)
    with pytest.raises(InvalidImageError, match="n_segments"):
        segment_regions(rgb, points, layout, n_segments=0)
    with pytest.raises(InvalidImageError, match="depth_edge"):
        segment_regions(rgb, points, layout, depth_edge=-0.1)


def test_regions_on_a_fitted_layout():
    layout_mod = pytest.importorskip("soundstage.scene.layout")
    rgb, depth, k = render_room((5.0, 4.0, 2.6), (2.2, 0.9, 1.4), 15.0, -10.0, intrinsics=SMALL, noise_m=0.005)
    points_cam = backproject(depth, k)
    layout = layout_mod.fit_room(points_cam, rng=0)
    _, regions = segment_regions(rgb, layout.to_room(points_cam), layout)
    floor = [r for r in regions if r.surface == "floor"]
    ahead = [r for r in regions if r.surface == "north"]
    assert sum(r.pixels for r in floor) > 0.1 * rgb.shape[0] * rgb.shape[1] and ahead
    assert all(abs(r.centroid[1] - layout.dims[1]) < 0.1 for r in ahead)


@pytest.mark.skipif(not NYU.is_dir(), reason="shared RGB-D data absent")
def test_real_nyu_frame_segments_into_plausible_regions():
    from soundstage.io.depth import read_depth
    from soundstage.io.image import read_image
    from soundstage.scene.layout import fit_room

    fx, fy, cx, cy = json.loads((NYU / "test_annotations.json").read_text())["files"][0]["cam_in"]
    rgb = read_image(NYU / "rgb_00000.jpg")
    points_cam = backproject(read_depth(NYU / "sync_depth_00000.png"), Intrinsics(fx, fy, cx, cy, 640, 480))
    layout = fit_room(points_cam, rng=0)
    labels, regions = segment_regions(rgb, layout.to_room(points_cam), layout)
    assert 80 <= len(regions) <= 400 and labels.max() == len(regions) - 1
    measured = [r for r in regions if r.has_geometry and np.all(np.isfinite(r.normal))]
    assert all(abs(np.linalg.norm(r.normal) - 1) < 1e-6 for r in measured)
    floor = [r for r in regions if r.surface == "floor"]
    assert sum(r.area for r in floor) > 2.0  # the basement floor fills the lower third of the view
    assert all(abs(r.centroid[2]) < 0.15 and r.normal[2] > 0.85 for r in floor)
    border = regions[labels[2, 320]]  # NYU frames have a white border without depth
    assert border.surface == "unknown"
