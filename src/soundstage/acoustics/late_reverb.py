"""Diffuse late reverberation: seeded noise with a per-band exponential decay.

The expected energy of a diffuse field decays as ``exp(-13.82 t / T60)`` in each band.
The tail is white Gaussian noise shaped by that envelope in every octave band, the bands
put back together with the exact-reconstruction filter bank.
"""

from __future__ import annotations

import numpy as np

from soundstage.constants import DECAY_60DB
from soundstage.dsp.filterbank import band_synthesis


def decay_envelopes(rt60: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Amplitude envelopes ``exp(-ln(1e6) t / (2 T60))``, shape ``(n_bands, n_times)``.

    ``rt60`` is in seconds per band (``inf`` gives a flat envelope); ``times`` in seconds.
    """
    rate = DECAY_60DB / (2.0 * np.asarray(rt60, dtype=float))
    return np.exp(-rate[:, None] * np.asarray(times, dtype=float)[None, :])


def sampled_envelopes(rt60: np.ndarray, *, length: int, sr: int) -> np.ndarray:
    """:func:`decay_envelopes` at ``t = n / sr`` for ``n < length``, shape ``(n_bands, length)``.

    ``exp(-a (B i + j) / sr)`` is the product of a coarse and a fine exponential, so about
    ``2 sqrt(length)`` exponentials per band are evaluated instead of ``length``.
    """
    block = max(1, int(np.ceil(np.sqrt(length))))
    rate = DECAY_60DB / (2.0 * np.asarray(rt60, dtype=float))
    coarse = np.exp(-rate[:, None] * (np.arange(0, length, block) / sr)[None, :])
    fine = np.exp(-rate[:, None] * (np.arange(block) / sr)[None, :])
    return np.ascontiguousarray((coarse[:, :, None] * fine[:, None, :]).reshape(len(rate), -1)[:, :length])


def diffuse_tail(
    band_amplitudes: np.ndarray,
    rt60: np.ndarray,
    *,
    sr: int,
    length: int,
    fade: np.ndarray,
    rng: np.random.Generator,
    channels: int = 1,
    high_pass_cutoff: float = 20.0,
) -> np.ndarray:
    """A decaying noise tail, shape ``(channels, length)``.

    Parameters
    ----------
    band_amplitudes : (n_bands,) RMS amplitude per band at t = 0 of the envelope.
    rt60 : (n_bands,) reverberation time per band, seconds.
    sr : sample rate in Hz.
    length : samples.
    fade : (length,) gain applied to the tail (fade-in at the crossover).
    rng : random generator; the tail is a pure function of its state.
    channels : independent noise channels.
    high_pass_cutoff : DC-blocking high-pass corner in Hz.
    """
    shaped = sampled_envelopes(rt60, length=length, sr=sr)
    shaped *= np.asarray(band_amplitudes, dtype=float)[:, None]
    shaped *= fade[None, :]
    noise = rng.standard_normal((channels, length))
    # One channel at a time bounds memory at (bands x length) whatever the channel count.
    return np.stack([band_synthesis(shaped * row[None, :], sr, high_pass_cutoff=high_pass_cutoff) for row in noise])


def matched_band_amplitudes(
    early_energy: np.ndarray,
    rt60: np.ndarray,
    *,
    sr: int,
    window: tuple[float, float],
    band_power: np.ndarray,
) -> np.ndarray:
    """Band amplitudes that give the tail the early part's energy inside ``window``.

    Parameters
    ----------
    early_energy : (n_bands,) energy (sum of squared sample values) of the early
        response per band between ``window[0]`` and ``window[1]`` seconds.
    rt60 : (n_bands,) seconds.
    window : start and end of the matching window in seconds.
    band_power : (n_bands,) fraction of unit white-noise power that reaches each
        band's output (see ``dsp.filterbank.band_power_fractions``).
    """
    t = np.arange(int(round(window[0] * sr)), int(round(window[1] * sr))) / sr
    envelope_energy = (decay_envelopes(rt60, t) ** 2).sum(axis=1)
    return np.sqrt(np.asarray(early_energy) / np.maximum(envelope_energy * band_power, 1e-300))
