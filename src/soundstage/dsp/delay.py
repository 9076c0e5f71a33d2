"""Fractional delays with windowed-sinc kernels."""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft
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
    filters: np.ndarray | None = None,
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
    filters : array, shape ``(n, taps)``, optional
        An FIR filter per impulse (e.g. a head-related impulse response), applied to
        that impulse only: its first tap sits at the impulse's delay.
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
    if filters is not None:
        kernels = _filtered(kernels, np.asarray(filters, dtype=float), delays.size)
    idx = base[:, None] + np.arange(kernels.shape[1])[None, :] - half_taps
    valid = (idx >= 0) & (idx < length)
    image = np.broadcast_to(np.arange(delays.size)[:, None], idx.shape)
    # A sparse (samples x impulses) kernel matrix applies every channel's amplitudes at once.
    placement = sparse.csr_matrix((kernels[valid], (idx[valid], image[valid])), shape=(length, delays.size))
    out = np.asarray(placement @ amps).T
    return out[0] if squeeze else out


def _filtered(kernels: np.ndarray, filters: np.ndarray, n: int) -> np.ndarray:
    """Each row of ``kernels`` convolved with the same row of ``filters`` (by FFT)."""
    if filters.ndim != 2 or filters.shape[0] != n or not np.all(np.isfinite(filters)):
        raise InvalidAudioError(f"filters have shape {filters.shape}; expected finite ({n}, taps), one row per delay")
    size = kernels.shape[1] + filters.shape[1] - 1
    nfft = sfft.next_fast_len(size, real=True)
    spectra = sfft.rfft(kernels, nfft, axis=1) * sfft.rfft(filters, nfft, axis=1)
    return sfft.irfft(spectra, nfft, axis=1)[:, :size]
