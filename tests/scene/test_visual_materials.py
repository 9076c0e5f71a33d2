"""Visual material guesses: known materials, right place, textures told apart, priors, soft vs hard.

(Named ``test_visual_materials.py`` because ``tests/acoustics/test_materials.py`` exists and
pytest's default import mode needs unique test-module names.)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from soundstage.acoustics.materials import get_material, list_materials
from soundstage.acoustics.room import SURFACES
from soundstage.scene.camera import Intrinsics, backproject, camera_rotation
from soundstage.scene.materials import (
    OBJECT_PRIOR,
    PRIOR_MATERIALS,
    PROTOTYPES,
    WALLS,
    classify_region,
    clutter_summary,
    is_soft,
    object_absorption_area,
    surface_materials,
)
from soundstage.scene.regions import Region, segment_regions
from soundstage.scene.synthetic import render_room

SMALL = Intrinsics.from_fov(160, 120)
NYU = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "rgbd" / "nyu_metric3d"


def _classified(dims=(5.0, 4.0, 2.6), camera=(2.5, 0.8, 1.4), yaw=0.0, pitch=-10.0, **kw):
    rgb, depth, k = render_room(dims, camera, yaw, pitch, intrinsics=SMALL, **kw)
    points = backproject(depth, k) @ camera_rotation(yaw, pitch).T + np.asarray(camera)
    layout = SimpleNamespace(dims=dims, camera_position=np.asarray(camera, float))
    _, regions = segment_regions(rgb, points, layout)
    for r in regions:
        r.material, r.material_confidence, r.material_reason = classify_region(r)
    return regions, surface_materials(regions, layout)


def _region(surface="object", hsv=(0.0, 0.0, 0.5), texture=0.008, anisotropy=0.3, planarity=0.003,
            area=1.0, pixels=4000) -> Region:
    """A region with chosen features (colour given as HSV of the mean colour)."""
    return Region(id=0, pixels=pixels, bbox=(0, 0, 80, 50), centroid=np.array([1.0, 2.0, 1.0]), area=area,
                  normal=np.array([0.0, -1.0, 0.0]), mean_rgb=np.full(3, hsv[2]), hsv=np.array(hsv, float),
                  texture=texture, anisotropy=anisotropy, planarity=planarity, valid_fraction=1.0, surface=surface)


def test_every_material_named_exists_in_the_database():
    known = set(list_materials())
    assert {p.material for p in PROTOTYPES} <= known
    assert set(PRIOR_MATERIALS.values()) <= known
    places = set().union(*(p.places for p in PROTOTYPES))
    assert places == {"floor", "wall", "ceiling", "object"}


def test_wood_textured_floor_is_a_wood_floor_and_paint_is_plaster():
    regions, materials = _classified()
    assert materials["floor"]["material"] in {"wood_floor", "parquet"}
    assert materials["floor"]["source"] == "image" and materials["floor"]["confidence"] > 0.3
    assert materials["north"]["material"] in {"plaster", "plasterboard"}
    floor = [r for r in regions if r.surface == "floor"]
    assert all(r.material_reason.startswith("region on the floor") and "wood_floor" in r.material_reason
               for r in floor if r.material == "wood_floor")


def test_white_smooth_ceiling_is_a_ceiling_material():
    _, materials = _classified((5.0, 4.0, 2.6), (2.5, 0.5, 1.4), pitch=25.0)
    assert materials["ceiling"]["source"] == "image"
    assert materials["ceiling"]["material"] == "plasterboard_ceiling"


@pytest.mark.parametrize(
    "surface, texture, colour, pitch, expected",
    [
        ("floor", "carpet", (120, 40, 40), -20.0, {"carpet"}),
        ("floor", "carpet", (110, 110, 120), -60.0, {"carpet"}),  # grey pile needs a close look
        ("north", "brick", (160, 70, 50), -20.0, {"brick"}),
        ("north", "brick", (245, 244, 240), -20.0, {"brick_painted"}),
    ],
)
def test_textures_are_told_apart(surface, texture, colour, pitch, expected):
    _, materials = _classified(pitch=pitch, textures={surface: texture}, colours={surface: colour})
    assert materials[surface]["material"] in expected


def test_grey_pile_seen_from_afar_is_not_called_carpet_with_confidence():
    _, materials = _classified(pitch=-20.0, textures={"floor": "carpet"}, colours={"floor": (110, 110, 120)})
    assert materials["floor"]["confidence"] < 0.3  # ~3 cm per pixel: the pile is not resolved


def test_the_place_decides_which_prototypes_compete():
    for surface in SURFACES + ("object",):
        place = "wall" if surface in WALLS else surface
        for hsv, texture in (((0.08, 0.5, 0.4), 0.03), ((0.0, 0.02, 0.9), 0.005), ((0.6, 0.6, 0.2), 0.02)):
            name, confidence, reason = classify_region(_region(surface, hsv, texture))
            assert any(p.material == name and place in p.places for p in PROTOTYPES)
            assert 0.0 <= confidence <= 1.0 and name in reason


def test_a_region_without_depth_competes_everywhere_at_half_confidence():
    seen = _region("north", (0.0, 0.02, 0.85), 0.005)
    blind = _region("unknown", (0.0, 0.02, 0.85), 0.005, planarity=math.nan, area=math.nan)
    name, confidence, _ = classify_region(blind)
    assert name in list_materials()
    assert confidence <= 0.5 * classify_region(seen)[1] + 1e-9


def test_coarse_regions_are_less_certain():
    near = classify_region(_region("floor", (0.08, 0.3, 0.35), 0.024, area=1.0, pixels=10000))
    far = classify_region(_region("floor", (0.08, 0.3, 0.35), 0.024, area=1.0, pixels=1000))  # 3 cm per pixel
    assert near[0] == far[0] == "carpet"
    assert far[1] < near[1] * 0.015 / math.sqrt(1.0 / 1000)  # scaled down, and the texture counts less
    assert "3.2 cm per pixel" in far[2]


def test_soft_furnishing_absorbs_more_than_hard_furniture():
    soft = _region("object", (0.95, 0.6, 0.25), 0.02, planarity=0.02)  # dark red fabric
    hard = _region("object", (0.1, 0.05, 0.8), 0.006)  # white smooth
    (soft_name, soft_conf, _), (hard_name, hard_conf, _) = classify_region(soft), classify_region(hard)
    assert is_soft(soft_name) and not is_soft(hard_name)
    soft.material, soft.material_confidence = soft_name, soft_conf
    hard.material, hard.material_confidence = hard_name, hard_conf
    a_soft, a_hard = object_absorption_area([soft]), object_absorption_area([hard])
    assert np.all(a_soft[2:] > a_hard[2:])  # 500 Hz and up
    # an unsure guess counts as far as it is believed; the rest is taken as hard furniture
    expected = soft_conf * np.asarray(get_material(soft_name).absorption) + (1 - soft_conf) * np.asarray(
        get_material(OBJECT_PRIOR).absorption)
    np.testing.assert_allclose(a_soft, soft.area * expected)
    soft.material_confidence = 1.0
    np.testing.assert_allclose(object_absorption_area([soft]), np.asarray(get_material(soft_name).absorption))
    wall = _region("north", (0.1, 0.05, 0.8), 0.006)
    wall.material = "plaster"
    np.testing.assert_allclose(object_absorption_area([soft, hard, wall]), object_absorption_area([soft]) + a_hard)


def test_rendered_furniture_soft_and_hard():
    boxes = [((0.6, 2.2, 0.0), (2.0, 3.0, 0.9), (110, 25, 35), "carpet"),  # a dark red couch
             ((3.0, 2.4, 0.0), (4.4, 3.2, 0.9), (235, 235, 232), "flat")]  # a white cabinet
    regions, _ = _classified(boxes=boxes)
    objects = [r for r in regions if r.surface == "object" and r.pixels > 30]
    reddish = [r for r in objects if r.mean_rgb[0] > 1.8 * r.mean_rgb[1]]
    white = [r for r in objects if r.mean_rgb.min() > 0.75]
    assert reddish and white
    assert sum(is_soft(r.material) for r in reddish) > 0.8 * len(reddish)
    assert not any(is_soft(r.material) for r in white)
    summary = clutter_summary(regions)
    assert 0.05 < summary["object_share"] < 0.6 and 0 < summary["soft_share"] < 1
    assert summary["object_area_m2"] == pytest.approx(sum(summary["materials"].values()), abs=0.01)


def test_unseen_surfaces_get_stated_priors():
    regions, materials = _classified()  # the north wall and the floor are seen
    assert set(materials) == set(SURFACES)
    for s in ("west", "east", "south"):
        assert materials[s]["source"] == "prior" and materials[s]["material"] == materials["north"]["material"]
        assert "assumed like the hard walls that were seen" in materials[s]["reason"]
    assert materials["ceiling"]["source"] == "prior"
    assert materials["ceiling"]["material"] == PRIOR_MATERIALS["ceiling"]
    floor_only = surface_materials([r for r in regions if r.surface == "floor"])
    assert floor_only["north"]["material"] == PRIOR_MATERIALS["wall"] == "plaster"
    assert surface_materials([])["floor"]["material"] == PRIOR_MATERIALS["floor"]


def test_vote_is_area_weighted():
    big = _region("floor", (0.08, 0.3, 0.35), 0.024, area=3.0)  # carpet
    small = _region("floor", (0.0, 0.03, 0.45), 0.015, area=1.0)  # concrete
    result = surface_materials([big, small])["floor"]
    assert result["material"] == "carpet" and result["area_observed"] == pytest.approx(4.0)
    assert result["votes"]["carpet"] > 0.5 and set(result["votes"]) == {"carpet", "concrete_floor"}
    big.area = 0.2
    big.material = None  # classified again inside surface_materials
    assert surface_materials([big, small])["floor"]["material"] == "concrete_floor"



@pytest.mark.skipif(not NYU.is_dir(), reason="shared RGB-D data absent")
@pytest.mark.parametrize("frame", ["00000", "00050"])
def test_real_basement_floor_is_seen_and_hard(frame):
    from soundstage.io.depth import read_depth
    from soundstage.io.image import read_image
    from soundstage.scene.layout import fit_room

    fx, fy, cx, cy = json.loads((NYU / "test_annotations.json").read_text())["files"][0]["cam_in"]
    rgb = read_image(NYU / f"rgb_{frame}.jpg")
    points_cam = backproject(read_depth(NYU / f"sync_depth_{frame}.png"), Intrinsics(fx, fy, cx, cy, 640, 480))
    layout = fit_room(points_cam, rng=0)
    _, regions = segment_regions(rgb, layout.to_room(points_cam), layout)
    floor = surface_materials(regions, layout)["floor"]
    assert floor["source"] == "image" and floor["area_observed"] > 2.0
    assert not is_soft(floor["material"])  # these basements have bare concrete floors
