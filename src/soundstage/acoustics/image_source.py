"""Exact image-source models: shoebox rooms (Allen & Berkley, 1979), convex and prism rooms (Borish, 1984).

:func:`image_sources` is the entry point for both.

Every image within a distance (or reflection order) limit is enumerated with the number
of reflections off each surface, so each image gets a per-band reflection gain, air
absorption over its path, spherical spreading and optional source/receiver directivity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from soundstage.acoustics.directivity import Directivity
from soundstage.acoustics.convex import ConvexRoom
from soundstage.acoustics.prism import PrismRoom
from soundstage.acoustics.room import Enclosure, Room
from soundstage.constants import SPEED_OF_SOUND
from soundstage.errors import InvalidGeometryError


@dataclass(frozen=True)
class ImageSources:
    """Image sources sorted by arrival time.

    Attributes
    ----------
    positions : (n, 3) image positions in metres.
    delays : (n,) arrival times in seconds (distance / speed of sound).
    orders : (n,) total number of reflections.
    hits : (n, n_surfaces) reflections off each surface (shoebox: :data:`room.SURFACES` order).
    gains : (n, n_bands) amplitude per octave band, including 1 / (4 pi r).
    complete_s : every image arriving before this time (s) is included; ``inf`` unless the
        mirroring search of a plane-bounded room hit its candidate budget and stopped early.
    """

    positions: np.ndarray
    delays: np.ndarray
    orders: np.ndarray
    hits: np.ndarray
    gains: np.ndarray
    complete_s: float = float("inf")

    def __len__(self) -> int:
        return int(self.delays.size)


#: Most mirroring candidates :func:`_plane_paths` keeps before it stops going deeper.
MAX_CANDIDATES = 300_000


def _axis_images(s: float, length: float, n_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image coordinates along one axis with reflection counts on its low and high walls."""
    n = np.arange(-n_max, n_max + 1)
    q = np.array([0, 1])
    n, q = np.meshgrid(n, q, indexing="ij")
    n, q = n.ravel(), q.ravel()
    coord = (1 - 2 * q) * s + 2 * n * length
    return coord, np.abs(n - q), np.abs(n)


def _shoebox_paths(
    room: Room, src: np.ndarray, lst: np.ndarray, reach: float, max_order: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shoebox images within ``reach`` metres (and ``max_order``): positions, hits, emission directions.

    Every image of a shoebox is audible (Allen & Berkley), so all are enumerated on a grid.
    """
    dims = np.asarray(room.dims)
    axes = []
    for a in range(3):
        n_max = int(np.ceil(reach / (2 * dims[a]))) + 1 if np.isfinite(reach) else (max_order + 1) // 2 + 1
        if max_order is not None:
            n_max = min(n_max, (max_order + 1) // 2 + 1)
        axes.append(_axis_images(src[a], dims[a], n_max))
    (cx, lox, hix), (cy, loy, hiy), (cz, loz, hiz) = axes
    dx, dy, dz = cx - lst[0], cy - lst[1], cz - lst[2]
    dist2 = dx[:, None, None] ** 2 + dy[None, :, None] ** 2 + dz[None, None, :] ** 2
    order = (lox + hix)[:, None, None] + (loy + hiy)[None, :, None] + (loz + hiz)[None, None, :]
    keep = dist2 <= reach**2
    if max_order is not None:
        keep &= order <= max_order
    ix, iy, iz = np.nonzero(keep)
    positions = np.stack([cx[ix], cy[iy], cz[iz]], axis=1)
    hits = np.stack([lox[ix], hix[ix], loy[iy], hiy[iy], loz[iz], hiz[iz]], axis=1)
    # Leaving direction at the real source: the image -> listener ray with mirrored axes flipped.
    parity = np.stack([hits[:, 0] + hits[:, 1], hits[:, 2] + hits[:, 3], hits[:, 4] + hits[:, 5]], axis=1) % 2
    return positions, hits, (lst - positions) * (1 - 2 * parity)


def _bounds(
    room: Enclosure, source: Sequence[float], listener: Sequence[float], max_time: float | None, max_order: int | None
) -> tuple[np.ndarray, np.ndarray, float]:
    """Checked source and listener positions and the reach (m) of the image search."""
    if max_time is None and max_order is None:
        raise InvalidGeometryError("give max_time and/or max_order to bound the image-source model")
    src = room.check_inside(source, name="source")
    lst = room.check_inside(listener, name="listener")
    return src, lst, np.inf if max_time is None else SPEED_OF_SOUND * max_time


def _assemble(
    room: Enclosure,
    listener: np.ndarray,
    positions: np.ndarray,
    hits: np.ndarray,
    emission: np.ndarray,
    source_directivity: Directivity | None,
    receiver_directivity: Directivity | None,
    complete: float = np.inf,
) -> ImageSources:
    """Sort images by distance and give them their per-band gains (``complete``: see ImageSources).

    ``emission`` holds (not necessarily unit) directions in which each path leaves the source.
    """
    arrival = positions - listener
    dist = np.linalg.norm(arrival, axis=1)
    sort = np.argsort(dist, kind="stable")
    positions, hits, dist, arrival, emission = positions[sort], hits[sort], dist[sort], arrival[sort], emission[sort]
    gains = _image_gains(room, hits, dist)
    if receiver_directivity is not None:
        gains = gains * _band_gain(receiver_directivity(arrival / dist[:, None]), gains.shape[1])
    if source_directivity is not None:
        emission = emission / np.maximum(np.linalg.norm(emission, axis=1), 1e-12)[:, None]
        gains = gains * _band_gain(source_directivity(emission), gains.shape[1])
    return ImageSources(positions, dist / SPEED_OF_SOUND, hits.sum(axis=1), hits, gains, complete / SPEED_OF_SOUND)


def _image_gains(room: Enclosure, hits: np.ndarray, dist: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        log_reflection = 0.5 * np.log1p(-room.absorption())  # (6, n_bands)
    log_reflection = np.where(np.isfinite(log_reflection), log_reflection, -np.inf)
    with np.errstate(invalid="ignore"):
        log_gain = np.where(hits[:, :, None] > 0, hits[:, :, None] * log_reflection[None], 0.0).sum(axis=1)
    log_gain -= 0.5 * room.air_coefficient()[None, :] * dist[:, None]
    return np.exp(log_gain) / (4.0 * np.pi * dist[:, None])


def _band_gain(gain: np.ndarray, n_bands: int) -> np.ndarray:
    gain = np.asarray(gain, dtype=float)
    return gain[:, None] if gain.ndim == 1 else gain.reshape(-1, n_bands)


def _plane_paths(
    room: ConvexRoom | PrismRoom, src: np.ndarray, lst: np.ndarray, reach: float, max_order: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Audible images of a room bounded by planes (Borish, 1984): positions, hits, emission directions.

    Images are mirrored plane by plane, order by order. An image is only mirrored across
    planes it lies in front of (others give invalid images), images beyond reach are
    pruned (a valid path's image is never nearer the listener than its parent's: the
    parent's distance is at most the path length), and each remaining image is kept only
    if its path, traced back from the listener, meets every reflecting plane on that
    plane's face (``room.on_face``) and no leg of it passes through a wall
    (``room.clear``; always true in a convex room).

    Different reflection orders reach the same image, so candidates grow like
    ``(planes - 1) ** order``. When the next order would take the candidates past
    :data:`MAX_CANDIDATES`, the search stops and the reach shrinks to that order's nearest
    candidate: every image nearer than it has been found (its ancestors are no farther).
    Returns the (possibly shrunk) reach as a fourth value.
    """
    order_cap = np.iinfo(np.int64).max if max_order is None else max_order
    n, d = room.normals, room.offsets
    levels = [(src[None, :], np.array([-1]), np.array([-1]))]  # positions, plane, parent index
    total = 1
    while len(levels) - 1 < order_cap:
        pos, plane, _ = levels[-1]
        height = d[None, :] - pos @ n.T  # > 0: image in front of plane k
        valid = (height > 1e-9) & (plane[:, None] != np.arange(len(d))[None, :])
        parent, k = np.nonzero(valid)
        child = pos[parent] + 2.0 * height[parent, k][:, None] * n[k]
        dist = np.linalg.norm(child - lst, axis=1)
        near = dist <= reach
        if not np.any(near):
            break
        if total + np.count_nonzero(near) > MAX_CANDIDATES:
            reach = float(dist[near].min()) * (1 - 1e-12)
            break
        total += np.count_nonzero(near)
        levels.append((child[near], k[near], parent[near]))
    return (*_audible(room, src, lst, levels, reach), reach)


def _audible(room, src, lst, levels, reach) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trace every image's path back from the listener; keep those that hit real faces in clear sight."""
    n, d = room.normals, room.offsets
    out_pos, out_hits, out_emission = [], [], []
    for order, (pos, plane, _) in enumerate(levels):
        keep = np.linalg.norm(pos - lst, axis=1) <= reach
        idx = np.flatnonzero(keep)
        hits = np.zeros((idx.size, len(d)), dtype=np.int64)
        point = np.repeat(lst[None, :], idx.size, axis=0)
        node, ok = idx.copy(), np.ones(idx.size, dtype=bool)
        for level in range(order, 0, -1):
            image, k = levels[level][0][node], levels[level][1][node]
            direction = image - point
            t = (d[k] - np.einsum("ij,ij->i", n[k], point)) / np.einsum("ij,ij->i", n[k], direction)
            hit = point + t[:, None] * direction
            ok &= (t > 1e-9) & (t < 1 + 1e-9) & room.on_face(k, hit) & room.clear(point, hit)
            hits[np.arange(idx.size), k] += 1
            point, node = hit, levels[level][2][node]
        ok &= room.clear(point, np.repeat(src[None, :], idx.size, axis=0))
        out_pos.append(pos[idx][ok])
        out_hits.append(hits[ok])
        out_emission.append((point - src)[ok])  # first leg: source -> first reflection point
    return np.concatenate(out_pos), np.concatenate(out_hits), np.concatenate(out_emission)


def image_sources(
    room: Enclosure,
    source: Sequence[float],
    listener: Sequence[float],
    *,
    max_time: float | None = None,
    max_order: int | None = None,
    source_directivity: Directivity | None = None,
    receiver_directivity: Directivity | None = None,
) -> ImageSources:
    """Image sources of ``source`` heard at ``listener`` up to ``max_time`` s and/or ``max_order``.

    A shoebox :class:`Room` uses the exact grid enumeration, a :class:`ConvexRoom` or a
    :class:`~soundstage.acoustics.prism.PrismRoom` the Borish mirroring with back-traced
    audibility (and, in a prism room, occlusion by walls).

    Returns
    -------
    ImageSources
        Sorted by delay. Amplitudes are pressure at the listener for a unit point source
        (free-field ``1 / (4 pi r)``) times ``sqrt(1 - absorption)`` per reflection, times
        ``10 ** (-air_dB_per_m * r / 20)``, times directivity gains.
    """
    src, lst, reach = _bounds(room, source, listener, max_time, max_order)
    if isinstance(room, (ConvexRoom, PrismRoom)):
        positions, hits, emission, complete = _plane_paths(room, src, lst, reach, max_order)
    else:
        (positions, hits, emission), complete = _shoebox_paths(room, src, lst, reach, max_order), np.inf
    return _assemble(room, lst, positions, hits, emission, source_directivity, receiver_directivity,
                     np.inf if complete >= reach else complete)
