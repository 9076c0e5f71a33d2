"""Ambience (room tone, background) resynthesized to any length.

Two ways, in order of preference:

* :func:`loop_ambience`: the recording's own ambience-only stretches (runs of at least
  :data:`MIN_SEGMENT_S` in the mask that :func:`soundstage.acoustics.blind.ambience`
  returns) chained end to end with equal-power crossfades of :data:`CROSSFADE_S`, the
  chain repeated, crossfading again at every join, from a seeded random offset, to the
  length asked for. Crossfading two uncorrelated noise stretches with equal-power (sine
  and cosine) ramps keeps their power constant through the join, so the loop has no
  level dip and no click.
* :func:`noise_from_psd`: stationary Gaussian noise with a given power spectrum (the
  minimum-statistics spectrum when the recording never pauses): white noise shaped in
  the frequency domain by the square root of the spectrum, interpolated to the noise's
  FFT grid.

Both return the ambience at a chosen mean power (:func:`set_level`, dB relative to a
full-scale sine). :func:`resynthesize` picks between them for a recording: the loop when
the recording has at least :data:`MIN_LOOP_S` of ambience-only stretches (a shorter loop
repeats audibly), shaped noise otherwise.
"""

from __future__ import annotations

import math

import numpy as np

from soundstage.acoustics.blind import FRAME_S, Ambience, ambience
from soundstage.errors import InvalidAudioError

#: Shortest ambience stretch reused by the loop (s).
MIN_SEGMENT_S: float = 0.2
#: Least ambience-only material (s) that :func:`resynthesize` loops; with less it shapes noise.
MIN_LOOP_S: float = 3.0
#: Equal-power crossfade at every join (s).
CROSSFADE_S: float = 0.05


def set_level(x: np.ndarray, level_dbfs: float) -> np.ndarray:
    """``x`` scaled to mean power ``level_dbfs`` (dB relative to a full-scale sine, whose mean power is 1/2)."""
    power = float(np.mean(np.square(x)))
    if power <= 0:
        raise InvalidAudioError("cannot set the level of digital silence")
    return x * math.sqrt(0.5 * 10 ** (level_dbfs / 10) / power)


def segments_from_mask(x: np.ndarray, mask: np.ndarray, frame: int, sr: int) -> list[np.ndarray]:
    """The runs of ``x`` where ``mask`` (one bool per ``frame`` samples) is True that last at least :data:`MIN_SEGMENT_S`."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(mask, dtype=np.int8), [0]])))
    runs = (x[start * frame : stop * frame] for start, stop in zip(edges[::2], edges[1::2]))
    return [seg for seg in runs if seg.size >= MIN_SEGMENT_S * sr]


def _fade_len(sr: int) -> int:
    return max(1, int(round(CROSSFADE_S * sr)))


def _ramps(fade: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal-power fade-in and fade-out ramps of ``fade`` samples (sine and cosine)."""
    t = (np.arange(fade) + 0.5) / fade
    return np.sin(0.5 * np.pi * t), np.cos(0.5 * np.pi * t)


def _chain(pieces: list[np.ndarray], fade: int) -> np.ndarray:
    """Pieces joined with equal-power crossfades of ``fade`` samples."""
    fade_in, fade_out = _ramps(fade)
    out = pieces[0].copy()
    for p in pieces[1:]:
        joined = out[-fade:] * fade_out + p[:fade] * fade_in
        out = np.concatenate([out[:-fade], joined, p[fade:]])
    return out


def loop_ambience(segments: list[np.ndarray], n_samples: int, sr: int, *, seed: int = 0) -> np.ndarray:
    """Ambience of ``n_samples`` from ambience-only ``segments`` (each at least ``2 * CROSSFADE_S`` long), seamless.

    The segments are chained with crossfades in a seeded random order, the chain is
    repeated (crossfading at each repeat) and cut at a seeded random offset.
    """
    fade = _fade_len(sr)
    usable = [np.asarray(s, dtype=np.float64) for s in segments if len(s) >= max(2 * fade, int(MIN_SEGMENT_S * sr))]
    if not usable:
        raise InvalidAudioError(
            f"no ambience stretch of at least {MIN_SEGMENT_S:g} s to loop; use noise_from_psd for recordings without pauses"
        )
    if n_samples < 1:
        raise InvalidAudioError(f"ambience length must be at least one sample, got {n_samples}")
    rng = np.random.default_rng(seed)
    chain = _chain([usable[i] for i in rng.permutation(len(usable))], fade)
    period = chain.size - fade
    if period < fade + 1:
        raise InvalidAudioError("ambience stretches are too short to loop")
    offset = int(rng.integers(0, period))
    repeats = int(math.ceil((n_samples + offset) / period)) + 1
    looped = _chain([chain] * repeats, fade)
    return looped[offset : offset + n_samples]


def seamless(x: np.ndarray, n_samples: int, sr: int, *, seed: int = 0) -> np.ndarray:
    """``n_samples`` of recording ``x`` that loop without a click.

    A seeded excerpt of ``x`` (``x`` looped by :func:`loop_ambience` when it is too short)
    ``CROSSFADE_S`` longer than asked; that extra tail is crossfaded (equal power) over the
    excerpt's start. Played end to end, the last sample is followed by what followed it in
    the excerpt, fading into the start: the loop point is one more crossfade.
    """
    x = np.asarray(x, dtype=np.float64)
    if n_samples < 1:
        raise InvalidAudioError(f"length must be at least one sample, got {n_samples}")
    fade = min(_fade_len(sr), n_samples)
    need = n_samples + fade
    rng = np.random.default_rng(seed)
    if x.size >= need:
        start = int(rng.integers(0, x.size - need + 1))
        piece = x[start : start + need]
    else:
        piece = loop_ambience([x], need, sr, seed=int(rng.integers(2**31)))
    return circular(piece, n_samples, fade)


def circular(x: np.ndarray, n: int, fade: int) -> np.ndarray:
    """The first ``n`` samples of ``x`` (which has at least ``n + fade``) with its continuation past ``n``
    crossfaded (equal power, for material uncorrelated with its own start) into the first ``fade``:
    played end to end, the last sample is followed by what followed it in ``x``, so it loops."""
    fade_in, fade_out = _ramps(fade)
    out = np.array(x[:n], dtype=np.float64)
    out[:fade] = x[:fade] * fade_in + x[n : n + fade] * fade_out
    return out


def noise_from_psd(freqs: np.ndarray, psd: np.ndarray, n_samples: int, sr: int, *, seed: int = 0) -> np.ndarray:
    """Stationary Gaussian noise of ``n_samples`` whose power spectrum has the shape of ``psd`` at ``freqs`` (Hz)."""
    freqs, psd = np.asarray(freqs, dtype=np.float64), np.asarray(psd, dtype=np.float64)
    if freqs.shape != psd.shape or freqs.ndim != 1 or freqs.size < 2 or np.any(psd < 0) or not np.all(np.isfinite(psd)):
        raise InvalidAudioError(f"power spectrum must be finite, non-negative and match its {freqs.size} frequencies")
    if not np.any(psd > 0):
        raise InvalidAudioError("power spectrum is zero everywhere; nothing to synthesize")
    if n_samples < 1:
        raise InvalidAudioError(f"ambience length must be at least one sample, got {n_samples}")
    rng = np.random.default_rng(seed)
    white = np.fft.rfft(rng.standard_normal(n_samples))
    grid = np.fft.rfftfreq(n_samples, 1.0 / sr)
    shaped = np.fft.irfft(white * np.sqrt(np.interp(grid, freqs, psd)), n=n_samples)
    return shaped


def resynthesize(x: np.ndarray, sr: int, n_samples: int, *, seed: int = 0) -> tuple[np.ndarray, Ambience, str]:
    """The ambience of recording ``x`` (mono) made ``n_samples`` long at its measured level, the measurement, and how.

    Loops the recording's ambience-only stretches of at least :data:`MIN_SEGMENT_S` when
    they add up to :data:`MIN_LOOP_S` (``"loop"``); otherwise (a shorter loop repeats
    audibly, and a recording without pauses has none) shapes noise with the measured
    spectrum (``"shaped noise"``).
    """
    amb = ambience(x, sr)
    if not np.isfinite(amb.level_dbfs):
        raise InvalidAudioError("the recording has no measurable ambience (digital silence between sounds)")
    hop = int(round(FRAME_S * sr))
    segments = segments_from_mask(np.asarray(x, dtype=np.float64), amb.frames, hop, sr) if amb.source == "pauses" else []
    if sum(s.size for s in segments) >= MIN_LOOP_S * sr:
        out, how = loop_ambience(segments, n_samples, sr, seed=seed), "loop"
    else:
        out, how = noise_from_psd(amb.freqs, amb.psd, n_samples, sr, seed=seed), "shaped noise"
    return set_level(out, amb.level_dbfs), amb, how
