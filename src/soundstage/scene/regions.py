"""Image regions with colour, texture and 3D geometry, placed on the faces of the room box.

:func:`segment_regions` runs SLIC superpixels on a copy of the image downscaled to about
240 px (a 640x480 frame takes well under 0.3 s on one core), splits them where the depth
jumps or where they cross from one face of the room box to another, merges slivers, and
measures each region: colour, texture, 3D centroid, plane normal, planarity, metric area
and the face it lies on (a name of :data:`soundstage.acoustics.room.SURFACES`, else
``"object"``, or ``"unknown"`` without depth). 3D values are in the room frame of
:class:`soundstage.scene.layout.RoomLayout` (x east, y north, z up, metres).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage.color import rgb2hsv
from skimage.segmentation import slic

from soundstage.acoustics.room import SURFACES
from soundstage.errors import FileFormatError, InvalidImageError

__all__ = ["FACE_NORMALS", "Region", "segment_regions"]

#: Inward unit normal of each face of the room box ``[0, Lx] x [0, Ly] x [0, Lz]``.
FACE_NORMALS: dict[str, tuple[float, float, float]] = {
    "west": (1.0, 0.0, 0.0), "east": (-1.0, 0.0, 0.0), "south": (0.0, 1.0, 0.0),
    "north": (0.0, -1.0, 0.0), "floor": (0.0, 0.0, 1.0), "ceiling": (0.0, 0.0, -1.0),
}
SEGMENT_SIDE = 240  # longer side (px) of the image SLIC runs on
TEXTURE_SIDE = 320  # longer side (px) at which texture is measured, so it is resolution-free
_GRADIENT_CAP = 0.05  # luminance step per pixel above which a gradient counts as an edge
_ALIKE_COLOUR = 0.08  # mean-colour difference (0-1, any channel) below which neighbours share a texture
_MIN_COS_FACE = math.cos(math.radians(30.0))  # normal within 30 deg of the face normal
_MIN_COS_VIEW = 0.15  # footprint clamp: surfaces seen more obliquely than ~81 deg


@dataclass
class Region:
    """One image region and what was measured on it.

    Attributes
    ----------
    id : int
        Label value of the region in the label image (regions are numbered 0..N-1).
    pixels : int
        Number of image pixels in the region.
    bbox : tuple of int
        ``(u0, v0, u1, v1)``: column and row ranges, half-open (``u1``, ``v1`` excluded).
    centroid : ndarray, shape (3,)
        Mean room-frame point of the valid pixels, metres (NaN when none is valid).
    area : float
        Surface area seen, m^2: sum of the back-projected pixel footprints, scaled up by
        ``pixels / valid pixels`` to cover the pixels without depth (NaN when none).
    normal : ndarray, shape (3,)
        Unit normal of the least-squares plane through its points, facing the camera.
    mean_rgb : ndarray, shape (3,)
        Mean colour, each channel in [0, 1].
    hsv : ndarray, shape (3,)
        Hue (fraction of a turn, [0, 1)), saturation and value of the mean colour.
    texture : float
        Mean luminance gradient (luminance 0-1 per pixel of the image scaled to 320 px),
        less the region's mean gradient (shading), each pixel capped at 0.05 (edges), pooled
        with neighbours of nearly the same colour: ~0.005-0.012 for paint under camera
        noise, 0.02-0.05 for carpet pile, wood grain or brick joints.
    anisotropy : float
        Coherence of those gradients in [0, 1]: ~1 for stripes (grain, planks), ~0 for
        isotropic texture or noise.
    planarity : float
        RMS distance of its points to their plane, metres (NaN with fewer than 3 points).
    valid_fraction : float
        Share of its pixels with a valid 3D point.
    surface : str
        A face name from ``SURFACES``, ``"object"`` or ``"unknown"`` (no depth).
    material, material_confidence, material_reason
        Filled from :func:`soundstage.scene.materials.classify_region`.
    """

    id: int
    pixels: int
    bbox: tuple[int, int, int, int]
    centroid: np.ndarray
    area: float
    normal: np.ndarray
    mean_rgb: np.ndarray
    hsv: np.ndarray
    texture: float
    anisotropy: float
    planarity: float
    valid_fraction: float
    surface: str = "unknown"
    material: str | None = None
    material_confidence: float = 0.0
    material_reason: str = ""

    @property
    def has_geometry(self) -> bool:
        """Whether the region has a finite centroid (some valid depth)."""
        return bool(np.all(np.isfinite(self.centroid)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; arrays become lists and NaN becomes ``None``."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, np.ndarray):
                value = [_json_float(v) for v in value.tolist()]
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, float):
                value = _json_float(value)
            out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Region:
        """Inverse of :meth:`to_dict`; :class:`FileFormatError` for anything else."""
        try:
            values = dict(data)
            for key in ("centroid", "normal", "mean_rgb", "hsv"):
                values[key] = np.array([np.nan if v is None else v for v in values[key]], dtype=float)
            for key in ("area", "texture", "anisotropy", "planarity", "valid_fraction", "material_confidence"):
                values[key] = np.nan if values.get(key) is None else float(values[key])
            values["bbox"] = tuple(int(v) for v in values["bbox"])
            return cls(**values)
        except (KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(f"not a region ({exc!r}); expected a dict written by Region.to_dict") from None


def _json_float(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def segment_regions(
    rgb: np.ndarray,
    points_room: np.ndarray,
    layout: Any | None = None,
    *,
    n_segments: int = 150,
    depth_edge: float = 0.1,
    surface_tol: float = 0.15,
) -> tuple[np.ndarray, list[Region]]:
    """Segment an image into measured regions.

    Parameters
    ----------
    rgb : ndarray, uint8, shape (H, W, 3)
        Colour image.
    points_room : ndarray, shape (H, W, 3)
        Room-frame point of every pixel, metres; NaN where the depth is missing.
    layout : RoomLayout or None
        Anything with ``dims`` and ``camera_position``: the box faces, and the camera that
        normals face and footprints are measured from. Without it the points are used as
        given with the camera at their origin, and no region is on a face.
    n_segments : int
        Approximate number of SLIC superpixels before depth splits and merges.
    depth_edge : float
        Relative range jump ``|r1 - r2| / min(r1, r2)`` between neighbouring pixels that
        splits a superpixel (0.1: a jump of 10 %).
    surface_tol : float
        Distance (m) within which a point counts as lying on a box face (the nearest
        one). Superpixels are also split where this face membership changes (so a
        superpixel across a floor-wall corner becomes two regions); a region is on a face
        when at least half its points are and its normal is within 30 deg of the face's
        inward normal.

    Returns
    -------
    labels : ndarray, int32, shape (H, W)
        Region id of every pixel (0..N-1; every pixel is labelled).
    regions : list of Region
        ``regions[i].id == i``.

    Raises
    ------
    InvalidImageError
        For a non-uint8 or wrongly shaped image, points of another size, or bad parameters.
    """
    rgb, points = _check_inputs(rgb, points_room, n_segments, depth_edge, surface_tol)
    height, width = rgb.shape[:2]
    camera = np.zeros(3) if layout is None else np.asarray(layout.camera_position, dtype=float)
    ranges = np.linalg.norm(points - camera, axis=-1)  # NaN where invalid
    zones = _face_zones(points, layout, surface_tol)
    labels = _resample(_superpixels(rgb, ranges, zones, n_segments, depth_edge), height, width).astype(np.int32)
    n = int(labels.max()) + 1
    mean_rgb, hsv, texture, anisotropy = _appearance(rgb, labels, n)
    geometry = _geometry(points, ranges, labels, n, camera)
    surfaces = _surfaces(zones, labels, n, geometry)
    g = geometry
    return labels, [
        Region(i, int(g["pixels"][i]), (su.start, sv.start, su.stop, sv.stop), g["centroid"][i],
               float(g["area"][i]), g["normal"][i], mean_rgb[i], hsv[i], float(texture[i]), float(anisotropy[i]),
               float(g["planarity"][i]), float(g["valid"][i] / g["pixels"][i]), surfaces[i])
        for i, (sv, su) in enumerate(ndimage.find_objects(labels + 1))
    ]


def _check_inputs(
    rgb: np.ndarray, points: np.ndarray, n_segments: int, depth_edge: float, surface_tol: float
) -> tuple[np.ndarray, np.ndarray]:
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidImageError(f"rgb is {rgb.dtype} with shape {rgb.shape}; expected uint8 (H, W, 3)")
    if min(rgb.shape[:2]) < 8:
        raise InvalidImageError(f"image is {rgb.shape[0]}x{rgb.shape[1]} pixels; expected at least 8x8")
    points = np.asarray(points, dtype=np.float64)
    if points.shape != rgb.shape:
        raise InvalidImageError(f"points_room has shape {points.shape}; expected {rgb.shape} (one 3D point per pixel)")
    if not (isinstance(n_segments, (int, np.integer)) and n_segments >= 1):
        raise InvalidImageError(f"n_segments is {n_segments!r}; expected a positive integer")
    for name, value in (("depth_edge", depth_edge), ("surface_tol", surface_tol)):
        if not (math.isfinite(value) and value > 0):
            raise InvalidImageError(f"{name} is {value!r}; expected a positive number")
    points = np.where(np.isfinite(points).all(axis=-1, keepdims=True), points, np.nan)
    return rgb, points


def _resample(labels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resampling of a label image to ``(height, width)``."""
    rows = (np.arange(height) * labels.shape[0]) // height
    cols = (np.arange(width) * labels.shape[1]) // width
    return labels[rows[:, None], cols[None, :]]


def _alike(mean_rgb: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether labels ``a`` and ``b`` are one region or regions of nearly the same mean colour."""
    return (a == b) | (np.abs(mean_rgb[a] - mean_rgb[b]).max(axis=-1) < _ALIKE_COLOUR)


def _face_zones(points: np.ndarray, layout: Any | None, tol: float) -> np.ndarray:
    """Per pixel: index in SURFACES of the nearest box face within ``tol``, 6 for none, -1 without depth."""
    zones = np.where(np.isfinite(points[..., 0]), 6, -1).astype(np.int8)
    if layout is None:
        return zones
    dims = np.asarray(layout.dims, dtype=float)
    gaps = np.abs(np.nan_to_num(np.stack([points, dims - points], axis=-1).reshape(*points.shape[:2], 6), nan=np.inf))
    nearest = np.argmin(gaps, axis=-1)
    close = np.take_along_axis(gaps, nearest[..., None], axis=-1)[..., 0] <= tol
    return np.where(close & (zones >= 0), nearest, zones).astype(np.int8)


def _superpixels(
    rgb: np.ndarray, ranges: np.ndarray, zones: np.ndarray, n_segments: int, depth_edge: float
) -> np.ndarray:
    """SLIC on a downscaled copy, split at depth jumps and face borders, slivers merged; labels 0..N-1."""
    height, width = rgb.shape[:2]
    factor = max(1, math.ceil(max(height, width) / SEGMENT_SIDE))
    hs, ws = math.ceil(height / factor), math.ceil(width / factor)
    small = np.asarray(Image.fromarray(rgb).resize((ws, hs), Image.BOX)) if factor > 1 else rgb
    # sigma=1 smoothing keeps fine texture (brick joints, wood grain) from fragmenting superpixels
    seg = slic(small, n_segments=n_segments, compactness=10.0, sigma=1.0, start_label=0, channel_axis=-1)
    centre_rows = np.minimum(((np.arange(hs) + 0.5) * height / hs).astype(int), height - 1)
    centre_cols = np.minimum(((np.arange(ws) + 0.5) * width / ws).astype(int), width - 1)
    r = ranges[centre_rows[:, None], centre_cols[None, :]]
    z = zones[centre_rows[:, None], centre_cols[None, :]]
    index = np.arange(hs * ws).reshape(hs, ws)
    ia, ib, same, compatible = [], [], [], []
    for a, b in ((np.s_[:, :-1], np.s_[:, 1:]), (np.s_[:-1, :], np.s_[1:, :])):
        ra, rb = r[a], r[b]
        with np.errstate(invalid="ignore"):
            smooth = np.abs(ra - rb) <= depth_edge * np.minimum(ra, rb)
        compatible.append(((smooth & (z[a] == z[b])) | (np.isnan(ra) & np.isnan(rb))).ravel())
        ia.append(index[a].ravel())
        ib.append(index[b].ravel())
        same.append((seg[a] == seg[b]).ravel())
    ia, ib, same, compatible = (np.concatenate(x) for x in (ia, ib, same, compatible))
    keep = same & compatible
    graph = coo_matrix((np.ones(keep.sum()), (ia[keep], ib[keep])), shape=(hs * ws, hs * ws))
    n, comp = connected_components(graph, directed=False)
    return _merge_small(comp, n, ia, ib, compatible, min_size=max(2, hs * ws // (4 * n_segments))).reshape(hs, ws)


def _merge_small(
    comp: np.ndarray, n: int, ia: np.ndarray, ib: np.ndarray, compatible: np.ndarray, min_size: int
) -> np.ndarray:
    """Merge components under ``min_size`` pixels into the neighbour sharing most border."""
    size = np.bincount(comp, minlength=n).astype(np.int64)
    la, lb = comp[ia], comp[ib]
    border = la != lb
    weight = np.where(compatible[border], 1.0, 1e-3)  # prefer neighbours across no depth jump
    keys = np.concatenate([la[border] * n + lb[border], lb[border] * n + la[border]])
    uniq, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse, weights=np.tile(weight, 2))
    src, dst = uniq // n, uniq % n
    order = np.lexsort((-sums, src))  # per source label, the strongest neighbour first
    src, dst = src[order], dst[order]
    starts = np.searchsorted(src, np.arange(n + 1))
    parent = np.arange(n)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for label in np.argsort(size, kind="stable"):
        root = find(label)
        if size[root] >= min_size:
            continue
        for other in dst[starts[label]:starts[label + 1]]:
            target = find(other)
            if target != root:
                parent[root] = target
                size[target] += size[root]
                break
    roots = np.array([find(x) for x in range(n)])
    return np.unique(roots, return_inverse=True)[1][comp]


def _appearance(rgb: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """Mean colour, its HSV, texture and anisotropy of each region."""
    flat = labels.ravel()
    count = np.bincount(flat, minlength=n)
    colour = rgb.reshape(-1, 3).astype(np.float64) / 255.0
    mean_rgb = np.stack([np.bincount(flat, colour[:, c], n) for c in range(3)], axis=1) / count[:, None]
    hsv = rgb2hsv(mean_rgb[:, None, :])[:, 0, :]
    texture, anisotropy = _texture(rgb, labels, n, mean_rgb)
    return mean_rgb, hsv, texture, anisotropy


def _texture(rgb: np.ndarray, labels: np.ndarray, n: int, mean_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Texture and anisotropy (see :class:`Region`) at the reference scale TEXTURE_SIDE."""
    lum = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32) / 255.0
    side, gain = max(rgb.shape[:2]), 1.0
    if side > TEXTURE_SIDE:  # box-average down to the reference scale (also tames sensor noise)
        h, w = round(rgb.shape[0] * TEXTURE_SIDE / side), round(rgb.shape[1] * TEXTURE_SIDE / side)
        lum = np.asarray(Image.fromarray(lum).resize((w, h), Image.BOX))
        labels = _resample(labels, h, w)
    else:  # sharp patterns give gradients proportional to their frequency in pixels
        gain = side / TEXTURE_SIDE
    gx = (lum[:-1, 1:] - lum[:-1, :-1]) * gain
    gy = (lum[1:, :-1] - lum[:-1, :-1]) * gain
    base, right, down = labels[:-1, :-1], labels[:-1, 1:], labels[1:, :-1]
    # Superpixels cling to texture edges (brick joints, plank seams), so a border with a
    # neighbour of nearly the same colour is texture and counts; pixels next to any other
    # border are left out (labels come from a coarser grid and may be off by a pixel).
    inside = _alike(mean_rgb, base, right) & _alike(mean_rgb, base, down)
    inside &= ~ndimage.binary_dilation(~inside)
    lab, gx, gy = base[inside], gx[inside].astype(np.float64), gy[inside].astype(np.float64)
    m = np.maximum(np.bincount(lab, minlength=n), 1)
    gx -= (np.bincount(lab, gx, n) / m)[lab]  # remove a smooth shading ramp
    gy -= (np.bincount(lab, gy, n) / m)[lab]
    mag = np.hypot(gx, gy)
    clip = np.minimum(1.0, _GRADIENT_CAP / np.maximum(mag, 1e-12))  # one strong edge must not dominate
    gx, gy, mag = gx * clip, gy * clip, mag * clip
    sums = np.stack([np.bincount(lab, w, n) for w in (np.ones_like(mag), mag, gx * gx, gy * gy, gx * gy)], axis=1)
    # pool with the alike neighbours: texture coarser than a superpixel shows between superpixels
    a, b = np.r_[base.ravel(), base.ravel()], np.r_[right.ravel(), down.ravel()]
    keep = (a != b) & _alike(mean_rgb, a, b)
    ring = coo_matrix((np.ones(2 * keep.sum()), (np.r_[a[keep], b[keep]], np.r_[b[keep], a[keep]])), shape=(n, n))
    pooled = sums + (ring.tocsr() > 0).astype(float) @ sums
    sxx, syy, sxy = pooled[:, 2], pooled[:, 3], pooled[:, 4]
    anisotropy = np.sqrt((sxx - syy) ** 2 + 4 * sxy**2) / np.maximum(sxx + syy, 1e-12)
    return pooled[:, 1] / np.maximum(pooled[:, 0], 1.0), anisotropy


def _geometry(
    points: np.ndarray, ranges: np.ndarray, labels: np.ndarray, n: int, camera: np.ndarray
) -> dict[str, np.ndarray]:
    """Centroid, plane normal, planarity and metric area of each region."""
    pixels = np.bincount(labels.ravel(), minlength=n)
    valid = np.isfinite(ranges)
    lab = labels[valid]
    p = points[valid]
    shift = p.mean(axis=0) if len(p) else np.zeros(3)
    q = p - shift
    cnt = np.bincount(lab, minlength=n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.stack([np.bincount(lab, q[:, i], n) for i in range(3)], axis=1) / cnt[:, None]
        second = np.empty((n, 3, 3))
        for i in range(3):
            for j in range(i, 3):
                second[:, i, j] = second[:, j, i] = np.bincount(lab, q[:, i] * q[:, j], n) / cnt
    cov = second - mean[:, :, None] * mean[:, None, :]
    normal = np.full((n, 3), np.nan)
    planarity = np.full(n, np.nan)
    fit = cnt >= 3
    if fit.any():
        eigval, eigvec = np.linalg.eigh(cov[fit])
        nrm = eigvec[:, :, 0]
        toward = np.einsum("ij,ij->i", nrm, camera - (mean[fit] + shift))
        normal[fit] = nrm * np.where(toward < 0, -1.0, 1.0)[:, None]
        planarity[fit] = np.sqrt(np.maximum(eigval[:, 0], 0.0))
    centroid = mean + shift
    area = _areas(points, ranges, labels, n, camera, normal, pixels, cnt)
    return {"pixels": pixels, "valid": cnt, "centroid": centroid, "normal": normal,
            "planarity": planarity, "area": area}


def _areas(
    points: np.ndarray, ranges: np.ndarray, labels: np.ndarray, n: int, camera: np.ndarray,
    normal: np.ndarray, pixels: np.ndarray, cnt: np.ndarray,
) -> np.ndarray:
    """Sum of pixel footprints ``omega r^2 / |cos|``; omega from neighbouring ray directions.

    A back-projected ray direction does not depend on the measured depth, so the solid
    angle of a pixel follows from the directions of its right and lower neighbours without
    the intrinsics; depth noise enters only through ``r``.
    """
    step = max(1, min(ranges.shape) // 120)  # directions vary smoothly: a sparse grid will do
    sub = (points[::step, ::step] - camera) / ranges[::step, ::step, None]
    du, dv = sub[:-1, 1:] - sub[:-1, :-1], sub[1:, :-1] - sub[:-1, :-1]
    omega = np.linalg.norm(np.cross(du, dv), axis=-1) / step**2
    sub_labels = labels[::step, ::step][:-1, :-1]
    have = np.isfinite(omega)
    if not have.any():
        return np.full(n, np.nan)
    hits = np.bincount(sub_labels[have], minlength=n)
    omega_region = np.bincount(sub_labels[have], omega[have], n) / np.maximum(hits, 1)
    omega_region[hits == 0] = np.median(omega[have])
    valid = np.isfinite(ranges)
    lab = labels[valid]
    n_lab = normal[lab]
    rays = (points[valid] - camera) / ranges[valid][:, None]
    cos = np.abs(np.einsum("ij,ij->i", rays, np.nan_to_num(n_lab, nan=0.0)))
    cos = np.where(np.isfinite(n_lab[:, 0]), np.maximum(cos, _MIN_COS_VIEW), 1.0)
    footprint = omega_region[lab] * ranges[valid] ** 2 / cos
    with np.errstate(invalid="ignore", divide="ignore"):
        area = np.bincount(lab, footprint, n) * pixels / cnt
    return np.where(cnt > 0, area, np.nan)


def _surfaces(zones: np.ndarray, labels: np.ndarray, n: int, geometry: dict[str, np.ndarray]) -> list[str]:
    """Face of the layout box each region lies on, ``"object"`` or ``"unknown"``."""
    cnt = geometry["valid"]
    out = ["unknown" if c == 0 else "object" for c in cnt]
    valid = zones >= 0
    lab, zone = labels[valid], zones[valid]
    best = np.zeros(n)
    for k, face in enumerate(SURFACES):
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.bincount(lab, zone == k, n) / cnt
        agree = geometry["normal"] @ np.asarray(FACE_NORMALS[face]) >= _MIN_COS_FACE
        for i in np.flatnonzero(agree & (share >= 0.5) & (share > best)):
            out[i], best[i] = face, share[i]
    return out
