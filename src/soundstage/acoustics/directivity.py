"""Directivity patterns for sources and receivers.

A directivity is any callable that takes unit direction vectors, shape ``(n, 3)``, in the
room's frame (for a source: the direction sound leaves it; for a receiver: the direction
sound arrives from) and returns amplitude gains, shape ``(n,)`` or ``(n, n_bands)``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from soundstage.errors import InvalidGeometryError

Directivity = Callable[[np.ndarray], np.ndarray]


def polar_pattern(forward: Sequence[float], *, alpha: float) -> Directivity:
    """First-order polar pattern ``alpha + (1 - alpha) cos(theta)`` around ``forward``.

    ``alpha`` = 1 is omnidirectional, 0.5 cardioid, 0.25 hypercardioid, 0 figure-of-eight.
    """
    axis = np.asarray(forward, dtype=float)
    norm = np.linalg.norm(axis)
    if axis.shape != (3,) or not np.isfinite(norm) or norm == 0:
        raise InvalidGeometryError(f"directivity axis must be a non-zero 3-vector, got {forward!r}")
    if not 0.0 <= alpha <= 1.0:
        raise InvalidGeometryError(f"polar pattern alpha must lie in [0, 1], got {alpha}")
    axis = axis / norm

    def gain(directions: np.ndarray) -> np.ndarray:
        return alpha + (1.0 - alpha) * (np.asarray(directions) @ axis)

    return gain


def cardioid(forward: Sequence[float]) -> Directivity:
    """Cardioid pointing along ``forward``: full gain on axis, zero behind."""
    return polar_pattern(forward, alpha=0.5)
