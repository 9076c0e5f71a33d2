"""The room box around a camera: fitted to a depth point cloud, or assumed.

:func:`fit_room` turns camera-frame points into a :class:`RoomLayout`: a shoebox
``[0, Lx] x [0, Ly] x [0, Lz]`` in the room frame (x east, y north, z up) and the camera's
pose in it, ``p_room = rotation @ p_cam + translation``.

1. **Planes**: sequential RANSAC on a random subsample of the valid points, with
   per-pixel normals when the cloud is an organised ``(H, W, 3)`` image.
2. **Gravity**: the normal of the floor (the lowest large plane facing up within 45 deg
   of the camera's up axis), else the ceiling's, else the camera's up axis, refined so
   that level planes stay level and walls vertical.
3. **Manhattan frame**: a vote modulo 90 deg over the horizontal directions of the
   per-point normals on vertical surfaces (else of the wall planes); the horizontal
   axis closest to the camera's heading becomes +y, so the camera faces north.
4. **Faces**: per side of each axis, the farthest plane aligned with it within 15 deg
   ("fitted") unless over 3 % of the points lie beyond it (a doorway; a table taken for
   the floor) or too few points on it face the camera (exposed joists). Other faces
   follow stated priors, never closer than the 99.5th percentile of the points on that
   side ("point extent"):

   * an unseen side wall mirrors the opposite fitted one about the camera ("mirrored":
     rooms are photographed from near their middle more often than from a side); with
     neither seen, both sit at the larger point extent, at least 1 m away ("prior");
   * the wall behind the camera is never seen: ``max(1 m, 0.5 x distance ahead)`` behind
     it ("prior": a room is photographed from inside, usually from its back half but not
     from against the wall);
   * an unseen ceiling is ``ceiling_prior`` (2.6 m, a common storey) above the floor, or
     at the highest points; an unseen floor is ``ceiling_prior`` below a fitted ceiling,
     else ``camera_height_prior`` (1.5 m, a hand-held camera) below the camera.

Every assumption made for an input is written to :attr:`RoomLayout.notes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from soundstage.acoustics.room import SURFACES, Room
from soundstage.errors import InvalidGeometryError, InvalidImageError
from soundstage.scene.camera import Intrinsics, camera_rotation
from soundstage.scene.planes import estimate_normals, gravity_from_planes, manhattan_axes, ransac_planes

__all__ = ["PRIOR_DIMS", "SOURCES", "RoomLayout", "SurfaceFit", "fit_room", "layout_from_prior"]

#: How a face's position was obtained.
SOURCES: tuple[str, ...] = ("fitted", "mirrored", "prior", "point extent")
#: Room assumed without depth: a typical living room or office, metres.
PRIOR_DIMS: tuple[float, float, float] = (5.0, 4.0, 2.6)
_MIN_POINTS = 1000
_COS_ALIGNED = np.cos(np.radians(15.0))  # plane normal vs a room axis
_COS_FACING = np.cos(np.radians(25.0))  # point normal vs a face's inward normal


def _face(surface: str) -> tuple[int, int]:
    """Axis (0 x, 1 y, 2 z) and side (-1 min, +1 max) of a face; SURFACES pairs min/max per axis."""
    axis, upper = divmod(SURFACES.index(surface), 2)
    return axis, 1 if upper else -1


@dataclass
class SurfaceFit:
    """How one face of the room box was placed.

    Attributes
    ----------
    observed
        A plane was fitted to this face in the depth data.
    inlier_fraction
        Share of the valid depth points lying on the face (within the fit tolerance).
    source
        One of :data:`SOURCES`.
    distance
        Perpendicular distance from the camera to the face, metres.
    """

    observed: bool
    inlier_fraction: float
    source: str
    distance: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {"observed": self.observed, "inlier_fraction": self.inlier_fraction,
                "source": self.source, "distance": self.distance}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SurfaceFit:
        """Inverse of :meth:`to_dict`."""
        if data.get("source") not in SOURCES:
            raise InvalidGeometryError(f"surface source {data.get('source')!r} is not one of {SOURCES}")
        return cls(bool(data["observed"]), float(data["inlier_fraction"]), str(data["source"]), float(data["distance"]))


@dataclass
class RoomLayout:
    """A shoebox room and the camera's pose in it: ``p_room = rotation @ p_cam + translation``.

    Attributes
    ----------
    dims
        ``(Lx, Ly, Lz)`` metres; the room is ``[0, Lx] x [0, Ly] x [0, Lz]``.
    rotation
        ``(3, 3)`` rotation from the camera frame (x right, y down, z forward) to the room frame.
    translation
        ``(3,)`` metres; also the camera's position in the room.
    surfaces
        :class:`SurfaceFit` for each name in :data:`~soundstage.acoustics.room.SURFACES`.
    notes
        Human-readable statements of every assumption made.
    """

    dims: tuple[float, float, float]
    rotation: np.ndarray
    translation: np.ndarray
    surfaces: dict[str, SurfaceFit]
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dims = Room.shoebox(self.dims).dims
        self.rotation = np.asarray(self.rotation, dtype=float)
        self.translation = np.asarray(self.translation, dtype=float)
        if self.rotation.shape != (3, 3) or not np.allclose(self.rotation @ self.rotation.T, np.eye(3), atol=1e-6) \
                or np.linalg.det(self.rotation) < 0:
            raise InvalidGeometryError(f"layout rotation must be a 3x3 proper rotation matrix, got {self.rotation!r}")
        if self.translation.shape != (3,) or not np.all(np.isfinite(self.translation)):
            raise InvalidGeometryError(f"layout translation must be three finite metres, got {self.translation!r}")
        if set(self.surfaces) != set(SURFACES):
            raise InvalidGeometryError(f"layout surfaces are {sorted(self.surfaces)}; expected exactly {SURFACES}")

    @property
    def camera_position(self) -> np.ndarray:
        """Camera centre in the room frame, metres ``(3,)``."""
        return self.translation.copy()

    @property
    def volume(self) -> float:
        """Room volume, cubic metres."""
        return float(np.prod(self.dims))

    def surface_areas(self) -> dict[str, float]:
        """Area of each face, square metres."""
        return dict(zip(SURFACES, Room.shoebox(self.dims).surface_areas().tolist()))

    def to_room(self, points_cam: np.ndarray) -> np.ndarray:
        """Camera-frame points ``(..., 3)`` in the room frame (NaN stays NaN)."""
        return np.asarray(points_cam, dtype=float) @ self.rotation.T + self.translation

    def to_camera(self, points_room: np.ndarray) -> np.ndarray:
        """Room-frame points ``(..., 3)`` in the camera frame."""
        return (np.asarray(points_room, dtype=float) - self.translation) @ self.rotation

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (``volume`` and ``camera_position`` are informative only)."""
        return {"dims": list(self.dims), "rotation": self.rotation.tolist(), "translation": self.translation.tolist(),
                "camera_position": self.camera_position.tolist(), "volume": self.volume,
                "surfaces": {s: self.surfaces[s].to_dict() for s in SURFACES}, "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoomLayout:
        """Inverse of :meth:`to_dict`."""
        try:
            surfaces = {name: SurfaceFit.from_dict(fit) for name, fit in data["surfaces"].items()}
            return cls(tuple(data["dims"]), np.array(data["rotation"]), np.array(data["translation"]),
                       surfaces, list(data.get("notes", [])))
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidGeometryError(f"not a room layout dict ({exc!r}); expected the output of to_dict") from None


def _prepare(points_cam: np.ndarray, max_points: int, gen: np.random.Generator):
    """Valid points ``(n, 3)`` (subsampled), their normals or None, and the valid count."""
    p = np.asarray(points_cam, dtype=np.float32)
    if p.ndim not in (2, 3) or p.shape[-1] != 3:
        raise InvalidImageError(f"points have shape {p.shape}; expected (H, W, 3) or (N, 3) camera-frame metres")
    normals = None
    if p.ndim == 3 and min(p.shape[:2]) >= 8:
        normals = estimate_normals(p, step=min(4, min(p.shape[:2]) // 4 - 1)).reshape(-1, 3)
    p = p.reshape(-1, 3)
    valid = np.all(np.isfinite(p), axis=1) & (p[:, 2] > 0)
    count = int(valid.sum())
    if count < _MIN_POINTS:
        raise InvalidImageError(
            f"only {count} valid depth points; fitting a room needs at least {_MIN_POINTS} (is the depth map empty "
            "or in the wrong units?)"
        )
    idx = np.flatnonzero(valid)
    if count > max_points:
        idx = np.sort(gen.choice(idx, max_points, replace=False))
    return p[idx].astype(np.float64), None if normals is None else normals[idx].astype(np.float64), count


def _face_planes(planes, q, nq, rotation, threshold, min_support):
    """Signed coordinate of the fitted plane of each face that has a valid one.

    Candidates are the planes aligned with the face's axis on its side of the camera,
    tried from the farthest in. One is taken unless over 3 % of the points lie beyond
    it or, with point normals ``nq`` (room axes), fewer than ``min_support`` points near
    it face the camera along the axis (a bumpy surface such as exposed joists).
    """
    found = {}
    margin = max(3.0 * threshold, 0.1)
    for surface in SURFACES:
        axis, side = _face(surface)
        positions = [float(np.median(q[p.indices, axis])) for p in planes
                     if abs((rotation @ p.normal)[axis]) >= _COS_ALIGNED]
        for pos in sorted((x for x in positions if side * x > 0), key=lambda x: -side * x):
            if np.mean(side * q[:, axis] > side * pos + margin) > 0.03:
                break  # nearer candidates have even more points beyond them
            near = np.abs(q[:, axis] - pos) < threshold
            if nq is None or np.sum(near & (-side * nq[:, axis] > _COS_FACING)) >= min_support:
                found[surface] = pos
                break
    return found


def _reach(q: np.ndarray) -> dict[str, float]:
    """How far the points extend beyond the camera toward each face (99.5th percentile, metres)."""
    reach = {}
    for surface in SURFACES:
        axis, side = _face(surface)
        ahead = side * q[:, axis]
        reach[surface] = float(np.percentile(ahead[ahead > 0], 99.5)) if np.sum(ahead > 0) >= 20 else 0.0
    return reach


def _place_faces(fitted, reach, ceiling_prior, camera_height_prior, notes):
    """Camera-to-face distance and source of every face: fitted, else prior, never inside the points."""
    dist: dict[str, float] = {}
    source: dict[str, str] = {}

    def prior(surface: str) -> tuple[float, str, str] | None:
        if surface == "south":
            return max(1.0, 0.5 * dist["north"]), "prior", "behind the camera, never seen; assumed max(1 m, " \
                "half the distance to the wall ahead)"
        if surface in ("west", "east"):
            other = "east" if surface == "west" else "west"
            if other in fitted:
                return fitted[other], "mirrored", f"not seen; mirrored from the {other} wall about the camera"
            return max(reach["west"], reach["east"], 1.0), "prior", \
                "neither side wall seen; symmetric about the camera at the larger point extent, at least 1 m"
        if surface == "floor":
            if "ceiling" in fitted and ceiling_prior - fitted["ceiling"] > 0.5:
                return ceiling_prior - fitted["ceiling"], "prior", f"not seen; {ceiling_prior:g} m below the ceiling"
            return camera_height_prior, "prior", f"not seen; camera assumed {camera_height_prior:g} m high"
        if surface == "ceiling":
            return ceiling_prior - dist["floor"], "prior", f"not seen; {ceiling_prior:g} m above the floor"
        return None  # north: nothing better than the points

    for surface in ("north", "west", "east", "floor", "south", "ceiling"):
        guess = None if surface in fitted else prior(surface)
        if surface in fitted:
            dist[surface], source[surface] = fitted[surface], "fitted"
        elif guess is not None and guess[0] >= reach[surface]:
            dist[surface], source[surface] = guess[0], guess[1]
            notes.append(f"{surface}: {guess[2]} ({guess[0]:.2f} m from the camera)")
        else:
            dist[surface], source[surface] = reach[surface], "point extent"
            notes.append(f"{surface}: not seen as a plane; placed at the extent of the points "
                         f"({reach[surface]:.2f} m from the camera, 99.5th percentile)")
        dist[surface] = max(dist[surface], 0.1)  # a face is never at or behind the camera
    return dist, source


def fit_room(
    points_cam: np.ndarray,
    *,
    rng: int | np.random.Generator = 0,
    ceiling_prior: float = 2.6,
    camera_height_prior: float = 1.5,
    threshold: float = 0.05,
    max_points: int = 30000,
) -> RoomLayout:
    """Fit a shoebox room around the camera to a depth point cloud (see the module doc).

    Parameters
    ----------
    points_cam
        Camera-frame points, ``(H, W, 3)`` from :func:`~soundstage.scene.camera.backproject`
        (normals are then estimated too) or ``(N, 3)``; NaN where depth is missing.
    rng
        Seed or generator for subsampling and RANSAC.
    ceiling_prior
        Ceiling height above the floor when the ceiling is not seen, metres.
    camera_height_prior
        Camera height above the floor when neither floor nor ceiling is seen, metres.
    threshold
        RANSAC inlier distance, metres (Kinect-class noise is 1-3 cm at 1-4 m).
    max_points
        Valid points subsampled for the fit; 30 000 keeps a 640x480 frame well under 0.5 s.

    Returns
    -------
    RoomLayout
        The box, the camera pose, how each face was placed, and notes on every assumption.

    Raises
    ------
    InvalidImageError
        For badly shaped input or fewer than 1000 valid points.
    InvalidGeometryError
        For a non-positive prior, threshold or ``max_points`` below 1000.
    """
    for name, value in (("ceiling_prior", ceiling_prior), ("camera_height_prior", camera_height_prior),
                        ("threshold", threshold)):
        if not (np.isfinite(value) and value > 0):
            raise InvalidGeometryError(f"{name} must be a positive number of metres, got {value!r}")
    if max_points < _MIN_POINTS:
        raise InvalidGeometryError(f"max_points must be at least {_MIN_POINTS}, got {max_points!r}")
    gen = np.random.default_rng(rng)
    pts, normals, count = _prepare(points_cam, max_points, gen)
    n = len(pts)
    notes = [f"fitted to {n} of {count} valid depth points with RANSAC (inlier distance {100 * threshold:.0f} cm)"]
    min_support = max(30, int(0.008 * n))
    planes = ransac_planes(pts, threshold=threshold, max_planes=12, min_inliers=min_support,
                           iterations=80, sample_size=4000, normals=normals, rng=gen)
    up, note = gravity_from_planes(planes)
    rotation, wall_note = manhattan_axes(planes, up, normals=normals)
    notes += [note, wall_note]
    q = pts @ rotation.T
    nq = None if normals is None else normals @ rotation.T
    found = _face_planes(planes, q, nq, rotation, threshold, min_support)

    notes.append("planes fitted to: " + (", ".join(s for s in SURFACES if s in found) or "no face"))
    dist, source = _place_faces({s: abs(pos) for s, pos in found.items()}, _reach(q), ceiling_prior,
                                camera_height_prior, notes)
    low = np.array([-dist["west"], -dist["south"], -dist["floor"]])
    high = np.array([dist["east"], dist["north"], dist["ceiling"]])
    tol = max(2.0 * threshold, 0.08)
    surfaces = {}
    for surface in SURFACES:
        axis, side = _face(surface)
        on = np.abs(q[:, axis] - (high if side > 0 else low)[axis]) < tol
        if nq is not None:
            on &= ~(np.abs(nq[:, axis]) < _COS_ALIGNED)  # NaN normals count on distance alone
        surfaces[surface] = SurfaceFit(source[surface] == "fitted", float(on.mean()), source[surface], dist[surface])
    return RoomLayout(tuple((high - low).tolist()), rotation, -low, surfaces, notes)


def layout_from_prior(
    intrinsics: Intrinsics | None = None,
    image_size: Sequence[int] | None = None,
    *,
    camera_height: float = 1.5,
    dims: Sequence[float] = PRIOR_DIMS,
) -> RoomLayout:
    """A typical room around a level camera, for images without depth.

    The room is ``dims`` (5 x 4 x 2.6 m); the camera stands ``camera_height`` m high,
    centred between west and east, a third of the way from the south wall (the same
    ratio as the back-wall prior of :func:`fit_room`), looking north. Every surface
    is marked ``"prior"``. ``intrinsics`` and ``image_size`` (width, height) are
    checked against each other and the field of view is noted.
    """
    size = Room.shoebox(dims).dims
    if not (0.0 < camera_height < size[2]):
        raise InvalidGeometryError(
            f"camera height {camera_height!r} m must lie between floor and ceiling (0, {size[2]})"
        )
    notes = [f"no depth: a typical {size[0]:g} x {size[1]:g} x {size[2]:g} m room is assumed, camera "
             f"{camera_height:g} m high looking level at the far wall"]
    if intrinsics is not None:
        if image_size is not None and tuple(image_size) != (intrinsics.width, intrinsics.height):
            raise InvalidImageError(f"image size {tuple(image_size)} (width, height) differs from the intrinsics' "
                                    f"{intrinsics.width}x{intrinsics.height}")
        notes.append(f"camera field of view {intrinsics.hfov_deg:.0f} x {intrinsics.vfov_deg:.0f} deg")
    position = np.array([size[0] / 2.0, size[1] / 3.0, camera_height])
    dist = dict(zip(SURFACES, [position[0], size[0] - position[0], position[1], size[1] - position[1],
                               position[2], size[2] - position[2]]))
    surfaces = {s: SurfaceFit(False, 0.0, "prior", float(dist[s])) for s in SURFACES}
    return RoomLayout(size, camera_rotation(), position, surfaces, notes)
