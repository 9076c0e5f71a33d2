"""Higher-order ambisonics in the AmbiX convention: encoding, rotation and decoding.

Channels follow ACN order (channel ``n (n + 1) + m`` holds degree ``n``, index ``m``),
with SN3D normalisation and no Condon-Shortley phase::

    Y_nm(az, el) = N_n|m| P_n|m|(sin el) * (cos(m az) if m >= 0 else sin(|m| az))
    N_n|m| = sqrt((2 - delta_m0) (n - |m|)! / (n + |m|)!)

Angles are those of :mod:`soundstage.geometry` (azimuth counter-clockwise from the
front, elevation up), which are also AmbiX's: W = 1, Y = sin az cos el (positive for a
source on the left), Z = sin el, X = cos az cos el. A plane wave of unit amplitude from
``d`` is encoded as ``Y(d)``; a diffuse field of unit power gives uncorrelated channels
of power ``1 / (2n + 1)``.
"""

from __future__ import annotations

from functools import lru_cache
from math import factorial

import numpy as np
from scipy import fft as sfft
from scipy.special import eval_legendre, lpmv

from soundstage.acoustics.receiver import Receiver
from soundstage.constants import SPEED_OF_SOUND
from soundstage.dsp.convolve import convolve_sum
from soundstage.errors import InvalidAudioError, InvalidGeometryError
from soundstage.geometry import rotation_matrix, sphere_grid, vector_to_azel

#: Highest ambisonic order accepted.
MAX_ORDER = 7
#: Virtual loudspeakers (Fibonacci grid) of the AllRAD and virtual binaural decoders; the
#: grid integrates spherical harmonics of degree <= 15 to within 0.2 %.
VIRTUAL_POINTS = 240
#: Uniform directions on which the binaural decoders are fitted to the HRTF.
FIT_POINTS = 480
#: Head radius (m) in the MagLS cutoff ``order * c / (2 pi r)``: 1.87 kHz at order 3.
HEAD_RADIUS = 0.0875
#: Delay (s) built into binaural decoding filters: room for the non-causal part of MagLS.
LEAD_S = 0.002
#: Fraction of a binaural decoding filter faded out at its end (half Hann window).
FADE_FRACTION = 0.15
WEIGHTINGS = ("max-re", "basic")
BINAURAL_METHODS = ("magls", "ls", "virtual")


def _check_order(order: int) -> int:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not 0 <= order <= MAX_ORDER:
        raise InvalidAudioError(f"ambisonic order {order!r} is not supported; expected an integer in 0..{MAX_ORDER}")
    return int(order)


def _angles(yaw: float, pitch: float, roll: float) -> tuple[float, float, float]:
    angles = (yaw, pitch, roll)
    if not all(isinstance(a, (int, float, np.integer, np.floating)) and np.isfinite(a) for a in angles):
        raise InvalidGeometryError(f"orientation {angles} must be finite angles in degrees (yaw, pitch, roll)")
    return tuple(float(a) for a in angles)


def _order_of(ambi: np.ndarray) -> tuple[np.ndarray, int]:
    """``ambi`` as float64 ``(K,)`` or ``(K, N)`` and its order, checking ``K = (order + 1) ** 2``."""
    x = np.asarray(ambi)
    if x.dtype.kind not in "biuf" or x.ndim not in (1, 2) or x.size == 0 or not np.all(np.isfinite(x)):
        raise InvalidAudioError(f"ambisonic signal has shape {x.shape}, dtype {x.dtype}; expected finite real (K, N)")
    order = int(round(np.sqrt(x.shape[0]))) - 1
    if (order + 1) ** 2 != x.shape[0] or order > MAX_ORDER:
        raise InvalidAudioError(f"ambisonic signal has {x.shape[0]} channels; expected (order + 1)**2 "
                                f"(1, 4, 9, ... {(MAX_ORDER + 1) ** 2}) channels in ACN order")
    return x.astype(np.float64, copy=False), order


def acn_degrees(order: int) -> np.ndarray:
    """Degree ``n`` of each ACN channel of an ``order`` signal, shape ``((order + 1) ** 2,)``."""
    order = _check_order(order)
    return np.repeat(np.arange(order + 1), 2 * np.arange(order + 1) + 1)


def sh_matrix(order: int, directions: np.ndarray) -> np.ndarray:
    """Real SN3D spherical harmonics (ACN order), shape ``(n, (order + 1) ** 2)``.

    ``directions``: ``(n, 3)`` or ``(3,)`` vectors (any length > 0) in the frame of the
    sound field; row ``i`` holds the encoding gains of direction ``i``.
    """
    order = _check_order(order)
    az, el = vector_to_azel(np.atleast_2d(np.asarray(directions, dtype=float)))
    if az.ndim != 1:
        raise InvalidGeometryError(f"directions have shape {np.shape(directions)}; expected (n, 3) or (3,)")
    az, sin_el = np.radians(az), np.sin(np.radians(el))
    out = np.empty((len(az), (order + 1) ** 2))
    for n in range(order + 1):
        for m in range(-n, n + 1):
            a = abs(m)
            norm = np.sqrt((2 - (m == 0)) * factorial(n - a) / factorial(n + a))
            trig = np.cos(m * az) if m >= 0 else np.sin(a * az)
            out[:, n * (n + 1) + m] = norm * (-1) ** a * lpmv(a, n, sin_el) * trig  # (-1)^a undoes scipy's CS phase
    return out


def encode(signal: np.ndarray, directions: np.ndarray, order: int) -> np.ndarray:
    """Encode plane waves: ``(N,)`` with a direction ``(3,)``, or ``(S, N)`` with ``(S, 3)``.

    Directions point from the listener toward each source. Returns the summed sound
    field, shape ``((order + 1) ** 2, N)``, float64.
    """
    sig = np.asarray(signal)
    if sig.dtype.kind not in "biuf" or sig.ndim not in (1, 2) or sig.shape[-1] == 0 or not np.all(np.isfinite(sig)):
        raise InvalidAudioError(f"signal has shape {sig.shape}, dtype {sig.dtype}; expected finite real (N,) or (S, N)")
    sig = np.atleast_2d(sig).astype(np.float64)
    dirs = np.atleast_2d(np.asarray(directions, dtype=float))
    if dirs.shape != (len(sig), 3):
        raise InvalidGeometryError(
            f"{len(sig)} source signal(s) need directions of shape ({len(sig)}, 3); got {np.shape(directions)}"
        )
    return sh_matrix(order, dirs).T @ sig


@lru_cache(maxsize=64)
def _rotation(order: int, yaw: float, pitch: float, roll: float) -> np.ndarray:
    grid = sphere_grid(4 * (order + 1) ** 2)
    before, after = sh_matrix(order, grid), sh_matrix(order, grid @ rotation_matrix(yaw, pitch, roll).T)
    out = np.zeros((before.shape[1],) * 2)
    for n in range(order + 1):  # each degree maps onto itself, so a least-squares fit per block is exact
        block = slice(n * n, (n + 1) ** 2)
        out[block, block] = np.linalg.lstsq(before[:, block], after[:, block], rcond=None)[0].T
    out.flags.writeable = False
    return out


def sh_rotation(order: int, yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    """Matrix ``M``, ``(K, K)``, turning a sound field by ``R = geometry.rotation_matrix(yaw, pitch, roll)``.

    ``M @ Y(d) == Y(R @ d)``: a source at ``d`` moves to ``R d`` (yaw +90 takes the
    front to the left, pitch +90 to the top). ``M`` is block diagonal by degree and
    orthogonal (``M.T`` undoes it). A field captured in the frame of a head with this
    orientation is ``M @ field`` in the world frame; the world field reaches that head
    as ``M.T @ field``.
    """
    return _rotation(_check_order(order), *_angles(yaw_deg, pitch_deg, roll_deg)).copy()


def rotate(ambi: np.ndarray, yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    """An AmbiX signal ``(K, N)`` (or gains ``(K,)``) turned by :func:`sh_rotation`; same shape."""
    x, order = _order_of(ambi)
    return sh_rotation(order, yaw_deg, pitch_deg, roll_deg) @ x


def order_weights(order: int, weighting: str = "max-re") -> np.ndarray:
    """Per-degree weights ``a_n``, ``(order + 1,)``: all 1 (``"basic"``), or ``"max-re"``:
    ``P_n(cos(137.9 deg / (order + 1.51)))`` (Zotter & Frank 2012), maximising ``|rE|``."""
    order = _check_order(order)
    if weighting not in WEIGHTINGS:
        raise InvalidAudioError(f"unknown decoder weighting {weighting!r}; expected one of {WEIGHTINGS}")
    if weighting == "basic":
        return np.ones(order + 1)
    return eval_legendre(np.arange(order + 1), np.cos(np.radians(137.9 / (order + 1.51))))


def _sampling_decoder(order: int, weighting: str) -> tuple[np.ndarray, np.ndarray]:
    """Virtual loudspeakers ``(L, 3)`` and their sampling decoder ``(L, K)``: a plane wave
    from ``s`` gives speaker ``u`` the gain ``sum_n (2n + 1) a_n P_n(u . s) / L`` (gains sum to 1)."""
    virtual, degree = sphere_grid(VIRTUAL_POINTS), acn_degrees(order)
    scale = (2 * degree + 1) * order_weights(order, weighting)[degree] / VIRTUAL_POINTS
    return virtual, sh_matrix(order, virtual) * scale


@lru_cache(maxsize=32)
def _allrad(order: int, layout, weighting: str) -> np.ndarray:
    from soundstage.spatial.panning import vbap_gains

    virtual, sampling = _sampling_decoder(order, weighting)
    decoder = vbap_gains(layout, virtual).T @ sampling
    if layout.lfe is not None:
        decoder[layout.lfe] = 0.0
    probe = decoder @ sh_matrix(order, sphere_grid(2048)).T
    decoder /= np.sqrt(np.mean(np.sum(probe**2, axis=0)))
    decoder.flags.writeable = False
    return decoder


def decoder_matrix(order: int, layout, *, weighting: str = "max-re") -> np.ndarray:
    """All-round ambisonic decoder (AllRAD, Zotter & Frank 2012), ``(channels, K)``.

    The field is decoded to :data:`VIRTUAL_POINTS` uniform virtual loudspeakers by a
    sampling decoder with :func:`order_weights` (``"max-re"`` or ``"basic"``), and each
    virtual loudspeaker is panned onto the real ones of ``layout`` (a name or a
    :class:`~soundstage.spatial.panning.Layout`) by ``panning.vbap_gains``. The matrix is
    scaled so that a source from a random direction gives unit total loudspeaker energy
    on average (``mean over d of |D Y(d)|^2 = 1``, the level of unit-energy VBAP). The
    LFE row is zero. Loudspeaker feeds are ``D @ ambi``.
    """
    from soundstage.spatial.panning import get_layout

    order = _check_order(order)
    order_weights(order, weighting)
    return _allrad(order, get_layout(layout), weighting).copy()


def decode_to_layout(ambi: np.ndarray, layout, *, weighting: str = "max-re") -> np.ndarray:
    """Loudspeaker feeds ``(channels, N)`` of an AmbiX signal ``(K, N)`` by :func:`decoder_matrix`."""
    x, order = _order_of(ambi)
    return decoder_matrix(order, layout, weighting=weighting) @ x


def magls_cutoff(order: int) -> float:
    """MagLS cutoff (Hz), ``order * c / (2 pi HEAD_RADIUS)``: below it ``k r < order``, so the
    head-related sound field is captured by this order (1.87 kHz at order 3)."""
    return _check_order(order) * SPEED_OF_SOUND / (2.0 * np.pi * HEAD_RADIUS)


def binaural_lead(sr: int) -> int:
    """Delay (samples) built into :func:`binaural_decoder` filters: :data:`LEAD_S` at ``sr``."""
    return int(round(LEAD_S * sr))


def _hrtf_spectra(hrtf, directions: np.ndarray, lead: int) -> tuple[np.ndarray, int]:
    """HRTFs ``(F, n, 2)`` of ``directions`` and the FFT length; onsets applied as exact phase shifts."""
    filters, onsets = hrtf.lookup(directions)
    n_fft = max(256, 1 << int(np.ceil(np.log2(2 * (filters.shape[-1] + onsets.max()) + lead))))
    phase = np.exp(-2j * np.pi * np.arange(n_fft // 2 + 1) * onsets[..., None] / n_fft)
    return (sfft.rfft(filters, n=n_fft, axis=-1) * phase).transpose(2, 0, 1), n_fft


def _bulk_delay(omni: np.ndarray, first: int) -> np.ndarray:
    """Whole-sample delay per ear, ``(2,)``: median group delay of the omni filters ``(F, 2)`` below bin ``first``."""
    phase = np.unwrap(np.angle(omni[: max(first, 8)]), axis=0)
    return np.round(np.median(-np.diff(phase, axis=0), axis=0) * (len(omni) - 1) / np.pi)


@lru_cache(maxsize=8)
def _binaural(order: int, hrtf, sr: int, method: str) -> np.ndarray:
    hrtf, lead = hrtf.resampled(sr), binaural_lead(sr)
    if method == "virtual":
        virtual, sampling = _sampling_decoder(order, "max-re")
        target, n_fft = _hrtf_spectra(hrtf, virtual, lead)
        coeffs = sampling.T @ target  # (F, K, 2)
    else:
        grid = sphere_grid(FIT_POINTS)
        target, n_fft = _hrtf_spectra(hrtf, grid, lead)
        sh = sh_matrix(order, grid)
        pinv = np.linalg.pinv(sh)
        coeffs = pinv @ target  # least squares in every bin
    if method == "magls":
        first = max(1, int(np.ceil(magls_cutoff(order) * n_fft / sr)))
        delay = np.exp(-2j * np.pi * np.arange(len(coeffs))[:, None] * _bulk_delay(coeffs[:, 0], first) / n_fft)
        coeffs /= delay[:, None, :]  # phases carried upward relative to the common delay of each ear
        magnitude = np.abs(target)
        for f in range(first, len(coeffs)):
            phase = np.angle(sh @ coeffs[f - 1])
            coeffs[f] = pinv @ (magnitude[f] * np.exp(1j * phase))
        coeffs *= delay[:, None, :]
    filters = np.roll(sfft.irfft(coeffs, n=n_fft, axis=0), lead, axis=0).transpose(2, 1, 0)
    fade = int(FADE_FRACTION * n_fft)
    filters[..., :lead] *= np.hanning(2 * lead)[:lead]
    filters[..., n_fft - fade :] *= np.hanning(2 * fade)[fade:]
    filters.flags.writeable = False
    return filters


def binaural_decoder(order: int, hrtf, sr: int, *, method: str = "magls") -> np.ndarray:
    """FIR filters ``(2, K, taps)`` rendering an AmbiX signal for headphones at ``sr`` Hz.

    Ear ``e`` (0 left, 1 right) hears ``sum_k filters[e, k] * ambi[k]``, delayed by
    :func:`binaural_lead` samples (2 ms, which holds the non-causal part of MagLS;
    :func:`decode_binaural` removes it). Apart from that delay the filters keep the
    HRTF's timing (its onsets). The HRTF (``spatial.hrtf.HRTF``, resampled to ``sr``) is
    evaluated on uniform directions, each onset applied as an exact phase shift.

    ``method``:

    * ``"magls"``: Magnitude Least Squares (Schörkhuber, Zaunschirm & Höldrich, DAGA
      2018). Per frequency bin, the SH-domain filters are a least-squares fit to the
      HRTFs on :data:`FIT_POINTS` directions below :func:`magls_cutoff`; above it only
      the magnitudes are fitted, each direction keeping the phase that the previous
      bin's solution gives it (relative to each ear's median group delay).
    * ``"ls"``: the least-squares fit in every bin.
    * ``"virtual"``: a max-rE sampling decoder onto :data:`VIRTUAL_POINTS` virtual
      loudspeakers whose HRTFs are summed.

    All filters start with a half-Hann fade-in over the lead and end with a half-Hann
    fade-out over their last :data:`FADE_FRACTION`.
    """
    from soundstage.spatial.hrtf import HRTF

    order = _check_order(order)
    if method not in BINAURAL_METHODS:
        raise InvalidAudioError(f"unknown binaural decoding method {method!r}; expected one of {BINAURAL_METHODS}")
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise InvalidAudioError(f"sample rate must be a positive int (Hz), found {sr!r}")
    if not isinstance(hrtf, HRTF):
        raise InvalidAudioError(f"hrtf is a {type(hrtf).__name__}; expected a soundstage.spatial.hrtf.HRTF")
    return _binaural(order, hrtf, int(sr), method).copy()


def decode_binaural(ambi: np.ndarray, sr: int, *, hrtf=None, method: str = "magls") -> np.ndarray:
    """Headphone signals ``(2, N)`` [left, right], float32, of an AmbiX signal ``(K, N)`` at ``sr`` Hz.

    ``hrtf`` defaults to :func:`soundstage.spatial.hrtf.default_hrtf`; ``method`` as in
    :func:`binaural_decoder`. The output is aligned with the input (the filters' lead
    removed) and cut to its length ``N``; the sum over channels is taken in the frequency
    domain (:func:`soundstage.dsp.convolve.convolve_sum`).
    """
    x, order = _order_of(ambi)
    if x.ndim != 2:
        raise InvalidAudioError(f"ambisonic signal has shape {x.shape}; expected (K, samples)")
    if hrtf is None:
        from soundstage.spatial.hrtf import default_hrtf

        hrtf = default_hrtf()
    filters, lead = binaural_decoder(order, hrtf, sr, method=method), binaural_lead(sr)
    return convolve_sum(list(x), list(filters.transpose(1, 0, 2)))[:, lead : lead + x.shape[1]]


class Ambisonics(Receiver):
    """An ideal AmbiX microphone of order ``0..MAX_ORDER``: gains ``Y(d)`` for a plane wave from ``d``.

    ``channels = (order + 1) ** 2``, ``layout = f"ambix{order}"``. The orientation
    (degrees) turns the microphone: its world-frame response is
    ``sh_rotation(order, yaw, pitch, roll).T @ Y(d)``.
    """

    def __init__(self, order: int, *, yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0):
        self.order = _check_order(order)
        self.channels = (self.order + 1) ** 2
        self.layout = f"ambix{self.order}"
        self.orientation = _angles(yaw_deg, pitch_deg, roll_deg)

    def head_response(self, directions: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
        """Gains as one-tap filters ``(n, K, 1)`` and zero offsets ``(n, K)``."""
        gains = sh_matrix(self.order, directions)
        return gains[:, :, None], np.zeros_like(gains)
