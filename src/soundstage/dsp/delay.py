"""Fractional delays with windowed-sinc kernels."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from soundstage.errors import InvalidAudioError

#: Half-length of the windowed-sinc kernel in samples (kernel has ``2 * HALF_TAPS + 1`` taps).
HALF_TAPS = 40


def sinc_kernels(frac: np.ndarray, *, half_taps: int = HALF_TAPS) -> np.ndarray:
    """Hann-windowed sinc interpolators for fractional offsets.

    Parameters
    ----------
    frac : array, shape ``(n,)``
        Fractional parts of the delays in samples, in ``[0, 1)``.
    half_taps : int
        The kernel spans offsets ``-half_taps .. half_taps`` around the integer delay.

    Returns
    -------
    array, shape ``(n, 2 * half_taps + 1)``
        Row ``i`` is the kernel to add at integer offsets ``k - half_taps`` from
        ``floor(delay_i)``; its peak sits at ``floor(delay_i) + frac_i``.
    """
    frac = np.asarray(frac, dtype=float)
    k = np.arange(-half_taps, half_taps + 1, dtype=float)
    t = k[None, :] - frac[:, None]
    window = 0.5 * (1.0 + np.cos(np.pi * t / (half_taps + 1)))
    return np.sinc(t) * window


def render_impulses(
    delays: np.ndarray,
    amplitudes: np.ndarray,
    length: int,
    *,
    half_taps: int = HALF_TAPS,
) -> np.ndarray:
    """Sum band-limited impulses at fractional sample positions into a buffer.

    Parameters
    ----------
    delays : array, shape ``(n,)``
        Arrival times in samples (any non-negative real number).
    amplitudes : array, shape ``(n,)`` or ``(n, channels)``
        Amplitude of each impulse, per output channel.
    length : int
        Output length in samples; impulses (or kernel tails) beyond it are dropped.
    half_taps : int
        Kernel half-length in samples.

    Returns
    -------
    array, shape ``(length,)`` or ``(channels, length)``
        The impulse train; the peak of impulse ``i`` sits exactly at ``delays[i]``.
    """
    delays = np.asarray(delays, dtype=float).ravel()
    amps = np.asarray(amplitudes, dtype=float)
    if amps.ndim not in (1, 2) or amps.shape[0] != delays.size:
        raise InvalidAudioError(
            f"amplitudes have shape {amps.shape}; expected ({delays.size},) or ({delays.size}, channels), "
            "one row per delay"
        )
    if not (np.all(np.isfinite(delays)) and np.all(np.isfinite(amps))):
        raise InvalidAudioError("render_impulses got non-finite delays or amplitudes; expected finite numbers")
    squeeze = amps.ndim == 1
    amps = amps.reshape(delays.size, -1)
    base = np.floor(delays).astype(np.int64)
    kernels = sinc_kernels(delays - base, half_taps=half_taps)
    idx = base[:, None] + np.arange(-half_taps, half_taps + 1)[None, :]
    valid = (idx >= 0) & (idx < length)
    image = np.broadcast_to(np.arange(delays.size)[:, None], idx.shape)
    # A sparse (samples x impulses) kernel matrix applies every channel's amplitudes at once.
    placement = sparse.csr_matrix((kernels[valid], (idx[valid], image[valid])), shape=(length, delays.size))
    out = np.asarray(placement @ amps).T
    return out[0] if squeeze else out
