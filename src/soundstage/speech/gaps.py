"""Gaps in speech: validation, random sampling, masks, dropout detection and splicing.

A :class:`Gap` is a half-open time interval ``[start, end)`` in seconds. Sample ``n``
(time ``n / sr``) lies in a gap when ``start <= n / sr < end``; in samples that is
``ceil(start * sr) <= n < ceil(end * sr)`` (with a 1e-6-sample tolerance so that times
on the sample grid written in decimal, such as 1.2 s, land on their sample). A feature
frame is masked when its centre sample ``t * hop`` is masked, so :func:`frame_mask`
and :func:`mask_waveform` agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from soundstage.errors import InvalidAudioError

_GRID_TOL = 1e-6


@dataclass(frozen=True)
class Gap:
    """A missing stretch of audio, ``[start, end)`` in seconds."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or not 0.0 <= self.start < self.end:
            raise InvalidAudioError(f"a gap needs finite times with 0 <= start < end, got {self}")

    @property
    def duration(self) -> float:
        """Length of the gap in seconds."""
        return self.end - self.start

    def samples(self, sr: int) -> tuple[int, int]:
        """First masked sample and one past the last, ``(i0, i1)``, at ``sr`` Hz."""
        return _to_sample(self.start, sr), _to_sample(self.end, sr)


def _to_sample(t: float, sr: int) -> int:
    return int(math.ceil(t * sr - _GRID_TOL))


def _as_gaps(gaps: Sequence[Gap]) -> list[Gap]:
    gaps = list(gaps)
    for g in gaps:
        if not isinstance(g, Gap):
            raise InvalidAudioError(f"gaps must be Gap(start, end) objects, got {g!r}")
    return gaps


def check_gaps(gaps: Sequence[Gap], duration: float) -> list[Gap]:
    """Check that gaps lie inside ``[0, duration]``, are sorted by start and do not overlap.

    Parameters
    ----------
    gaps : sequence of Gap
        Gaps in seconds.
    duration : float
        Length of the signal in seconds.

    Returns
    -------
    list of Gap
        The gaps, unchanged.

    Raises
    ------
    InvalidAudioError
        Naming the first gap that is outside the signal, out of order or overlapping.
    """
    gaps = _as_gaps(gaps)
    for i, g in enumerate(gaps):
        if g.end > duration:
            raise InvalidAudioError(f"gap {i} {g} ends after the signal's {duration:.3f} s; expected 0 <= start < end <= {duration:.3f}")
        if i and g.start < gaps[i - 1].start:
            raise InvalidAudioError(f"gap {i} {g} starts before gap {i - 1} {gaps[i - 1]}; expected gaps sorted by start")
        if i and g.start < gaps[i - 1].end:
            raise InvalidAudioError(f"gap {i} {g} overlaps gap {i - 1} {gaps[i - 1]}; expected disjoint gaps")
    return gaps


def sample_gaps(
    duration: float,
    rng: np.random.Generator | int | None,
    *,
    count: int = 1,
    min_s: float = 0.3,
    max_s: float = 1.5,
    margin_s: float = 0.1,
) -> list[Gap]:
    """Draw ``count`` random, sorted, disjoint gaps inside a signal.

    Lengths are uniform in ``[min_s, max_s]``; when they do not fit, the parts above
    ``min_s`` are shrunk in proportion until they do. The gaps keep ``margin_s`` from
    both ends of the signal and from each other, and the free time is split between
    the spaces uniformly at random (sorted uniform cut points).

    Parameters
    ----------
    duration : float
        Signal length in seconds.
    rng : numpy Generator, int seed or None
        Random source; the same seed gives the same gaps.
    count : int
        Number of gaps (>= 1).
    min_s, max_s : float
        Shortest and longest gap in seconds.
    margin_s : float
        Least distance in seconds to the signal ends and between gaps.

    Returns
    -------
    list of Gap
        Sorted gaps that pass :func:`check_gaps`.
    """
    if int(count) != count or count < 1:
        raise InvalidAudioError(f"count must be a positive integer, got {count!r}")
    if not 0.0 < min_s <= max_s or margin_s < 0:
        raise InvalidAudioError(f"need 0 < min_s <= max_s and margin_s >= 0, got min_s={min_s}, max_s={max_s}, margin_s={margin_s}")
    count = int(count)
    room = duration - (count + 1) * margin_s
    if count * min_s > room:
        raise InvalidAudioError(
            f"{count} gaps of at least {min_s} s with {margin_s} s margins need "
            f"{count * min_s + (count + 1) * margin_s:.3f} s; the signal lasts {duration:.3f} s"
        )
    rng = np.random.default_rng(rng)
    lengths = rng.uniform(min_s, max_s, count)
    excess = lengths.sum() - room
    if excess > 0:
        extra = lengths - min_s
        lengths = min_s + extra * (1.0 - excess / extra.sum())
    cuts = np.sort(rng.uniform(0.0, max(room - lengths.sum(), 0.0), count))
    starts = margin_s + cuts + np.concatenate([[0.0], np.cumsum(lengths[:-1] + margin_s)])
    return check_gaps([Gap(float(s), float(s + n)) for s, n in zip(starts, lengths)], duration)


def sample_mask(gaps: Sequence[Gap], n_samples: int, sr: int) -> np.ndarray:
    """Bool ``(n_samples,)``: True for samples inside a gap."""
    return _index_mask(_as_gaps(gaps), np.arange(int(n_samples)), sr)


def _index_mask(gaps: list[Gap], index: np.ndarray, sr: int) -> np.ndarray:
    if sr <= 0:
        raise InvalidAudioError(f"sample rate must be positive, got {sr}")
    if not gaps:
        return np.zeros(index.shape, bool)
    bounds = np.array([g.samples(sr) for g in gaps])
    return np.any((index[:, None] >= bounds[:, 0]) & (index[:, None] < bounds[:, 1]), axis=1)


def frame_mask(gaps: Sequence[Gap], n_frames: int, hop: int = 160, sr: int = 16000) -> np.ndarray:
    """Bool ``(n_frames,)``: frame ``t`` is masked when its centre ``t * hop / sr`` lies in a gap."""
    if int(n_frames) != n_frames or n_frames < 0 or int(hop) != hop or hop <= 0:
        raise InvalidAudioError(f"need n_frames >= 0 and a positive integer hop, got n_frames={n_frames}, hop={hop}")
    return _index_mask(_as_gaps(gaps), np.arange(int(n_frames)) * int(hop), sr)


def _check_signal(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 1 or x.size == 0 or x.dtype.kind not in "biuf":
        raise InvalidAudioError(f"{name} must be a non-empty real mono signal (samples,), got shape {x.shape} dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise InvalidAudioError(f"{name} holds NaN or infinite samples; expected finite audio")
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def mask_waveform(x: np.ndarray, gaps: Sequence[Gap], sr: int) -> np.ndarray:
    """Copy of the mono signal ``x`` with every sample inside a gap set to zero."""
    x = _check_signal(x, "signal")
    gaps = check_gaps(gaps, x.size / sr)
    return np.where(sample_mask(gaps, x.size, sr), np.zeros((), x.dtype), x)


def detect_dropouts(x: np.ndarray, sr: int, *, min_s: float = 0.1, threshold: float = 1e-4) -> list[Gap]:
    """Find runs of digital silence or near-zero samples lasting at least ``min_s``.

    Parameters
    ----------
    x : array, shape ``(samples,)``
        Mono signal in [-1, 1].
    sr : int
        Sample rate in Hz.
    min_s : float
        Shortest run reported, in seconds.
    threshold : float
        Samples with ``|x| <= threshold`` count as silent (1e-4 is -80 dBFS, below
        the noise floor of recorded speech, above 16-bit dither).

    Returns
    -------
    list of Gap
        Sorted gaps ``[first silent sample / sr, (last + 1) / sr)``.
    """
    x = _check_signal(x, "signal")
    if sr <= 0 or min_s <= 0 or threshold < 0:
        raise InvalidAudioError(f"need sr > 0, min_s > 0 and threshold >= 0, got sr={sr}, min_s={min_s}, threshold={threshold}")
    silent = np.concatenate([[False], np.abs(x) <= threshold, [False]])
    edges = np.flatnonzero(np.diff(silent.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    keep = ends - starts >= min_s * sr - _GRID_TOL
    return [Gap(s / sr, e / sr) for s, e in zip(starts[keep], ends[keep])]


def splice(
    damaged: np.ndarray,
    synthesized: np.ndarray,
    gaps: Sequence[Gap],
    sr: int,
    *,
    crossfade_s: float = 0.01,
) -> np.ndarray:
    """Fill the gaps of ``damaged`` with ``synthesized``, crossfading inside each gap.

    Within a gap the output is ``(1 - w) * damaged + w * synthesized`` where ``w``
    rises as a raised cosine over the first ``crossfade_s`` of the gap, stays at one,
    and falls over its last ``crossfade_s`` (both ramps shortened to half the gap for
    short gaps). The crossfades lie inside the gaps, so every sample outside them
    is ``damaged``'s, bit for bit. Where ``damaged`` is zero inside the gap (a
    dropout), the ramps fade the synthesized audio in from and out to silence.

    Parameters
    ----------
    damaged, synthesized : array, shape ``(samples,)``
        Mono signals of equal length at ``sr`` Hz.
    gaps : sequence of Gap
        Sorted, disjoint gaps inside the signal.
    sr : int
        Sample rate in Hz.
    crossfade_s : float
        Ramp length in seconds (0 for a hard cut).

    Returns
    -------
    array, shape ``(samples,)``
        In ``damaged``'s float dtype (float32 for integer input).
    """
    damaged = _check_signal(damaged, "damaged")
    synthesized = _check_signal(synthesized, "synthesized")
    if synthesized.shape != damaged.shape:
        raise InvalidAudioError(f"synthesized has {synthesized.size} samples; expected damaged's {damaged.size}")
    if crossfade_s < 0:
        raise InvalidAudioError(f"crossfade_s must be >= 0, got {crossfade_s}")
    out = damaged.copy()
    for g in check_gaps(gaps, damaged.size / sr):
        i0, i1 = g.samples(sr)
        i1 = min(i1, damaged.size)
        k = np.arange(i1 - i0)
        n_fade = min(int(round(crossfade_s * sr)), (i1 - i0) // 2)
        if n_fade:
            dist = np.minimum(k, k[::-1])
            w = np.where(dist < n_fade, 0.5 - 0.5 * np.cos(np.pi * (dist + 0.5) / n_fade), 1.0)
        else:
            w = np.ones(k.size)
        seg = damaged[i0:i1].astype(np.float64)
        out[i0:i1] = seg + w * (synthesized[i0:i1] - seg)
    return out
