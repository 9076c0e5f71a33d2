"""Impulse responses from a compact acoustic profile ("spec").

A spec is the small, JSON-ready description of a room response that every predictor
outputs and the engine can turn back into an impulse response::

    {"t30": {"125": s, "250": s, "500": s, "1000": s, "2000": s, "4000": s},
     "drr_db": float, "direct_delay_s": float}

``t30`` holds the reverberation time (s) in the octave bands of :data:`PROFILE_BANDS`,
``drr_db`` the direct-to-reverberant ratio as :func:`soundstage.acoustics.analysis.analyze`
measures it, and ``direct_delay_s`` the time of the direct-sound peak from the start of
the response. :func:`spec_to_vector` and :func:`vector_to_spec` map a spec to and from the
8-vector that models regress and the mean predictor averages.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from soundstage.acoustics.analysis import analyze, direct_to_reverberant
from soundstage.acoustics.late_reverb import diffuse_tail
from soundstage.constants import DEFAULT_SR, OCTAVE_BANDS
from soundstage.dsp.delay import render_impulses
from soundstage.errors import SoundstageError

#: Octave bands (Hz) of a spec: those measurable at 16 kHz (8 kHz sits at the Nyquist edge).
PROFILE_BANDS: tuple[int, ...] = (125, 250, 500, 1000, 2000, 4000)

#: Length of the vector form of a spec: ln T30 per band, DRR (dB), ln direct delay (s).
VECTOR_SIZE: int = len(PROFILE_BANDS) + 2

#: Accepted reverberation times (s) of a spec, both ends included.
T30_RANGE: tuple[float, float] = (0.05, 20.0)

#: Smallest direct delay (s) the vector form stores, so that its logarithm stays finite.
MIN_DELAY_S: float = 1e-6


class InvalidProfileError(SoundstageError, ValueError):
    """An acoustic profile or spec with missing, non-finite or out-of-range values."""


def _number(value: Any, where: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InvalidProfileError(f"{where} must be a number, got {value!r}") from None
    return out


def validate_spec(spec: Any) -> dict[str, Any]:
    """Check a spec and return a normalised copy (float values, string band keys).

    Parameters
    ----------
    spec : dict
        ``{"t30": {band: seconds}, "drr_db": dB, "direct_delay_s": seconds}`` with a T30
        for every band of :data:`PROFILE_BANDS` (keys may be ``int`` or ``str``).

    Returns
    -------
    dict
        The same spec with ``str`` band keys in :data:`PROFILE_BANDS` order and floats.

    Raises
    ------
    InvalidProfileError
        Missing keys, a T30 outside :data:`T30_RANGE` or not finite, a negative or
        non-finite delay, or a non-finite DRR.
    """
    if not isinstance(spec, dict):
        raise InvalidProfileError("spec must be a dict with keys t30, drr_db, direct_delay_s; "
                                  f"got {type(spec).__name__}")
    missing = {"t30", "drr_db", "direct_delay_s"} - set(spec)
    if missing:
        raise InvalidProfileError(f"spec lacks keys {sorted(missing)}; expected t30, drr_db, direct_delay_s")
    t30_in = spec["t30"]
    if not isinstance(t30_in, dict):
        raise InvalidProfileError(f"spec['t30'] must map octave bands to seconds, got {t30_in!r}")
    by_band = {str(k): v for k, v in t30_in.items()}
    lacking = [str(b) for b in PROFILE_BANDS if str(b) not in by_band]
    if lacking:
        raise InvalidProfileError(f"spec['t30'] lacks bands {lacking}; expected all of {list(PROFILE_BANDS)} Hz")
    lo, hi = T30_RANGE
    t30 = {}
    for band in PROFILE_BANDS:
        v = _number(by_band[str(band)], f"spec['t30']['{band}']")
        if not (math.isfinite(v) and lo <= v <= hi):
            raise InvalidProfileError(f"spec['t30']['{band}'] = {v!r} s; expected a finite T30 in [{lo}, {hi}] s")
        t30[str(band)] = v
    drr = _number(spec["drr_db"], "spec['drr_db']")
    if not math.isfinite(drr):
        raise InvalidProfileError(f"spec['drr_db'] = {drr!r}; expected a finite ratio in dB")
    delay = _number(spec["direct_delay_s"], "spec['direct_delay_s']")
    if not (math.isfinite(delay) and delay >= 0.0):
        raise InvalidProfileError(f"spec['direct_delay_s'] = {delay!r}; expected a finite delay >= 0 s")
    return {"t30": t30, "drr_db": drr, "direct_delay_s": delay}


def _finite(v: Any) -> float:
    """``float(v)`` or NaN for ``None``/non-numbers."""
    try:
        out = float(v)
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) and out > 0 else math.nan


def spec_from_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """The spec of a measured response, from an ``AcousticProfile.to_dict()``.

    Parameters
    ----------
    profile : dict
        ``{"sr", "direct_delay", "broadband": {...}, "bands": {"125": {...}, ...}}`` as
        :meth:`soundstage.acoustics.analysis.AcousticProfile.to_dict` writes it (the
        ``meta["profile"]`` of a RoomSynth item).

    Returns
    -------
    dict
        A spec (see the module docstring). A band whose T30 is missing (``None``/NaN)
        takes the T30 of the nearest band (in octaves) that has one, the lower band on a
        tie; when no band has one, the broadband T30 (then broadband T20) fills them all.
        T30 values are clipped into :data:`T30_RANGE`.

    Raises
    ------
    InvalidProfileError
        No T30 or T20 anywhere, or a missing/non-finite DRR or direct delay.
    """
    if not isinstance(profile, dict) or "bands" not in profile or "broadband" not in profile:
        raise InvalidProfileError("profile must be an AcousticProfile.to_dict() with 'bands' and 'broadband'; "
                                  f"got {profile!r:.200}")
    bands = {str(k): v for k, v in (profile["bands"] or {}).items()}
    broadband = profile["broadband"] or {}
    measured = {b: _finite((bands.get(str(b)) or {}).get("t30")) for b in PROFILE_BANDS}
    have = [b for b in PROFILE_BANDS if math.isfinite(measured[b])]
    fallback = _finite(broadband.get("t30"))
    if not math.isfinite(fallback):
        fallback = _finite(broadband.get("t20"))
    if not have and not math.isfinite(fallback):
        raise InvalidProfileError("profile has no T30 in any band and no broadband T30/T20; cannot build a spec")
    t30 = {}
    for b in PROFILE_BANDS:
        if math.isfinite(measured[b]):
            v = measured[b]
        elif have:
            v = measured[min(have, key=lambda o: (abs(math.log2(o / b)), o))]
        else:
            v = fallback
        t30[str(b)] = float(np.clip(v, *T30_RANGE))
    drr = _number(broadband.get("drr_db"), "profile['broadband']['drr_db']")
    delay = _number(profile.get("direct_delay"), "profile['direct_delay']")
    return validate_spec({"t30": t30, "drr_db": drr, "direct_delay_s": delay})


def spec_to_vector(spec: dict[str, Any]) -> np.ndarray:
    """The 8-vector ``[ln T30 per band (x6), DRR dB, ln direct delay s]`` of a spec (float64).

    The delay is floored at :data:`MIN_DELAY_S` so that a zero delay maps to a finite value.
    """
    s = validate_spec(spec)
    logs = [math.log(s["t30"][str(b)]) for b in PROFILE_BANDS]
    return np.array([*logs, s["drr_db"], math.log(max(s["direct_delay_s"], MIN_DELAY_S))], dtype=np.float64)


def vector_to_spec(v: Any) -> dict[str, Any]:
    """Inverse of :func:`spec_to_vector`: a spec from an 8-vector (no range check on T30).

    Raises
    ------
    InvalidProfileError
        ``v`` is not 8 finite numbers.
    """
    x = np.asarray(v, dtype=np.float64)
    if x.shape != (VECTOR_SIZE,) or not np.all(np.isfinite(x)):
        raise InvalidProfileError(f"spec vector must be {VECTOR_SIZE} finite numbers, got shape {x.shape}: {x!r:.200}")
    t30 = {str(b): float(math.exp(x[i])) for i, b in enumerate(PROFILE_BANDS)}
    return {"t30": t30, "drr_db": float(x[-2]), "direct_delay_s": float(math.exp(x[-1]))}


#: The diffuse tail starts this long after the direct-sound peak: just past the +-2.5 ms
#: window in which :func:`soundstage.acoustics.analysis.analyze` counts the direct sound.
TAIL_GAP_S: float = 2.5e-3 + 1e-4

#: Calibration stops once every band's measured T30 is within this relative error (as ln ratio).
CALIBRATION_TOLERANCE: float = 0.01

#: Raised-cosine build-up of the tail (s), from silence to the full diffuse level.
BUILD_UP_S: float = 5e-3


def default_duration(spec: dict[str, Any]) -> float:
    """Default response length (s): the direct delay plus 1.2 x the longest T30, kept in [0.3, 4] s."""
    s = validate_spec(spec)
    return s["direct_delay_s"] + float(np.clip(1.2 * max(s["t30"].values()), 0.3, 4.0))


def _band_t30(spec: dict[str, Any]) -> np.ndarray:
    """T30 per band of :data:`soundstage.constants.OCTAVE_BANDS`; bands above 4 kHz reuse the 4 kHz value."""
    top = spec["t30"][str(PROFILE_BANDS[-1])]
    return np.array([spec["t30"].get(str(fc), top) for fc in OCTAVE_BANDS], dtype=np.float64)


def synthesize_from_spec(spec: dict[str, Any], *, sr: int = DEFAULT_SR, duration: float | None = None,
                         seed: int = 0, calibrate: int = 2) -> np.ndarray:
    """An impulse response whose measured T30, DRR and direct delay match a spec.

    The response is a direct sound, a band-limited unit impulse at ``direct_delay_s``
    (a fractional delay from :func:`soundstage.dsp.delay.render_impulses`), plus a
    diffuse tail from :func:`soundstage.acoustics.late_reverb.diffuse_tail`: seeded
    Gaussian noise with an exponential energy decay per octave band whose T60 is the
    spec's T30 (the 8 kHz band reuses the 4 kHz T30), equal initial power in every band.

    Onset of the tail: real rooms have a gap between the direct sound and the first
    reflection (a few ms for a talker a metre or more from every surface) and then a
    reflection density that grows with time. The tail therefore starts
    :data:`TAIL_GAP_S` (2.6 ms) after the direct sound and rises to its full level with a
    raised-cosine build-up of :data:`BUILD_UP_S` (5 ms); its decay envelope is counted
    from its start. The gap also keeps the tail out of the +-2.5 ms window that
    :func:`soundstage.acoustics.analysis.analyze` counts as direct sound.

    The tail is scaled so that the DRR measured by
    :func:`soundstage.acoustics.analysis.direct_to_reverberant` (the same measure as
    ``analyze(...).broadband["drr_db"]``) equals ``drr_db``: a first gain from the
    energies of the two parts, then one correction by the measured error.

    Calibration: one noise realisation has a random band envelope, and the analysis
    bands overlap (a band's late decay picks up its neighbours'), so the T30 that
    :func:`~soundstage.acoustics.analysis.analyze` measures scatters around the T60 put
    in (about +-5 %, +-20 % at 125 Hz where the narrow band holds few independent
    samples). Up to ``calibrate`` times the band T60s are therefore multiplied by
    ``target / measured`` (the same noise each time), stopping once every band is
    within 1 %; the best response found is returned. When neighbouring bands differ by
    more than about 1.5x, the slower band's leakage can dominate the faster band's
    late decay and no T60 brings that band down to its target; it stays long.

    Parameters
    ----------
    spec : dict
        ``{"t30": {"125": s, ..., "4000": s}, "drr_db": dB, "direct_delay_s": s}``;
        T30 in [0.05, 20] s, finite DRR, delay >= 0 (see :func:`validate_spec`).
    sr : int
        Sample rate in Hz (bands at or above ``sr / 2 / sqrt(2)`` carry no content).
    duration : float, optional
        Length in seconds; default :func:`default_duration`. Must leave at least
        20 ms after the direct sound.
    seed : int
        Seed of the tail noise; the result is a pure function of the arguments.
    calibrate : int
        Most T60 corrections from the measured band T30 (0: none, the fastest).

    Returns
    -------
    np.ndarray
        ``(samples,)`` float32 impulse response, direct sound of unit amplitude.

    Raises
    ------
    InvalidProfileError
        A bad spec, sample rate or duration.
    """
    s = validate_spec(spec)
    if not np.isscalar(sr) or not np.isfinite(sr) or int(sr) != sr or sr < 1000:
        raise InvalidProfileError(f"sample rate must be a whole number of Hz >= 1000, got {sr!r}")
    sr = int(sr)
    length_s = default_duration(s) if duration is None else _number(duration, "duration")
    delay = s["direct_delay_s"]
    if not (math.isfinite(length_s) and length_s >= delay + 0.02):
        raise InvalidProfileError(f"duration {length_s!r} s must be finite and leave >= 20 ms after the direct "
                                  f"sound at {delay} s; expected duration >= {delay + 0.02:.4f} s")
    n = int(round(length_s * sr))
    direct = render_impulses(np.array([delay * sr]), np.array([1.0]), n)
    start = min(int(math.ceil((delay + TAIL_GAP_S) * sr)), n - 1)
    length = n - start
    ramp = min(length, max(1, int(round(BUILD_UP_S * sr))))
    fade = np.ones(length)
    fade[:ramp] = np.sin(0.5 * np.pi * (np.arange(ramp) + 0.5) / ramp) ** 2
    target = _band_t30(s)
    rt60 = target.copy()
    measurable = np.array([str(fc) in s["t30"] and fc < sr / 2.0 / math.sqrt(2.0) for fc in OCTAVE_BANDS])
    best, best_err = None, math.inf
    for step in range(calibrate + 1):
        h = _response(direct, start, fade, rt60, sr, seed, s["drr_db"])
        if calibrate == 0:
            return h.astype(np.float32)
        bands = analyze(h, sr).bands
        got = np.array([bands[int(fc)]["t30"] for fc in OCTAVE_BANDS])
        ok = measurable & np.isfinite(got) & (got > 0)
        err = float(np.max(np.abs(np.log(got[ok] / target[ok])))) if ok.any() else math.inf
        if best is None or err < best_err:
            best, best_err = h, err
        if step == calibrate or best_err < CALIBRATION_TOLERANCE:
            break
        rt60[ok] = np.clip(rt60[ok] * np.clip(target[ok] / got[ok], 0.7, 1.4), 0.5 * target[ok], 2.0 * target[ok])
        if measurable.any():
            rt60[~measurable] = rt60[np.flatnonzero(measurable)[-1]]
    return best.astype(np.float32)


def _response(direct: np.ndarray, start: int, fade: np.ndarray, rt60: np.ndarray, sr: int, seed: int,
              drr_db: float) -> np.ndarray:
    """Direct sound plus a seeded diffuse tail from sample ``start``, scaled to ``drr_db`` (float64)."""
    n = direct.size
    tail = np.zeros(n)
    rng = np.random.default_rng(seed)
    tail[start:] = diffuse_tail(np.ones(rt60.size), rt60, sr=sr, length=n - start, fade=fade, rng=rng)[0]
    # First gain from the energies: direct window +-2.5 ms around the peak, reverberant part after it.
    peak = int(np.argmax(np.abs(direct)))
    half = int(round(2.5e-3 * sr))
    e_direct = float(np.sum(direct[max(peak - half, 0): peak + half + 1] ** 2))
    e_tail = float(np.sum(tail[peak + half + 1:] ** 2))
    if e_tail <= 0.0:
        raise InvalidProfileError("the response is too short to hold a reverberant tail; expected a longer duration")
    gain = math.sqrt(e_direct / e_tail / 10.0 ** (drr_db / 10.0))
    # One correction by the DRR the analysis measures (truncation and compensation included).
    measured = direct_to_reverberant(direct + gain * tail, sr)
    if math.isfinite(measured):
        gain *= 10.0 ** ((measured - drr_db) / 20.0)
    return direct + gain * tail
