"""Binaural receiver: a listener's head with head-related transfer functions."""

from __future__ import annotations

import numpy as np

from soundstage.acoustics.receiver import Receiver
from soundstage.errors import InvalidAudioError, InvalidGeometryError
from soundstage.spatial.hrtf import HRTF, default_hrtf


class Binaural(Receiver):
    """Two ear signals ``[left, right]`` through an :class:`~soundstage.spatial.hrtf.HRTF` set.

    Parameters
    ----------
    hrtf : the set to use; default :func:`~soundstage.spatial.hrtf.default_hrtf`.
    yaw_deg, pitch_deg, roll_deg : orientation of the head (see :mod:`soundstage.geometry`):
        with ``yaw_deg=90`` the listener faces world azimuth 90 (the world's left).
    """

    channels = 2
    layout = "binaural"

    def __init__(self, hrtf: HRTF | None = None, *, yaw_deg: float = 0.0, pitch_deg: float = 0.0,
                 roll_deg: float = 0.0) -> None:
        if hrtf is not None and not isinstance(hrtf, HRTF):
            raise InvalidAudioError(f"hrtf is a {type(hrtf).__name__}; expected an HRTF (e.g. from load_sofa) or None")
        angles = (yaw_deg, pitch_deg, roll_deg)
        if not all(isinstance(a, (int, float, np.integer, np.floating)) and np.isfinite(a) for a in angles):
            raise InvalidGeometryError(f"head orientation {angles!r}; expected finite yaw, pitch and roll in degrees")
        self.hrtf = default_hrtf() if hrtf is None else hrtf
        self.orientation = tuple(float(a) for a in angles)

    def head_response(self, directions: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
        """Interpolated HRTF filters ``(n, 2, taps)`` and ear onsets ``(n, 2)`` (samples) at rate ``sr``.

        ``directions`` are ``(n, 3)`` unit vectors in the head frame; the set is resampled
        to ``sr`` once and cached.
        """
        return self.hrtf.resampled(sr).lookup(directions)

    def __repr__(self) -> str:
        return f"Binaural({self.hrtf.name!r}, orientation={self.orientation})"
