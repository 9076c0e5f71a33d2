"""Pinhole cameras: intrinsics, back-projection of depth maps and projection of points.

The **camera frame** is OpenCV's: x right, y down, z forward along the optical axis,
metres. A pixel ``(u, v)`` (column, row; pixel centres at integer coordinates) with
depth ``d`` (metres along z, not along the ray) back-projects to
``((u - cx) d / fx, (v - cy) d / fy, d)``.

The **room frame** is the one of :mod:`soundstage.geometry` (x right, y forward, z up).
:func:`camera_rotation` gives the rotation from the camera frame to the room frame for a
camera turned by yaw and pitch as a head is there.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from soundstage.errors import InvalidGeometryError, InvalidImageError
from soundstage.geometry import rotation_matrix

__all__ = [
    "CAMERA_TO_HEAD",
    "DEFAULT_HFOV_DEG",
    "Intrinsics",
    "backproject",
    "camera_rotation",
    "parse_intrinsics",
    "pixel_rays",
    "project",
]

#: Horizontal field of view (degrees) assumed when no intrinsics are given: a typical
#: phone main camera or Kinect/PrimeSense depth camera sees about 57-70 degrees across.
DEFAULT_HFOV_DEG: float = 60.0

#: Camera axes (x right, y down, z forward) expressed in head axes (x right, y forward,
#: z up): ``p_head = CAMERA_TO_HEAD @ p_cam``.
CAMERA_TO_HEAD: np.ndarray = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
CAMERA_TO_HEAD.setflags(write=False)


def _number(value: Any) -> float:
    """``value`` as a float, NaN when it is not a number (so the caller reports it)."""
    if isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels and the image size they belong to.

    Attributes
    ----------
    fx, fy
        Focal lengths in pixels (positive).
    cx, cy
        Principal point in pixels, inside the image ``[0, width] x [0, height]``.
    width, height
        Image size in pixels.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = _number(getattr(self, name))
            if not (math.isfinite(value) and value.is_integer() and value >= 1):
                raise InvalidImageError(
                    f"image {name} must be a positive whole number of pixels, got {getattr(self, name)!r}"
                )
            object.__setattr__(self, name, int(value))
        for name in ("fx", "fy", "cx", "cy"):
            value = _number(getattr(self, name))
            if not math.isfinite(value):
                raise InvalidGeometryError(
                    f"intrinsic {name} must be a finite number of pixels, got {getattr(self, name)!r}"
                )
            object.__setattr__(self, name, value)
        if self.fx <= 0 or self.fy <= 0:
            raise InvalidGeometryError(
                f"focal lengths must be positive pixels, got fx={self.fx:g}, fy={self.fy:g}"
            )
        if not (0.0 <= self.cx <= self.width and 0.0 <= self.cy <= self.height):
            raise InvalidGeometryError(
                f"principal point ({self.cx:g}, {self.cy:g}) lies outside the {self.width}x{self.height} "
                f"image; expected 0 <= cx <= {self.width} and 0 <= cy <= {self.height}"
            )

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float = DEFAULT_HFOV_DEG) -> Intrinsics:
        """Square-pixel intrinsics with the principal point at the image centre.

        ``fx = fy = (width / 2) / tan(hfov / 2)`` and ``(cx, cy) = ((width - 1) / 2,
        (height - 1) / 2)``, the centre in the integer-pixel-centre convention.
        """
        if not (0.0 < float(hfov_deg) < 180.0):
            raise InvalidGeometryError(f"horizontal field of view must be in (0, 180) degrees, got {hfov_deg!r}")
        focal = (float(width) / 2.0) / math.tan(math.radians(float(hfov_deg)) / 2.0)
        return cls(focal, focal, (float(width) - 1.0) / 2.0, (float(height) - 1.0) / 2.0, width, height)

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``, the shape of a matching depth map."""
        return self.height, self.width

    @property
    def hfov_deg(self) -> float:
        """Horizontal field of view in degrees (for a centred principal point)."""
        return math.degrees(2.0 * math.atan(self.width / (2.0 * self.fx)))

    @property
    def vfov_deg(self) -> float:
        """Vertical field of view in degrees (for a centred principal point)."""
        return math.degrees(2.0 * math.atan(self.height / (2.0 * self.fy)))

    def resized(self, width: int, height: int) -> Intrinsics:
        """The same camera for the image resampled to ``width x height`` pixels."""
        sx, sy = width / self.width, height / self.height
        return Intrinsics(
            self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5, (self.cy + 0.5) * sy - 0.5, width, height
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of the six fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Intrinsics:
        """Inverse of :meth:`to_dict`."""
        missing = [k for k in ("fx", "fy", "cx", "cy", "width", "height") if k not in data]
        if missing:
            raise InvalidGeometryError(f"intrinsics dict lacks {missing}; expected fx, fy, cx, cy, width, height")
        return cls(data["fx"], data["fy"], data["cx"], data["cy"], data["width"], data["height"])


def parse_intrinsics(text: str, width: int, height: int) -> Intrinsics:
    """Intrinsics from a ``"fx,fy,cx,cy"`` string (pixels) for a ``width x height`` image.

    Commas and/or spaces separate the numbers, e.g. ``"518.86,519.47,325.58,253.74"``.
    Raises :class:`InvalidGeometryError` for anything else, a non-positive focal length or
    a principal point outside the image.
    """
    parts = [p for p in re.split(r"[,\s]+", str(text).strip()) if p]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4:
        raise InvalidGeometryError(
            f"cannot read intrinsics {text!r}; expected four numbers 'fx,fy,cx,cy' in pixels"
        )
    return Intrinsics(*values, width=width, height=height)


def pixel_rays(intrinsics: Intrinsics) -> np.ndarray:
    """Camera-frame ray of every pixel, scaled to unit depth (z = 1), shape ``(H, W, 3)`` float32."""
    u = (np.arange(intrinsics.width, dtype=np.float64) - intrinsics.cx) / intrinsics.fx
    v = (np.arange(intrinsics.height, dtype=np.float64) - intrinsics.cy) / intrinsics.fy
    rays = np.empty((intrinsics.height, intrinsics.width, 3), dtype=np.float32)
    rays[..., 0] = u[None, :]
    rays[..., 1] = v[:, None]
    rays[..., 2] = 1.0
    return rays


def backproject(depth: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """Camera-frame 3D points of a depth map.

    Parameters
    ----------
    depth
        ``(H, W)`` metres along the optical axis; NaN or 0 where there is no depth.
    intrinsics
        Camera of the depth map; its size must be ``W x H``.

    Returns
    -------
    np.ndarray
        float32 ``(H, W, 3)`` points (x right, y down, z forward), NaN where depth is missing.
    """
    d = np.asarray(depth)
    if d.ndim != 2:
        raise InvalidImageError(f"depth map has shape {d.shape}; expected (H, W) metres")
    if d.shape != intrinsics.shape:
        raise InvalidImageError(
            f"depth map is {d.shape[0]}x{d.shape[1]} (H x W) but the intrinsics are for "
            f"{intrinsics.height}x{intrinsics.width}; expected matching sizes"
        )
    d = d.astype(np.float32)
    if np.any(np.isinf(d)) or np.any(d < 0):
        raise InvalidImageError("depth map holds negative or infinite values; expected metres >= 0 or NaN")
    d = np.where(d > 0, d, np.float32(np.nan))
    return pixel_rays(intrinsics) * d[..., None]


def project(points: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """Pixel coordinates ``(..., 2)`` (u, v) of camera-frame points ``(..., 3)``.

    Points on or behind the camera plane (z <= 0) or not finite give NaN.
    """
    p = np.asarray(points, dtype=np.float64)
    if p.shape[-1:] != (3,):
        raise InvalidGeometryError(f"points have shape {p.shape}; expected (..., 3) camera-frame metres")
    z = p[..., 2]
    z = np.where(z > 0, z, np.nan)
    u = intrinsics.fx * p[..., 0] / z + intrinsics.cx
    v = intrinsics.fy * p[..., 1] / z + intrinsics.cy
    return np.stack([u, v], axis=-1)


def camera_rotation(yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    """``(3, 3)`` rotation taking camera-frame vectors to the room frame.

    Yaw 0 and pitch 0 look along +y with the image's up along +z; yaw, pitch and roll
    follow :func:`soundstage.geometry.rotation_matrix` (yaw left, pitch nose up).
    """
    return rotation_matrix(yaw_deg, pitch_deg, roll_deg) @ CAMERA_TO_HEAD
