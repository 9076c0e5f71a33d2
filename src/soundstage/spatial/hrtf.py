"""Head-related transfer functions: measured (SOFA) or modelled (spherical head).

An :class:`HRTF` stores, per measured direction, the two ears' impulse responses with
their onsets removed (``filters``, all starting at the same instant) and the onsets
themselves (``onsets``, samples). Interpolating aligned filters and onsets separately
keeps interaural time differences exact and avoids the comb filtering of mixing
responses with different delays. Every set is scaled to one level convention: the
diffuse-field power (mean over directions and both ears) in 200-800 Hz is 1, so a
source at 1 m renders at about the level of the mono engine's unit gain at 1 m.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import h5py
import numpy as np
from scipy import fft as sfft
from scipy.spatial import ConvexHull, QhullError, cKDTree

from soundstage.acoustics.receiver import DIFFUSE_GRID
from soundstage.constants import SPEED_OF_SOUND
from soundstage.dsp.resample import resample
from soundstage.errors import FileFormatError, InvalidAudioError, InvalidGeometryError
from soundstage.geometry import azel_to_vector, sphere_grid, unit, vector_to_azel

#: The MIT KEMAR set shipped with libmysofa, used when ``SOUNDSTAGE_HRTF`` is not set.
DEFAULT_SOFA = "/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa"
#: Environment variable naming a SOFA file to use instead of :data:`DEFAULT_SOFA`.
HRTF_ENV = "SOUNDSTAGE_HRTF"
#: Length of the onset-aligned filters (s), the last ``FADE_S`` of it faded out.
FILTER_S = 0.005
FADE_S = 0.001
#: Time kept before each onset in the aligned filters (s): the common latency.
PRE_S = 0.00025
#: Onset threshold re the peak of the oversampled envelope (dB) and the oversampling factor.
ONSET_DB = -20.0
OVERSAMPLE = 8
#: Band (Hz) whose diffuse-field power is normalised to 1.
NORM_BAND = (200.0, 800.0)

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class HRTF:
    """A head-related transfer function set on directions of the head frame.

    Attributes
    ----------
    directions : (M, 3) unit vectors toward the measured sources (head frame).
    filters : (M, 2, T) onset-aligned impulse responses ``[left, right]``.
    onsets : (M, 2) delay of each ear in samples, ``>= 0``, removed from ``filters``.
    sr : sample rate (Hz).
    name : the SOFA path, or ``"spherical head (Brown & Duda 1998)"``.
    latency : where the acoustic onset sits inside every filter (samples): rendered at
        offset ``onsets``, an ear hears the sound ``onsets + latency`` samples later.
    """

    directions: np.ndarray
    filters: np.ndarray
    onsets: np.ndarray
    sr: int
    name: str
    latency: float = 0.0

    def __post_init__(self) -> None:
        dirs = unit(np.asarray(self.directions, dtype=float))
        filters = np.array(self.filters, dtype=float)
        onsets = np.array(self.onsets, dtype=float)
        m = len(dirs)
        if dirs.ndim != 2 or dirs.shape[1] != 3 or m < 4:
            raise InvalidGeometryError(f"HRTF directions have shape {dirs.shape}; expected (M >= 4, 3)")
        if filters.ndim != 3 or filters.shape[:2] != (m, 2) or not np.all(np.isfinite(filters)):
            raise InvalidAudioError(f"HRTF filters have shape {filters.shape}; expected finite ({m}, 2, taps)")
        if onsets.shape != (m, 2) or not np.all(np.isfinite(onsets)) or np.any(onsets < 0):
            raise InvalidAudioError(f"HRTF onsets have shape {onsets.shape}; expected finite ({m}, 2) values >= 0")
        if not (np.isfinite(self.latency) and self.latency >= 0):
            raise InvalidAudioError(f"HRTF latency is {self.latency!r}; expected a finite number of samples >= 0")
        object.__setattr__(self, "sr", _rate(self.sr))
        object.__setattr__(self, "latency", float(self.latency))
        for name, value in (("directions", dirs), ("filters", filters), ("onsets", onsets)):
            value.flags.writeable = False
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_mesh", _Mesh(dirs))
        object.__setattr__(self, "_rates", {})

    @property
    def azimuths(self) -> np.ndarray:
        """Azimuth of each direction, degrees in (-180, 180] (see :mod:`soundstage.geometry`)."""
        return vector_to_azel(self.directions)[0]

    @property
    def elevations(self) -> np.ndarray:
        """Elevation of each direction, degrees in [-90, 90]."""
        return vector_to_azel(self.directions)[1]

    def lookup(self, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Filters and onsets for arbitrary directions, interpolated on the sphere.

        The measured directions are triangulated (their convex hull); a direction takes
        the three vertices of the triangle its ray crosses, weighted by their barycentric
        (VBAP) gains normalised to sum 1, and mixes their aligned filters and onsets
        linearly. A measured direction returns exactly its own data. Where the set has a
        gap (e.g. below the lowest measured elevation) the hull spans it with large
        triangles, so those directions get a smooth blend of the gap's rim.

        Parameters
        ----------
        directions : (n, 3) or (3,) direction vectors (head frame; any non-zero length).

        Returns
        -------
        filters : (n, 2, T) float64; onsets : (n, 2) samples.
        """
        d = np.atleast_2d(np.asarray(directions, dtype=float))
        if d.ndim != 2 or d.shape[1] != 3:
            raise InvalidGeometryError(f"directions have shape {np.shape(directions)}; expected (n, 3) or (3,)")
        vertices, weights = self._mesh.weights(unit(d))
        filters = sum(weights[:, k, None, None] * self.filters[vertices[:, k]] for k in range(3))
        onsets = np.einsum("nk,nke->ne", weights, self.onsets[vertices])
        return filters, onsets

    def resampled(self, sr: int) -> HRTF:
        """This set at sample rate ``sr`` (soxr on the filters, onsets scaled); cached per rate."""
        sr = _rate(sr)
        if sr == self.sr:
            return self
        if sr not in self._rates:
            m, _, taps = self.filters.shape
            # An impulse response resampled as a signal gains sr / self.sr: undo it to keep the frequency response.
            filters = resample(self.filters.reshape(2 * m, taps), sr_in=self.sr, sr_out=sr) * (self.sr / sr)
            ratio = sr / self.sr
            self._rates[sr] = HRTF(self.directions, filters.reshape(m, 2, -1), self.onsets * ratio, sr, self.name,
                                   self.latency * ratio)
        return self._rates[sr]

    def impulse_responses(self, directions: np.ndarray) -> np.ndarray:
        """Complete head-related impulse responses toward ``directions`` ``(n, 3)`` or ``(3,)``.

        Returns ``(n, 2, N)`` [left, right]: the interpolated filters, each delayed by its
        fractional onset exactly (a linear phase on an FFT grid twice as long as the
        result, so nothing wraps around); ``N = ceil(max(onsets)) + T`` samples.
        """
        filters, onsets = self.lookup(directions)
        length = int(np.ceil(onsets.max())) + filters.shape[-1]
        nfft = sfft.next_fast_len(2 * length, real=True)
        phase = np.exp(-2j * np.pi * onsets[..., None] * (np.arange(nfft // 2 + 1) / nfft))
        return sfft.irfft(sfft.rfft(filters, nfft, axis=-1) * phase, nfft, axis=-1)[..., :length]


class _Mesh:
    """Triangulation of unit vectors (their convex hull) with precomputed barycentric solvers."""

    def __init__(self, points: np.ndarray) -> None:
        try:
            hull = ConvexHull(points)
        except QhullError as exc:
            raise InvalidGeometryError(
                f"HRTF directions ({len(points)}) cannot be triangulated ({str(exc).splitlines()[0]}); "
                "expected directions spread around the head, not all in one plane"
            ) from None
        if np.any(hull.equations[:, 3] > -1e-6):
            raise InvalidGeometryError("HRTF directions leave a hemisphere uncovered; expected directions all around the head")
        self.triangles = hull.simplices
        self.solvers = np.linalg.inv(points[self.triangles])  # g = d @ solver  <=>  d = g @ vertices
        # A ray from the centre leaves the hull through the plane it meets first, the one
        # maximising d . normal / distance; Qhull gives the triangles of one flat face
        # (a cap over a gap, a trapezoid between rings) the same plane.
        planes, group = np.unique(hull.equations, axis=0, return_inverse=True)
        self.reach = np.ascontiguousarray((planes[:, :3] / -planes[:, 3:]).T)
        group = group.ravel()
        order = np.argsort(group, kind="stable")
        counts = np.bincount(group)
        starts = np.cumsum(counts) - counts
        self.members = np.repeat(order[starts][:, None], counts.max(), axis=1)  # padded with the first
        self.members[group[order], np.arange(len(group)) - starts[group[order]]] = order
        self.points = cKDTree(points)

    def weights(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vertex indices ``(n, 3)`` and interpolation weights ``(n, 3)`` for unit vectors ``d``."""
        plane = np.concatenate([np.argmax(d[i : i + 1024] @ self.reach, axis=1) for i in range(0, max(len(d), 1), 1024)])
        tri = self.members[plane, 0]
        g = np.einsum("nj,njl->nl", d, self.solvers[tri])
        for attempt in range(2):  # the other triangles of a flat face, then (never seen) all of them
            missed = np.flatnonzero(g.min(axis=1) < -1e-9)
            if not missed.size:
                break
            every = np.arange(len(self.triangles))
            cand = self.members[plane[missed]] if attempt == 0 else np.broadcast_to(every, (missed.size, every.size))
            gains = np.einsum("kj,ksjl->ksl", d[missed], self.solvers[cand])
            best = np.argmax(gains.min(axis=2), axis=1)
            tri[missed], g[missed] = cand[np.arange(missed.size), best], gains[np.arange(missed.size), best]
        g = np.clip(g, 0.0, None)
        vertices, weights = self.triangles[tri], g / g.sum(axis=1, keepdims=True)
        dist, nearest = self.points.query(d)
        exact = dist < 1e-9
        vertices[exact] = nearest[exact, None]
        weights[exact] = [1.0, 0.0, 0.0]
        return vertices, weights


def _onsets(spectra: np.ndarray, nfft: int, n: int) -> np.ndarray:
    """Onsets (samples) of responses of length ``n`` given by their ``rfft(., nfft)``.

    The onset is where the magnitude of the response, oversampled ``OVERSAMPLE`` times
    by band-limited interpolation, first reaches ``ONSET_DB`` below its peak (linear
    interpolation between oversampled points, so a fraction of a sample). -20 dB
    catches the weak first arrival diffracted around the head to the far ear (whose
    peak comes much later) while staying well above measurement noise. The waveform
    itself is used rather than its Hilbert envelope: the envelope's slowly decaying
    tails (from the response's low-frequency content) rise before the sound does, by
    an amount that differs between the bright and the shadowed ear, which would bias
    the interaural time difference.
    """
    env = np.abs(sfft.irfft(spectra, nfft * OVERSAMPLE, axis=1)[:, : n * OVERSAMPLE])
    threshold = env.max(axis=1) * 10.0 ** (ONSET_DB / 20.0)
    i = np.argmax(env >= threshold[:, None], axis=1)
    rows = np.arange(len(env))
    below, above = env[rows, np.maximum(i - 1, 0)], env[rows, i]
    frac = np.where(i > 0, (threshold - below) / np.maximum(above - below, 1e-300), 1.0)
    return (i - 1 + frac) / OVERSAMPLE


def _aligned(ir: np.ndarray, sr: int, delay: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Onset-aligned filters ``(M, 2, T)`` and onsets ``(M, 2)`` of raw HRIRs ``(M, 2, N)``.

    Each response is advanced (by an exact band-limited phase shift) so that its onset
    falls ``PRE_S`` after the filter start, cut to ``FILTER_S`` with a raised-cosine
    fade-out over the last ``FADE_S``. Onsets (plus the file's ``delay``) are returned
    relative to the earliest one.
    """
    m, _, n = ir.shape
    pre, taps, fade = PRE_S * sr, int(round(FILTER_S * sr)), int(round(FADE_S * sr))
    nfft = sfft.next_fast_len(2 * n + taps, real=True)
    freqs = np.arange(nfft // 2 + 1) / nfft
    rows = ir.reshape(2 * m, n)
    onsets, filters = np.empty(2 * m), np.empty((2 * m, taps))
    for start in range(0, 2 * m, 128):  # bounded memory for the oversampled envelopes
        spectra = sfft.rfft(rows[start : start + 128], nfft)
        t = _onsets(spectra, nfft, n)
        shift = np.exp(2j * np.pi * freqs * (t - pre)[:, None])
        onsets[start : start + 128] = t
        filters[start : start + 128] = sfft.irfft(spectra * shift, nfft)[:, :taps]
    filters[:, taps - fade :] *= 0.5 * (1.0 + np.cos(np.pi * (np.arange(fade) + 1) / fade))
    onsets = onsets.reshape(m, 2) + delay
    return filters.reshape(m, 2, taps), onsets - onsets.min()


def _normalised(hrtf: HRTF) -> HRTF:
    """``hrtf`` scaled so that its diffuse-field power in :data:`NORM_BAND` is 1.

    The average runs over a uniform grid of directions (through :meth:`HRTF.lookup`),
    so unevenly spaced measurements count by the solid angle they stand for.
    """
    filters, _ = hrtf.lookup(sphere_grid(DIFFUSE_GRID))
    nfft = sfft.next_fast_len(max(filters.shape[-1], hrtf.sr // 10), real=True)
    freqs = np.arange(nfft // 2 + 1) * hrtf.sr / nfft
    band = (freqs >= NORM_BAND[0]) & (freqs <= NORM_BAND[1])
    power = np.mean(np.abs(sfft.rfft(filters, nfft)[..., band]) ** 2)
    return HRTF(hrtf.directions, hrtf.filters / np.sqrt(power), hrtf.onsets, hrtf.sr, hrtf.name, hrtf.latency)


def _rate(sr: object) -> int:
    """``sr`` as a positive integer number of Hz, else :class:`InvalidAudioError`."""
    if (isinstance(sr, bool) or not isinstance(sr, (int, float, np.integer, np.floating)) or not np.isfinite(sr)
            or sr <= 0 or sr != int(sr)):
        raise InvalidAudioError(f"sample rate must be a positive integer in Hz, got {sr!r}")
    return int(sr)


def _text(value: object) -> str:
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else b""
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", "replace").strip()
    return "" if isinstance(value, h5py.Empty) else str(value).strip()


def _read(f: h5py.File, path: str, name: str) -> np.ndarray:
    try:
        return np.asarray(f[name][()], dtype=float)
    except (KeyError, TypeError, ValueError):
        raise FileFormatError(f"SOFA file {path} has no numeric variable {name!r}; "
                              "expected a SimpleFreeFieldHRIR file") from None


def _positions(f: h5py.File, path: str, name: str) -> np.ndarray:
    """A SOFA position variable as ``(K, 3)`` vectors in soundstage's frame (x right, y forward)."""
    pos = _read(f, path, name)
    pos = pos[..., 0] if pos.ndim == 3 else np.atleast_2d(pos)
    kind = _text(f[name].attrs.get("Type", "cartesian")).lower()
    if kind == "spherical":
        angles = pos[:, :2]
        if "rad" in _text(f[name].attrs.get("Units", "degree")).lower().split(",")[0]:
            angles = np.degrees(angles)
        return azel_to_vector(angles[:, 0], angles[:, 1]) * pos[:, 2:3]
    if kind == "cartesian":  # SOFA: x front, y left, z up
        return np.stack([-pos[:, 1], pos[:, 0], pos[:, 2]], axis=1)
    raise FileFormatError(f"SOFA {name} in {path} has Type {kind!r}; expected 'spherical' or 'cartesian'")


def load_sofa(path: str | os.PathLike) -> HRTF:
    """Read a SOFA ``SimpleFreeFieldHRIR`` file (netCDF4/HDF5) into an :class:`HRTF`.

    Source positions (spherical in degrees, or cartesian) become head-frame unit
    vectors; the receivers are ordered left, right by their lateral coordinate; the
    responses are onset-aligned (see :func:`_onsets`: -20 dB envelope threshold, exact
    to a fraction of a sample), cut to ``FILTER_S`` = 5 ms (the part of an HRIR that
    matters; the room supplies anything later) and normalised to the level convention
    of this module. ``Data.Delay`` (samples) is added to the onsets.

    Raises
    ------
    FileFormatError
        Missing file, not HDF5, another SOFA convention, or missing/misshapen variables.
    """
    path = str(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise FileFormatError(f"cannot read {path} as a SOFA (HDF5) file: {exc}") from None
    with f:
        convention = _text(f.attrs.get("SOFAConventions", ""))
        if convention != "SimpleFreeFieldHRIR":
            raise FileFormatError(f"SOFA file {path} uses convention {convention!r}; expected 'SimpleFreeFieldHRIR'")
        ir = _read(f, path, "Data.IR")
        sr = float(_read(f, path, "Data.SamplingRate").ravel()[0])
        m = ir.shape[0]
        delay = _read(f, path, "Data.Delay") if "Data.Delay" in f else np.zeros((1, 2))
        sources = _positions(f, path, "SourcePosition")
        ears = _positions(f, path, "ReceiverPosition")
    if ir.ndim != 3 or ir.shape[1] != 2 or not np.all(np.isfinite(ir)):
        raise FileFormatError(f"SOFA Data.IR in {path} has shape {ir.shape}; expected finite (M, 2, N)")
    if len(sources) not in (1, m) or delay.reshape(-1, 2).shape[0] not in (1, m) or sr <= 0 or sr != round(sr):
        raise FileFormatError(f"SOFA {path} has {len(sources)} source positions, delays {delay.shape}, rate {sr}; "
                              f"expected {m} positions, (1 or {m}, 2) delays and an integer rate in Hz")
    delay = np.broadcast_to(delay.reshape(-1, 2), (m, 2))
    if len(ears) == 2 and ears[0, 0] > ears[1, 0]:  # receiver 0 on the right (+x): swap to [left, right]
        ir, delay = ir[:, ::-1], delay[:, ::-1]
    filters, onsets = _aligned(ir, int(sr), delay)
    dirs = unit(np.broadcast_to(sources, (m, 3)))
    return _normalised(HRTF(dirs, filters, onsets, int(sr), path, PRE_S * sr))


def spherical_head_hrtf(
    sr: int = 48000,
    *,
    radius: float = 0.0875,
    ear_azimuth: float = 100.0,
    alpha_min: float = 0.1,
    theta_min: float = 150.0,
    azimuth_step: float = 5.0,
    elevation_step: float = 10.0,
) -> HRTF:
    """Analytic HRTF of a rigid spherical head (Brown & Duda 1998).

    Each ear gets the head-shadow filter ``H(s) = (alpha s + beta) / (s + beta)``,
    ``beta = 2 c / a``, ``alpha(theta) = (1 + alpha_min/2) + (1 - alpha_min/2) cos(pi theta / theta_min)``
    with ``theta`` the angle between the source and the ear, made digital by the bilinear
    transform pre-warped at ``beta``: 0 dB at low frequency, at high frequency +6 dB
    facing the ear and ``alpha_min`` (-20 dB) in the deepest shadow. The delay is
    Woodworth's for ears on the interaural axis: ``-a/c cos(theta)`` up to 90 deg from
    the ear, ``a/c (theta - pi/2)`` beyond, plus ``a/c`` so that it is ``>= 0``; in the
    horizontal plane the interaural time difference is ``a/c (phi + sin phi)``.

    Parameters
    ----------
    sr : sample rate (Hz).
    radius : head radius ``a`` (m).
    ear_azimuth : the shadow filters' ears sit at azimuth ``+ear_azimuth`` (left) and
        ``-ear_azimuth`` (right) degrees, a little behind the interaural axis as on a real head.
    alpha_min, theta_min : depth (linear) and angle (degrees from the ear) of the deepest shadow.
    azimuth_step, elevation_step : design grid (degrees), both poles included.

    Returns
    -------
    HRTF
        Minimum-phase filters (latency 0) normalised like measured sets.
    """
    sr = _rate(sr)
    if not (0 < radius < 1 and 0 < alpha_min < 2 and 90 < theta_min <= 180 and 0 < azimuth_step <= 90
            and 0 < elevation_step <= 90):
        raise InvalidGeometryError(
            f"spherical head parameters radius={radius}, alpha_min={alpha_min}, theta_min={theta_min}, steps "
            f"{azimuth_step}/{elevation_step}; expected 0 < radius < 1 m, 0 < alpha_min < 2, 90 < theta_min <= 180, "
            "steps in (0, 90] degrees"
        )
    az = np.arange(0.0, 360.0, azimuth_step)
    el = np.arange(-90.0 + elevation_step, 90.0 - 1e-9, elevation_step)
    grid = azel_to_vector(*np.meshgrid(az, el)).reshape(-1, 3)
    dirs = np.concatenate([grid, [[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]]])
    ears = azel_to_vector([ear_azimuth, -ear_azimuth], 0.0)
    theta = np.arccos(np.clip(dirs @ ears.T, -1.0, 1.0))  # (M, 2)
    alpha = (1 + alpha_min / 2) + (1 - alpha_min / 2) * np.cos(theta / np.radians(theta_min) * np.pi)
    beta = 2.0 * SPEED_OF_SOUND / radius
    k = beta / np.tan(beta / (2.0 * sr))
    b0, b1, a1 = (alpha * k + beta) / (k + beta), (beta - alpha * k) / (k + beta), (beta - k) / (k + beta)
    n = np.arange(1, int(round(FILTER_S * sr)))
    tail = (b1 - a1 * b0)[..., None] * (-a1) ** (n - 1)
    filters = np.concatenate([b0[..., None], tail], axis=-1)
    axis = np.arccos(np.clip(dirs @ azel_to_vector([90.0, -90.0], 0.0).T, -1.0, 1.0))
    delay = np.where(axis < np.pi / 2, -np.cos(axis), axis - np.pi / 2) * radius / SPEED_OF_SOUND
    onsets = (delay + radius / SPEED_OF_SOUND) * sr
    return _normalised(HRTF(dirs, filters, onsets, int(sr), "spherical head (Brown & Duda 1998)"))


@lru_cache(maxsize=4)
def _cached_sofa(path: str, mtime: float) -> HRTF:
    return load_sofa(path)


@lru_cache(maxsize=4)
def _cached_sphere(sr: int) -> HRTF:
    return spherical_head_hrtf(sr)


def default_hrtf(sr: int | None = None) -> HRTF:
    """The HRTF set to use when none is given, at rate ``sr`` (its own rate when ``None``).

    The SOFA file named by ``$SOUNDSTAGE_HRTF`` (an error if it does not exist), else
    :data:`DEFAULT_SOFA` when present, else the spherical head model (with a warning).
    Loaded sets are cached.
    """
    explicit = os.environ.get(HRTF_ENV, "").strip()
    if explicit and not Path(explicit).is_file():
        raise FileFormatError(f"{HRTF_ENV}={explicit!r} does not name a file; expected the path of a SOFA HRTF file")
    path = explicit or DEFAULT_SOFA
    if Path(path).is_file():
        hrtf = _cached_sofa(str(Path(path).resolve()), os.path.getmtime(path))
    else:
        log.warning("no SOFA HRTF file found (%s is not set and %s does not exist); "
                    "using the spherical head model instead", HRTF_ENV, path)
        hrtf = _cached_sphere(48000 if sr is None else int(sr))
    return hrtf if sr is None else hrtf.resampled(sr)
