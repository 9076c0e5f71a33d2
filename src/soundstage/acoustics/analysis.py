"""Room impulse response analysis after ISO 3382-1.

Every measure starts at the onset of the response (ISO 3382-1: the first sample whose
energy comes within 20 dB of the maximum). The energy decay curve is the Schroeder
backward integral of the squared response up to the Lundeby et al. (1995) truncation
point, plus the energy the fitted exponential decay carries beyond it. Decay times,
clarity, definition, centre time and the direct-to-reverberant ratio all use that
truncated and compensated energy, so a noise floor does not inflate them. Octave bands
come from :func:`soundstage.dsp.filterbank.octave_filterbank` and share the broadband onset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from soundstage.constants import OCTAVE_BANDS
from soundstage.dsp.filterbank import octave_filterbank
from soundstage.errors import FileFormatError, InvalidAudioError

#: Names of the parameters reported per band and broadband, in output order.
PARAMETERS: tuple[str, ...] = ("edt", "t20", "t30", "c50", "c80", "d50", "drr_db", "ts")

#: Evaluation ranges (start dB, end dB) of the decay times on the energy decay curve.
DECAY_RANGES: dict[str, tuple[float, float]] = {"edt": (0.0, -10.0), "t20": (-5.0, -25.0), "t30": (-5.0, -35.0)}

#: Span after the onset (ms) searched for the direct-sound peak (the largest ``|h|``).
DIRECT_SEARCH_MS: float = 5.0

_FLOOR = 1e-30  # relative power floor that keeps logarithms finite
_DB_PER_NEPER = 10.0 / math.log(10.0)  # dB of energy per unit of natural-log energy decay


class LundebyResult(NamedTuple):
    """Outcome of :func:`lundeby`.

    ``truncation``: samples that belong to the decay (crossing of the decay line and the
    noise floor; the signal length when no floor is reached). ``noise_power``: mean ``h**2``
    of the background noise (0.0 when the response decays to its end). ``decay_rate``:
    late energy decay in dB/s, positive (NaN when none could be fitted).
    ``truncation_power``: mean ``h**2`` of the fitted decay line at the truncation point,
    which sets the compensation for the energy beyond it.
    """

    truncation: int
    noise_power: float
    decay_rate: float
    truncation_power: float = math.nan


def _response(h: Any, sr: Any) -> np.ndarray:
    """Validate a mono response and sample rate; return the response as float64."""
    if not np.isscalar(sr) or not np.isfinite(sr) or sr <= 0:
        raise InvalidAudioError(f"sample rate must be a positive number of Hz, got {sr!r}")
    x = np.asarray(h)
    x = x[0] if x.ndim == 2 and x.shape[0] == 1 else x
    if x.ndim != 1:
        raise InvalidAudioError(f"impulse response must be 1-D (samples,), got shape {x.shape}; use analyze_channels")
    if x.size == 0:
        raise InvalidAudioError("impulse response is empty; expected at least one sample")
    if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
        raise InvalidAudioError("impulse response contains NaN, inf or non-numeric values; expected finite samples")
    if not np.any(x):
        raise InvalidAudioError("impulse response is all zeros; expected a response with some energy")
    return x.astype(np.float64)


def onset_index(h: np.ndarray, *, threshold_db: float = -20.0) -> int:
    """Start of the response after ISO 3382-1.

    Returns the index of the first sample of ``h`` (shape ``(samples,)``) whose energy
    ``h**2`` comes within ``-threshold_db`` dB of the maximum of ``h**2``.
    """
    e = _response(h, 1) ** 2
    return int(np.argmax(e >= e.max() * 10.0 ** (threshold_db / 10.0)))


def _block_power(e: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``e`` over consecutive blocks of ``width`` samples and the block centres (samples)."""
    m = e.size // width
    power = e[: m * width].reshape(m, width).mean(axis=1)
    return power, (np.arange(m) + 0.5) * width


def _fit(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares line ``y = a + b t``; returns ``(a, b, standard error of b)``."""
    tc = t - t.mean()
    sxx = float(tc @ tc)
    b = float(tc @ (y - y.mean())) / sxx
    a = float(y.mean()) - b * float(t.mean())
    return a, b, math.sqrt(float(np.sum((y - a - b * t) ** 2)) / max(t.size - 2, 1) / sxx)


def _db(p: np.ndarray | float, ref: float) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(p, ref * _FLOOR))


def _still_decaying(tail: np.ndarray, start: int, sr: float, line: tuple[float, float], ref: float) -> bool:
    """Whether the last part of a response (from sample ``start``) follows the main decay.

    The tail is cut into 16 blocks. It counts as decaying, not as a floor, when its fitted
    slope is steeper than half the main slope ``line[1]`` (dB/s) and more than three
    standard errors below zero, and its mean level lies within 10 dB of the main decay
    line ``line[0] + line[1] t`` (a faded-out noise floor fails that last test).
    """
    width = tail.size // 16
    if width < 1:
        return False
    power, centres = _block_power(tail, width)
    t = (start + centres) / sr
    _, b, se = _fit(t, _db(power, ref))
    gap = float(_db(power.mean(), ref)) - (line[0] + line[1] * t.mean())
    return b < 0.5 * line[1] and b < -3.0 * se and abs(gap) <= 10.0


def _regress(
    power: np.ndarray, t: np.ndarray, ref: float, hi_db: float, lo_db: float, top: int
) -> tuple[float, float] | None:
    """Fit the block levels between the first drop to ``hi_db`` and the last level above ``lo_db``."""
    level = _db(power, ref)
    above = np.flatnonzero(level[top:] > lo_db) + top
    if above.size < 2:
        return None
    stop = int(above[-1])
    below_hi = np.flatnonzero(level[top : stop + 1] <= hi_db)
    start = top + int(below_hi[0]) if below_hi.size else top
    if stop - start < 1:
        start = top
    a, b, _ = _fit(t[start : stop + 1], level[start : stop + 1])
    return (a, b) if b < 0 else None


def lundeby(h: np.ndarray, sr: int, *, window_ms: float = 20.0, max_iter: int = 10) -> LundebyResult:
    """Noise floor and truncation point after Lundeby et al. (1995).

    The squared response is averaged over ``window_ms`` blocks; the noise is first taken
    from the last 10 % of the signal and a line fitted to the decay from its maximum to
    10 dB above the noise. The blocks are then re-sized to 5 per 10 dB of decay and the
    noise (from 10 dB of decay past the crossing point, at least the last 10 %), the late
    decay line (from 30 dB to 10 dB above the noise) and their crossing point are updated
    until the crossing point moves by less than one block (at most ``max_iter`` times).
    When the last 10 % of the signal still follows the decay (a synthetic response with
    no floor), the truncation is the end of the signal and the noise power is 0.
    ``h`` has shape ``(samples,)`` and usually starts at its onset; ``sr`` is in Hz.
    """
    e = _response(h, sr) ** 2
    n = e.size
    x = e[: int(np.flatnonzero(e)[-1]) + 1]
    tail = int(0.9 * x.size)
    noise = float(x[tail:].mean())
    failed = LundebyResult(n, noise, math.nan, noise)
    width = min(max(1, round(window_ms * 1e-3 * sr)), x.size // 10)
    if width < 1:
        return failed
    power, centres = _block_power(x, width)
    ref = float(power.max())
    noise_db = float(_db(noise, ref))
    line = _regress(power, centres / sr, ref, math.inf, noise_db + 10.0, int(np.argmax(power)))
    if line is None:
        return failed
    a, b = line
    if noise <= ref * _FLOOR or _still_decaying(x[tail:], tail, sr, line, ref):
        return LundebyResult(n, 0.0, -b, float(10.0 ** ((a + b * n / sr) / 10.0)))
    width = int(np.clip(round(2.0 / -b * sr), 1, max(1, x.size // 10)))
    power, centres = _block_power(x, width)
    top = int(np.argmax(power))
    cross = (noise_db - a) / b
    for _ in range(max_iter):
        start = min(max(round((cross - 10.0 / b) * sr), 0), tail)
        noise = float(x[start:].mean())
        noise_db = float(_db(noise, ref))
        line = _regress(power, centres / sr, ref, noise_db + 30.0, noise_db + 10.0, top)
        if line is None:
            break
        a, b = line
        previous, cross = cross, (noise_db - a) / b
        if abs(cross - previous) * sr < width:
            break
    truncation = int(np.clip(round(cross * sr), 1, n))
    return LundebyResult(truncation, noise, -b, float(10.0 ** ((a + b * truncation / sr) / 10.0)))


class _Decay(NamedTuple):
    """Squared response from the onset to the truncation point, plus the compensation."""

    energy: np.ndarray  # (truncation,) squared samples
    tail: float  # energy beyond the truncation point (sum of squared samples)
    rate: float  # natural-log energy decay rate of the tail (1/s), NaN without tail
    length: int  # samples from the onset to the end of the signal


def _decay(seg: np.ndarray, sr: float, *, truncate: bool = True, compensate: bool = True) -> _Decay:
    e = seg**2
    if not truncate or not np.any(e):
        return _Decay(e, 0.0, math.nan, e.size)
    res = lundeby(seg, sr)
    rate = res.decay_rate / _DB_PER_NEPER
    tail = res.truncation_power * sr / rate if compensate and rate > 0 else 0.0
    return _Decay(e[: res.truncation], tail, rate if tail > 0 else math.nan, e.size)


def _edc_db(d: _Decay) -> np.ndarray:
    out = np.full(d.length, np.nan)
    total = np.cumsum(d.energy[::-1])[::-1] + d.tail
    with np.errstate(divide="ignore", invalid="ignore"):
        out[: d.energy.size] = 10.0 * np.log10(total / total[0])
    return out


def schroeder_decay(h: np.ndarray, sr: int, *, truncate: bool = True, compensate: bool = True,
                    onset: int | None = None) -> np.ndarray:
    """Energy decay curve in dB by Schroeder backward integration from the onset.

    ``h`` has shape ``(samples,)``, ``sr`` is in Hz. With ``truncate`` the integral stops
    at the :func:`lundeby` truncation point ``t1`` and, with ``compensate``, adds the
    energy of the fitted exponential decay beyond it, ``P(t1) / k`` (ISO 3382-1);
    ``compensate`` is ignored without ``truncate``. ``onset`` defaults to
    :func:`onset_index`. Returns an array of shape ``(samples - onset,)`` whose element
    ``i`` is sample ``onset + i``, 0 dB at the onset, NaN after the truncation point and
    ``-inf`` where an untruncated curve has exactly zero energy left.
    """
    x = _response(h, sr)
    start = onset_index(x) if onset is None else int(onset)
    return _edc_db(_decay(x[start:], sr, truncate=truncate, compensate=compensate))


def decay_time(edc_db: np.ndarray, sr: int, *, start_db: float, end_db: float) -> float:
    """Decay time (s) extrapolated to 60 dB from a line fitted to an energy decay curve.

    The least-squares line covers ``edc_db`` (shape ``(samples,)``, dB, rate ``sr`` Hz)
    from its first value at or below ``start_db`` to its first value at or below
    ``end_db``; EDT uses (0, -10), T20 (-5, -25), T30 (-5, -35). Returns ``-60 / slope``
    in seconds, NaN when the curve never reaches ``end_db`` (not enough dynamic range)
    or the fitted line does not decay.
    """
    if not start_db > end_db:
        raise InvalidAudioError(f"start_db must lie above end_db, got start_db={start_db}, end_db={end_db}")
    if not np.isscalar(sr) or not sr > 0:
        raise InvalidAudioError(f"sample rate must be a positive number of Hz, got {sr!r}")
    edc = np.asarray(edc_db, dtype=np.float64)
    first, last = np.flatnonzero(edc <= start_db), np.flatnonzero(edc <= end_db)
    if first.size == 0 or last.size == 0:
        return math.nan
    idx = np.arange(first[0], last[0] + 1)
    idx = idx[np.isfinite(edc[idx])]
    if idx.size < 2:
        return math.nan
    _, b, _ = _fit(idx / sr, edc[idx])
    return -60.0 / b if b < 0 else math.nan


def _split(d: _Decay, n: int) -> tuple[float, float]:
    """Energy before and from sample ``n`` after the onset; NaN when ``n`` is past the truncation."""
    if n > d.energy.size:
        return math.nan, math.nan
    return float(d.energy[:n].sum()), float(d.energy[n:].sum()) + d.tail


def _ratio_db(num: float, den: float) -> float:
    with np.errstate(divide="ignore"):
        return float(10.0 * np.log10(np.float64(num) / den))


def _centre_time(d: _Decay, sr: float) -> float:
    t = np.arange(d.energy.size) / sr
    moment, total = float(np.sum(t * d.energy)), float(d.energy.sum())
    if d.tail > 0:
        moment += d.tail * (d.energy.size / sr + 1.0 / d.rate)
        total += d.tail
    return moment / total


def _direct_peak(x: np.ndarray, onset: int, sr: float) -> int:
    """Index of the largest ``|x|`` from the onset to :data:`DIRECT_SEARCH_MS` after it."""
    return onset + int(np.argmax(np.abs(x[onset : onset + round(DIRECT_SEARCH_MS * 1e-3 * sr) + 1])))


def _drr(x: np.ndarray, d: _Decay, onset: int, peak: int, half: int) -> float:
    direct = float(np.sum(x[max(peak - half, 0) : peak + half + 1] ** 2))
    return _ratio_db(direct, _split(d, peak + half + 1 - onset)[1])


def _measured(h: np.ndarray, sr: int) -> tuple[np.ndarray, int, _Decay]:
    """Validated response, its onset and its truncated, compensated energy from the onset."""
    x = _response(h, sr)
    onset = onset_index(x)
    return x, onset, _decay(x[onset:], sr)


def clarity(h: np.ndarray, sr: int, *, ms: float = 80.0) -> float:
    """Clarity ``C_ms`` in dB: early (first ``ms`` after the onset) over late energy.

    ``+inf`` when there is no late energy, NaN when the decay is truncated before ``ms``.
    """
    return _ratio_db(*_split(_measured(h, sr)[2], round(ms * 1e-3 * sr)))


def definition(h: np.ndarray, sr: int) -> float:
    """Definition D50: fraction (0-1) of the energy that arrives within 50 ms of the onset."""
    early, late = _split(_measured(h, sr)[2], round(0.05 * sr))
    return early / (early + late)


def centre_time(h: np.ndarray, sr: int) -> float:
    """Centre time Ts in seconds: first moment of the energy, measured from the onset."""
    return _centre_time(_measured(h, sr)[2], sr)


def direct_to_reverberant(h: np.ndarray, sr: int, *, window_ms: float = 2.5) -> float:
    """Direct-to-reverberant ratio in dB.

    The direct-sound peak is the largest ``|h|`` from the onset to :data:`DIRECT_SEARCH_MS`
    (5 ms) after it. The direct energy is the sum of ``h**2`` over the peak +- ``window_ms``
    (2.5 ms by default, both ends included); the reverberant energy is everything after
    that window (truncated and compensated like the energy decay curve).
    """
    x, onset, d = _measured(h, sr)
    return _drr(x, d, onset, _direct_peak(x, onset, sr), round(window_ms * 1e-3 * sr))


def _parameters(x: np.ndarray, sr: float, onset: int, peak: int) -> dict[str, float]:
    """All :data:`PARAMETERS` of one (broadband or band) signal sharing ``onset`` and ``peak``."""
    if not np.any(x[onset:]):
        return dict.fromkeys(PARAMETERS, math.nan)
    d = _decay(x[onset:], sr)
    edc = _edc_db(d)
    out = {key: decay_time(edc, sr, start_db=lo, end_db=hi) for key, (lo, hi) in DECAY_RANGES.items()}
    (e50, l50), (e80, l80) = _split(d, round(0.05 * sr)), _split(d, round(0.08 * sr))
    out.update(c50=_ratio_db(e50, l50), c80=_ratio_db(e80, l80), d50=e50 / (e50 + l50))
    out.update(drr_db=_drr(x, d, onset, peak, round(2.5e-3 * sr)), ts=_centre_time(d, sr))
    return {key: float(out[key]) for key in PARAMETERS}


def _json_number(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


@dataclass
class AcousticProfile:
    """ISO 3382-1 parameters of one impulse response channel.

    ``sr``: sample rate (Hz). ``broadband``: ``edt``, ``t20``, ``t30``, ``ts`` in seconds,
    ``c50``, ``c80``, ``drr_db`` in dB, ``d50`` as a fraction; NaN where not measurable.
    ``bands``: the same per octave band, keyed by centre frequency (Hz).
    ``direct_delay``: time of the direct-sound peak from the start of the signal (s).
    """

    sr: int
    broadband: dict[str, float]
    bands: dict[int, dict[str, float]]
    direct_delay: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; non-finite values become ``None``, band keys become strings."""
        num = _json_number
        bands = {str(fc): {k: num(p[k]) for k in PARAMETERS} for fc, p in self.bands.items()}
        broadband = {k: num(self.broadband[k]) for k in PARAMETERS}
        return {"sr": int(self.sr), "direct_delay": num(self.direct_delay), "broadband": broadband, "bands": bands}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AcousticProfile:
        """Inverse of :meth:`to_dict`; ``None`` becomes NaN."""

        def params(p: Any, where: str) -> dict[str, float]:
            if not isinstance(p, dict) or set(p) != set(PARAMETERS):
                raise FileFormatError(f"{where} must map exactly {list(PARAMETERS)}, got {p!r}")
            return {k: math.nan if p[k] is None else float(p[k]) for k in PARAMETERS}

        missing = {"sr", "broadband", "bands"} - set(data)
        if missing:
            raise FileFormatError(f"acoustic profile lacks keys {sorted(missing)}; got {sorted(data)}")
        delay = data.get("direct_delay")
        bands = {int(fc): params(p, f"band {fc}") for fc, p in data["bands"].items()}
        return cls(int(data["sr"]), params(data["broadband"], "broadband"), bands,
                   math.nan if delay is None else float(delay))


def analyze(h: np.ndarray, sr: int) -> AcousticProfile:
    """ISO 3382-1 parameters of a mono impulse response, broadband and per octave band.

    ``h`` has shape ``(samples,)`` or ``(1, samples)``, ``sr`` is in Hz. Bands whose
    centre is at or above ``sr / 2 / sqrt(2)`` (no content) get NaN parameters.
    """
    x = _response(h, sr)
    onset = onset_index(x)
    peak = _direct_peak(x, onset, sr)
    split = octave_filterbank(x, sr)
    nan = dict.fromkeys(PARAMETERS, math.nan)
    bands = {int(fc): _parameters(split[i], sr, onset, peak) if fc < sr / 2.0 / math.sqrt(2.0) else dict(nan)
             for i, fc in enumerate(OCTAVE_BANDS)}
    return AcousticProfile(int(sr), _parameters(x, sr, onset, peak), bands, peak / sr)


def analyze_channels(h: np.ndarray, sr: int) -> list[AcousticProfile]:
    """:func:`analyze` for each channel of a ``(channels, samples)`` response."""
    x = np.asarray(h)
    if x.ndim != 2:
        raise InvalidAudioError(f"multichannel response must be (channels, samples), got shape {x.shape}")
    return [analyze(x[c], sr) for c in range(x.shape[0])]


def energy_decay_curves(h: np.ndarray, sr: int) -> dict[str, Any]:
    """Truncated, compensated energy decay curves of ``h`` (``(samples,)``) for plotting.

    Returns a dict: ``time`` (array ``(samples - onset,)``, seconds from the onset),
    ``onset`` (seconds from the start of the signal), ``broadband`` (EDC in dB, same
    shape) and ``bands`` (centre frequency in Hz -> EDC in dB, all NaN for bands without
    content). NaN marks samples after each curve's truncation point.
    """
    x = _response(h, sr)
    onset = onset_index(x)
    split = octave_filterbank(x, sr)
    bands = {}
    for i, fc in enumerate(OCTAVE_BANDS):
        seg = split[i, onset:]
        has = fc < sr / 2.0 / math.sqrt(2.0) and np.any(seg)
        bands[int(fc)] = _edc_db(_decay(seg, sr)) if has else np.full(seg.size, np.nan)
    edc = _edc_db(_decay(x[onset:], sr))
    return {"time": np.arange(edc.size) / sr, "onset": onset / sr, "broadband": edc, "bands": bands}
