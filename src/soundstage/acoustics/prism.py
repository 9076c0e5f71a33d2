"""Rooms with vertical walls over any simple floor plan: L-shaped, T-shaped, alcoves.

A :class:`PrismRoom` is a floor polygon extruded to a ceiling height. Unlike a
:class:`~soundstage.acoustics.convex.ConvexRoom` it may be non-convex, so the image-source
model has to check two extra things for every reflection path (see
:func:`soundstage.acoustics.image_source.image_sources`): each reflection point must lie
on the real face of its wall (not on the wall's plane beyond a corner), and no leg of the
path may pass through a wall (a talker around the corner of an L has no direct sound).
Diffraction around corners is not modelled; the diffuse tail uses the Eyring/Sabine
formulas over the whole volume, as if the room were one coupled space.

Surfaces are ordered ``wall 0 .. wall n-1`` (wall ``k`` runs from plan vertex ``k`` to
``k + 1``, counter-clockwise), then ``floor``, then ``ceiling``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from soundstage.acoustics.convex import _materials
from soundstage.acoustics.materials import Material
from soundstage.acoustics.room import AirConditions, Enclosure, as_point
from soundstage.errors import InvalidGeometryError

__all__ = ["PrismRoom"]

_TOL = 1e-7


def _cross2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _proper_crossings(a: np.ndarray, b: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``(n, m)``: does segment ``a[i] b[i]`` cross edge ``p[j] q[j]`` at an interior point of both?"""
    ab = (b - a)[:, None, :]
    pq = (q - p)[None, :, :]
    o1 = _cross2(ab, p[None] - a[:, None])
    o2 = _cross2(ab, q[None] - a[:, None])
    o3 = _cross2(pq, a[:, None] - p[None])
    o4 = _cross2(pq, b[:, None] - p[None])
    return (o1 * o2 < -_TOL**2) & (o3 * o4 < -_TOL**2)


def _in_polygon(xy: np.ndarray, plan: np.ndarray, *, boundary: bool) -> np.ndarray:
    """Even-odd test for points ``(n, 2)``; points within 1e-7 m of an edge count as ``boundary``."""
    p, q = plan, np.roll(plan, -1, axis=0)
    x, y = xy[:, 0:1], xy[:, 1:2]
    straddle = (p[None, :, 1] > y) != (q[None, :, 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        cross_x = p[None, :, 0] + (y - p[None, :, 1]) * (q[None, :, 0] - p[None, :, 0]) / (q[None, :, 1] - p[None, :, 1])
    inside = (np.count_nonzero(straddle & (x < cross_x), axis=1) % 2) == 1
    edge = q - p
    t = np.clip(np.einsum("nmk,mk->nm", xy[:, None, :] - p[None], edge) / np.einsum("mk,mk->m", edge, edge), 0, 1)
    near = np.min(np.linalg.norm(p[None] + t[..., None] * edge[None] - xy[:, None, :], axis=2), axis=1) <= _TOL
    return (inside | near) if boundary else (inside & ~near)


@dataclass(frozen=True)
class PrismRoom(Enclosure):
    """A room with vertical walls over the floor polygon ``plan`` (counter-clockwise, metres).

    Build one with :meth:`from_plan` or :meth:`l_shaped`; they validate the geometry.
    ``normals`` / ``offsets`` are the outward planes of every surface (walls, floor,
    ceiling), in surface order.
    """

    plan: np.ndarray
    height: float
    materials: tuple[Material, ...]
    normals: np.ndarray
    offsets: np.ndarray
    air: AirConditions | None = field(default_factory=AirConditions)

    @classmethod
    def from_plan(
        cls,
        plan: Sequence[Sequence[float]],
        height: float,
        materials: Material | str | Sequence[Material | str] = "plaster",
        *,
        air: AirConditions | None = AirConditions(),
    ) -> "PrismRoom":
        """The prism over the simple polygon ``plan`` ``(n, 2)`` from the floor (z = 0) to ``height``.

        Either orientation is accepted (stored counter-clockwise); ``materials`` is one
        material or one per surface (``n`` walls, floor, ceiling).
        """
        pts = np.asarray(plan, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 3 or not np.all(np.isfinite(pts)):
            raise InvalidGeometryError(f"plan must be at least 3 finite (x, y) vertices, got shape {pts.shape}")
        if not np.isfinite(height) or height <= 0:
            raise InvalidGeometryError(f"room height must be a positive number of metres, got {height!r}")
        area2 = float(np.sum(_cross2(pts, np.roll(pts, -1, axis=0))))
        if abs(area2) < 1e-9:
            raise InvalidGeometryError("the floor plan encloses no area; expected a simple polygon")
        if area2 < 0:
            pts = pts[::-1].copy()
        edges = np.roll(pts, -1, axis=0) - pts
        length = np.linalg.norm(edges, axis=1)
        if np.any(length < 1e-6):
            raise InvalidGeometryError(f"plan vertex {int(np.argmin(length))} repeats; expected distinct corners")
        turn = _cross2(edges, np.roll(edges, -1, axis=0)) / (length * np.roll(length, -1))
        if np.any(np.abs(turn) < 1e-9):
            raise InvalidGeometryError("consecutive plan edges are collinear; merge them into one wall")
        n = len(pts)
        a, b = pts, np.roll(pts, -1, axis=0)
        cross = _proper_crossings(a, b, a, b)
        if np.any(cross):
            i, j = np.argwhere(cross)[0]
            raise InvalidGeometryError(f"plan edges {i} and {j} cross; expected a simple polygon")
        outward = np.c_[edges[:, 1], -edges[:, 0]] / length[:, None]
        normals = np.vstack([np.c_[outward, np.zeros(n)], [[0.0, 0.0, -1.0], [0.0, 0.0, 1.0]]])
        offsets = np.r_[np.einsum("ij,ij->i", outward, pts), 0.0, float(height)]
        return cls(pts, float(height), _materials(materials, n + 2), normals, offsets, air)

    @classmethod
    def l_shaped(
        cls,
        dims: Sequence[float],
        notch: Sequence[float],
        materials: Material | str | Sequence[Material | str] = "plaster",
        *,
        air: AirConditions | None = AirConditions(),
    ) -> "PrismRoom":
        """An ``lx x ly x lz`` box with the ``(nx, ny)`` corner at ``(lx, ly)`` cut away.

        Plan vertices: ``(0, 0), (lx, 0), (lx, ly - ny), (lx - nx, ly - ny), (lx - nx, ly), (0, ly)``;
        walls 2 and 3 are the two walls of the inner (reflex) corner.
        """
        lx, ly, lz = (float(v) for v in dims)
        nx, ny = (float(v) for v in notch)
        if not (0 < nx < lx and 0 < ny < ly):
            raise InvalidGeometryError(f"notch {tuple(notch)} must be smaller than the floor {lx} x {ly} m")
        plan = [(0, 0), (lx, 0), (lx, ly - ny), (lx - nx, ly - ny), (lx - nx, ly), (0, ly)]
        return cls.from_plan(plan, lz, materials, air=air)

    @property
    def volume(self) -> float:
        """Volume in cubic metres."""
        return self.floor_area * self.height

    @property
    def floor_area(self) -> float:
        """Area of the floor polygon in square metres."""
        return 0.5 * float(np.sum(_cross2(self.plan, np.roll(self.plan, -1, axis=0))))

    def surface_areas(self) -> np.ndarray:
        """Areas in surface order (walls, floor, ceiling), square metres."""
        walls = np.linalg.norm(np.roll(self.plan, -1, axis=0) - self.plan, axis=1) * self.height
        return np.r_[walls, self.floor_area, self.floor_area]

    def surface_materials(self) -> list[Material]:
        """Materials in surface order."""
        return list(self.materials)

    def check_inside(self, point: Sequence[float], *, name: str = "point") -> np.ndarray:
        """Return ``point`` as an array, raising when it is not strictly inside the room."""
        p = as_point(point, name=name)
        if not (0 < p[2] < self.height and _in_polygon(p[None, :2], self.plan, boundary=False)[0]):
            raise InvalidGeometryError(
                f"{name} {tuple(p.tolist())} is outside the room; expected 0 < z < {self.height} and (x, y) "
                f"inside the floor plan {np.round(self.plan, 3).tolist()}"
            )
        return p

    def on_face(self, surface: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Whether each point (on the plane of its ``surface``) lies on that surface's face."""
        n = len(self.plan)
        ok = (points[:, 2] >= -_TOL) & (points[:, 2] <= self.height + _TOL)
        wall = surface < n
        if np.any(wall):
            k = surface[wall]
            p, e = self.plan[k], np.roll(self.plan, -1, axis=0)[k] - self.plan[k]
            t = np.einsum("ij,ij->i", points[wall, :2] - p, e) / np.einsum("ij,ij->i", e, e)
            ok[wall] &= (t >= -_TOL) & (t <= 1 + _TOL)
        flat = ~wall
        if np.any(flat):
            ok[flat] &= _in_polygon(points[flat, :2], self.plan, boundary=True)
        return ok

    def clear(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Whether each segment ``a[i] -> b[i]`` (points in or on the room) stays inside it.

        In plan view, a segment between two points of a simple polygon leaves it only by
        crossing a wall; floor and ceiling never block a segment between inside points.
        """
        if len(a) == 0:
            return np.ones(0, dtype=bool)
        p, q = self.plan, np.roll(self.plan, -1, axis=0)
        return ~np.any(_proper_crossings(a[:, :2], b[:, :2], p, q), axis=1)
