"""Face detection (vision/faces.py) on a real GRID talking-face frame and on a blank picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from soundstage.errors import InvalidImageError
from soundstage.vision.faces import detect_faces

GRID = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "grid_s1"


@pytest.mark.skipif(not GRID.is_dir(), reason="shared GRID clips not present")
def test_the_talker_of_a_grid_clip_is_found_and_a_blank_picture_has_no_face():
    from soundstage.io.video import read_video

    frame = read_video(sorted(GRID.glob("*.mkv"))[0], max_frames=1, with_audio=False).frames[0]
    (box,) = detect_faces(frame)
    u0, v0, u1, v1 = box
    h, w = frame.shape[:2]
    assert 0 <= u0 < u1 <= w and 0 <= v0 < v1 <= h
    assert 0.25 * w < 0.5 * (u0 + u1) < 0.75 * w  # GRID talkers sit in the middle of the frame
    assert detect_faces(np.full_like(frame, 120)) == []


def test_refuses_what_is_not_an_rgb_picture():
    with pytest.raises(InvalidImageError, match=r"uint8 \(H, W, 3\)"):
        detect_faces(np.zeros((10, 10), np.uint8))
