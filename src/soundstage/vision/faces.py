"""Faces in a picture: MediaPipe's BlazeFace detector (its full-range model ships in the wheel)."""

from __future__ import annotations

import os

import numpy as np

from soundstage.errors import InvalidImageError

__all__ = ["MIN_FACE_SCORE", "detect_faces"]

#: Lowest detection score kept.
MIN_FACE_SCORE = 0.5


def detect_faces(rgb: np.ndarray, *, min_score: float = MIN_FACE_SCORE) -> list[tuple[float, float, float, float]]:
    """Boxes ``(u0, v0, u1, v1)`` in pixels of the faces in a uint8 RGB picture, most confident first.

    Uses the full-range model (faces up to about 5 m from the camera).
    """
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ start-up chatter
    import mediapipe as mp

    rgb = np.ascontiguousarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidImageError(f"image must be uint8 (H, W, 3); got {rgb.dtype} {rgb.shape}")
    h, w = rgb.shape[:2]
    with mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=min_score) as det:
        found = det.process(rgb).detections or []
    boxes = []
    for d in sorted(found, key=lambda d: -d.score[0]):
        b = d.location_data.relative_bounding_box
        u0, v0 = max(0.0, b.xmin * w), max(0.0, b.ymin * h)
        boxes.append((u0, v0, min(float(w), (b.xmin + b.width) * w), min(float(h), (b.ymin + b.height) * h)))
    return boxes
