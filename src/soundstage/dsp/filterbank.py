"""Octave-band filter bank with exact reconstruction.

The bands are zero-phase filters applied in the frequency domain. Neighbouring bands
cross over at the geometric mean of their centres with a raised-cosine transition on a
log-frequency axis, so the band responses add up to exactly one at every frequency:
summing the band outputs gives back the input (to float rounding). The lowest band also
takes everything below it and the highest everything above it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import fft as sfft

from soundstage.constants import OCTAVE_BANDS
from soundstage.errors import InvalidAudioError

#: Width of each crossover transition, in octaves.
DEFAULT_TRANSITION = 0.5
#: Threads for the batched band FFTs (-1: every core).
FFT_WORKERS = -1


def crossover_frequencies(bands: tuple[float, ...] = OCTAVE_BANDS) -> np.ndarray:
    """Crossover frequencies between neighbouring bands (Hz), shape ``(n_bands - 1,)``."""
    centres = np.asarray(bands, dtype=float)
    return np.sqrt(centres[:-1] * centres[1:])


def band_edges(bands: tuple[float, ...] = OCTAVE_BANDS) -> tuple[np.ndarray, np.ndarray]:
    """Nominal lower and upper edges of each band (Hz): ``fc / sqrt(2)`` and ``fc * sqrt(2)``."""
    centres = np.asarray(bands, dtype=float)
    return centres / np.sqrt(2.0), centres * np.sqrt(2.0)


def band_masks(
    freqs: np.ndarray,
    bands: tuple[float, ...] = OCTAVE_BANDS,
    *,
    transition: float = DEFAULT_TRANSITION,
) -> np.ndarray:
    """Magnitude responses of the bands at ``freqs`` (Hz), shape ``(n_bands, n_freqs)``.

    The responses are real, non-negative and sum to one at every frequency.
    """
    freqs = np.asarray(freqs, dtype=float)
    cross = crossover_frequencies(bands)
    with np.errstate(divide="ignore"):
        logf = np.log2(np.maximum(freqs, 1e-12))
    # above[k]: share of the spectrum that belongs above crossover k (0 -> 1 across it).
    x = (logf[None, :] - np.log2(cross)[:, None]) / transition + 0.5
    above = np.sin(0.5 * np.pi * np.clip(x, 0.0, 1.0)) ** 2
    ones = np.ones((1, freqs.size))
    zeros = np.zeros((1, freqs.size))
    return np.vstack([ones, above]) - np.vstack([above, zeros])


def _fft_length(n: int, sr: int) -> int:
    # Padding keeps the (two-sided, fast-decaying) band responses from wrapping around.
    return sfft.next_fast_len(n + max(int(0.2 * sr), 256), real=True)


@lru_cache(maxsize=32)
def _fft_masks(nfft: int, sr: int, bands: tuple[float, ...], transition: float) -> np.ndarray:
    masks = band_masks(sfft.rfftfreq(nfft, 1.0 / sr), bands, transition=transition)
    masks.flags.writeable = False
    return masks


@lru_cache(maxsize=32)
def _fft_high_pass(nfft: int, sr: int, cutoff: float) -> np.ndarray:
    from scipy.signal import sosfreqz

    _, h = sosfreqz(high_pass_sos(sr, cutoff=cutoff), worN=sfft.rfftfreq(nfft, 1.0 / sr), fs=sr)
    h.flags.writeable = False
    return h


def _per_band(masks: np.ndarray, ndim: int) -> np.ndarray:
    return masks.reshape((masks.shape[0],) + (1,) * (ndim - 2) + (-1,))


def _check_bands(band_signals: np.ndarray, bands: tuple[float, ...]) -> np.ndarray:
    band_signals = np.asarray(band_signals)
    if band_signals.shape[0] != len(bands):
        raise InvalidAudioError(f"got {band_signals.shape[0]} band signals; expected one per band ({len(bands)})")
    return band_signals


def octave_filterbank(
    x: np.ndarray,
    sr: int,
    *,
    bands: tuple[float, ...] = OCTAVE_BANDS,
    transition: float = DEFAULT_TRANSITION,
) -> np.ndarray:
    """Split a signal into octave bands.

    Parameters
    ----------
    x : array, shape ``(..., samples)``
        Input signal(s); the last axis is time.
    sr : int
        Sample rate in Hz.
    bands : tuple of float
        Band centre frequencies in Hz.
    transition : float
        Crossover transition width in octaves.

    Returns
    -------
    array, shape ``(n_bands, ..., samples)``
        Zero-phase band signals whose sum over the first axis equals ``x``.
    """
    x = np.asarray(x)
    if x.shape[-1] == 0:
        raise InvalidAudioError("octave_filterbank got an empty signal; expected at least one sample")
    if not np.all(np.isfinite(x)):
        raise InvalidAudioError("octave_filterbank got NaN or infinite samples; expected finite audio")
    n = x.shape[-1]
    nfft = _fft_length(n, sr)
    spec = sfft.rfft(x.astype(np.float64, copy=False), n=nfft, axis=-1, workers=FFT_WORKERS)
    masks = _fft_masks(nfft, sr, tuple(bands), transition)
    out = sfft.irfft(_per_band(masks, x.ndim + 1) * spec[None], n=nfft, axis=-1, workers=FFT_WORKERS)
    return out[..., :n].astype(np.result_type(x.dtype, np.float32), copy=False)


def band_synthesis(
    band_signals: np.ndarray,
    sr: int,
    *,
    bands: tuple[float, ...] = OCTAVE_BANDS,
    transition: float = DEFAULT_TRANSITION,
    high_pass_cutoff: float | None = None,
) -> np.ndarray:
    """Filter each band's own signal with that band's filter and sum the results.

    This is how per-band processing is put back together: a signal whose bands were
    given different gains or envelopes. If every row of ``band_signals`` is the same
    signal ``x``, the result is ``x``.

    Parameters
    ----------
    band_signals : array, shape ``(n_bands, ..., samples)``
        One signal per band.
    sr : int
        Sample rate in Hz.
    high_pass_cutoff : float, optional
        Also apply :func:`high_pass` at this corner (Hz), in the same FFT pass (the padding
        holds its decaying response, so it stays causal).

    Returns
    -------
    array, shape ``(..., samples)``
    """
    band_signals = _check_bands(band_signals, tuple(bands))
    n = band_signals.shape[-1]
    nfft = _fft_length(n, sr)
    masks = _fft_masks(nfft, sr, tuple(bands), transition)
    if high_pass_cutoff is not None:
        masks = masks * _fft_high_pass(nfft, sr, high_pass_cutoff)
    spec = sfft.rfft(band_signals.astype(np.float64, copy=False), n=nfft, axis=-1, workers=FFT_WORKERS)
    spec = np.einsum("b...f,bf->...f", spec, masks)
    return sfft.irfft(spec, n=nfft, axis=-1, workers=FFT_WORKERS)[..., :n]


def band_split(
    band_signals: np.ndarray,
    sr: int,
    *,
    bands: tuple[float, ...] = OCTAVE_BANDS,
    transition: float = DEFAULT_TRANSITION,
) -> np.ndarray:
    """Filter each band's own signal with that band's filter, keeping the bands apart.

    ``band_synthesis(x, sr) == band_split(x, sr).sum(axis=0)``; shapes as there.
    """
    band_signals = _check_bands(band_signals, tuple(bands))
    n = band_signals.shape[-1]
    nfft = _fft_length(n, sr)
    masks = _per_band(_fft_masks(nfft, sr, tuple(bands), transition), band_signals.ndim)
    spec = sfft.rfft(band_signals.astype(np.float64, copy=False), n=nfft, axis=-1, workers=FFT_WORKERS) * masks
    return sfft.irfft(spec, n=nfft, axis=-1, workers=FFT_WORKERS)[..., :n]


def high_pass_sos(sr: int, *, cutoff: float = 20.0, order: int = 2) -> np.ndarray:
    """Second-order sections of a Butterworth high-pass at ``cutoff`` Hz."""
    from scipy.signal import butter

    return butter(order, cutoff, btype="highpass", fs=sr, output="sos")


def high_pass(x: np.ndarray, sr: int, *, cutoff: float = 20.0, order: int = 2) -> np.ndarray:
    """Causal Butterworth high-pass along the last axis (removes DC and sub-audio drift)."""
    from scipy.signal import sosfilt

    return sosfilt(high_pass_sos(sr, cutoff=cutoff, order=order), x, axis=-1)


@lru_cache(maxsize=32)
def band_power_fractions(
    sr: int,
    *,
    bands: tuple[float, ...] = OCTAVE_BANDS,
    transition: float = DEFAULT_TRANSITION,
    high_pass_cutoff: float | None = None,
    n_freqs: int = 8193,
) -> np.ndarray:
    """Fraction of white-noise power each band filter passes, shape ``(n_bands,)``.

    With ``high_pass_cutoff``, for the band filters followed by :func:`high_pass`.
    The result is cached and read-only.
    """
    freqs = np.linspace(0.0, sr / 2.0, n_freqs)
    power = band_masks(freqs, bands, transition=transition) ** 2
    if high_pass_cutoff is not None:
        from scipy.signal import sosfreqz

        _, h = sosfreqz(high_pass_sos(sr, cutoff=high_pass_cutoff), worN=freqs, fs=sr)
        power = power * np.abs(h) ** 2
    fractions = power.mean(axis=1)
    fractions.flags.writeable = False
    return fractions
