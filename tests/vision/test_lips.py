"""Lip landmarks on real GRID frames: shapes, mouth motion, invariances, misses, cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from soundstage.errors import InvalidImageError, NoFaceError
from soundstage.io import read_video
from soundstage.vision import lips as lips_module
from soundstage.vision.lips import (
    LIP_INDICES,
    interpolate_missing,
    lip_features,
    mouth_opening,
    video_lip_features,
)

GRID = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "grid_s1"
needs_grid = pytest.mark.skipif(not GRID.is_dir(), reason="GRID data folder is absent")


@pytest.fixture(scope="module")
def clip():
    return read_video(GRID / "bbaf2n.mkv", with_audio=False)


@pytest.fixture(scope="module")
def features(clip):
    return lip_features(clip.frames, clip.fps)


def test_lip_indices_are_the_sorted_facemesh_lips():
    from mediapipe.python.solutions.face_mesh import FACEMESH_LIPS

    assert LIP_INDICES == tuple(sorted({i for edge in FACEMESH_LIPS for i in edge}))
    assert len(LIP_INDICES) == 40


@needs_grid
def test_real_clip_mouth_moves_with_speech(features):
    assert features.points.shape == (75, 40, 2) and features.points.dtype == np.float32
    assert features.motion.shape == (75, 80) and features.missing == 0
    assert np.all(np.isfinite(features.points))
    # centred on the mouth centroid
    np.testing.assert_allclose(features.points.mean(axis=1), 0.0, atol=1e-6)
    opening = mouth_opening(features.points)
    assert opening.std() > 0.3 * opening.mean()
    words = [line.split() for line in (GRID / "bbaf2n.align").read_text().splitlines()]
    speech_start = int(words[1][0]) // 1000  # 1000 alignment units per video frame
    speech_end = int(words[-1][0]) // 1000
    assert words[0][2] == "sil" and speech_start > 10
    silent, spoken = opening[:speech_start].mean(), opening[speech_start:speech_end].mean()
    assert spoken > 1.2 * silent


@needs_grid
def test_motion_is_frame_difference_of_points(features):
    expected = np.diff(features.points, axis=0).reshape(74, 80)
    np.testing.assert_allclose(features.motion[1:], expected, atol=1e-7)
    assert not features.motion[0].any()


@needs_grid
def test_normalisation_invariant_to_scaling(clip, features):
    height, width = clip.frames.shape[1:3]
    size = (int(width * 1.5), int(height * 1.5))
    resized = [Image.fromarray(f).resize(size, Image.BILINEAR) for f in clip.frames]
    bigger = np.stack([np.asarray(image) for image in resized])
    scaled = lip_features(bigger, clip.fps)
    spread = features.points.std()
    assert np.abs(scaled.points - features.points).mean() < 0.01 * spread
    assert np.abs(scaled.points - features.points).max() < 0.1 * spread


@needs_grid
def test_normalisation_invariant_to_translation(clip, features):
    shifted = np.pad(clip.frames, ((0, 0), (40, 8), (60, 12), (0, 0)), mode="edge")
    moved = lip_features(shifted, clip.fps)
    spread = features.points.std()
    assert np.abs(moved.points - features.points).mean() < 0.01 * spread
    assert np.abs(moved.points - features.points).max() < 0.1 * spread


@needs_grid
def test_missed_frame_is_interpolated_and_counted(clip):
    frames = clip.frames[20:29].copy()
    frames[4] = 0
    result = lip_features(frames, clip.fps)
    assert result.missing == 1
    midpoint = (result.points[3] + result.points[5]) / 2
    np.testing.assert_allclose(result.points[4], midpoint, atol=1e-6)
    assert np.abs(result.points[3] - result.points[5]).max() > 1e-4


def test_interpolate_missing_matches_np_interp():
    rng = np.random.default_rng(3)
    values = rng.normal(size=(12, 3))
    detected = np.array([0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0], dtype=bool)
    filled = interpolate_missing(values, detected)
    known = np.flatnonzero(detected)
    for column in range(3):
        reference = np.interp(np.arange(12), known, values[known, column])
        np.testing.assert_allclose(filled[:, column], reference, atol=1e-12)


def test_no_face_raises_naming_failed_frames():
    noise = np.random.default_rng(0).integers(0, 256, (6, 96, 128, 3), dtype=np.uint8)
    with pytest.raises(NoFaceError, match="6 of 6 frames"):
        lip_features(noise, 25.0)


def test_bad_frames_rejected():
    with pytest.raises(InvalidImageError, match="uint8"):
        lip_features(np.zeros((3, 32, 32, 3), dtype=np.float32), 25.0)
    with pytest.raises(InvalidImageError, match="fps"):
        lip_features(np.zeros((3, 32, 32, 3), dtype=np.uint8), 0.0)


@needs_grid
def test_video_cache_round_trip(tmp_path, monkeypatch):
    first = video_lip_features(GRID / "bbaf2n.mkv", cache_dir=tmp_path)
    stored = list(tmp_path.glob("*.npz"))
    assert len(stored) == 1 and f"-v{lips_module.FEATURE_VERSION}" in stored[0].name

    def fail(*args, **kwargs):
        raise AssertionError("features were recomputed instead of read from the cache")

    monkeypatch.setattr(lips_module, "lip_features", fail)
    again = video_lip_features(GRID / "bbaf2n.mkv", cache_dir=tmp_path)
    np.testing.assert_array_equal(again.points, first.points)
    np.testing.assert_array_equal(again.motion, first.motion)
    assert (again.missing, again.fps) == (first.missing, first.fps)
