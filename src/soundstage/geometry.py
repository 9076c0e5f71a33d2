"""Directions and orientations: the one coordinate convention of soundstage.

Positions are in metres with **x right, y forward, z up**; a listener at the origin
with yaw 0 faces +y. Directions are given as unit vectors or as

* **azimuth**: degrees counter-clockwise from the front seen from above, so +90 is
  the left (-x), -90 the right (+x) and 180 behind; reported in (-180, 180];
* **elevation**: degrees up from the horizontal plane, in [-90, 90].

This is also the angle convention of SOFA files (azimuth counter-clockwise, elevation
up), so measured HRTF directions are used as they are stored.

A head (or microphone, or loudspeaker rig) is oriented by **yaw** (turning left, about
z), **pitch** (nose up, about the right axis x) and **roll** (right ear down, about the
front axis y), applied in that order: ``R = Rz(yaw) Rx(pitch) Ry(roll)`` takes head
coordinates to world coordinates.
"""

from __future__ import annotations

import numpy as np

from soundstage.errors import InvalidGeometryError


def azel_to_vector(azimuth_deg: np.ndarray | float, elevation_deg: np.ndarray | float = 0.0) -> np.ndarray:
    """Unit vectors, shape ``(..., 3)``, pointing toward the given azimuth and elevation."""
    az = np.radians(np.asarray(azimuth_deg, dtype=float))
    el = np.radians(np.asarray(elevation_deg, dtype=float))
    az, el = np.broadcast_arrays(az, el)
    return np.stack([-np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)], axis=-1)


def vector_to_azel(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Azimuth in (-180, 180] and elevation in [-90, 90], degrees, of vectors ``(..., 3)``.

    Raises :class:`InvalidGeometryError` for a zero-length vector (no direction).
    """
    v = np.asarray(vectors, dtype=float)
    if v.shape[-1:] != (3,):
        raise InvalidGeometryError(f"direction vectors have shape {v.shape}; expected (..., 3)")
    norm = np.linalg.norm(v, axis=-1)
    if np.any(norm <= 1e-12) or not np.all(np.isfinite(norm)):
        raise InvalidGeometryError("a direction vector has zero length (source at the listener?); expected a direction")
    az = np.degrees(np.arctan2(-v[..., 0], v[..., 1]))
    az = np.where(az <= -180.0, az + 360.0, az)
    el = np.degrees(np.arcsin(np.clip(v[..., 2] / norm, -1.0, 1.0)))
    return az, el


def unit(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` scaled to unit length; a zero vector is an :class:`InvalidGeometryError`."""
    v = np.asarray(vectors, dtype=float)
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    if np.any(norm <= 1e-12) or not np.all(np.isfinite(norm)):
        raise InvalidGeometryError("a direction vector has zero length (source at the listener?); expected a direction")
    return v / norm


def rotation_matrix(yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    """``(3, 3)`` matrix taking head coordinates to world coordinates (see the module doc)."""
    y, p, r = np.radians([yaw_deg, pitch_deg, roll_deg])
    rz = np.array([[np.cos(y), -np.sin(y), 0.0], [np.sin(y), np.cos(y), 0.0], [0.0, 0.0, 1.0]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(p), -np.sin(p)], [0.0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(r), 0.0, np.sin(r)], [0.0, 1.0, 0.0], [-np.sin(r), 0.0, np.cos(r)]])
    return rz @ rx @ ry


def to_head(vectors: np.ndarray, yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    """World-frame vectors ``(..., 3)`` expressed in the frame of a head with this orientation."""
    return np.asarray(vectors, dtype=float) @ rotation_matrix(yaw_deg, pitch_deg, roll_deg)


def sphere_grid(n: int) -> np.ndarray:
    """``n`` nearly uniform unit vectors on the sphere (Fibonacci lattice), shape ``(n, 3)``.

    Each point stands for the same solid angle ``4 pi / n``, so plain means over the
    grid are diffuse-field (all-direction) averages.
    """
    if n < 1:
        raise InvalidGeometryError(f"sphere_grid needs at least one point, got {n}")
    i = np.arange(n) + 0.5
    z = 1.0 - 2.0 * i / n
    phi = np.pi * (1.0 + 5.0**0.5) * i
    rho = np.sqrt(1.0 - z**2)
    return np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)
