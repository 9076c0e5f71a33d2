"""Captions: size, shape, materials and clutter in words; the captioner hook and its fallback."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from soundstage.acoustics.room import SURFACES
from soundstage.errors import SoundstageError
from soundstage.scene.camera import Intrinsics, backproject, camera_rotation
from soundstage.scene.caption import caption_materials, caption_scene, caption_with, scene_summary
from soundstage.scene.materials import classify_region, surface_materials
from soundstage.scene.regions import Region, segment_regions
from soundstage.scene.synthetic import render_room

SEEN = {"source": "image", "area_observed": 2.0}


def _materials(floor="wood_floor", walls="plaster", ceiling="plasterboard_ceiling", prior=()):
    out = {s: dict(SEEN, material=walls) for s in SURFACES}
    out["floor"], out["ceiling"] = dict(SEEN, material=floor), dict(SEEN, material=ceiling)
    for s in prior:
        out[s]["source"] = "prior"
    return out


def _regions(object_pixels: int, soft: bool, total: int = 1000) -> list[Region]:
    def make(i, surface, pixels, material):
        return Region(id=i, pixels=pixels, bbox=(0, 0, 1, 1), centroid=np.ones(3), area=pixels / 1000,
                      normal=np.array([0.0, 0.0, 1.0]), mean_rgb=np.full(3, 0.5), hsv=np.array([0, 0, 0.5]),
                      texture=0.01, anisotropy=0.3, planarity=0.003, valid_fraction=1.0, surface=surface,
                      material=material, material_confidence=0.8)
    regions = [make(0, "floor", total - object_pixels, "wood_floor")]
    if object_pixels:
        regions.append(make(1, "object", object_pixels, "chairs_upholstered" if soft else "wood"))
    return regions


def _layout(dims):
    return SimpleNamespace(dims=dims)


def test_caption_mentions_dims_volume_and_materials():
    text = caption_scene(_layout((5.1, 4.0, 2.6)), _regions(200, soft=True), _materials())
    assert text.startswith("A medium-sized rectangular room (about 5.1 x 4.0 x 2.6 m, 53 m^3)")
    for words in ("a wooden floor", "plaster walls", "a plasterboard ceiling"):
        assert words in text
    assert "moderately cluttered (furniture covers about 20 % of the view), mostly soft furnishings." in text


def test_caption_without_measurements_keeps_the_words_only():
    summary = scene_summary(_layout((5.1, 4.0, 2.6)), [], _materials(ceiling="metal_ceiling"), measurements=False)
    text = summary["caption"]
    assert text.startswith("A medium-sized rectangular room with a wooden floor")
    assert not any(ch.isdigit() for ch in text) and "m^3" not in text
    assert "ceiling ceiling" not in text and summary["dims_m"] == [5.1, 4.0, 2.6]


@pytest.mark.parametrize(
    "dims, words",
    [
        ((2.8, 2.6, 2.4), ["A small square room", "18 m^3"]),
        ((5.0, 4.0, 2.6), ["A medium-sized rectangular room", "52 m^3"]),
        ((10.0, 8.0, 3.0), ["A large rectangular room", "240 m^3"]),
        ((20.0, 15.0, 6.0), ["A very large high-ceilinged rectangular room", "1800 m^3"]),
        ((2.0, 10.0, 2.2), ["A medium-sized low-ceilinged corridor-like room", "2.0 x 10.0 x 2.2 m"]),
    ],
)
def test_caption_changes_with_size_and_shape(dims, words):
    text = caption_scene(_layout(dims), _regions(0, soft=False), _materials())
    for w in words:
        assert w in text


def test_materials_and_priors_in_words():
    mats = _materials("carpet", "brick_painted", "acoustic_ceiling_tiles", prior=("ceiling", "south"))
    mats["west"]["material"] = "wood_panel"
    mats["west"]["area_observed"] = 5.0
    text = caption_scene(_layout((5.0, 4.0, 2.6)), _regions(0, soft=False), mats)
    assert "a carpeted floor" in text and "an acoustic-tile ceiling (assumed)" in text
    assert "wood-panelled and painted brick walls" in text  # the larger seen area first
    mats = _materials(prior=SURFACES)
    text = caption_scene(_layout((5.0, 4.0, 2.6)), [], mats)
    assert "a wooden floor (assumed), plaster walls (assumed) and a plasterboard ceiling (assumed)" in text


def test_clutter_words_follow_the_object_share():
    texts = [caption_scene(_layout((5.0, 4.0, 2.6)), _regions(n, soft=False), _materials()) for n in (50, 200, 500, 800)]
    for text, words in zip(texts, ("sparsely furnished", "moderately cluttered", "cluttered", "heavily cluttered")):
        assert f"; {words} (" in text and "mostly hard furniture" in text
    assert "(furniture covers about 80 % of the view)" in texts[-1]


def test_monocular_caption_says_the_size_is_a_guess():
    text = caption_scene(_layout((5.0, 4.0, 2.6)), _regions(300, soft=True), _materials(), monocular=True)
    assert text.startswith("A room of assumed typical size (about 5.0 x 4.0 x 2.6 m, 52 m^3; no depth map")
    assert "cluttered" not in text and text.endswith(".")


def test_summary_is_plain_data_with_the_caption():
    summary = scene_summary(_layout((5.0, 4.0, 2.6)), _regions(200, soft=False), _materials())
    assert summary["size"] == "medium-sized" and summary["shape"] == "rectangular"
    assert summary["clutter"]["object_share"] == pytest.approx(0.2)
    assert summary["materials"]["floor"] == {"material": "wood_floor", "source": "image"}
    assert summary["caption"] == caption_scene(_layout((5.0, 4.0, 2.6)), _regions(200, soft=False), _materials())


def test_caption_with_uses_the_captioner_and_falls_back_with_a_warning():
    summary = scene_summary(_layout((5.0, 4.0, 2.6)), [], _materials())
    rgb = np.zeros((8, 8, 3), np.uint8)
    seen = {}

    def model(image, info):
        seen["shape"], seen["size"] = image.shape, info["size"]
        return "  A bright office.  "

    assert caption_with(model, rgb, summary) == "A bright office."
    assert seen == {"shape": (8, 8, 3), "size": "medium-sized"}

    def broken(image, info):
        raise RuntimeError("weights missing")

    with pytest.warns(RuntimeWarning, match="RuntimeError: weights missing"):
        assert caption_with(broken, rgb, summary) == summary["caption"]
    with pytest.warns(RuntimeWarning, match="instead of text"):
        assert caption_with(lambda image, info: "", rgb, summary) == summary["caption"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert caption_with(None, rgb, summary) == summary["caption"]
    with pytest.raises(SoundstageError, match="no 'caption'"):
        caption_with(model, rgb, {"size": "small"})


def test_bad_inputs_name_the_problem():
    with pytest.raises(SoundstageError, match="positive lengths"):
        caption_scene(_layout((5.0, 0.0, 2.6)), [], _materials())
    partial = _materials()
    del partial["ceiling"]
    with pytest.raises(SoundstageError, match="lack \\['ceiling'\\]"):
        caption_scene(_layout((5.0, 4.0, 2.6)), [], partial)


def test_caption_of_a_rendered_room():
    dims, camera = (6.0, 5.0, 2.7), (3.0, 0.6, 1.4)
    boxes = [((1.0, 2.5, 0.0), (2.6, 3.4, 0.9), (110, 25, 35), "carpet")]
    rgb, depth, k = render_room(dims, camera, 0.0, -15.0, intrinsics=Intrinsics.from_fov(160, 120), boxes=boxes)
    points = backproject(depth, k) @ camera_rotation(0.0, -15.0).T + np.asarray(camera)
    layout = SimpleNamespace(dims=dims, camera_position=np.asarray(camera))
    _, regions = segment_regions(rgb, points, layout)
    for r in regions:
        r.material, r.material_confidence, r.material_reason = classify_region(r)
    text = caption_scene(layout, regions, surface_materials(regions, layout))
    assert "(about 6.0 x 5.0 x 2.7 m, 81 m^3)" in text and "A large rectangular room" in text
    assert "a wooden floor" in text and "plaster walls" in text and "ceiling (assumed)" in text
    assert "mostly soft furnishings" in text


@pytest.mark.parametrize("prior", [(), ("ceiling", "south")])
def test_caption_materials_reads_back_what_the_caption_names(prior):
    mats = _materials("carpet", "brick_painted", "acoustic_ceiling_tiles", prior=prior)
    mats["west"]["material"], mats["west"]["area_observed"] = "curtains_heavy", 5.0
    text = caption_scene(_layout((5.0, 4.0, 2.6)), _regions(100, soft=True), mats)
    named = caption_materials(text)
    assert "carpet" in named["floor"][0] and "acoustic_ceiling_tiles" in named["ceiling"][0]
    walls = [name for names in named["walls"] for name in names]
    assert "brick_painted" in walls and "curtains_heavy" in walls
    everything_assumed = caption_scene(_layout((5.0, 4.0, 2.6)), [], _materials("carpet", "glass", "plaster", SURFACES))
    assert [len(v) for v in caption_materials(everything_assumed).values()] == [1, 1, 1]
    assert caption_materials("A room.") is None
    assert caption_materials("A room with a moonrock floor, brick walls and a plaster ceiling.")["floor"] == []
