"""Lip landmarks and lip-motion features of a talking face.

MediaPipe FaceMesh (video mode: each frame's search starts from the last frame's face,
one face) gives 468 landmarks per frame. The 40 lip landmarks of
``FACEMESH_LIPS`` (outer and inner contours, in the sorted order of
:data:`LIP_INDICES`) are kept in pixels, then normalised: the mouth centroid (mean of
the 40 points) is subtracted in every frame and the result divided by one face scale
for the whole clip, the median distance between the outer eye corners (landmarks 33
and 263). The points are then unitless and do not change when the picture is shifted
or resized. Motion vectors are the frame-to-frame differences of the normalised
points, flattened to ``(T, 80)`` with the first frame zero.

Frames where no face is found are filled by linear interpolation in time between the
nearest detected frames (held constant before the first and after the last one) and
counted; a clip with fewer than half of its frames detected raises
:class:`~soundstage.errors.NoFaceError`.
"""

from __future__ import annotations

import hashlib
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundstage.errors import InvalidImageError, NoFaceError
from soundstage.io import atomic_write, read_video
from soundstage.io.atomic import PathLike

#: Version of the features stored by :func:`video_lip_features`; part of the cache key.
FEATURE_VERSION = 1
#: FaceMesh landmark indices of ``mp.solutions.face_mesh.FACEMESH_LIPS``, sorted.
LIP_INDICES: tuple[int, ...] = (
    0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181,
    185, 191, 267, 269, 270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402,
    405, 409, 415,
)
#: Outer eye corners (right, left) whose distance sets the face scale.
EYE_CORNERS: tuple[int, int] = (33, 263)
#: Midpoints of the upper and lower inner lip contour.
INNER_LIP_MIDPOINTS: tuple[int, int] = (13, 14)
_KEPT = np.array(LIP_INDICES + EYE_CORNERS)
_HASH_CHUNK = 1 << 20


@dataclass
class LipFeatures:
    """Lip landmarks of a clip.

    Attributes
    ----------
    points
        float32 ``(T, 40, 2)``: x, y of the lip landmarks (order :data:`LIP_INDICES`)
        minus the mouth centroid, in units of the clip's eye-corner distance.
    motion
        float32 ``(T, 80)``: ``points[t] - points[t - 1]`` flattened (x, y interleaved),
        zero for ``t = 0``.
    missing
        Number of frames without a detected face, filled by interpolation.
    fps
        Frame rate of the clip (frames per second).
    """

    points: np.ndarray
    motion: np.ndarray
    missing: int
    fps: float


def _check_frames(frames: np.ndarray, fps: float) -> np.ndarray:
    arr = np.asarray(frames)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[3] != 3 or 0 in arr.shape:
        raise InvalidImageError(
            f"frames must be non-empty uint8 RGB shaped (T, H, W, 3), found dtype {arr.dtype} "
            f"shape {arr.shape}"
        )
    if isinstance(fps, bool) or not np.isfinite(float(fps)) or float(fps) <= 0:
        raise InvalidImageError(f"fps must be a positive number, found {fps!r}")
    return arr


def _landmarks(frames: np.ndarray) -> np.ndarray:
    """Pixel x, y of the lip and eye-corner landmarks, float64 ``(T, 42, 2)``, NaN where missed."""
    from mediapipe.python.solutions.face_mesh import FaceMesh

    height, width = frames.shape[1:3]
    out = np.full((frames.shape[0], _KEPT.size, 2), np.nan)
    with FaceMesh(static_image_mode=False, max_num_faces=1) as mesh, warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"SymbolDatabase\.GetPrototype", UserWarning)
        for t, frame in enumerate(frames):
            found = mesh.process(np.ascontiguousarray(frame)).multi_face_landmarks
            if found:
                marks = found[0].landmark
                out[t] = [(marks[i].x, marks[i].y) for i in _KEPT]
    return out * np.array([width, height])


def interpolate_missing(values: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """Fill undetected frames by linear interpolation in time.

    Parameters
    ----------
    values
        ``(T, ...)`` per-frame values; rows where ``detected`` is False are ignored.
    detected
        bool ``(T,)``, at least one True.

    Returns
    -------
    np.ndarray
        float64 copy of ``values`` whose undetected rows are interpolated between the
        nearest detected rows before and after (the nearest one at either end).
    """
    known = np.flatnonzero(detected)
    if known.size == 0:
        raise NoFaceError("no frame has a detected face; expected at least one")
    x = np.asarray(values, dtype=np.float64)
    rank = np.interp(np.arange(x.shape[0]), known, np.arange(known.size, dtype=np.float64))
    lo = np.floor(rank).astype(int)
    hi = np.minimum(lo + 1, known.size - 1)
    w = (rank - lo).reshape((-1,) + (1,) * (x.ndim - 1))
    return (1.0 - w) * x[known[lo]] + w * x[known[hi]]


def normalise_lips(lips: np.ndarray, eye_distance: float) -> np.ndarray:
    """Centre lip points on the mouth centroid and divide by the face scale.

    Parameters
    ----------
    lips
        ``(T, 40, 2)`` lip landmarks (pixels).
    eye_distance
        Face scale (pixels): distance between the outer eye corners.

    Returns
    -------
    np.ndarray
        float32 ``(T, 40, 2)``, unitless.
    """
    centred = lips - lips.mean(axis=1, keepdims=True)
    return (centred / eye_distance).astype(np.float32)


def motion_vectors(points: np.ndarray) -> np.ndarray:
    """Frame-to-frame deltas of ``(T, 40, 2)`` points, flattened to float32 ``(T, 80)``."""
    deltas = np.diff(points, axis=0, prepend=points[:1])
    return deltas.reshape(points.shape[0], -1).astype(np.float32)


def mouth_opening(points: np.ndarray) -> np.ndarray:
    """Distance between the inner-lip midpoints (landmarks 13 and 14), ``(T,)``.

    Parameters
    ----------
    points
        ``(T, 40, 2)`` lip points in :data:`LIP_INDICES` order (any unit).
    """
    upper, lower = (LIP_INDICES.index(i) for i in INNER_LIP_MIDPOINTS)
    return np.linalg.norm(points[:, upper] - points[:, lower], axis=-1)


def lip_features(frames: np.ndarray, fps: float) -> LipFeatures:
    """Normalised lip landmarks and motion vectors of a face video.

    Parameters
    ----------
    frames
        uint8 RGB frames ``(T, H, W, 3)`` showing one face.
    fps
        Frame rate (frames per second).

    Returns
    -------
    LipFeatures
        Points ``(T, 40, 2)``, motion ``(T, 80)``, the count of interpolated frames
        and ``fps``.

    Raises
    ------
    InvalidImageError
        For frames of the wrong dtype or shape, or a non-positive fps.
    NoFaceError
        When a face is found in fewer than half of the frames; the message gives
        how many frames failed.
    """
    arr = _check_frames(frames, fps)
    raw = _landmarks(arr)
    detected = ~np.isnan(raw).any(axis=(1, 2))
    n_frames, missing = arr.shape[0], int(arr.shape[0] - detected.sum())
    if 2 * detected.sum() < n_frames:
        raise NoFaceError(
            f"no face found in {missing} of {n_frames} frames; expected a face in at "
            "least half of the frames"
        )
    filled = interpolate_missing(raw, detected)
    right, left = filled[detected, -2], filled[detected, -1]
    scale = float(np.median(np.linalg.norm(right - left, axis=-1)))
    if not scale > 0:
        raise NoFaceError(f"the detected face has zero eye-corner distance in {n_frames} frames")
    points = normalise_lips(filled[:, : len(LIP_INDICES)], scale)
    motion = motion_vectors(points)
    return LipFeatures(points=points, motion=motion, missing=missing, fps=float(fps))


def file_sha1(path: PathLike) -> str:
    """Hex SHA-1 of a file's bytes."""
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _load_cached(path: Path) -> LipFeatures | None:
    """The features stored at ``path``, or None when absent or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return LipFeatures(
                points=data["points"],
                motion=data["motion"],
                missing=int(data["missing"]),
                fps=float(data["fps"]),
            )
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None


def video_lip_features(path: PathLike, *, cache_dir: PathLike | None = None) -> LipFeatures:
    """Lip features of a video file, optionally cached.

    Parameters
    ----------
    path
        Video file showing one face.
    cache_dir
        Folder of ``<sha1>-v<FEATURE_VERSION>.npz`` files keyed by the video's bytes
        and :data:`FEATURE_VERSION`; a stored result is returned without decoding, a
        new one is written atomically. None disables caching.

    Returns
    -------
    LipFeatures
        As :func:`lip_features`.

    Raises
    ------
    FileFormatError
        When the video cannot be read.
    NoFaceError
        When a face is found in fewer than half of the frames (the message names the file).
    """
    source = Path(path)
    target = None
    if cache_dir is not None:
        target = Path(cache_dir) / f"{file_sha1(source)}-v{FEATURE_VERSION}.npz"
        cached = _load_cached(target)
        if cached is not None:
            return cached
    video = read_video(source, with_audio=False)
    try:
        features = lip_features(video.frames, video.fps)
    except NoFaceError as exc:
        raise NoFaceError(f"'{source}': {exc}") from exc
    if target is not None:

        def _write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(
                    fh,
                    points=features.points,
                    motion=features.motion,
                    missing=features.missing,
                    fps=features.fps,
                )

        atomic_write(target, _write, inputs=[source])
    return features
