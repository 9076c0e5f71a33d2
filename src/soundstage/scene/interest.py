"""Regions of interest: measured regions grouped by what they sound like, ranked by saliency and size.

:func:`regions_of_interest` takes the regions of :func:`~soundstage.scene.regions.segment_regions`
and one sound category per region, joins touching regions of the same category into one
region of interest (a lawn cut into twenty superpixels is one lawn; regions of the
catch-all :data:`UNRECOGNIZED` category are joined only when their mean colours are alike,
within :data:`ALIKE_COLOUR` per channel: one sofa, not the sofa and the wall). Given
object masks (Segment Anything, :mod:`soundstage.vision.sam`), the regions of one mask
are one group instead. It ranks the groups by

    score = mean saliency x sqrt(share of the picture),

where saliency is the frequency-tuned contrast of Achanta et al. (CVPR 2009): the CIELAB
distance of each (Gaussian-blurred) pixel from the picture's mean colour, scaled to [0, 1].
Groups smaller than :data:`MIN_SHARE` of the picture, or with no saliency at all (below
:data:`MIN_SALIENCY`: a flat picture), are left out. The square root lets a
small striking object beat a large dull wall without letting specks win.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage.color import rgb2lab

from soundstage.errors import InvalidImageError
from soundstage.scene.regions import Region

__all__ = ["ALIKE_COLOUR", "MIN_SHARE", "UNRECOGNIZED", "Interest", "regions_of_interest", "saliency_map"]

#: The catch-all category: its regions join only when alike in colour (see the module doc).
UNRECOGNIZED = "ambience"
#: Largest difference of mean colour (0-1, any channel) between joined unrecognized regions.
ALIKE_COLOUR = 0.08
#: Smallest share of the picture a region of interest may cover.
MIN_SHARE = 0.005
#: Smallest mean saliency of a region of interest (a uniform picture has none).
MIN_SALIENCY = 1e-3
_BLUR_SIGMA = 2.0  # pixels of the 5x5-binomial-like blur of Achanta et al.
_JND = 1.0  # CIELAB distance of a just-noticeable difference: below it the picture is flat


@dataclass
class Interest:
    """One region of interest: its member regions, where it is in the picture, and its rank score."""

    members: list[int]
    category: str
    reason: str
    pixels: int
    bbox: tuple[int, int, int, int]
    pixel: tuple[float, float]
    saliency: float
    score: float


def saliency_map(rgb: np.ndarray) -> np.ndarray:
    """Frequency-tuned saliency (Achanta et al. 2009) of a uint8 RGB image, float ``(H, W)`` in [0, 1].

    All zero for a flat picture (no pixel a just-noticeable difference from the mean colour).
    """
    lab = rgb2lab(ndimage.gaussian_filter(np.asarray(rgb, float) / 255.0, sigma=(_BLUR_SIGMA, _BLUR_SIGMA, 0)))
    s = np.linalg.norm(lab - lab.reshape(-1, 3).mean(axis=0), axis=-1)
    top = float(s.max())
    return s / top if top >= _JND else np.zeros_like(s)


def _adjacent_pairs(labels: np.ndarray) -> np.ndarray:
    """Pairs ``(a, b)`` of region ids that touch (4-neighbourhood), each once."""
    pairs = [np.stack([labels[:, :-1].ravel(), labels[:, 1:].ravel()], 1),
             np.stack([labels[:-1, :].ravel(), labels[1:, :].ravel()], 1)]
    p = np.concatenate(pairs)
    p = p[p[:, 0] != p[:, 1]]
    return np.unique(np.sort(p, axis=1), axis=0)


def _owners(labels: np.ndarray, n: int, objects: list[np.ndarray]) -> np.ndarray:
    """For each region, the object mask covering the largest part of it when that is at least half, else -1."""
    owner = np.full(n, -1)
    if not objects:
        return owner
    size = np.bincount(labels.ravel(), minlength=n)
    for m in objects:
        if np.asarray(m).shape != labels.shape:
            raise InvalidImageError(f"object mask of shape {np.asarray(m).shape}; expected the picture's {labels.shape}")
    cover = np.stack([np.bincount(labels[np.asarray(m, bool)], minlength=n) for m in objects]) / np.maximum(size, 1)
    best = cover.argmax(axis=0)
    hit = cover[best, np.arange(n)] >= 0.5
    owner[hit] = best[hit]
    return owner


def regions_of_interest(
    rgb: np.ndarray,
    labels: np.ndarray,
    regions: list[Region],
    categories: list[tuple[str, str]],
    objects: list[np.ndarray] | None = None,
) -> list[Interest]:
    """Groups of touching same-category regions, best first (see the module doc).

    ``categories[i]`` is ``(category, reason)`` for ``regions[i]``. ``objects`` are optional
    object masks (bool, the picture's size; e.g. :class:`soundstage.vision.sam.SamSegmenter`):
    the regions that a mask covers at least half of form one group whatever their categories
    (the largest one names it), and join nothing outside it. Returns every group of at
    least :data:`MIN_SHARE` of the picture, sorted by score (highest first).
    """
    n = len(regions)
    names = np.array([c for c, _ in categories])
    owner = _owners(labels, n, objects or [])
    pairs = _adjacent_pairs(labels)
    if len(pairs):
        colour = np.array([r.mean_rgb for r in regions], float)
        alike = np.abs(colour[pairs[:, 0]] - colour[pairs[:, 1]]).max(axis=1) < ALIKE_COLOUR
        free = (owner[pairs[:, 0]] < 0) & (owner[pairs[:, 1]] < 0)
        pairs = pairs[free & (names[pairs[:, 0]] == names[pairs[:, 1]]) & ((names[pairs[:, 0]] != UNRECOGNIZED) | alike)]
    inside = [np.flatnonzero(owner == m) for m in range(len(objects or []))]
    same = np.concatenate([pairs.reshape(-1, 2)] + [np.stack([np.full(m.size - 1, m[0]), m[1:]], 1) for m in inside
                                                   if m.size > 1]).astype(int)
    graph = coo_matrix((np.ones(len(same)), (same[:, 0], same[:, 1])), shape=(n, n)) if len(same) else coo_matrix((n, n))
    _, group = connected_components(graph, directed=False)
    group_of_pixel = group[labels]
    sal = saliency_map(rgb)
    count = np.bincount(group_of_pixel.ravel(), minlength=group.max() + 1)
    mean_sal = np.bincount(group_of_pixel.ravel(), sal.ravel(), minlength=count.size) / np.maximum(count, 1)
    rows, cols = np.indices(labels.shape)
    mean_u = np.bincount(group_of_pixel.ravel(), cols.ravel(), minlength=count.size) / np.maximum(count, 1)
    mean_v = np.bincount(group_of_pixel.ravel(), rows.ravel(), minlength=count.size) / np.maximum(count, 1)
    total = float(labels.size)
    out = []
    for g, box in enumerate(ndimage.find_objects(group_of_pixel + 1)):
        if box is None or count[g] < MIN_SHARE * total or mean_sal[g] < MIN_SALIENCY:
            continue
        members = [int(i) for i in np.flatnonzero(group == g)]
        largest = max(members, key=lambda i: regions[i].pixels)
        sv, su = box
        share = count[g] / total
        out.append(Interest(members, str(names[largest]), categories[largest][1], int(count[g]),
                            (su.start, sv.start, su.stop, sv.stop), (float(mean_u[g]), float(mean_v[g])),
                            float(mean_sal[g]), float(mean_sal[g] * np.sqrt(share))))
    return sorted(out, key=lambda r: -r.score)
