"""Blind room acoustics: reverberation time and ambience from a recording of speech.

No impulse response is needed; a recording of someone talking in the room is enough.

* **Reverberation time** (:func:`blind_t60`): the maximum-likelihood free-decay method
  of Ratnam et al. (2003, "Blind estimation of reverberation time", JASA 114(5)) with the
  sound-decay pre-selection of Lollmann et al. (2010, "An improved algorithm for blind
  reverberation time estimation", IWAENC). In each octave band the signal's energy in
  5 ms blocks is modelled, over a frame, as an exponential decay times Gamma-distributed
  fluctuations; the decay rate that maximizes the likelihood is found on a grid. Only
  frames whose energy falls from each of their four sub-frames to the next (by
  :data:`MIN_DROP_DB` in all) and starts well above the band's noise floor are kept (the ends of words, where the room's free
  decay shows). The first sub-frame is left out of the fit (at the end of a word the
  direct sound drops at once, faster than the room decays), and so are the blocks that
  reach the noise floor. Speech seldom
  stops dead, so most frames decay slower than the room; the estimate is a low quantile
  (:data:`T60_QUANTILE`) of the per-frame estimates. A first pass with 200 ms frames gives
  a rough value; the frames are then resized to :data:`FRAME_PER_T60` of it (a decay
  frame then spans the same number of decibels in any room) and the bands are estimated
  again. The quantile and frame ratio were chosen on simulated rooms (RoomSynth
  responses and GRID speech), where they are unbiased at 1-2 kHz; ``benchmarks/blind.py``
  scores them on measured responses. ``broadband`` is the median of the 500 Hz, 1 kHz
  and 2 kHz band estimates, the bands that carry most of the energy of speech.
* **Speech activity** (:func:`speech_activity`): 20 ms frame energies against the
  recording's noise floor (a low percentile of the smoothed frame energy, as in
  minimum-statistics noise tracking, Martin 2001); frames more than :data:`ACTIVITY_DB`
  above it hold sound (speech or its reverberation), the rest ambience.
* **Ambience** (:func:`ambience`): the mean power spectrum of the frames at least
  :data:`AMBIENCE_GUARD_S` away from any sound and its level, or, when the recording has
  less than :data:`MIN_AMBIENCE_S` of them, the minimum-statistics estimate (per
  frequency, a low quantile of the periodogram smoothed over 4 frames, divided by the
  same quantile of its Gamma distribution so that the estimate is unbiased for
  stationary noise); and the speech-to-ambience ratio of the sound frames.
* **Direct-to-reverberant ratio** (:func:`blind_drr`): a prior, not a measurement. A
  single microphone's speech does not show reliably how much of it arrived directly
  (inverse-filtering, early/late decay models, modulation-spectrum fits, single-channel
  WPE and regressions on decay and modulation features all scattered as widely as
  guessing the mean on the measured rooms of ``../shared/data/rirs``). What does carry
  over is that rooms that ring longer are usually heard from further away relative to
  their critical distance, so the DRR falls with the reverberation time. The estimate is
  the straight line ``a + b ln T60`` fitted by least squares to the broadband DRR and
  T30 of the 20,000 RoomSynth training rooms (talkers 1.1 to 4.6 m away;
  ``recipes/stylize/drr_prior.py`` refits it): residual spread 3.6 dB there; on the 11
  measured rooms it errs by 5.7 dB on average against 8.0 dB for the mean of the other
  rooms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from soundstage.acoustics.from_profile import PROFILE_BANDS, T30_RANGE
from soundstage.constants import OCTAVE_BANDS
from soundstage.dsp.filterbank import octave_filterbank
from soundstage.dsp.spectral import stft
from soundstage.errors import InvalidAudioError

#: Frames of the activity detector (s).
FRAME_S: float = 0.02
#: Frames this far above the noise floor (dB) hold sound (speech and its reverberation).
ACTIVITY_DB: float = 6.0
#: Quantile of the smoothed block energy taken as the noise floor.
FLOOR_QUANTILE: float = 0.05
#: Energy blocks of the decay fit (s), first-pass frame length (s) and sub-frames of the pre-selection.
BLOCK_S: float = 0.005
DECAY_FRAME_S: float = 0.2
SUBFRAMES: int = 4
#: Second-pass frame length as a fraction of the first-pass T60, and its limits (s).
FRAME_PER_T60: float = 0.3
FRAME_RANGE_S: tuple[float, float] = (0.08, 0.8)
#: A decay frame must start this far above the band's noise floor (dB); the next value is
#: tried when fewer than :data:`MIN_DECAY_FRAMES` frames do (reverberation that never lets
#: the level fall to the noise between words raises the floor estimate).
DECAY_HEADROOM_DB: tuple[float, ...] = (15.0, 10.0, 6.0, 3.0)
#: Bands this far (dB) below the loudest one hold no sound of their own (only filter leakage) and get no estimate.
BAND_RANGE_DB: float = 50.0
#: Ends of the recording left out of the decay search (s): the band filters ring there.
EDGE_S: float = 0.25
#: Smallest fall (dB) from a decay frame's first sub-frame to its last.
MIN_DROP_DB: float = 1.0
#: Blocks of a decay frame from the first one this close to the noise floor (dB) on are not fitted.
TRUNCATE_DB: float = 6.0
#: Quantile of the per-frame estimates taken as the band's T60.
T60_QUANTILE: float = 0.2
#: Fewest decay frames for an estimate; with fewer, the band's T60 is NaN.
MIN_DECAY_FRAMES: int = 20
#: Bands whose median is the broadband estimate (Hz).
BROADBAND_BANDS: tuple[int, ...] = (500, 1000, 2000)
#: Ambience frames keep this far from any sound (s); fewer than MIN_AMBIENCE_S of them -> minimum statistics.
AMBIENCE_GUARD_S: float = 0.1
MIN_AMBIENCE_S: float = 0.5
#: Minimum statistics: periodogram smoothing (frames) and quantile.
MS_SMOOTH: int = 4
MS_QUANTILE: float = 0.05
#: DRR prior ``(a, b)``: DRR (dB) = a + b ln(T60 / 1 s), from ``recipes/stylize/drr_prior.py`` on RoomSynth train.
DRR_PRIOR: tuple[float, float] = (-7.65, -3.76)
#: Shortest recording analysed (s).
MIN_DURATION_S: float = 1.0

_GRID_T60 = np.geomspace(0.05, 20.0, 400)


def _mono(x: Any, sr: Any) -> np.ndarray:
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr < 8000:
        raise InvalidAudioError(f"sample rate must be an integer >= 8000 Hz, got {sr!r}")
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2:
        a = a.mean(axis=0)
    if a.ndim != 1 or not np.all(np.isfinite(a)):
        raise InvalidAudioError(f"blind analysis needs a finite mono or (channels, samples) signal, got shape {np.shape(x)}")
    if a.size < MIN_DURATION_S * sr:
        raise InvalidAudioError(f"recording is {a.size / sr:.2f} s long; blind analysis needs at least {MIN_DURATION_S:g} s")
    if not np.any(a):
        raise InvalidAudioError("recording is digital silence; blind analysis needs sound in the room")
    return a


def _blocks(e: np.ndarray, width: int) -> np.ndarray:
    n = e.size // width
    return e[: n * width].reshape(n, width).mean(axis=1)


def _floor(power: np.ndarray, smooth: int) -> float:
    """Noise floor of a sequence of block powers: a low quantile after moving-average smoothing."""
    if power.size > smooth:
        power = np.convolve(power, np.ones(smooth) / smooth, mode="valid")
    return float(np.quantile(power, FLOOR_QUANTILE)) + 1e-30


def speech_activity(x: Any, sr: int) -> np.ndarray:
    """Bool per :data:`FRAME_S` frame: True where the frame is :data:`ACTIVITY_DB` above the noise floor."""
    a = _mono(x, sr)
    p = _blocks(a * a, int(round(FRAME_S * sr)))
    return p > _floor(p, 5) * 10 ** (ACTIVITY_DB / 10)


def decay_rates(power: np.ndarray, block_s: float, floor: float = 0.0) -> np.ndarray:
    """Maximum-likelihood T60 (s) of each row of block energies ``(frames, K)``.

    Model: energy ``e_k`` of block ``k`` has mean ``c exp(-2 rho k)`` with Gamma
    fluctuations; maximizing over ``c`` leaves ``-K ln mean_k(e_k exp(2 rho k)) + 2 rho sum_k k``,
    maximized over a log-spaced T60 grid (``T60 = 3 ln 10 * block_s / rho``). Blocks from
    the first one within :data:`TRUNCATE_DB` of ``floor`` on are left out (the decay has
    reached the noise there); at least two blocks are kept.
    """
    power = np.atleast_2d(power)
    k = np.arange(power.shape[1])
    near = power <= floor * 10 ** (TRUNCATE_DB / 10)
    near[:, :2] = False
    w = (np.cumsum(near, axis=1) == 0).astype(np.float64)  # (frames, K)
    rho = 3 * math.log(10) * block_s / _GRID_T60  # (J,)
    scaled = power / power.max(axis=1, keepdims=True).clip(1e-300)
    n = w.sum(axis=1, keepdims=True)
    c = (scaled * w) @ np.exp(2 * np.outer(rho, k)).T / n  # (frames, J)
    loglik = -n * np.log(c.clip(1e-300)) + 2 * rho * (w @ k)[:, None]
    return _GRID_T60[np.argmax(loglik, axis=1)]


def _decay_frames(band: np.ndarray, sr: int, frame_s: float = DECAY_FRAME_S) -> tuple[np.ndarray, float]:
    """Block energies ``(frames, K)`` of the frames that pass the sound-decay pre-selection, and the band's floor."""
    width = max(1, int(round(BLOCK_S * sr)))
    edge = int(round(EDGE_S * sr))
    e = _blocks(band[edge:-edge] ** 2, width)
    floor = _floor(e, 40)
    k = int(round(frame_s / BLOCK_S))
    k -= k % SUBFRAMES
    if e.size < k:
        return np.empty((0, k)), floor
    hop = k // SUBFRAMES
    frames = np.lib.stride_tricks.sliding_window_view(e, k)[::max(1, hop // 2)]
    energy = frames.reshape(frames.shape[0], SUBFRAMES, -1).mean(axis=2)
    falling = np.all(np.diff(energy, axis=1) < 0, axis=1) & (energy[:, 0] > energy[:, -1] * 10 ** (MIN_DROP_DB / 10))
    for headroom in DECAY_HEADROOM_DB:
        kept = falling & (energy[:, 0] > floor * 10 ** (headroom / 10))
        if kept.sum() >= MIN_DECAY_FRAMES:
            break
    return frames[kept], floor


def _bands(a: np.ndarray, sr: int, bands: tuple[int, ...]) -> dict[int, np.ndarray]:
    unknown = set(bands) - {int(fc) for fc in OCTAVE_BANDS}
    if unknown:
        raise InvalidAudioError(f"unknown octave bands {sorted(unknown)}; expected some of {[int(fc) for fc in OCTAVE_BANDS]}")
    split = octave_filterbank(a, sr)
    edge = int(round(EDGE_S * sr))
    power = np.mean(split[:, edge:-edge] ** 2, axis=1)
    index = {int(fc): i for i, fc in enumerate(OCTAVE_BANDS)}
    return {int(fc): split[index[int(fc)]] for fc in bands
            if fc < sr / 2 / math.sqrt(2) and power[index[int(fc)]] > power.max() * 10 ** (-BAND_RANGE_DB / 10)}


def _frame_estimates(band: np.ndarray, sr: int, frame_s: float) -> np.ndarray:
    frames, floor = _decay_frames(band, sr, frame_s)
    if not len(frames):
        return np.empty(0)
    return decay_rates(frames[:, frames.shape[1] // SUBFRAMES :], BLOCK_S, floor)


def frame_t60s(x: Any, sr: int, *, bands: tuple[int, ...] = PROFILE_BANDS) -> dict[int, np.ndarray]:
    """Per-frame ML decay times (s) of the pre-selected second-pass frames, per octave band (Hz)."""
    a = _mono(x, sr)
    out = {}
    for fc, band in _bands(a, sr, bands).items():
        est = _frame_estimates(band, sr, DECAY_FRAME_S)
        if est.size >= MIN_DECAY_FRAMES:
            frame_s = float(np.clip(FRAME_PER_T60 * np.quantile(est, T60_QUANTILE), *FRAME_RANGE_S))
            est = _frame_estimates(band, sr, frame_s)
        out[fc] = est
    return out


def _summary(estimates: np.ndarray) -> float:
    if estimates.size < MIN_DECAY_FRAMES:
        return math.nan
    return float(np.clip(np.quantile(estimates, T60_QUANTILE), *T30_RANGE))


def blind_t60(x: Any, sr: int, *, bands: tuple[int, ...] = PROFILE_BANDS) -> dict[str, float]:
    """Blind reverberation time (s) per octave band and broadband, ``{"broadband": T, "125": T, ...}``.

    A band with fewer than :data:`MIN_DECAY_FRAMES` usable decays gets NaN; broadband is
    the median of the :data:`BROADBAND_BANDS` estimates (NaN when all of them are).
    """
    a = _mono(x, sr)
    per_band = {fc: _summary(est) for fc, est in frame_t60s(a, sr, bands=tuple(sorted(set(bands) | set(BROADBAND_BANDS)))).items()}
    mid = [per_band[fc] for fc in BROADBAND_BANDS if fc in per_band and math.isfinite(per_band[fc])]
    broadband = float(np.median(mid)) if mid else math.nan
    return {"broadband": broadband} | {str(fc): per_band[fc] for fc in bands if fc in per_band}


def blind_drr(t60: float) -> float:
    """Expected broadband DRR (dB) of a room with reverberation time ``t60`` (s): the :data:`DRR_PRIOR` line; NaN for NaN."""
    if not math.isfinite(t60):
        return math.nan
    if t60 <= 0:
        raise InvalidAudioError(f"reverberation time must be positive, got {t60!r} s")
    a, b = DRR_PRIOR
    return a + b * math.log(t60)


@dataclass
class Ambience:
    """Background sound of a recording.

    ``freqs`` (Hz) and ``psd`` (power per STFT bin, one-sided, of a Hann-windowed
    ``n_fft``-point frame) describe its spectrum; ``level_dbfs`` is its mean power in dB
    relative to a full-scale sine's; ``speech_to_ambience_db`` the power of the sound
    frames above it; ``source`` says how it was found (``"pauses"`` or
    ``"minimum statistics"``) and ``seconds`` how much ambience-only audio there was;
    ``frames`` marks those ambience-only frames (one bool per :data:`FRAME_S`).
    """

    freqs: np.ndarray
    psd: np.ndarray
    level_dbfs: float
    speech_to_ambience_db: float
    source: str
    seconds: float
    frames: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The scalar fields, JSON-ready."""
        return {"level_dbfs": _json(self.level_dbfs), "speech_to_ambience_db": _json(self.speech_to_ambience_db),
                "source": self.source, "seconds": round(self.seconds, 3)}


def _json(v: float) -> float | None:
    return round(float(v), 3) if math.isfinite(v) else None


def _db(p: float) -> float:
    return 10 * math.log10(max(p, 1e-30) / 0.5)  # a full-scale sine has mean power 1/2


def ambience(x: Any, sr: int) -> Ambience:
    """The ambience of a recording: spectrum, level and speech-to-ambience ratio (see the module doc)."""
    a = _mono(x, sr)
    hop = int(round(FRAME_S * sr))
    n_fft = 2 * hop
    spec = np.abs(stft(a, n_fft=n_fft, hop=hop)) ** 2  # (bins, frames), frame t centred on sample t * hop
    n = min(spec.shape[1], a.size // hop)
    spec = spec[:, :n]
    active = speech_activity(a, sr)[:n]
    guard = int(math.ceil(AMBIENCE_GUARD_S / FRAME_S))
    near = np.convolve(active.astype(float), np.ones(2 * guard + 1), mode="same") > 0
    quiet = ~near
    frame_power = _blocks(a * a, hop)[:n]
    if quiet.sum() * FRAME_S >= MIN_AMBIENCE_S:
        psd, source, level = spec[:, quiet].mean(axis=1), "pauses", float(frame_power[quiet].mean())
    else:
        m = min(MS_SMOOTH, n)
        smooth = np.apply_along_axis(lambda r: np.convolve(r, np.ones(m) / m, mode="valid"), 1, spec)
        bias = stats.gamma.ppf(MS_QUANTILE, a=m, scale=1.0 / m)
        psd, source = np.quantile(smooth, MS_QUANTILE, axis=1) / bias, "minimum statistics"
        level = float(psd.sum() / spec.sum(axis=0).mean() * frame_power.mean()) if spec.sum() > 0 else 0.0
    sound = float(frame_power[active].mean()) if active.any() else 0.0
    ratio = 10 * math.log10(max(sound - level, 1e-30) / max(level, 1e-30)) if level > 0 and sound > level else math.nan
    freqs = np.arange(psd.size) * sr / n_fft
    return Ambience(freqs, psd, _db(level) if level > 0 else -math.inf, ratio, source, float(quiet.sum() * FRAME_S), quiet)


def blind_profile(x: Any, sr: int) -> dict[str, Any]:
    """Blind estimate of a recording's room and ambience, with the keys of the impulse-response analysis where they exist.

    ``{"sr", "method": "blind", "broadband": {"t30", "drr_db"}, "bands": {"125": {"t30"}, ...},
    "ambience": {...}, "speech_fraction"}``; ``t30`` holds the blind T60 (``None`` where
    no decay could be measured), ``drr_db`` the prior of :func:`blind_drr`.
    """
    a = _mono(x, sr)
    t60 = blind_t60(a, sr)
    amb = ambience(a, sr)
    broadband = t60.pop("broadband")
    return {"sr": int(sr), "method": "blind", "broadband": {"t30": _json(broadband), "drr_db": _json(blind_drr(broadband))},
            "bands": {fc: {"t30": _json(t)} for fc, t in t60.items()}, "ambience": amb.to_dict(),
            "speech_fraction": round(float(speech_activity(a, sr).mean()), 3)}
