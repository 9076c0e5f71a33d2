"""RoomSynth: determinism, geometry of the depth, visible talker, physics of the response,
split families and resumable storage. Tiny images (32-64 px) keep it fast."""

from __future__ import annotations

import json

import numpy as np
import pytest

from soundstage.acoustics.materials import list_materials
from soundstage.acoustics.room import SURFACES
from soundstage.constants import SPEED_OF_SOUND
from soundstage.data.roomsynth import (
    FAMILIES,
    HELD_OUT_FAMILIES,
    PATTERNS,
    SHAPE_FAMILIES,
    SPLIT_SHAPES,
    L_SHAPES,
    TALKER_LABEL,
    generate,
    item_path,
    load_item,
    make_item,
    read_manifest,
    save_item,
)
from soundstage.errors import SoundstageError
from soundstage.scene.camera import Intrinsics, camera_rotation, pixel_rays, project

SMALL = {"width": 48, "height": 48}


def _points(item) -> np.ndarray:
    cam = item.meta["camera"]
    intr = Intrinsics.from_dict(cam["intrinsics"])
    rays = pixel_rays(intr).astype(np.float64) @ camera_rotation(cam["yaw_deg"], cam["pitch_deg"]).T
    return np.asarray(cam["position_m"]) + rays * item.depth[..., None].astype(np.float64)


def test_same_key_same_item_and_bytes(tmp_path):
    a, b = make_item(3, "train", 0, **SMALL), make_item(3, "train", 0, **SMALL)
    for name in ("rgb", "depth", "labels", "rir"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.meta == b.meta
    assert save_item(tmp_path / "a.npz", a).read_bytes() == save_item(tmp_path / "b.npz", b).read_bytes()
    c = make_item(3, "train", 1, **SMALL)
    assert not np.array_equal(a.rgb, c.rgb) and a.meta["dims_m"] != c.meta["dims_m"]
    d = make_item(3, "test-seen", 0, **SMALL)
    assert a.meta["dims_m"] != d.meta["dims_m"]
    assert a.rgb.dtype == np.uint8 and a.rgb.shape == (48, 48, 3) and a.depth.shape == (48, 48)


def test_depth_lies_on_the_true_surfaces():
    for i in range(3):
        item = make_item(11, "train", i, **SMALL)
        dims = np.asarray(item.meta["dims_m"])
        p = _points(item)
        cam = np.asarray(item.meta["camera"]["position_m"])
        for lab, _ in enumerate(SURFACES):
            sel = item.labels == lab
            axis, side = lab // 2, lab % 2
            np.testing.assert_allclose(p[sel][:, axis], side * dims[axis], atol=1e-3)
        floor = item.labels == SURFACES.index("floor")
        assert floor.any()
        # floor pixels: depth x (downward part of the unit-depth ray) = camera height
        cam_meta = item.meta["camera"]
        intr = Intrinsics.from_dict(cam_meta["intrinsics"])
        rays = pixel_rays(intr).astype(np.float64) @ camera_rotation(cam_meta["yaw_deg"], cam_meta["pitch_deg"]).T
        np.testing.assert_allclose(item.depth[floor] * -rays[floor][:, 2], cam[2], rtol=1e-4)
        for f in item.meta["furniture"]:
            sel = item.labels == f["label"]
            if sel.any():
                lo, hi = np.asarray(f["min_m"]), np.asarray(f["max_m"])
                q = p[sel]
                assert np.all((q > lo - 1e-3) & (q < hi + 1e-3))
                assert np.all(np.min(np.minimum(np.abs(q - lo), np.abs(q - hi)), axis=1) < 1e-3)


@pytest.mark.parametrize("split", ["train", "test-unseen"])
def test_talker_inside_in_front_and_visible(split):
    for i in range(4):
        item = make_item(5, split, i, **SMALL)
        m = item.meta
        dims, spk = np.asarray(m["dims_m"]), np.asarray(m["speaker"]["position_m"])
        cam = np.asarray(m["camera"]["position_m"])
        assert np.all(spk > 0.3) and np.all(spk < dims - 0.3)
        assert 1.0 <= spk[2] <= 1.6
        assert 1.0 - 1e-6 <= np.hypot(*(spk - cam)[:2]) <= 5.0 + 1e-6
        intr = Intrinsics.from_dict(m["camera"]["intrinsics"])
        rot = camera_rotation(m["camera"]["yaw_deg"], m["camera"]["pitch_deg"])
        u, v = project(rot.T @ (spk - cam), intr)
        np.testing.assert_allclose([u, v], m["speaker"]["pixel"], atol=0.01)
        assert 0 <= u < intr.width and 0 <= v < intr.height
        assert item.labels[int(v), int(u)] == TALKER_LABEL  # the talker's body is what that pixel sees
        assert m["listener"]["position_m"] == m["camera"]["position_m"]


def test_direct_sound_arrives_after_distance_over_c():
    for i in range(4):
        item = make_item(7, "train", i, width=16, height=16)
        sr, d = item.meta["rir"]["sr"], item.meta["distance_m"]
        amplitude = 1.0 / (4 * np.pi * d)
        onset = int(np.argmax(np.abs(item.rir) >= 0.5 * amplitude))
        assert abs(onset - d / SPEED_OF_SOUND * sr) <= 1.0
        peak = np.abs(item.rir[onset - 1 : onset + 2]).max()
        assert 0.7 * amplitude < peak < 1.05 * amplitude
        assert item.meta["direct_delay_s"] == pytest.approx(d / SPEED_OF_SOUND, abs=1e-6)


def test_t30_follows_eyring():
    ratios = {"1000": [], "2000": []}
    for i in range(6):
        m = make_item(1, "train", i, width=16, height=16).meta
        for band in ratios:
            ratios[band].append(m["profile"]["bands"][band]["t30"] / m["rt60_eyring_s"][band])
        assert m["profile"]["bands"]["1000"]["edt"] > 0 and m["profile"]["bands"]["1000"]["drr_db"] is not None
    for band, r in ratios.items():
        assert abs(np.mean(r) - 1.0) < 0.25, (band, r)


def test_families_and_materials_are_complete():
    assert len(FAMILIES) >= 10
    known = set(list_materials())
    a, b = np.meshgrid(np.linspace(0, 3, 40), np.linspace(0, 2, 30))
    for fam in FAMILIES.values():
        assert set(fam.materials) <= known, fam.name
        f = PATTERNS[fam.pattern](a, b)
        assert f.shape == a.shape and np.all(np.isfinite(f)) and np.std(f) > 0 or fam.pattern == "flat"
    for kind in ("wall", "floor", "ceiling"):  # every surface has seen families left
        assert any(kind in f.surfaces for n, f in FAMILIES.items() if n not in HELD_OUT_FAMILIES)


def test_split_families_are_disjoint():
    seen_shapes = {SHAPE_FAMILIES[s] for s in SPLIT_SHAPES["train"]}
    assert not L_SHAPES & set(SPLIT_SHAPES["train"]) and L_SHAPES <= set(SPLIT_SHAPES["test-unseen"])
    for name in set(SPLIT_SHAPES["test-unseen"]) - L_SHAPES:  # boxes: disjoint (aspect, height) ranges
        (r0, r1), (h0, h1) = SHAPE_FAMILIES[name]
        for (q0, q1), (g0, g1) in seen_shapes:  # no (aspect, height) box overlaps a seen one
            assert r0 > q1 or r1 < q0 or h0 > g1 or h1 < g0
    for split in ("train", "test-seen", "test-unseen"):
        for i in range(6):
            m = make_item(2, split, i, width=8, height=8, sr=8000, max_rir_s=0.5).meta
            lx, ly, lz = m["dims_m"]
            (r0, r1), (h0, h1) = SHAPE_FAMILIES[m["shape_family"]]
            assert m["shape_family"] in SPLIT_SHAPES[split]
            assert r0 - 1e-3 <= max(lx, ly) / min(lx, ly) <= r1 + 1e-3 and h0 - 1e-3 <= lz <= h1 + 1e-3
            assert 2.5 - 1e-3 <= min(lx, ly) and max(lx, ly) <= 25 + 1e-3
            used = {v["family"] for v in m["surfaces"].values()} | {f["family"] for f in m["furniture"]}
            for v in list(m["surfaces"].values()) + m["furniture"]:
                assert v["material"] in FAMILIES[v["family"]].materials
            if split == "test-unseen":
                assert {v["family"] for v in m["surfaces"].values()} & HELD_OUT_FAMILIES
            else:
                assert not used & HELD_OUT_FAMILIES


def _l_shaped_items(n):
    found, i = [], 0
    while len(found) < n:
        m = make_item(4, "test-unseen", i, width=8, height=8, sr=8000, max_rir_s=0.3).meta
        if m["shape_family"] == "l-shaped":
            found.append(make_item(4, "test-unseen", i, **SMALL))
        i += 1
    return found


def test_l_shaped_rooms_cut_a_corner_out_of_the_picture_and_the_acoustics():
    for item in _l_shaped_items(2):
        m = item.meta
        dims, notch = np.asarray(m["dims_m"]), np.asarray(m["notch_m"])
        assert np.all(notch >= 0.3 * dims[:2] - 1e-3) and np.all(notch <= 0.6 * dims[:2] + 1e-3)
        assert m["volume_m3"] == pytest.approx((dims[0] * dims[1] - notch[0] * notch[1]) * dims[2], rel=1e-4)
        assert "L-shaped room" in m["caption"]
        p = _points(item).reshape(-1, 3)
        lo = np.r_[dims[:2] - notch, 0.0]
        # no visible point inside the cut-away block; the east-labelled pixels are on x = lx or on a notch face
        assert not np.any(np.all(p > lo + 1e-3, axis=1) & np.all(p < dims - 1e-3, axis=1))
        east = p[item.labels.ravel() == SURFACES.index("east")]
        on = (np.abs(east[:, 0] - dims[0]) < 1e-3) | (np.abs(east[:, 0] - lo[0]) < 1e-3) | (np.abs(east[:, 1] - lo[1]) < 1e-3)
        assert on.all()
        cam, spk = np.asarray(m["camera"]["position_m"]), np.asarray(m["speaker"]["position_m"])
        for q in (cam, spk):
            assert not np.all(q[:2] > lo[:2])
        sr, d = m["rir"]["sr"], m["distance_m"]
        onset = int(np.argmax(np.abs(item.rir) >= 0.5 / (4 * np.pi * d)))
        assert abs(onset - d / SPEED_OF_SOUND * sr) <= 1.0  # the talker is in clear sight


def test_generate_resumes_and_keeps_bytes(tmp_path):
    opts = {"width": 32, "height": 32, "max_rir_s": 1.0}
    rows = generate(tmp_path, 3, "train", seed=9, **opts)
    assert [(r["split"], r["index"]) for r in rows] == [("train", 0), ("train", 1), ("train", 2)]
    before = {i: item_path(tmp_path, "train", i).read_bytes() for i in range(3)}
    item_path(tmp_path, "train", 1).unlink()
    partial = tmp_path / "items" / ".train-000001.0123456789ab.tmp.npz"
    partial.write_bytes(before[1][:100])
    with open(tmp_path / "manifest.jsonl", "a") as fh:
        fh.write('{"split": "train", "ind')  # a torn last line
    rows = generate(tmp_path, 3, "train", seed=9, **opts)
    assert not partial.exists()
    assert {i: item_path(tmp_path, "train", i).read_bytes() for i in range(3)} == before
    lines = (tmp_path / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == 3 and [json.loads(x) for x in lines] == rows == read_manifest(tmp_path)
    for i, row in enumerate(rows):
        stored = load_item(item_path(tmp_path, "train", i))
        assert row == stored["meta"] and row["index"] == i and row["seed"] == 9
        assert stored["depth"].dtype == np.float16 and stored["rir"].dtype == np.float32
    with pytest.raises(SoundstageError):
        generate(tmp_path, 3, "train", seed=10, **opts)


def test_workers_give_the_same_items(tmp_path):
    opts = {"width": 16, "height": 16, "max_rir_s": 0.5, "sr": 8000}
    generate(tmp_path / "one", 3, "test-seen", seed=4, workers=1, **opts)
    generate(tmp_path / "two", 3, "test-seen", seed=4, workers=2, progress=False, **opts)
    for i in range(3):
        assert (item_path(tmp_path / "one", "test-seen", i).read_bytes()
                == item_path(tmp_path / "two", "test-seen", i).read_bytes())
    assert (tmp_path / "one" / "manifest.jsonl").read_bytes() == (tmp_path / "two" / "manifest.jsonl").read_bytes()
