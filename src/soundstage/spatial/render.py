"""Render sources into any spatial format, in free field or in a room.

Levels follow one convention everywhere: a source signal is the pressure it makes at
1 m in free field, so it renders at unit gain at 1 m and 6 dB quieter at 2 m. Room
responses from the acoustics engine (``1 / (4 pi r)`` for the direct sound) are scaled
by ``4 pi`` to match.

A static source is convolved with its spatial impulse response (free field: its direct
sound through the receiver; room: every image source from its own direction plus the
diffuse tail). A moving source's direct sound follows its trajectory sample by sample
(:func:`~soundstage.spatial.moving.render_moving`); in a room its early reflections come
from responses at key positions along the way (every :data:`KEY_DISTANCE` metres of
travel, at least every :data:`KEY_MAX_INTERVAL` seconds), each fed by the part of the
signal emitted near that key (complementary triangular windows), so the reflections of
one key position ring on while the next takes over. The diffuse tail, the same
everywhere in a diffuse field, is computed once per source, at the middle of its path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from tqdm.auto import tqdm

from soundstage.acoustics.receiver import Receiver
from soundstage.acoustics.rir import crossover_time, synthesize_rir
from soundstage.acoustics.room import Enclosure, as_point
from soundstage.constants import SPEED_OF_SOUND
from soundstage.dsp.convolve import convolve_sum, fft_convolve
from soundstage.dsp.delay import HALF_TAPS, render_impulses
from soundstage.errors import InvalidAudioError, InvalidGeometryError, SoundstageError
from soundstage.spatial.moving import Trajectory, render_moving

log = logging.getLogger(__name__)

#: Gain that turns the engine's ``1 / (4 pi r)`` point-source pressure into unit gain at 1 m.
UNIT_DISTANCE_GAIN = 4.0 * np.pi
#: A moving source gets a new key position (for its early reflections) every this many metres...
KEY_DISTANCE = 0.5
#: ... and at least this often (s), but never more often than :data:`KEY_MIN_INTERVAL` (s).
KEY_MAX_INTERVAL = 1.0
KEY_MIN_INTERVAL = 0.1


@dataclass
class Source:
    """A mono source: its signal (pressure at 1 m) and where it is.

    ``path`` is a :class:`~soundstage.spatial.moving.Trajectory` in scene time (seconds
    from the start of the scene); one point is a static source. ``start`` is when the
    signal begins in the scene (seconds); ``gain_db`` scales it.
    """

    signal: np.ndarray
    path: Trajectory
    gain_db: float = 0.0
    start: float = 0.0
    name: str = "source"

    @property
    def static(self) -> bool:
        return len(self.path.times) == 1


def free_field_response(
    source: Sequence[float], listener: Sequence[float], receiver: Receiver, sr: int
) -> np.ndarray:
    """The direct sound alone, ``(channels, samples)``: delay ``r / 343`` s, gain ``1 / r``, the receiver's response."""
    offset = as_point(source, name="source") - as_point(listener, name="listener")
    distance = float(np.linalg.norm(offset))
    if distance < 1e-6:
        raise InvalidGeometryError(
            f"source at {tuple(np.asarray(source, float).tolist())} is at the listener's position; "
            "expected a source some distance away"
        )
    filters, offsets = receiver.response(offset[None] / distance, sr)
    delay = distance / SPEED_OF_SOUND * sr
    length = int(np.ceil(delay + offsets.max())) + filters.shape[-1] + 2 * HALF_TAPS + 1
    return np.stack(
        [
            render_impulses([delay + offsets[0, c]], [1.0 / distance], length, filters=filters[:, c])
            for c in range(receiver.channels)
        ]
    )


def source_response(
    source: Sequence[float],
    listener: Sequence[float],
    receiver: Receiver,
    sr: int,
    *,
    room: Enclosure | None = None,
    seed: int = 0,
    **parts: Any,
) -> np.ndarray:
    """Spatial impulse response ``(channels, samples)`` from ``source`` to ``listener``, unit gain at 1 m.

    ``parts`` (``direct``, ``reflections``, ``tail``, ``crossover``) select parts of a
    room response as in :func:`~soundstage.acoustics.rir.synthesize_rir`. In a room, a
    source outside it is heard in free field (a warning is logged).
    """
    direct = parts.get("direct", True)
    if room is not None and _inside(room, source):
        ir = synthesize_rir(room, source, listener, sr=sr, receiver=receiver, seed=seed, **parts)
        return ir.data * np.float32(UNIT_DISTANCE_GAIN)
    if room is not None:
        log.warning("source at %s is outside the room: rendered in free field (direct sound only)", list(source))
    if not direct:
        return np.zeros((receiver.channels, 1), dtype=np.float32)
    return free_field_response(source, listener, receiver, sr).astype(np.float32)


def render_sources(
    sources: Sequence[Source],
    listener: Sequence[float],
    receiver: Receiver,
    sr: int,
    *,
    room: Enclosure | None = None,
    doppler: bool = True,
    seed: int = 0,
    progress: bool | None = None,
) -> np.ndarray:
    """Mix of every source as heard by ``receiver`` at ``listener``: float32 ``(channels, samples)``.

    Source ``i`` of a room uses tail seed ``seed + i``. Static sources are convolved all
    at once (:func:`~soundstage.dsp.convolve.convolve_sum`).
    """
    if not sources:
        raise InvalidAudioError("no sources to render; expected at least one")
    listener = as_point(listener, name="listener")
    if room is not None:
        room.check_inside(listener, name="listener")
    pieces: list[tuple[int, np.ndarray]] = []
    static_signals, static_irs, static_starts = [], [], []
    show = len(sources) > 4 if progress is None else progress
    for i, src in enumerate(tqdm(sources, desc="sources", disable=not show)):
        signal = _checked_signal(src) * np.float32(10.0 ** (src.gain_db / 20.0))
        start = int(round(src.start * sr))
        try:
            if src.static:
                static_irs.append(source_response(src.path.positions[0], listener, receiver, sr, room=room, seed=seed + i))
                static_signals.append(signal)
                static_starts.append(start)
            else:
                path = Trajectory(src.path.times - src.start, src.path.positions)  # in the signal's own time
                pieces.append((start, render_moving(signal, sr, path, listener, receiver, doppler=doppler)))
                if room is not None:
                    pieces.append((start, _moving_reflections(signal, sr, path, listener, receiver, room, seed + i)))
        except SoundstageError as err:
            raise type(err)(f"source '{src.name}': {err}") from err
    if static_signals:
        # One shared start: shift each signal by its own start relative to the earliest.
        first = min(static_starts)
        shifted = [np.concatenate([np.zeros(s - first, np.float32), x]) for s, x in zip(static_starts, static_signals)]
        pieces.append((first, convolve_sum(shifted, static_irs)))
    length = max(start + piece.shape[1] for start, piece in pieces)
    out = np.zeros((receiver.channels, length), dtype=np.float32)
    for start, piece in pieces:
        out[:, start : start + piece.shape[1]] += piece
    return out


def _checked_signal(source: Source) -> np.ndarray:
    signal = np.asarray(source.signal)
    if signal.ndim != 1 or signal.size == 0:
        raise InvalidAudioError(
            f"source '{source.name}' signal has shape {signal.shape}; expected mono audio (samples,)"
        )
    if not np.all(np.isfinite(signal)):
        raise InvalidAudioError(f"source '{source.name}' signal has NaN or infinite samples; expected finite audio")
    return signal.astype(np.float32, copy=False)


def _inside(room: Enclosure, point: Sequence[float]) -> bool:
    try:
        room.check_inside(point)
    except InvalidGeometryError:
        return False
    return True


def _moving_reflections(
    signal: np.ndarray,
    sr: int,
    path: Trajectory,
    listener: np.ndarray,
    receiver: Receiver,
    room: Enclosure,
    seed: int,
) -> np.ndarray:
    """Reflections and reverberation of a moving source: key-position early reflections fed by
    windowed signal parts, plus one diffuse tail."""
    keys = _key_times(path, signal.size / sr)
    positions = path.position_at(keys)
    inside = np.array([_inside(room, p) for p in positions])
    if not np.any(inside):
        return np.zeros((receiver.channels, 1), dtype=np.float32)
    # One crossover for every key, so the shared tail fades in where each key's reflections fade out.
    crossover = max(crossover_time(room, float(np.linalg.norm(p - listener))) for p in positions[inside])
    t = np.arange(signal.size) / sr
    parts = []
    for k in np.flatnonzero(inside):
        window = np.interp(t, keys, np.eye(len(keys))[k])  # triangles on the keys: they sum to one
        lo, hi = np.searchsorted(t, keys[max(k - 1, 0)]), np.searchsorted(t, keys[min(k + 1, len(keys) - 1)], "right")
        ir = source_response(positions[k], listener, receiver, sr, room=room, seed=seed,
                             direct=False, tail=False, crossover=crossover)
        parts.append((lo, fft_convolve(signal[lo:hi] * window[lo:hi], ir)))
    middle = positions[inside][len(positions[inside]) // 2]
    late = source_response(middle, listener, receiver, sr, room=room, seed=seed,
                           direct=False, reflections=False, crossover=crossover)
    inside_share = np.interp(t, keys, inside.astype(float))  # how much is emitted inside the room
    parts.append((0, fft_convolve(signal * inside_share, late)))
    out = np.zeros((receiver.channels, max(lo + p.shape[1] for lo, p in parts)), dtype=np.float32)
    for lo, p in parts:
        out[:, lo : lo + p.shape[1]] += p
    return out


def _key_times(path: Trajectory, duration: float) -> np.ndarray:
    """Key times (s) from 0 to ``duration``: every :data:`KEY_DISTANCE` m of travel, within the interval bounds."""
    fine = np.arange(0.0, duration + KEY_MIN_INTERVAL, KEY_MIN_INTERVAL)
    travelled = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(path.position_at(fine), axis=0), axis=1))])
    keys, last_time, last_distance = [0.0], 0.0, 0.0
    for time, distance in zip(fine[1:], travelled[1:]):
        if distance - last_distance >= KEY_DISTANCE or time - last_time >= KEY_MAX_INTERVAL - 1e-9:
            keys.append(time)
            last_time, last_distance = time, distance
    if keys[-1] < duration:
        keys.append(float(fine[-1]))
    return np.asarray(keys)

