"""Programme loudness after ITU-R BS.1770-4 (LUFS / LKFS) and loudness matching.

K-weighting is the standard's two biquads, a high shelf (+4 dB above ~1.7 kHz, the head's
effect) and a high-pass near 38 Hz (the revised low-frequency B-curve). The standard lists
their coefficients at 48 kHz only; at any rate they are designed here from the analog
parameters that reproduce those coefficients (B. De Man's derivation: shelf gain
3.99984 dB, Q 0.70718, 1681.97 Hz; high-pass Q 0.50033, 38.135 Hz) with the bilinear
transform (RBJ cookbook forms). The mean square of each channel is taken over 400 ms
blocks overlapping by 75 %, weighted per channel (1 for front channels, 1.41 for
surrounds), and gated: blocks below -70 LUFS are dropped, then blocks more than 10 LU
below the loudness of those left. Loudness = -0.691 + 10 log10(sum of weighted means).

:func:`active_power` is a simpler level of speech alone: the mean power of its 20 ms
frames within 30 dB of the loudest one (pauses left out, as in ITU-T P.56's active level).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.signal import lfilter

from soundstage.errors import InvalidAudioError

#: Frames (s) and range (dB below the loudest frame) of :func:`active_power`.
ACTIVE_FRAME_S: float = 0.02
ACTIVE_RANGE_DB: float = 30.0
#: Block length (s) and overlap of the gating blocks.
BLOCK_S: float = 0.4
OVERLAP: float = 0.75
#: Absolute gate (LUFS) and relative gate (LU below the absolute-gated loudness).
ABSOLUTE_GATE: float = -70.0
RELATIVE_GATE: float = -10.0

_SHELF = (3.99984385397, 0.7071752369554193, 1681.9744509555319)  # gain dB, Q, centre Hz
_HIGH_PASS = (0.5003270373253953, 38.13547087613982)  # Q, cutoff Hz


def k_weighting(sr: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two K-weighting biquads ``[(b, a), (b, a)]`` at ``sr`` Hz (shelf, then high-pass)."""
    gain_db, q, fc = _SHELF
    k = math.tan(math.pi * fc / sr)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = (np.array([(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]),
             np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]))
    q, fc = _HIGH_PASS
    k = math.tan(math.pi * fc / sr)
    a0 = 1 + k / q + k * k
    high_pass = (np.array([1.0, -2.0, 1.0]), np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]))
    return [shelf, high_pass]


def _channels(x: np.ndarray, sr: int) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    a = a[None] if a.ndim == 1 else a
    if a.ndim != 2 or a.shape[1] < int(BLOCK_S * sr) or not np.all(np.isfinite(a)):
        raise InvalidAudioError(
            f"loudness needs finite (samples,) or (channels, samples) audio of at least {BLOCK_S:g} s, got shape {np.shape(x)}"
        )
    return a


def integrated_loudness(x: np.ndarray, sr: int, *, weights: Sequence[float] | None = None) -> float:
    """Gated programme loudness (LUFS) of ``x`` ``(samples,)`` or ``(channels, samples)``; ``-inf`` when every block is gated.

    ``weights`` per channel default to 1 (front channels; give 1.41 for surround channels).
    """
    a = _channels(x, sr)
    w = np.ones(a.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (a.shape[0],):
        raise InvalidAudioError(f"{a.shape[0]} channels need as many weights, got {len(w)}")
    for b, den in k_weighting(sr):
        a = lfilter(b, den, a, axis=1)
    block = int(round(BLOCK_S * sr))
    hop = int(round(block * (1 - OVERLAP)))
    starts = np.arange(0, a.shape[1] - block + 1, hop)
    power = np.cumsum(np.pad(a * a, ((0, 0), (1, 0))), axis=1)
    z = (power[:, starts + block] - power[:, starts]) / block  # (channels, blocks)
    blocks = w @ z
    loud = -0.691 + 10 * np.log10(np.maximum(blocks, 1e-300))
    kept = blocks[loud > ABSOLUTE_GATE]
    if kept.size == 0:
        return -math.inf
    threshold = -0.691 + 10 * math.log10(kept.mean()) + RELATIVE_GATE
    kept = blocks[(loud > ABSOLUTE_GATE) & (loud > threshold)]
    return float(-0.691 + 10 * math.log10(kept.mean()))


def match_loudness(x: np.ndarray, sr: int, target_lufs: float) -> tuple[np.ndarray, float]:
    """``x`` scaled to ``target_lufs`` integrated loudness, and the gain applied (dB)."""
    current = integrated_loudness(x, sr)
    if not math.isfinite(current):
        raise InvalidAudioError("cannot match the loudness of a signal below the -70 LUFS gate (silence)")
    gain_db = target_lufs - current
    return np.asarray(x, dtype=np.float64) * 10 ** (gain_db / 20), gain_db


def active_power(x: np.ndarray, sr: int) -> float:
    """Mean power of the mono signal's :data:`ACTIVE_FRAME_S` frames within :data:`ACTIVE_RANGE_DB` of the loudest; 0 for silence."""
    a = np.asarray(x, dtype=np.float64).ravel()
    frame = max(1, int(round(ACTIVE_FRAME_S * sr)))
    n = a.size // frame
    if n == 0:
        return float(np.mean(a**2)) if a.size else 0.0
    p = (a[: n * frame] ** 2).reshape(n, frame).mean(axis=1)
    if p.max() <= 0:
        return 0.0
    return float(p[p >= p.max() * 10 ** (-ACTIVE_RANGE_DB / 10)].mean())
