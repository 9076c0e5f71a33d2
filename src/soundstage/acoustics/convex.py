"""Convex rooms bounded by planes.

A convex room is the intersection of half-spaces ``n_k . x <= d_k`` (``n_k`` the outward
unit normal of surface ``k``). Volume and surface areas come from the vertices of that
intersection; every surface has its own material.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy.optimize import linprog
from scipy.spatial import ConvexHull, HalfspaceIntersection, QhullError

from soundstage.acoustics.materials import Material, get_material
from soundstage.acoustics.room import AirConditions, Enclosure, as_point
from soundstage.errors import InvalidGeometryError

_TOL = 1e-9


@dataclass(frozen=True)
class ConvexRoom(Enclosure):
    """A convex polyhedral room: outward normals ``(k, 3)``, offsets ``(k,)`` and materials.

    Build one with :meth:`from_planes` or :meth:`from_vertices`; they validate the geometry.
    """

    normals: np.ndarray
    offsets: np.ndarray
    materials: tuple[Material, ...]
    vertices: np.ndarray
    areas: np.ndarray
    room_volume: float
    air: AirConditions | None = field(default_factory=AirConditions)

    @classmethod
    def from_planes(
        cls,
        normals: Sequence[Sequence[float]],
        offsets: Sequence[float],
        materials: Material | str | Sequence[Material | str] = "plaster",
        *,
        air: AirConditions | None = AirConditions(),
    ) -> "ConvexRoom":
        """The room ``{x : normals[k] . x <= offsets[k] for all k}``; normals point outwards.

        ``materials`` is one material for every surface or one per plane.
        """
        n = np.asarray(normals, dtype=float)
        d = np.asarray(offsets, dtype=float)
        if n.ndim != 2 or n.shape[1] != 3 or d.shape != (n.shape[0],) or n.shape[0] < 4:
            raise InvalidGeometryError(
                f"planes must be normals (k, 3) and offsets (k,) with k >= 4, got {n.shape} and {d.shape}"
            )
        if not (np.all(np.isfinite(n)) and np.all(np.isfinite(d))):
            raise InvalidGeometryError("plane normals and offsets must be finite numbers")
        length = np.linalg.norm(n, axis=1)
        if np.any(length == 0):
            raise InvalidGeometryError(f"plane {int(np.argmin(length))} has a zero normal")
        n, d = n / length[:, None], d / length
        vertices = _vertices(n, d)
        areas = np.array([_face_area(vertices, n[k], d[k]) for k in range(len(d))])
        if np.any(areas <= _TOL):
            raise InvalidGeometryError(
                f"plane(s) {np.flatnonzero(areas <= _TOL).tolist()} do not bound the room; remove them"
            )
        return cls(n, d, _materials(materials, len(d)), vertices, areas, float(ConvexHull(vertices).volume), air)

    @classmethod
    def from_vertices(
        cls,
        vertices: Sequence[Sequence[float]],
        materials: Material | str | Sequence[Material | str] = "plaster",
        *,
        air: AirConditions | None = AirConditions(),
    ) -> "ConvexRoom":
        """The convex hull of ``vertices`` (n, 3); coplanar hull facets merge into one surface.

        Surfaces are ordered as :attr:`normals`; with one material per surface, build the
        room once to see that order, or use :meth:`from_planes`.
        """
        pts = np.asarray(vertices, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 3 or pts.shape[0] < 4 or not np.all(np.isfinite(pts)):
            raise InvalidGeometryError(f"vertices must be at least 4 finite points (n, 3), got shape {pts.shape}")
        try:
            hull = ConvexHull(pts)
        except QhullError:
            raise InvalidGeometryError("vertices are flat or degenerate; expected a solid room") from None
        planes = np.unique(np.round(hull.equations, 9), axis=0)
        return cls.from_planes(planes[:, :3], -planes[:, 3], materials, air=air)

    @property
    def volume(self) -> float:
        """Volume in cubic metres."""
        return self.room_volume

    def surface_areas(self) -> np.ndarray:
        """Area of each plane's face in square metres, shape ``(k,)``."""
        return self.areas

    def surface_materials(self) -> list[Material]:
        """Material of each plane."""
        return list(self.materials)

    def check_inside(self, point: Sequence[float], *, name: str = "point") -> np.ndarray:
        """Return ``point`` as an array, raising when it is not strictly inside the room."""
        p = as_point(point, name=name)
        outside = self.normals @ p - self.offsets
        if np.any(outside >= -_TOL):
            k = int(np.argmax(outside))
            raise InvalidGeometryError(
                f"{name} {tuple(p.tolist())} is outside the room: {outside[k]:.3g} m beyond plane {k} "
                f"(normal {np.round(self.normals[k], 3).tolist()}); expected a point inside every plane"
            )
        return p

    def on_face(self, surface: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Whether each point (on the plane of its ``surface``) lies on that surface's face.

        In a convex room a point of a bounding plane is on its face exactly when it is inside
        every other plane too.
        """
        return np.all(points @ self.normals.T - self.offsets[None, :] <= 1e-7, axis=1)

    def clear(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Whether each segment ``a[i] -> b[i]`` stays inside: always, in a convex room."""
        return np.ones(len(a), dtype=bool)


def _check_closed(n: np.ndarray, d: np.ndarray) -> None:
    free = [(None, None)] * 3
    for axis in np.vstack([np.eye(3), -np.eye(3)]):
        res = linprog(c=-axis, A_ub=n, b_ub=d, bounds=free, method="highs")
        if res.status == 3:
            raise InvalidGeometryError(
                f"the planes leave the room open towards {axis.astype(int).tolist()}; expected a closed room"
            )


def _vertices(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    _check_closed(n, d)
    # The Chebyshev centre (deepest interior point) seeds the half-space intersection.
    res = linprog(
        c=np.r_[np.zeros(3), -1.0],
        A_ub=np.c_[n, np.ones(len(d))],
        b_ub=d,
        bounds=[(None, None)] * 3 + [(0, None)],
        method="highs",
    )
    if res.status != 0 or res.x[3] <= 1e-6:
        raise InvalidGeometryError("the planes enclose no volume (or an unbounded one); expected a closed room")
    try:
        return HalfspaceIntersection(np.c_[n, -d], res.x[:3]).intersections
    except QhullError:
        raise InvalidGeometryError("the planes do not form a closed convex room") from None


def _face_area(vertices: np.ndarray, normal: np.ndarray, offset: float) -> float:
    on = vertices[np.abs(vertices @ normal - offset) < 1e-7]
    if len(on) < 3:
        return 0.0
    u = np.cross(normal, [1.0, 0.0, 0.0] if abs(normal[0]) < 0.9 else [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    flat = np.c_[on @ u, on @ v]
    try:
        return float(ConvexHull(flat).volume)
    except QhullError:
        return 0.0


def _materials(spec: Material | str | Sequence[Material | str], count: int) -> tuple[Material, ...]:
    if isinstance(spec, (Material, str, int, float)):
        return (get_material(spec),) * count
    items = list(spec)
    if len(items) != count:
        raise InvalidGeometryError(f"got {len(items)} materials for {count} surfaces; expected one per surface")
    return tuple(get_material(m) for m in items)
