"""Moving sources: one source following a trajectory, rendered in free field into a receiver.

The source emits ``signal`` from its first sample at time 0. Sound received at time
``t`` left the source at the emission time ``t - tau(t)``, where ``c tau`` is the distance
from the listener to where the source was at that moment (the retarded time, solved
exactly on each straight piece of the trajectory). The renderer

* reads the signal through a time-varying fractional delay line (windowed-sinc
  interpolation, ``HALF_TAPS`` taps either side) at ``t - tau(t)``: a changing distance
  changes the pitch, which is the Doppler shift ``f c / (c + v)`` of a source receding
  at radial speed ``v``;
* scales every sample by ``1 / max(r, min_distance)`` (spherical spreading, unit gain at
  1 m), with ``r`` the emission distance;
* asks the receiver for its response to the direction of arrival at block centres
  ``hop`` samples apart; per-channel offsets (e.g. interaural delays) are interpolated
  smoothly between centres and added to the delay line of that channel, and the filters
  are applied to overlapping two-hop frames whose outputs are crossfaded with
  ``sin**2`` / ``cos**2`` windows that sum to one, so a filter that does not change over
  time gives exactly the time-invariant result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft as sfft

from soundstage.acoustics.receiver import Receiver
from soundstage.constants import SPEED_OF_SOUND
from soundstage.dsp.delay import sinc_kernels
from soundstage.errors import InvalidAudioError, InvalidGeometryError

#: Half-length of the delay-line interpolator (``2 * HALF_TAPS + 1`` taps; flat within
#: 0.03 dB up to 0.9 of the Nyquist frequency at every fractional delay).
HALF_TAPS = 16
#: Fractional delays are tabulated at this many phases and interpolated linearly between them.
PHASES = 1024
#: Default block hop: the smallest power of two of samples lasting at least this long (5-10 ms).
BLOCK_SECONDS = 0.005
#: Output samples rendered at once (rounded to whole blocks; bounds working memory).
SEGMENT = 1 << 15
#: A source closer than this (metres) to the listener has no direction.
AT_LISTENER = 1e-9


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A path through space: ``positions[k]`` (metres) reached at ``times[k]`` (seconds).

    Times count from the first sample of the rendered signal. Between points the
    source moves in a straight line at constant speed; before the first and after the
    last time it stays put. A single point is a static source.

    Parameters
    ----------
    times : array, shape ``(K,)``
        Strictly increasing, finite, seconds.
    positions : array, shape ``(K, 3)``
        Finite positions in metres (x right, y forward, z up).
    """

    times: np.ndarray
    positions: np.ndarray

    def __post_init__(self) -> None:
        times = np.array(self.times, dtype=float)
        positions = np.array(self.positions, dtype=float)
        if times.ndim != 1 or times.size == 0:
            raise InvalidGeometryError(f"trajectory times have shape {times.shape}; expected (K,) with K >= 1")
        if positions.shape != (times.size, 3):
            raise InvalidGeometryError(
                f"trajectory positions have shape {positions.shape}; expected ({times.size}, 3), one per time"
            )
        if not (np.all(np.isfinite(times)) and np.all(np.isfinite(positions))):
            raise InvalidGeometryError("trajectory times or positions contain NaN or infinity; expected finite numbers")
        bad = np.flatnonzero(np.diff(times) <= 0)
        if bad.size:
            i = int(bad[0]) + 1
            raise InvalidGeometryError(
                f"trajectory times must be strictly increasing; times[{i}] = {times[i]:g} s "
                f"does not come after times[{i - 1}] = {times[i - 1]:g} s"
            )
        times.flags.writeable = False
        positions.flags.writeable = False
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "positions", positions)

    @classmethod
    def from_points(cls, points) -> "Trajectory":
        """Build from ``[[t, [x, y, z]], ...]`` (the form used in scene files)."""
        times, positions = [], []
        for i, point in enumerate(points):
            try:
                t, xyz = point
                times.append(float(t))
                positions.append(np.asarray(xyz, dtype=float).reshape(3))
            except (TypeError, ValueError) as exc:
                raise InvalidGeometryError(f"trajectory point {i} is {point!r}; expected [time, [x, y, z]]") from exc
        if not times:
            raise InvalidGeometryError("trajectory has no points; expected [[time, [x, y, z]], ...]")
        return cls(np.array(times), np.array(positions))

    def position_at(self, t) -> np.ndarray:
        """Positions at times ``t`` (any shape, seconds): shape ``t.shape + (3,)``, metres."""
        t = np.asarray(t, dtype=float)
        cols = [np.interp(t, self.times, self.positions[:, k]) for k in range(3)]
        return np.stack(cols, axis=-1)


def render_moving(
    signal: np.ndarray,
    sr: int,
    trajectory: Trajectory,
    listener: np.ndarray,
    receiver: Receiver,
    *,
    doppler: bool = True,
    block: int | None = None,
    min_distance: float = 0.1,
) -> np.ndarray:
    """Render a source moving along ``trajectory`` in free field into ``receiver``.

    Parameters
    ----------
    signal : array, shape ``(N,)``
        What the source emits; sample 0 leaves it at time 0.
    sr : int
        Sample rate in Hz.
    trajectory : Trajectory or ``[[t, [x, y, z]], ...]``
        Where the source is over time (seconds, metres).
    listener : array, shape ``(3,)``
        Receiver position in metres; its orientation is ``receiver.orientation``.
    receiver : Receiver
        Any receiver (Omni, binaural head, ambisonic microphone, loudspeaker rig).
    doppler : bool
        True: the delay follows the distance sample by sample (pitch shifts with radial
        speed). False: the delay is held at the distance at time 0, so the pitch never
        changes; gain and direction still follow the trajectory. True needs a source
        slower than sound.
    block : int, optional
        Hop in samples between receiver updates; default is the smallest power of two
        lasting at least ``BLOCK_SECONDS`` (256 samples at 48 kHz, 5.3 ms).
    min_distance : float
        Metres; closer passes are clamped to it for the ``1 / r`` gain (delay and
        direction keep the true geometry).

    Returns
    -------
    array, float32, shape ``(receiver.channels, N + extra)``
        ``extra`` covers the largest propagation delay and channel offset, the
        interpolator half-length and the receiver's filter length.
    """
    x = _as_signal(signal)
    sr = _positive_int(sr, "sample rate")
    if not isinstance(trajectory, Trajectory):
        trajectory = Trajectory.from_points(trajectory)
    listener = np.asarray(listener, dtype=float)
    if listener.shape != (3,) or not np.all(np.isfinite(listener)):
        raise InvalidGeometryError(f"listener position is {listener.tolist()}; expected finite [x, y, z] in metres")
    if not (np.isfinite(min_distance) and min_distance > 0):
        raise InvalidGeometryError(f"min_distance is {min_distance}; expected a positive distance in metres")
    hop = _positive_int(block, "block") if block is not None else int(2 ** np.ceil(np.log2(BLOCK_SECONDS * sr)))
    geometry = _Geometry(trajectory, listener, sr, doppler)

    n = x.size
    reach = geometry.max_delay(n / sr) * sr
    filters, offsets = geometry.responses(receiver, np.arange((n + int(reach) + HALF_TAPS) // hop + 3) * hop)
    taps = filters.shape[2]
    length = n + int(np.ceil(reach + offsets.max())) + HALF_TAPS + taps
    n_centres = -(-length // hop) + 2
    if n_centres > len(filters):
        more_f, more_o = geometry.responses(receiver, np.arange(len(filters), n_centres) * hop)
        filters, offsets = np.concatenate([filters, more_f]), np.concatenate([offsets, more_o])

    out = np.empty((filters.shape[1], length), dtype=np.float32)
    columns, which = np.unique(offsets, axis=1, return_inverse=True)
    segment = hop * max(1, SEGMENT // hop)
    width = 2 * HALF_TAPS + 1
    windows = sliding_window_view(np.concatenate([np.zeros(width), x, np.zeros(width)]), width)
    for a in range(0, length, segment):
        b = min(a + segment, length)
        # Samples the frames of output [a, b) read: one hop and the filter length before, one hop after.
        span = np.arange(a - hop - taps + 1, (-(-b // hop) + 1) * hop)
        delay, rel = geometry.emission(span / sr)
        gain = np.where(span >= 0, 1.0 / np.maximum(np.linalg.norm(rel, axis=1), min_distance), 0.0)
        fade = _fade(hop, span)
        for k in range(columns.shape[1]):
            total = delay * sr + _blend(columns[:, k], fade)
            delayed = _delay_line(windows, span, total, gain)
            for c in np.flatnonzero(which.ravel() == k):
                out[c, a:b] = _crossfade_filter(delayed, filters[:, c], hop, a, b, fade)
    if not np.all(np.isfinite(out)):
        raise InvalidAudioError("moving-source render produced non-finite samples; check the signal level")
    return out


class _Geometry:
    """Emission delay and position of the source for any reception times."""

    def __init__(self, trajectory: Trajectory, listener: np.ndarray, sr: int, doppler: bool) -> None:
        self.trajectory, self.listener, self.sr, self.doppler = trajectory, listener, sr, doppler
        rel = trajectory.positions - listener
        dist = np.linalg.norm(rel, axis=1)
        if np.all(dist <= AT_LISTENER):
            raise InvalidGeometryError(
                f"source at the listener's position {listener.tolist()}; expected a source some distance away"
            )
        self.rel, self.times = rel, trajectory.times
        velocity = np.diff(rel, axis=0) / np.diff(self.times)[:, None]
        speed = np.linalg.norm(velocity, axis=1)
        if doppler and np.any(speed >= SPEED_OF_SOUND):
            i = int(np.argmax(speed >= SPEED_OF_SOUND))
            raise InvalidGeometryError(
                f"trajectory moves at {speed[i]:.1f} m/s between points {i} and {i + 1}; expected slower than "
                f"sound ({SPEED_OF_SOUND} m/s) when doppler=True"
            )
        # Piece s runs from point s-1 to point s; piece 0 (before) and piece K (after) stand still.
        self.velocity = np.concatenate([np.zeros((1, 3)), velocity, np.zeros((1, 3))])
        self.arrivals = self.times + dist / SPEED_OF_SOUND
        self.hold = np.linalg.norm(trajectory.position_at(0.0) - listener) / SPEED_OF_SOUND

    def max_delay(self, duration: float) -> float:
        """Largest propagation delay (s) of sound emitted within ``[0, duration]``."""
        inside = self.times[(self.times > 0) & (self.times < duration)]
        points = self.trajectory.position_at(np.concatenate([[0.0, duration], inside])) - self.listener
        return float(np.linalg.norm(points, axis=1).max()) / SPEED_OF_SOUND

    def emission(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Delays ``(n,)`` in seconds and emission positions ``(n, 3)`` relative to the listener."""
        if not self.doppler:
            return np.full(t.shape, self.hold), self.trajectory.position_at(t - self.hold) - self.listener
        piece = np.searchsorted(self.arrivals, t, side="right")
        anchor = np.maximum(piece - 1, 0)
        b = self.velocity[piece]
        # q: where the piece's straight line is at time t; solve c tau = |q - b tau| for tau >= 0.
        q = self.rel[anchor] + b * (t - self.times[anchor])[:, None]
        qb = np.einsum("ij,ij->i", q, b)
        qq = np.einsum("ij,ij->i", q, q)
        a = SPEED_OF_SOUND**2 - np.einsum("ij,ij->i", b, b)
        root = np.sqrt(qb * qb + a * qq)
        small = np.divide(qq, qb + root, out=np.zeros_like(qq), where=(qb >= 0) & (qb + root > 0))
        tau = np.where(qb >= 0, small, (root - qb) / a)
        return tau, q - b * tau[:, None]

    def responses(self, receiver: Receiver, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Receiver filters ``(J, C, taps)`` and offsets ``(J, C)`` at block-centre samples."""
        _, rel = self.emission(centres / self.sr)
        dist = np.linalg.norm(rel, axis=1)
        valid = np.flatnonzero(dist > AT_LISTENER)
        if valid.size == 0:
            raise InvalidGeometryError(
                f"source at the listener's position {self.listener.tolist()} throughout the signal; "
                "expected a source some distance away"
            )
        nearest = valid[np.minimum(np.searchsorted(valid, np.arange(dist.size)), valid.size - 1)]
        filters, offsets = receiver.response(rel[nearest] / dist[nearest, None], self.sr)
        filters, offsets = np.asarray(filters, dtype=float), np.asarray(offsets, dtype=float)
        if (filters.ndim != 3 or filters.shape[0] != dist.size or offsets.shape != filters.shape[:2]
                or not (np.all(np.isfinite(filters)) and np.all(np.isfinite(offsets)) and np.all(offsets >= 0))):
            raise InvalidAudioError(
                f"receiver returned filters {filters.shape} and offsets {offsets.shape}; expected finite "
                f"({dist.size}, channels, taps) filters and ({dist.size}, channels) offsets >= 0"
            )
        return filters, offsets


def _fade(hop: int, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For samples ``n``: the block centre ``j hop`` at or before each and the ``sin**2`` weight of centre ``j + 1``."""
    n = np.maximum(n, 0)
    return n // hop, np.sin(0.5 * np.pi * (n % hop) / hop) ** 2


def _blend(values: np.ndarray, fade: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Per-sample values crossfaded between the values at block centres (see :func:`_fade`)."""
    j, w = fade
    return values[j] + (values[j + 1] - values[j]) * w


def _kernel_table() -> tuple[np.ndarray, np.ndarray]:
    # Reversed so that a constant delay d gives exactly the impulse response of
    # render_impulses([d]): tap k of the kernel multiplies x[n - floor(d) - k].
    table = sinc_kernels(np.arange(PHASES + 1) / PHASES, half_taps=HALF_TAPS)[:, ::-1]
    return np.ascontiguousarray(table[:-1]), np.diff(table, axis=0)


_TABLE, _SLOPE = _kernel_table()


def _delay_line(windows: np.ndarray, n: np.ndarray, delay: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """``gain * x(n - delay)`` at output samples ``n``, delays in samples, ``x`` band-limited-interpolated.

    Row ``m + width`` of ``windows`` holds ``x[m : m + width]`` (zero outside ``x``).
    """
    width = 2 * HALF_TAPS + 1
    whole = np.floor(delay)
    phase = (delay - whole) * PHASES
    p = np.minimum(phase.astype(np.int64), PHASES - 1)
    first = n - whole.astype(np.int64) - HALF_TAPS  # oldest input sample read
    taps = windows[np.clip(first, -width, len(windows) - width - 1) + width]
    value = np.einsum("ij,ij->i", taps, _TABLE[p]) + (phase - p) * np.einsum("ij,ij->i", taps, _SLOPE[p])
    return value * gain


def _crossfade_filter(
    y: np.ndarray, filters: np.ndarray, hop: int, a: int, b: int, fade: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """Output samples ``[a, b)`` of ``y`` through filters ``(J, taps)`` given at block centres.

    ``y`` holds samples ``a - hop - taps + 1`` to the end of the hop after ``b``. Frame
    ``j`` filters ``y`` over output samples ``[(j - 1) hop, (j + 1) hop)`` with filter ``j``;
    overlapping frame outputs are crossfaded by windows that sum to one. ``fade`` is
    :func:`_fade` for the samples of ``y``.
    """
    taps = filters.shape[1]
    if taps == 1:
        inside = slice(hop, hop + b - a)
        return y[inside] * _blend(filters[:, 0], (fade[0][inside], fade[1][inside]))
    first, frames = a // hop, -(-b // hop) - a // hop + 1
    size = 2 * hop + taps - 1
    nfft = sfft.next_fast_len(size, real=True)
    segments = sliding_window_view(y, size)[::hop][:frames]
    spectra = sfft.rfft(segments, nfft, axis=1) * sfft.rfft(filters[first : first + frames], nfft, axis=1)
    window = np.sin(0.5 * np.pi * np.arange(2 * hop) / hop) ** 2
    part = sfft.irfft(spectra, nfft, axis=1)[:, taps - 1 : taps - 1 + 2 * hop] * window
    # Frame i covers blocks i - 1 and i of the segment; block -1 (before a) is dropped.
    blocks = np.zeros((frames + 1, hop))
    blocks[:-1] += part[:, :hop]
    blocks[1:] += part[:, hop:]
    return blocks.ravel()[hop : hop + b - a]


def _as_signal(signal: np.ndarray) -> np.ndarray:
    x = np.asarray(signal)
    if x.ndim == 2 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 1 or x.size == 0:
        raise InvalidAudioError(f"moving-source signal has shape {x.shape}; expected (N,) mono with N >= 1")
    if np.iscomplexobj(x) or not np.all(np.isfinite(x)):
        raise InvalidAudioError("moving-source signal is complex or non-finite; expected real finite audio")
    return x.astype(float)


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidAudioError(f"{name} is {value!r}; expected a positive integer")
    return int(value)
