"""Planes in point clouds: fits, sequential RANSAC, surface normals, gravity and wall axes.

A plane is ``n . p + d = 0`` with a unit normal ``n``. Normals are oriented toward the
origin (the camera for camera-frame points), so ``d > 0`` is the camera's distance to
the plane and a point's signed distance ``n . p + d`` is positive on the camera's side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from soundstage.errors import InvalidGeometryError

__all__ = ["Plane", "estimate_normals", "fit_plane", "gravity_from_planes", "manhattan_axes", "ransac_planes"]

_CAMERA_UP = np.array([0.0, -1.0, 0.0])  # the image's up in the camera frame (y down)


@dataclass
class Plane:
    """A plane fitted to points.

    Attributes
    ----------
    normal
        Unit normal ``(3,)``, oriented toward the origin.
    offset
        ``d`` in ``n . p + d = 0`` (metres); the origin's distance to the plane.
    inliers
        Number of points assigned to the plane.
    rms
        Root-mean-square distance of those points to the plane (metres).
    centroid
        Mean of the inlier points ``(3,)``.
    extent
        Spread of the inliers along the plane's two in-plane principal directions:
        the 2nd-98th percentile ranges, metres, larger first.
    indices
        Indices of the inlier points in the array the plane was fitted to.
    """

    normal: np.ndarray
    offset: float
    inliers: int
    rms: float = 0.0
    centroid: np.ndarray = field(default_factory=lambda: np.zeros(3))
    extent: tuple[float, float] = (0.0, 0.0)
    indices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distances ``(N,)`` of points ``(N, 3)`` (positive on the origin's side)."""
        return np.asarray(points, dtype=np.float64) @ self.normal + self.offset


def _finite_points(points: np.ndarray, what: str) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise InvalidGeometryError(f"{what} needs points shaped (N, 3), got {p.shape}")
    if not np.all(np.isfinite(p)):
        raise InvalidGeometryError(f"{what} needs finite points; drop NaN (missing depth) first")
    return p


def _fit(points: np.ndarray, indices: np.ndarray | None = None) -> Plane:
    """Least-squares plane of finite ``points (N >= 3, 3)`` via the covariance eigenvectors."""
    centroid = points.mean(axis=0)
    centred = points - centroid
    values, vectors = np.linalg.eigh(centred.T @ centred)
    normal = vectors[:, 0]
    offset = -float(normal @ centroid)
    if offset < 0:
        normal, offset = -normal, -offset
    along = centred @ vectors[:, :0:-1]  # the two in-plane directions, larger spread first
    lo, hi = np.percentile(along, [2.0, 98.0], axis=0)
    rms = float(np.sqrt(max(values[0], 0.0) / len(points)))
    idx = np.arange(len(points)) if indices is None else indices
    return Plane(normal, offset, len(points), rms, centroid, (float(hi[0] - lo[0]), float(hi[1] - lo[1])), idx)


def fit_plane(points: np.ndarray) -> Plane:
    """Least-squares (total least squares, SVD) plane through ``points (N >= 3, 3)``.

    Raises :class:`InvalidGeometryError` for fewer than three points, non-finite points or
    points on one line (no unique plane).
    """
    p = _finite_points(points, "fit_plane")
    if len(p) < 3:
        raise InvalidGeometryError(f"fit_plane needs at least 3 points, got {len(p)}")
    singular = np.linalg.svd(p - p.mean(axis=0), compute_uv=False)
    if singular[1] <= 1e-9 * max(singular[0], 1e-12):
        raise InvalidGeometryError("fit_plane got points on one line (or one point); expected points spanning a plane")
    return _fit(p)


def estimate_normals(points: np.ndarray, step: int = 3) -> np.ndarray:
    """Unit normals of an organised point cloud ``(H, W, 3)`` from neighbour differences.

    The normal at a pixel is the cross product of the differences between the points
    ``step`` pixels to either side horizontally and vertically (one-sided at the image
    border), oriented toward the camera (the origin). Larger ``step`` smooths sensor
    noise; NaN where a neighbour is missing.
    """
    p = np.asarray(points, dtype=np.float32)
    if p.ndim != 3 or p.shape[2] != 3:
        raise InvalidGeometryError(f"estimate_normals needs an organised cloud (H, W, 3), got {p.shape}")
    if step < 1 or 2 * step >= min(p.shape[:2]):
        raise InvalidGeometryError(f"normal step must be 1 .. {min(p.shape[:2]) // 2 - 1} pixels, got {step}")
    h, w = p.shape[:2]
    cols, rows = np.arange(w), np.arange(h)
    du = p[:, np.minimum(cols + step, w - 1)] - p[:, np.maximum(cols - step, 0)]
    dv = p[np.minimum(rows + step, h - 1)] - p[np.maximum(rows - step, 0)]
    n = np.cross(du, dv)
    with np.errstate(invalid="ignore", divide="ignore"):
        n /= np.linalg.norm(n, axis=-1, keepdims=True)
        flip = np.sum(n * p, axis=-1) > 0
    n[flip] *= -1.0
    return n


def _hypotheses(points: np.ndarray, normals: np.ndarray | None, n: int, gen: np.random.Generator):
    """``n`` candidate planes (normals ``(n, 3)``, offsets ``(n,)``) from random minimal samples."""
    if normals is not None:
        pick = gen.integers(0, len(points), n)
        normal = normals[pick]
        return normal, -np.einsum("ij,ij->i", normal, points[pick])
    triple = points[gen.integers(0, len(points), (n, 3))]
    normal = np.cross(triple[:, 1] - triple[:, 0], triple[:, 2] - triple[:, 0])
    length = np.linalg.norm(normal, axis=1, keepdims=True)
    good = length[:, 0] > 1e-9
    normal = normal[good] / length[good]
    return normal, -np.einsum("ij,ij->i", normal, triple[good, 0])


def _members(points, normals, normal, offset, threshold, cos_tol):
    close = np.abs(points @ normal + offset) < threshold
    if normals is None:
        return close
    return close & (np.abs(normals @ normal) > cos_tol)  # NaN normals never agree


def ransac_planes(
    points: np.ndarray,
    *,
    threshold: float = 0.03,
    max_planes: int = 8,
    min_inliers: int | None = None,
    iterations: int = 200,
    sample_size: int = 5000,
    normals: np.ndarray | None = None,
    normal_threshold_deg: float = 25.0,
    rng: int | np.random.Generator = 0,
) -> list[Plane]:
    """Sequential RANSAC: find up to ``max_planes`` planes, largest first.

    Each round scores ``iterations`` random hypotheses on a random subsample of at most
    ``sample_size`` of the points not yet taken, gathers the winner's inliers among all
    those points, refits it by least squares twice (re-gathering inliers each time) and
    removes them. It stops when the best plane has fewer than ``min_inliers`` points.

    Parameters
    ----------
    points
        ``(N, 3)`` finite points, metres.
    threshold
        Inlier distance to the plane, metres.
    min_inliers
        Smallest plane kept; default ``max(100, 2 % of N)``.
    normals
        Optional unit normals ``(N, 3)`` (NaN where unknown, e.g. from
        :func:`estimate_normals`): hypotheses then come from single points with their
        normal, and a point joins a plane only when its normal is within
        ``normal_threshold_deg`` of the plane's; points with NaN normals join none (a plane
        through the camera would otherwise gather every such point on one image line).
    rng
        Seed or generator.

    Returns
    -------
    list of Plane
        With ``indices`` into ``points``; each point belongs to at most one plane.
    """
    p = _finite_points(points, "ransac_planes")
    if not (np.isfinite(threshold) and threshold > 0):
        raise InvalidGeometryError(f"RANSAC threshold must be a positive distance in metres, got {threshold!r}")
    if normals is not None:
        normals = np.asarray(normals, dtype=np.float64)
        if normals.shape != p.shape:
            raise InvalidGeometryError(f"normals have shape {normals.shape}; expected {p.shape} like the points")
    gen = np.random.default_rng(rng)
    min_count = max(100, int(0.02 * len(p))) if min_inliers is None else max(3, int(min_inliers))
    cos_tol = float(np.cos(np.radians(normal_threshold_deg)))
    p32 = p.astype(np.float32)  # hypothesis scoring in single precision: twice as fast
    n32 = None if normals is None else normals.astype(np.float32)
    remaining = np.arange(len(p))
    planes: list[Plane] = []
    while len(planes) < max_planes and len(remaining) >= min_count:
        sub = remaining if len(remaining) <= sample_size else gen.choice(remaining, sample_size, replace=False)
        seeds = sub if normals is None else sub[np.isfinite(normals[sub, 0])]
        if len(seeds) < 3:
            break
        cand_n, cand_d = _hypotheses(p[seeds], None if normals is None else normals[seeds], iterations, gen)
        if len(cand_n) == 0:
            break
        cand32 = cand_n.T.astype(np.float32)
        close = np.abs(p32[sub] @ cand32 + cand_d.astype(np.float32)) < threshold
        if normals is not None:
            ns = n32[sub]
            close &= np.abs(ns @ cand32) > cos_tol
        best = int(np.argmax(close.sum(axis=0)))
        normal, offset = cand_n[best], cand_d[best]
        nrm = None if normals is None else normals[remaining]
        members = np.zeros(len(remaining), dtype=bool)
        for _ in range(3):
            members = _members(p[remaining], nrm, normal, offset, threshold, cos_tol)
            if members.sum() < 3:
                break
            refit = _fit(p[remaining[members]])
            normal, offset = refit.normal, refit.offset
        if members.sum() < min_count:
            break
        taken = remaining[members]
        planes.append(_fit(p[taken], taken))
        remaining = remaining[~members]
    return planes


def gravity_from_planes(planes: list[Plane], *, max_tilt_deg: float = 45.0) -> tuple[np.ndarray, str]:
    """Up direction in the camera frame from camera-frame planes, and a note saying how.

    A first guess is the floor's normal: the lowest plane (largest offset) among those
    facing the camera from below within ``max_tilt_deg`` of its up axis (-y) that hold at
    least a quarter of the largest one's inliers (so a big table top does not win over a
    visible floor); else the ceiling's, likewise; else the camera's up axis. The guess is
    then refined by weighted least squares over all planes within 25 degrees of level or
    of vertical: up parallel to the level ones' normals and perpendicular to the walls',
    weights the inlier counts, plus a 1 % pull toward the guess. Walls thus correct a floor
    seen only as a thin strip, and level out a camera that sees no floor at all.

    Looking down never makes a wall resemble a floor (the wall ahead then faces away from
    the image's up); only a camera rolled or pitched up by more than ``max_tilt_deg`` can
    confuse them, hence the 45 degree default.
    """
    cos_tilt = np.cos(np.radians(max_tilt_deg))
    guess, note = _CAMERA_UP.copy(), "no floor or ceiling plane found: gravity first taken as the camera's up axis"
    for kind, sign in (("floor", 1.0), ("ceiling", -1.0)):
        cands = [q for q in planes if sign * (q.normal @ _CAMERA_UP) > cos_tilt]
        if cands:
            big = max(q.inliers for q in cands)
            plane = max((q for q in cands if q.inliers >= 0.25 * big), key=lambda q: q.offset)
            guess, note = sign * plane.normal, f"gravity from the {kind} plane"
            break
    band = np.sin(np.radians(25.0))
    walls = [q for q in planes if abs(q.normal @ guess) < band]
    level = [q for q in planes if abs(q.normal @ guess) > np.cos(np.radians(25.0))]
    weight = float(sum(q.inliers for q in walls + level))
    scatter = -0.01 * max(weight, 1.0) * np.outer(guess, guess)
    for q in walls:
        scatter += q.inliers * np.outer(q.normal, q.normal)
    for q in level:
        scatter -= q.inliers * np.outer(q.normal, q.normal)
    up = np.linalg.eigh(scatter)[1][:, 0]
    up *= np.sign(up @ guess) or 1.0
    tilt = np.degrees(np.arccos(np.clip(up @ _CAMERA_UP, -1.0, 1.0)))
    return up, (f"{note}, refined with {len(walls)} walls and {len(level)} level planes "
                f"(up is {tilt:.1f} deg from the camera's)")


def _dominant_heading(angles: np.ndarray, weights: np.ndarray, spread_deg: float) -> float:
    """Most supported direction modulo 90 degrees of horizontal angles (radians), in [-45, 45) deg.

    A weighted histogram in 0.5 degree bins, circularly smoothed by a 4 degree Gaussian, gives
    the mode; the angles within ``spread_deg`` of it are then averaged.
    """
    bins, pad = 180, 24
    index = np.floor(np.mod(angles, np.pi / 2) / (np.pi / 2) * bins).astype(int) % bins
    hist = np.bincount(index, weights=weights, minlength=bins)
    kernel = np.exp(-0.5 * (np.arange(-pad, pad + 1) * 0.5 / 4.0) ** 2)
    smooth = np.convolve(np.concatenate([hist[-pad:], hist, hist[:pad]]), kernel, mode="valid")
    lead = (np.argmax(smooth) + 0.5) * (np.pi / 2) / bins
    delta = np.angle(np.exp(4j * (angles - lead))) / 4.0  # differences modulo 90 deg
    near = np.abs(delta) < np.radians(spread_deg)
    theta = lead + np.average(delta[near], weights=weights[near])
    return float(np.angle(np.exp(4j * theta)) / 4.0)


def manhattan_axes(
    planes: list[Plane], up: np.ndarray, *, normals: np.ndarray | None = None, spread_deg: float = 5.0
) -> tuple[np.ndarray, str]:
    """Rotation whose rows are the room's x (east), y (north), z (up) axes in camera coordinates.

    Walls are the planes within 20 degrees of vertical. Their horizontal directions vote
    modulo 90 degrees (see ``_dominant_heading``), weighted by inliers. Given the per-point
    ``normals`` ``(N, 3)`` of the points the planes were fitted to (NaN allowed), each wall
    inlier votes with its own normal instead (steadier when RANSAC finds a different set
    of small planes from one seed to the next), and the winner is then refined with the
    large walls (at least a quarter of the largest's inliers) that agree with it within
    2 degrees, weighted by inliers and a 1 degree Gaussian of their offset: plane fits
    average out the bias of noisy per-point normals on oblique walls.
    Of the four horizontal axes this gives, the one closest to the camera's heading
    becomes +y (north). Without walls, +y is the heading itself. Returns the rotation
    and a note.
    """
    forward = np.array([0.0, 0.0, 1.0]) - up[2] * up
    if np.linalg.norm(forward) < 1e-3:  # camera looking straight up or down
        forward = _CAMERA_UP - up[1] * up
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    vertical = np.sin(np.radians(20.0))
    theta, note = 0.0, "no wall planes found: the room's axes are assumed aligned with the camera's heading"
    walls = [q for q in planes if abs(q.normal @ up) < vertical]
    if walls:
        dirs = np.array([q.normal for q in walls])
        weight = np.array([q.inliers for q in walls], dtype=float)
        what = f"{len(walls)} vertical planes"
        if normals is not None:  # each inlier votes with its own normal: dense, so stable
            own = np.asarray(normals, dtype=float)[np.concatenate([q.indices for q in walls])]
            own = own[np.isfinite(own[:, 0]) & (np.abs(own @ up) < vertical)]
            if len(own) >= 200:
                dirs, weight = own, np.ones(len(own))
                what = f"the normals of {len(own)} points on {len(walls)} vertical planes"
        theta = _dominant_heading(np.arctan2(dirs @ right, dirs @ forward), weight, spread_deg)
        if len(dirs) > len(walls):  # refine with the planes near the points' vote: they average out noise
            angle = np.array([np.arctan2(q.normal @ right, q.normal @ forward) for q in walls])
            delta = np.angle(np.exp(4j * (angle - theta))) / 4.0
            size = np.array([q.inliers for q in walls], dtype=float)
            near = (np.abs(delta) < np.radians(2.0)) & (size >= 0.25 * size.max())
            if near.any():
                trust = size * np.exp(-0.5 * (delta / np.radians(1.0)) ** 2)
                theta += np.average(delta[near], weights=trust[near])
        note = (f"wall directions from {what}; the wall ahead is turned {np.degrees(theta):.1f} deg "
                "from the camera's heading")
    y = np.cos(theta) * forward + np.sin(theta) * right
    return np.stack([np.cross(y, up), y, up]), note
