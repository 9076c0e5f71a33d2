"""Binaural cues and direction of arrival: ITD, ILD, IACC and HRTF-matching localization.

Signals are ``(2, samples)`` arrays, rows ``[left, right]``. Signs follow
:mod:`soundstage.geometry`: a source on the left (azimuth +90) gives a positive ITD (the
left ear leads) and a positive ILD (the left ear is louder).

:func:`itd` is GCC-PHAT (Knapp & Carter 1976) below 1.5 kHz, :func:`ild` per octave
band, :func:`iacc` after ISO 3382-1, and :func:`estimate_direction` picks the direction
of an HRTF set whose cues (ITD, third-octave ILD, spectral shape) best match the signal's.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from scipy import fft as sfft

from soundstage.constants import OCTAVE_BANDS
from soundstage.dsp.filterbank import band_masks
from soundstage.errors import InvalidAudioError
from soundstage.geometry import unit, vector_to_azel

#: Default frequency range (Hz) of :func:`itd`: below ~1.5 kHz the interaural phase is
#: unambiguous over the head's delay range and the delay is nearly frequency independent.
ITD_RANGE: tuple[float, float] = (50.0, 1500.0)
#: Bins weaker than this fraction of the strongest cross-spectrum bin count less in GCC-PHAT.
PHAT_FLOOR = 1e-6
#: Third-octave band centres (Hz) of the localization features: 250 Hz to 16 kHz.
LOCALIZATION_BANDS: tuple[float, ...] = tuple(1000.0 * 2.0 ** (k / 3.0) for k in range(-6, 13))
#: Lowest band centre (Hz) whose monaural spectral shape enters the match (pinna and torso cues).
SPECTRAL_MIN_HZ = 1000.0
#: Degree of the log-frequency polynomial that models the unknown source spectrum (dB).
SOURCE_POLY_DEGREE = 2
#: Scales of the cue mismatches: ITD (s), ILD (dB per band), spectral shape (dB per band).
SIGMA_ITD = 20e-6
SIGMA_ILD = 1.5
SIGMA_SPECTRUM = 1.5
#: Per-band mismatches cost ``c^2 log(1 + (r / c)^2)`` (Cauchy) with ``r`` in units of the
#: scales above: quadratic up to about ``c``, then only logarithmic, so a few bands
#: spoiled by noise or by a notch of another head cannot outvote the others.
ROBUST_C = 2.0
#: Local refinement: candidates per axis of the tangent-plane grid around the best match.
REFINE_STEPS = 11
#: Template HRIRs are zero-padded to at least this many samples before their spectra are taken.
TEMPLATE_FFT = 4096


def _binaural(x: Any, sr: Any) -> np.ndarray:
    """Validate a ``(2, samples)`` signal and a sample rate; return the signal as float64."""
    if isinstance(sr, bool) or not np.isscalar(sr) or not np.isfinite(sr) or sr <= 0:
        raise InvalidAudioError(f"sample rate must be a positive number of Hz, got {sr!r}")
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] != 2:
        raise InvalidAudioError(f"binaural signal has shape {x.shape}; expected (2, samples) rows [left, right]")
    if x.shape[1] < 2:
        raise InvalidAudioError(f"binaural signal has {x.shape[1]} samples; expected at least 2")
    if np.iscomplexobj(x) or not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
        raise InvalidAudioError("binaural signal holds complex, NaN, inf or non-numeric values; "
                                "expected real finite audio")
    if not np.any(x[0]) or not np.any(x[1]):
        raise InvalidAudioError("binaural signal has a silent channel; expected sound in both ears")
    return x.astype(np.float64)


def _max_lag(max_lag_s: Any, sr: float) -> float:
    """``max_lag_s`` checked and converted to samples."""
    if isinstance(max_lag_s, bool) or not np.isscalar(max_lag_s) or not np.isfinite(max_lag_s) or max_lag_s <= 0:
        raise InvalidAudioError(f"max_lag_s must be a positive number of seconds, got {max_lag_s!r}")
    return float(max_lag_s) * sr


def _gcc_phat(spec_l: np.ndarray, spec_r: np.ndarray, nfft: int, sr: float, max_lag: float,
              freq_range: tuple[float, float] | None) -> np.ndarray:
    """Delay (samples) of right behind left maximising the PHAT-weighted correlation.

    ``spec_l``, ``spec_r``: rfft spectra ``(..., nfft // 2 + 1)``. The peak is searched on
    integer lags within ``max_lag``, then refined by Newton steps on the exact
    band-limited correlation ``r(t) = Re sum_k w_k exp(2j pi f_k t)``.
    """
    freqs, cross = sfft.rfftfreq(nfft, 1.0 / sr), np.conj(spec_l) * spec_r
    mag = np.abs(cross)
    weights = cross / (mag + PHAT_FLOOR * mag.max(axis=-1, keepdims=True) + 1e-300)
    lo, hi = (0.0, sr / 2.0) if freq_range is None else freq_range
    keep = (freqs > max(lo, 0.0)) & (freqs <= hi) & (freqs < sr / 2.0)
    if not np.any(keep):
        raise InvalidAudioError(f"ITD frequency range {freq_range} Hz holds no frequency bin at sr={sr:g} Hz "
                                f"and {nfft} samples; expected a range inside (0, {sr / 2:g}) Hz")
    corr = sfft.irfft(np.where(keep, weights, 0.0), n=nfft, axis=-1)
    lim = max(1, min(int(np.floor(max_lag)), nfft // 2 - 1))
    lags = np.arange(-lim, lim + 1)
    start = tau = lags[np.argmax(corr[..., lags % nfft], axis=-1)].astype(np.float64)
    w, omega = weights[..., keep], 2.0 * np.pi * freqs[keep] / sr
    for _ in range(6):
        phase = w * np.exp(1j * omega * tau[..., None])
        d1 = np.real(1j * omega * phase).sum(axis=-1)
        d2 = np.real(-(omega**2) * phase).sum(axis=-1)
        step = np.where(d2 < 0, -d1 / np.where(d2 < 0, d2, -1.0), 0.0)
        tau = np.clip(tau + np.clip(step, -0.5, 0.5), start - 1.0, start + 1.0)
    return np.clip(tau, -max_lag, max_lag)


def _spectra(x: np.ndarray, n_min: int) -> tuple[np.ndarray, int]:
    """rfft of ``x`` zero-padded to at least twice its length (no circular wrap) and that length."""
    nfft = sfft.next_fast_len(max(x.shape[-1], n_min) * 2, real=True)
    return sfft.rfft(x, n=nfft, axis=-1), nfft


def itd(binaural: np.ndarray, sr: int, *, max_lag_s: float = 1e-3,
        freq_range: tuple[float, float] | None = ITD_RANGE) -> float:
    """Interaural time difference by GCC-PHAT, in seconds; > 0 when the LEFT ear leads.

    Parameters
    ----------
    binaural : array, shape ``(2, samples)``
        Left and right ear signals (or a head-related impulse response pair).
    sr : int
        Sample rate in Hz.
    max_lag_s : float
        Largest delay searched, seconds (1 ms covers a human head).
    freq_range : (float, float) or None
        Band (Hz) of the phase-transform weighted cross-spectrum. The default
        :data:`ITD_RANGE` keeps the frequencies where the interaural phase is unambiguous
        and the ITD is the dominant lateral cue (Wightman & Kistler 1992); above it a
        head's group delay differs by up to a third and the phase of real HRTFs is
        disturbed by the pinna. ``None`` uses every bin.

    Returns
    -------
    float
        Delay of the right ear behind the left, seconds, with sub-sample precision
        (Newton refinement of the band-limited correlation peak), within ``max_lag_s``.
    """
    x = _binaural(binaural, sr)
    max_lag = _max_lag(max_lag_s, sr)
    spec, nfft = _spectra(x, int(np.ceil(max_lag)) + 1)
    return float(_gcc_phat(spec[0], spec[1], nfft, float(sr), max_lag, freq_range) / sr)


@lru_cache(maxsize=16)
def _band_weights(nfft: int, sr: float, bands: tuple[float, ...]) -> np.ndarray:
    """Squared band responses on the rfft bins, each row normalised to sum 1, ``(n_bands, F)``."""
    freqs = sfft.rfftfreq(nfft, 1.0 / sr)
    weights = band_masks(freqs, bands) ** 2
    weights[:, freqs >= sr / 2.0] = 0.0  # the Nyquist bin is real-only: leave it out
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-300)
    weights.flags.writeable = False
    return weights


def _band_energy(power: np.ndarray, nfft: int, sr: float, bands: tuple[float, ...]) -> np.ndarray:
    """Mean power in each band, weighted by the squared band responses; shape ``(..., n_bands)``."""
    return power @ _band_weights(int(nfft), float(sr), tuple(bands)).T


def ild(binaural: np.ndarray, sr: int, *, bands: tuple[float, ...] = OCTAVE_BANDS) -> np.ndarray:
    """Interaural level difference per band, dB; > 0 when the LEFT ear is louder.

    Parameters
    ----------
    binaural : array, shape ``(2, samples)``
        Left and right ear signals.
    sr : int
        Sample rate in Hz.
    bands : tuple of float
        Band centres (Hz); the bands are those of :func:`soundstage.dsp.octave_filterbank`.

    Returns
    -------
    array, shape ``(n_bands,)``
        ``10 log10(E_left / E_right)`` of the band energies (from the spectrum, weighted
        by the squared band responses); ``nan`` where a band holds no energy in either ear.
    """
    x = _binaural(binaural, sr)
    spec, nfft = _spectra(x, 1)
    energy = _band_energy(np.abs(spec) ** 2, nfft, float(sr), tuple(bands))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 10.0 * np.log10(energy[0] / energy[1])
    return np.where(np.isfinite(out), out, np.nan)


def iacc(binaural: np.ndarray, sr: int, *, max_lag_s: float = 1e-3,
         window: tuple[float, float] | None = None) -> float:
    """Interaural cross-correlation coefficient (ISO 3382-1), in [0, 1].

    ``IACC = max |IACF(tau)|`` over ``|tau| <= max_lag_s``, where
    ``IACF(tau) = sum_t l(t) r(t + tau) / sqrt(sum_t l(t)^2 sum_t r(t)^2)``.

    Parameters
    ----------
    binaural : array, shape ``(2, samples)``
        Left and right ear signals or a binaural impulse response.
    sr : int
        Sample rate in Hz.
    max_lag_s : float
        Largest interaural lag, seconds (ISO 3382-1: 1 ms).
    window : (float, float), optional
        Integration window ``(t1, t2)`` in seconds after the onset of the response (the
        first sample within 20 dB of the peak energy of both ears together, ISO 3382-1):
        ``(0, 0.08)`` gives IACC_E, ``(0.08, inf)`` IACC_L. ``None`` uses the whole signal.

    Returns
    -------
    float
    """
    x = _binaural(binaural, sr)
    lag = int(np.floor(_max_lag(max_lag_s, sr)))
    if window is not None:
        t1, t2 = (float(v) for v in window)
        if not (0.0 <= t1 < t2):
            raise InvalidAudioError(f"iacc window {window} s is not an interval; expected (t1, t2) with 0 <= t1 < t2")
        energy = (x**2).sum(axis=0)
        onset = int(np.argmax(energy >= energy.max() * 0.01))
        stop = x.shape[1] if np.isinf(t2) else onset + int(round(t2 * sr))
        x = x[:, onset + int(round(t1 * sr)) : stop]
        if x.shape[1] < 2 or not np.any(x[0]) or not np.any(x[1]):
            raise InvalidAudioError(f"iacc window {window} s leaves no sound in one ear; expected a window "
                                    "inside the response")
    nfft = sfft.next_fast_len(x.shape[1] + lag + 1, real=True)
    spec = sfft.rfft(x, n=nfft, axis=-1)
    corr = sfft.irfft(np.conj(spec[0]) * spec[1], n=nfft)
    lags = np.arange(-lag, lag + 1) % nfft
    norm = np.sqrt(np.sum(x[0] ** 2) * np.sum(x[1] ** 2))
    return float(min(np.abs(corr[lags]).max() / norm, 1.0))


def _bands_for(sr: float) -> tuple[float, ...]:
    """The :data:`LOCALIZATION_BANDS` whose upper edge stays below 45 % of the sample rate."""
    return tuple(b for b in LOCALIZATION_BANDS if b * 2.0 ** (1.0 / 6.0) < 0.45 * sr)


@lru_cache(maxsize=8)
def _shape_projector(bands: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Spectral-shape bands and the projector removing a log-frequency polynomial from them."""
    centres = np.asarray(bands)
    keep = centres >= SPECTRAL_MIN_HZ
    basis = np.vander(np.log2(centres[keep] / 1000.0), SOURCE_POLY_DEGREE + 1)
    return keep, np.eye(int(keep.sum())) - basis @ np.linalg.pinv(basis)


def _cues(spec: np.ndarray, nfft: int, sr: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ITD (s), ILD per band (dB) and source-independent spectral shape (dB) of spectra ``(..., 2, F)``."""
    bands = _bands_for(sr)
    delay = _gcc_phat(spec[..., 0, :], spec[..., 1, :], nfft, sr, 1e-3 * sr, ITD_RANGE) / sr
    energy = _band_energy(np.abs(spec) ** 2, nfft, sr, bands)
    level = 10.0 * np.log10(np.maximum(energy, 1e-12 * energy.max(axis=(-2, -1), keepdims=True)))
    keep, projector = _shape_projector(bands)
    shape = level.mean(axis=-2)[..., keep] @ projector.T
    return delay, level[..., 0, :] - level[..., 1, :], shape


def _response_cues(hrtf: Any, directions: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cues of ``hrtf``'s impulse responses toward ``directions`` ``(n, 3)``."""
    irs = np.asarray(hrtf.impulse_responses(directions), dtype=np.float64)
    nfft = sfft.next_fast_len(max(TEMPLATE_FFT, 2 * irs.shape[-1]), real=True)
    return _cues(sfft.rfft(irs, n=nfft, axis=-1), nfft, float(sr))


@lru_cache(maxsize=8)
def _templates(hrtf: Any, sr: int) -> tuple[Any, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``hrtf`` at ``sr`` and the cues of its measured directions (cached per set and rate)."""
    h = hrtf.resampled(sr)
    return h, _response_cues(h, np.asarray(h.directions, dtype=np.float64), sr)


def _match_cost(templates: tuple[np.ndarray, ...], observed: tuple[Any, ...]) -> np.ndarray:
    """Mismatch of the observed cues against every template, shape ``(M,)`` (see :data:`ROBUST_C`)."""
    (t_itd, t_ild, t_shape), (o_itd, o_ild, o_shape) = templates, observed
    robust = [(ROBUST_C**2 * np.log1p(((t - o) / (sigma * ROBUST_C)) ** 2)).sum(axis=-1)
              for t, o, sigma in ((t_ild, o_ild, SIGMA_ILD), (t_shape, o_shape, SIGMA_SPECTRUM))]
    return ((t_itd - o_itd) / SIGMA_ITD) ** 2 + robust[0] + robust[1]


def _neighbourhood(directions: np.ndarray, best: int) -> np.ndarray:
    """Unit vectors on a tangent-plane grid around ``directions[best]``, out to its 4th-nearest neighbour."""
    centre = directions[best]
    gaps = np.sort(np.arccos(np.clip(directions @ centre, -1.0, 1.0)))
    reach = np.tan(min(gaps[min(4, len(gaps) - 1)], np.radians(20.0)))
    side = np.cross([0.0, 0.0, 1.0], centre)
    side = unit(side if np.linalg.norm(side) > 1e-6 else np.cross([1.0, 0.0, 0.0], centre))
    up = np.cross(centre, side)
    u, v = np.meshgrid(*(2 * [np.linspace(-reach, reach, REFINE_STEPS)]))
    return unit(centre + u.reshape(-1, 1) * side + v.reshape(-1, 1) * up)


def estimate_direction(binaural: np.ndarray, sr: int, *, hrtf: Any = None, refine: bool = True) -> tuple[float, float]:
    """Direction of arrival of a single source in an anechoic binaural signal, by HRTF matching.

    Method: three cues are measured on the signal and on the impulse responses of the
    HRTF set at ``sr``:

    * ITD: GCC-PHAT below 1.5 kHz (as :func:`itd`), the dominant lateral cue;
    * ILD per third-octave band, 250 Hz to 16 kHz (or 45 % of ``sr``), which does not
      depend on the source spectrum;
    * spectral shape: the band levels averaged over both ears, from 1 kHz up, minus
      their least-squares quadratic in log frequency. The quadratic absorbs an unknown
      smooth source spectrum (and the level), leaving the torso and pinna peaks and
      notches that tell front from back and code elevation.

    The cost of a direction is ``(dITD / 20 us)^2 + sum_b rho(dILD_b / 1.5 dB) +
    sum_b rho(dShape_b / 1.5 dB)`` with the robust ``rho`` of :data:`ROBUST_C`. The best
    measured direction is found first; with ``refine``, the cost is then evaluated on
    an 11 x 11 tangent-plane grid reaching the 4th-nearest measured neighbour, with
    responses interpolated by ``hrtf.impulse_responses``, and the best of those wins (a
    measured direction is itself on that grid).

    Cost: one FFT of the signal, ``O(M * n_bands)`` for the match, and 121 interpolated
    responses for the refinement: about 20 ms for 0.5 s at 48 kHz (2 ms without
    refinement). The cues of a set's ``M`` directions are computed on first use per set
    and rate (0.2 to 0.5 s for the 710 KEMAR directions) and cached (8 sets).

    Parameters
    ----------
    binaural : array, shape ``(2, samples)``
        Left and right ear signals of one broadband source (noise, speech...).
    sr : int
        Sample rate in Hz.
    hrtf : HRTF, optional
        Template set (:class:`soundstage.spatial.hrtf.HRTF`); default
        :func:`soundstage.spatial.hrtf.default_hrtf`. Works best when the signal was
        heard (or rendered) through the same head.
    refine : bool
        Refine between the measured directions (default) or return the best of them.

    Returns
    -------
    (float, float)
        Azimuth in (-180, 180] and elevation in [-90, 90], degrees (see
        :mod:`soundstage.geometry`).
    """
    x = _binaural(binaural, sr)
    sr = int(sr)
    if hrtf is None:
        from soundstage.spatial.hrtf import default_hrtf

        hrtf = default_hrtf(sr)
    h, templates = _templates(hrtf, sr)
    spec, nfft = _spectra(x, 1)
    observed = _cues(spec, nfft, float(sr))
    directions = np.asarray(h.directions, dtype=np.float64)
    best = int(np.argmin(_match_cost(templates, observed)))
    if refine:
        candidates = _neighbourhood(directions, best)
        az, el = vector_to_azel(candidates[int(np.argmin(_match_cost(_response_cues(h, candidates, sr), observed)))])
    else:
        az, el = vector_to_azel(directions[best])
    return float(az), float(el)
