"""The heuristic sound classifier of picture regions (scene/sound_labels.py) and regions of
interest (scene/interest.py): each rule fires on what it describes, and grouping and ranking
behave as documented."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from soundstage.scene.interest import MIN_SHARE, regions_of_interest, saliency_map
from soundstage.scene.regions import Region
from soundstage.scene.sound_labels import classify_sound

SIZE = (200, 100)  # width, height


def region(rgb, bbox, *, texture=0.005, surface="unknown", pixels=None, valid=0.0):
    hsv = np.array(colorsys.rgb_to_hsv(*(np.array(rgb) / 255.0)))
    u0, v0, u1, v1 = bbox
    return Region(0, pixels or (u1 - u0) * (v1 - v0), bbox, np.full(3, np.nan), np.nan, np.full(3, np.nan),
                  np.array(rgb) / 255.0, hsv, texture, 0.0, np.nan, valid, surface)


@pytest.mark.parametrize("rgb, bbox, texture, outdoor, expected", [
    ((120, 170, 235), (0, 0, 200, 30), 0.004, True, "wind"),          # blue sky at the top
    ((235, 238, 240), (0, 0, 200, 25), 0.004, True, "wind"),          # overcast
    ((40, 90, 170), (0, 45, 200, 100), 0.02, True, "waves"),          # a large blue expanse below
    ((40, 90, 170), (90, 70, 110, 80), 0.02, True, "stream"),         # a little blue below
    ((250, 150, 20), (80, 60, 110, 90), 0.03, False, "fire"),         # orange flames, indoors too
    ((50, 120, 40), (0, 0, 80, 40), 0.03, True, "birds"),             # textured green up high: trees
    ((70, 140, 60), (0, 70, 200, 100), 0.008, True, "insects"),       # smooth green low: grass
    ((100, 100, 100), (0, 70, 200, 100), 0.01, True, "traffic"),      # a wide grey band low: road
    ((200, 20, 20), (90, 60, 110, 75), 0.01, True, "engine"),         # a red compact object low: a car
    ((50, 120, 40), (0, 0, 80, 40), 0.03, False, "ambience"),         # green indoors is not birdsong
    ((100, 100, 100), (0, 70, 200, 100), 0.01, False, "ambience"),    # grey floor indoors is no road
    ((120, 170, 235), (0, 0, 200, 30), 0.004, False, "ambience"),     # a blue ceiling is no sky
])
def test_each_rule_fires_on_what_it_describes(rgb, bbox, texture, outdoor, expected):
    category, reason = classify_sound(region(rgb, bbox, texture=texture), SIZE, outdoor=outdoor)
    assert category == expected and reason


def test_machinery_hum_indoors_and_faces_make_a_person():
    vent = region((220, 222, 225), (80, 0, 120, 10), texture=0.004, surface="ceiling")
    assert classify_sound(vent, SIZE, outdoor=False)[0] == "hum"
    assert classify_sound(vent, SIZE, outdoor=True)[0] != "hum"
    face = region((200, 160, 140), (60, 20, 90, 60))
    assert classify_sound(face, SIZE, outdoor=False)[0] == "ambience"
    assert classify_sound(face, SIZE, outdoor=False, faces=[(62, 22, 88, 58)])[0] == "talker"
    assert classify_sound(face, SIZE, outdoor=False, faces=[(62, 22, 88, 58), (150, 20, 170, 50)])[0] == "crowd"
    wall = region((200, 160, 140), (0, 0, 200, 100))  # holds the face's centre but is far larger: not the person
    assert classify_sound(wall, SIZE, outdoor=False, faces=[(62, 22, 88, 58)])[0] not in ("talker", "crowd")


def test_saliency_is_zero_on_a_flat_picture_and_peaks_on_an_odd_colour():
    assert not saliency_map(np.full((40, 60, 3), 90, np.uint8)).any()
    rgb = np.full((40, 60, 3), 90, np.uint8)
    rgb[10:20, 40:50] = (230, 30, 30)
    s = saliency_map(rgb)
    assert s.max() == pytest.approx(1.0) and s[15, 45] > 0.9 and s[30, 10] < 0.1


def test_touching_regions_of_a_category_join_and_salient_small_beats_dull_large():
    # a grey wall (dull: near the mean colour), a lawn cut in two strips, a red thing on the wall
    labels = np.full((100, 200), 2, np.int32)
    labels[:, :6], labels[:, 6:12] = 0, 1
    labels[40:70, 150:180] = 3
    rgb = np.zeros((100, 200, 3), np.uint8)
    rgb[labels == 0] = rgb[labels == 1] = (60, 140, 50)
    rgb[labels == 2] = (120, 120, 120)
    rgb[labels == 3] = (220, 30, 30)
    regions = [region(tuple(rgb[labels == i][0]), (0, 0, 1, 1), pixels=int((labels == i).sum())) for i in range(4)]
    cats = [("insects", "grass"), ("insects", "grass"), ("ambience", "wall"), ("engine", "car")]
    rois = regions_of_interest(rgb, labels, regions, cats)
    assert [r.category for r in rois] == ["engine", "insects", "ambience"]  # the wall is largest, and last
    lawn = rois[1]
    assert lawn.members == [0, 1] and lawn.pixels == 12 * 100 and lawn.bbox == (0, 0, 12, 100)
    assert rois[0].pixel == pytest.approx((164.5, 54.5))
    # specks are dropped
    labels[0, 0] = 4
    regions.append(region((0, 0, 255), (0, 0, 1, 1), pixels=1))
    rois = regions_of_interest(rgb, labels, regions, cats + [("ambience", "speck")])
    assert all(r.pixels >= MIN_SHARE * labels.size for r in rois)
