"""Receivers: how a listener (one microphone, a head, an ambisonic microphone, a
loudspeaker rig) turns sound arriving from a direction into output channels.

A :class:`Receiver` answers one question, :meth:`Receiver.response`: for plane waves
arriving from given directions, which filter and which extra delay does each output
channel apply? Everything spatial is built on it: image sources rendered from their own
directions, the diffuse tail given the inter-channel coherence that a diffuse field has
at this receiver (:meth:`Receiver.diffuse_mixing`), and moving sources.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import lru_cache

import numpy as np
from scipy import fft as sfft

from soundstage.geometry import sphere_grid, to_head, unit

#: Directions averaged for diffuse-field statistics.
DIFFUSE_GRID = 2048


class Receiver(ABC):
    """A directional receiver with ``channels`` outputs named by ``layout``.

    ``orientation`` is ``(yaw, pitch, roll)`` in degrees (see :mod:`soundstage.geometry`).
    Subclasses implement :meth:`head_response` for directions in the receiver's own frame.
    """

    channels: int = 1
    layout: str = "mono"
    orientation: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @abstractmethod
    def head_response(self, directions: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
        """Response to plane waves from ``directions`` (``(n, 3)`` unit vectors, receiver frame).

        Returns
        -------
        filters : (n, channels, taps) float array; ``taps == 1`` for pure gains.
        offsets : (n, channels) extra delay of each channel in samples, ``>= 0``.
        """

    def response(self, directions: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`head_response` for world-frame directions of arrival ``(n, 3)``.

        A direction of arrival points from the receiver toward where the sound comes from.
        """
        heads = to_head(unit(np.atleast_2d(directions)), *self.orientation)
        return self.head_response(heads, sr)

    @property
    def frequency_independent(self) -> bool:
        """True when every channel is a pure gain per direction (no filter, no delay)."""
        filters, offsets = self.head_response(sphere_grid(4), 48000)
        return filters.shape[-1] == 1 and not np.any(offsets)

    def diffuse_mixing(self, sr: int, n_fft: int = 512) -> np.ndarray:
        """Mixing matrices ``M(f)``, shape ``(n_fft // 2 + 1, channels, channels)``, complex.

        ``M(f) M(f)^H`` is the cross-power matrix of the receiver's outputs in a diffuse
        field of unit power (plane waves from all directions, equally strong, mutually
        incoherent): the average of ``H(f, d) H(f, d)^H`` over directions ``d``. Mixing
        independent unit-power noises by ``M(f)`` gives signals with exactly those
        powers and that coherence (binaural: the interaural coherence of a diffuse
        field; ambisonics: uncorrelated channels with power ``1 / (2n + 1)``).
        The result does not depend on the orientation.
        """
        return _mixing(self, int(sr), int(n_fft))


@lru_cache(maxsize=16)
def _mixing(receiver: Receiver, sr: int, n_fft: int) -> np.ndarray:
    filters, offsets = receiver.head_response(sphere_grid(DIFFUSE_GRID), sr)
    freqs = np.arange(n_fft // 2 + 1) / n_fft
    spectra = sfft.rfft(filters, n=n_fft, axis=-1) * np.exp(-2j * np.pi * offsets[..., None] * freqs)
    cross = np.einsum("dcf,def->fce", spectra, spectra.conj()) / len(filters)
    values, vectors = np.linalg.eigh(cross)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))[:, None, :]
    mixing = root @ np.swapaxes(vectors.conj(), -1, -2)
    mixing.flags.writeable = False
    return mixing


class Omni(Receiver):
    """One omnidirectional pressure microphone: gain 1 from every direction."""

    channels = 1
    layout = "mono"

    def head_response(self, directions: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(directions)
        return np.ones((n, 1, 1)), np.zeros((n, 1))
