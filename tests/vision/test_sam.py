"""Segment Anything as the optional object back-end of the regions of interest (vision/sam.py).

Grouping by object masks is checked on hand-made masks; the SAM plumbing (grid prompts,
best of three masks, filtering, suppression, loading from a folder) on a tiny randomly
initialized SAM model and processor that the test builds and saves itself.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from PIL import Image

from soundstage.cli import main
from soundstage.errors import DependencyError, FileFormatError, InvalidImageError
from soundstage.scene.interest import MIN_SHARE, regions_of_interest
from soundstage.scene.regions import Region


def _region(labels: np.ndarray, rgb: np.ndarray, i: int) -> Region:
    mask = labels == i
    rows, cols = np.nonzero(mask)
    colour = rgb[mask].mean(axis=0) / 255.0
    nan3 = np.full(3, np.nan)
    return Region(id=i, pixels=int(mask.sum()), bbox=(int(cols.min()), int(rows.min()), int(cols.max()) + 1,
                                                      int(rows.max()) + 1),
                  centroid=nan3, area=np.nan, normal=nan3, mean_rgb=colour, hsv=colour, texture=0.005,
                  anisotropy=0.0, planarity=np.nan, valid_fraction=0.0)


def test_an_object_mask_joins_its_regions_whatever_their_categories():
    """A two-coloured box on a grey wall: two groups without masks, one object with a mask."""
    labels = np.zeros((100, 200), np.int32)
    labels[30:70, 60:100], labels[30:70, 100:140] = 1, 2
    labels[80:95, 10:30] = 3  # a patch outside the mask, the same category as the box's left half
    rgb = np.full((100, 200, 3), 120, np.uint8)
    rgb[labels == 1], rgb[labels == 2], rgb[labels == 3] = (220, 30, 30), (30, 30, 220), (200, 40, 40)
    regions = [_region(labels, rgb, i) for i in range(4)]
    cats = [("ambience", "wall"), ("engine", "red"), ("hum", "blue"), ("engine", "red patch")]
    apart = regions_of_interest(rgb, labels, regions, cats)
    assert sorted(r.members for r in apart) == [[0], [1], [2], [3]]
    box = np.zeros_like(labels, bool)
    box[28:72, 58:142] = True  # covers regions 1 and 2, a sliver of the wall
    joined = regions_of_interest(rgb, labels, regions, cats, [box])
    assert sorted(r.members for r in joined) == [[0], [1, 2], [3]]
    obj = next(r for r in joined if r.members == [1, 2])
    assert obj.pixels == 40 * 80 and obj.bbox == (60, 30, 140, 70)
    with pytest.raises(InvalidImageError, match="object mask of shape"):
        regions_of_interest(rgb, labels, regions, cats, [box[:50]])


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    pytest.importorskip("transformers")
    import torch
    from transformers import SamConfig, SamModel, SamProcessor
    from transformers.models.sam.image_processing_pil_sam import SamImageProcessorPil

    torch.manual_seed(0)
    config = SamConfig(
        vision_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, image_size=128, patch_size=16,
                           output_channels=32, window_size=4, global_attn_indexes=[1], mlp_dim=64, num_pos_feats=16),
        prompt_encoder_config=dict(hidden_size=32, image_size=128, patch_size=16, mask_input_channels=4),
        mask_decoder_config=dict(hidden_size=32, mlp_dim=64, num_attention_heads=2, iou_head_hidden_dim=32))
    processor = SamProcessor(image_processor=SamImageProcessorPil(
        size={"longest_edge": 128}, pad_size={"height": 128, "width": 128}, mask_size={"longest_edge": 32},
        mask_pad_size={"height": 32, "width": 32}))
    folder = tmp_path_factory.mktemp("sam")
    SamModel(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _picture() -> np.ndarray:
    rng = np.random.default_rng(0)
    rgb = np.clip(128 + rng.normal(0, 2, (90, 120, 3)), 0, 255)
    rows, cols = np.indices((90, 120))
    rgb[(cols - 40) ** 2 + (rows - 45) ** 2 <= 150] = (220, 40, 40)
    return rgb.astype(np.uint8)


def test_masks_are_the_best_candidates_filtered_and_suppressed(checkpoint):
    from soundstage.vision.sam import SamSegmenter

    sam = SamSegmenter(checkpoint, points_per_side=4, min_iou=-np.inf, nms_iou=0.5)
    rgb = _picture()
    grid = sam.grid(120, 90)
    assert grid.shape == (16, 2) and grid[0] == pytest.approx((15, 11.25)) and grid[-1] == pytest.approx((105, 78.75))
    candidates, scores = sam.candidates(rgb)
    assert len(candidates) == 16 and scores.shape == (16,)
    assert all(c.shape == (90, 120) and c.dtype == bool for c in candidates)
    masks = sam.masks(rgb)
    assert masks, "a random SAM still gives masks with no IoU floor"
    # naive reference: the same filtering and suppression written out
    order = [i for i in np.argsort(-scores, kind="stable") if candidates[i].mean() >= MIN_SHARE]
    expected = []
    for i in order:
        if all((candidates[i] & k).sum() / (candidates[i] | k).sum() <= 0.5 for k in expected):
            expected.append(candidates[i])
    assert len(masks) == len(expected) and all(np.array_equal(a, b) for a, b in zip(masks, expected))
    assert SamSegmenter(checkpoint, points_per_side=4, min_iou=np.inf).masks(rgb) == []


def test_see2sound_groups_regions_with_sam(checkpoint, tmp_path, capsys):
    Image.fromarray(_picture()).save(tmp_path / "disc.png")
    assert main(["see2sound", str(tmp_path / "disc.png"), "-o", str(tmp_path / "out.wav"), "--space", "outdoor",
                 "--sam", str(checkpoint), "--duration", "0.5", "--sr", "16000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert any("sam object masks" in note for note in out["notes"]) and out["regions"]


def test_refusals(checkpoint, tmp_path, monkeypatch):
    from soundstage.vision.sam import SamSegmenter

    with pytest.raises(FileFormatError, match="holds no SAM model and processor: no config.json"):
        SamSegmenter(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileFormatError, match="could not load the SAM model and processor"):
        SamSegmenter(tmp_path)
    with pytest.raises(InvalidImageError, match="uint8"):
        SamSegmenter(checkpoint, points_per_side=2).candidates(np.zeros((10, 10)))
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(DependencyError, match="transformers"):
        SamSegmenter(checkpoint)
