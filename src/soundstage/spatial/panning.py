"""Loudspeaker layouts and vector-base amplitude panning (VBAP).

A :class:`Layout` lists the channels of a loudspeaker rig in file order: the order of
the speaker bits of the WAVE_FORMAT_EXTENSIBLE channel mask (``dwChannelMask``, the
Microsoft ``SPEAKER_*`` flags of ``mmreg.h`` / ``ksmedia.h``), which is also the order
FFmpeg uses. Directions follow :mod:`soundstage.geometry` (azimuth counter-clockwise
from the front, so +30 is front *left*).

Panning is VBAP (Pulkki, "Virtual sound source positioning using vector base amplitude
panning", JAES 45(6), 1997): a source is reproduced by the two (horizontal layouts) or
three (3-D layouts) loudspeakers that enclose its direction, with non-negative gains
whose weighted sum of speaker vectors points at the source, scaled to unit energy.
The LFE channel never receives panned sound; :func:`add_lfe` derives it by low-pass
filtering the main channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.signal import butter, sosfilt
from scipy.spatial import ConvexHull

from soundstage.acoustics.receiver import Receiver
from soundstage.errors import InvalidAudioError, InvalidGeometryError
from soundstage.geometry import azel_to_vector, unit, vector_to_azel

#: WAVE_FORMAT_EXTENSIBLE speaker bits (Microsoft ``SPEAKER_*``), by FFmpeg channel label.
SPEAKER_BITS: dict[str, int] = {
    "FL": 0x1, "FR": 0x2, "FC": 0x4, "LFE": 0x8, "BL": 0x10, "BR": 0x20,
    "FLC": 0x40, "FRC": 0x80, "BC": 0x100, "SL": 0x200, "SR": 0x400, "TC": 0x800,
    "TFL": 0x1000, "TFC": 0x2000, "TFR": 0x4000, "TBL": 0x8000, "TBC": 0x10000, "TBR": 0x20000,
}  # fmt: skip

_ZERO_GAIN = 1e-10


@dataclass(frozen=True)
class Layout:
    """A loudspeaker rig: one entry per output channel, in file (channel-mask bit) order.

    Attributes
    ----------
    name : str
        Layout name, e.g. ``"5.1"``.
    labels : tuple of str
        Channel labels (FFmpeg names: FL, FR, FC, LFE, BL, BR, SL, SR, TFL ...).
    azimuths, elevations : tuple of float
        Loudspeaker directions in degrees (see :mod:`soundstage.geometry`); the LFE
        entry is 0 and unused (the LFE channel has no direction).
    lfe : int or None
        Index of the LFE channel, ``None`` when the layout has none.
    channel_mask : int
        WAVE_FORMAT_EXTENSIBLE ``dwChannelMask`` (one bit per channel), 0 when unknown.
    """

    name: str
    labels: tuple[str, ...]
    azimuths: tuple[float, ...]
    elevations: tuple[float, ...]
    lfe: int | None
    channel_mask: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))
        for field in ("azimuths", "elevations"):
            object.__setattr__(self, field, tuple(float(a) for a in getattr(self, field)))
        n, what = len(self.labels), f"layout '{self.name}'"
        if len(self.azimuths) != n or len(self.elevations) != n:
            raise InvalidGeometryError(
                f"{what} has {n} labels, {len(self.azimuths)} azimuths and {len(self.elevations)} "
                "elevations; expected one of each per channel"
            )
        if self.lfe is not None and not (isinstance(self.lfe, int) and 0 <= self.lfe < n):
            raise InvalidGeometryError(f"{what}: LFE index {self.lfe!r} is not a channel index 0..{n - 1}")
        if not np.all(np.isfinite(self.azimuths + self.elevations)) or any(abs(e) > 90 for e in self.elevations):
            raise InvalidGeometryError(f"{what}: expected finite angles and elevations in [-90, 90]")
        mask = self.channel_mask
        if not isinstance(mask, int) or not 0 <= mask < 2**32 or (mask and bin(mask).count("1") != n):
            raise InvalidGeometryError(
                f"{what}: channel mask {mask!r} does not fit its {n} channels; "
                f"expected a 32-bit mask with {n} bits set, or 0"
            )
        main = self.directions[self.main_channels]
        if len(main) < 2:
            raise InvalidGeometryError(f"{what} has {len(main)} main loudspeakers; expected at least 2")
        if np.max(main @ main.T - 2.0 * np.eye(len(main))) > 1.0 - 1e-12:
            raise InvalidGeometryError(f"{what} has two loudspeakers in the same direction")

    @property
    def channels(self) -> int:
        """Number of channels, LFE included."""
        return len(self.labels)

    @property
    def main_channels(self) -> np.ndarray:
        """Indices of the directional (non-LFE) channels."""
        return np.array([c for c in range(self.channels) if c != self.lfe], dtype=int)

    @property
    def directions(self) -> np.ndarray:
        """Loudspeaker unit vectors ``(channels, 3)`` (the LFE row points to the front)."""
        return azel_to_vector(np.array(self.azimuths), np.array(self.elevations))

    @property
    def is_3d(self) -> bool:
        """Whether any main loudspeaker is off the horizontal plane."""
        return any(self.elevations[c] != 0.0 for c in self.main_channels)


def _standard(name: str, speakers: dict[str, tuple[float, float]]) -> Layout:
    """A layout from labels with known mask bits, put in mask-bit order."""
    labels = sorted(speakers, key=SPEAKER_BITS.__getitem__)
    return Layout(
        name=name,
        labels=tuple(labels),
        azimuths=tuple(speakers[lab][0] for lab in labels),
        elevations=tuple(speakers[lab][1] for lab in labels),
        lfe=labels.index("LFE") if "LFE" in labels else None,
        channel_mask=sum(SPEAKER_BITS[lab] for lab in labels),
    )


_FRONT = {"FL": (30.0, 0.0), "FR": (-30.0, 0.0), "FC": (0.0, 0.0), "LFE": (0.0, 0.0)}
_SEVEN_ONE = {**_FRONT, "BL": (135.0, 0.0), "BR": (-135.0, 0.0), "SL": (90.0, 0.0), "SR": (-90.0, 0.0)}

#: Standard layouts (LFE, where present, is channel 3):
#:
#: * "stereo": FL FR at +-30 deg, mask 0x3.
#: * "5.1": FL FR FC LFE SL SR at the ITU-R BS.775 angles +-30, 0, +-110; mask 0x60F
#:   (Microsoft's 5.1 with side bits, which FFmpeg names "5.1(side)").
#: * "7.1": FL FR FC LFE BL BR SL SR, sides at +-90 and backs at +-135 (ITU-R BS.2051
#:   System I, 0+7+0; within Dolby's 7.1 placement of 90-110 and 135-150); mask 0x63F.
#: * "7.1.4": 7.1 plus TFL TFR TBL TBR at azimuths +-45 and +-135, elevation 45 (ITU-R
#:   BS.2051 System J, 4+7+0); mask 0x2D63F.
LAYOUTS: dict[str, Layout] = {
    "stereo": _standard("stereo", {"FL": (30.0, 0.0), "FR": (-30.0, 0.0)}),
    "5.1": _standard("5.1", {**_FRONT, "SL": (110.0, 0.0), "SR": (-110.0, 0.0)}),
    "7.1": _standard("7.1", _SEVEN_ONE),
    "7.1.4": _standard(
        "7.1.4",
        {**_SEVEN_ONE, "TFL": (45.0, 45.0), "TFR": (-45.0, 45.0), "TBL": (135.0, 45.0), "TBR": (-135.0, 45.0)},
    ),
}


def get_layout(name: str | Layout) -> Layout:
    """The :class:`Layout` called ``name`` in :data:`LAYOUTS` (a :class:`Layout` is returned as is).

    Raises
    ------
    InvalidAudioError
        For an unknown name; the message lists the known ones.
    """
    if isinstance(name, Layout):
        return name
    if isinstance(name, str) and name in LAYOUTS:
        return LAYOUTS[name]
    known = ", ".join(f"'{key}'" for key in LAYOUTS)
    raise InvalidAudioError(f"unknown loudspeaker layout {name!r}; expected a Layout or one of {known}")


@lru_cache(maxsize=32)
def _arcs(layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Adjacent loudspeaker pairs around the horizontal circle: (start, end, start azimuth, width)."""
    main = layout.main_channels
    az = np.mod(np.array(layout.azimuths)[main], 360.0)
    order = np.argsort(az)
    start, stop = main[order], main[np.roll(order, -1)]
    width = np.mod(np.roll(az[order], -1) - az[order], 360.0)
    width[width == 0.0] = 360.0
    return start, stop, az[order], width


def _pan_horizontal(layout: Layout, directions: np.ndarray) -> np.ndarray:
    """Pairwise 2-D VBAP over azimuth; gaps of 180 deg or more use a sine/cosine crossfade."""
    start, stop, start_az, width = _arcs(layout)
    vertical = np.all(directions[:, :2] == 0.0, axis=1)[:, None]
    az, _ = vector_to_azel(np.where(vertical, [0.0, 1.0, 0.0], directions))
    offset = np.mod(az[:, None] - start_az[None, :], 360.0)
    arc = np.argmax(offset <= width[None, :], axis=1)
    r, w = np.radians(offset[np.arange(len(az)), arc]), np.radians(width[arc])
    wide = w >= np.pi - 1e-9
    sin_w = np.where(wide, 1.0, np.sin(w))
    g_start = np.where(wide, np.cos(0.5 * np.pi * r / w), np.sin(w - r) / sin_w)
    g_stop = np.where(wide, np.sin(0.5 * np.pi * r / w), np.sin(r) / sin_w)
    gains = np.zeros((len(az), layout.channels))
    rows = np.arange(len(az))
    gains[rows, start[arc]] = g_start
    gains[rows, stop[arc]] += g_stop
    return gains


def _hull(layout: Layout, vertices: np.ndarray) -> ConvexHull:
    """Convex hull of loudspeaker directions, checked to enclose the listener."""
    hull = ConvexHull(vertices)
    if np.any(hull.equations[:, 3] > -1e-6) or len(hull.vertices) < len(vertices):
        raise InvalidGeometryError(
            f"the loudspeakers of layout '{layout.name}' do not surround the listener; "
            "expected directions whose convex hull contains the listening position"
        )
    return hull


@lru_cache(maxsize=32)
def _triangulation(layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Loudspeaker triangles of a 3-D layout from the convex hull of the speaker directions.

    Imaginary loudspeakers are added at the bottom pole, and at the top when no real
    one is there, so that the triangles cover the whole sphere; their gains are dropped.
    A flat hull face with more than three loudspeakers (a rectangle of four, say) gets
    one more imaginary loudspeaker at its centre, fed to the face's loudspeakers with
    equal gains scaled so that their vector sum is its direction: panning over the face
    then stays left/right symmetric instead of following an arbitrary diagonal.

    Returns
    -------
    vertices : (V, 3) unit vectors: the main loudspeakers, then the imaginary ones.
    downmix : (V, channels) gains taking each vertex's signal to the channels.
    simplices : (T, 3) vertex indices of each triangle.
    inverses : (T, 3, 3) inverse of each triangle's speaker matrix (rows are vertices).
    """
    main = layout.main_channels
    vertices, downmix = list(layout.directions[main]), list(np.eye(layout.channels)[main])
    for pole in ([0.0, 0.0, -1.0], [0.0, 0.0, 1.0]):
        if not any(np.dot(v, pole) > 1.0 - 1e-12 for v in vertices):
            vertices.append(np.array(pole))
            downmix.append(np.zeros(layout.channels))
    vertices, downmix = np.array(vertices), np.array(downmix)
    hull = _hull(layout, vertices)
    same_plane = np.all(np.abs(hull.equations[:, None] - hull.equations[None]) < 1e-9, axis=2)
    faces = {tuple(np.flatnonzero(row)) for row in same_plane if row.sum() > 1}
    keep = np.ones(len(hull.simplices), dtype=bool)
    parts = []
    for face in faces:
        triangles = hull.simplices[list(face)]
        edges = np.sort(triangles[:, [[0, 1], [1, 2], [2, 0]]], axis=2).reshape(-1, 2)
        edges, count = np.unique(edges, axis=0, return_counts=True)
        corners = np.unique(triangles)
        total = vertices[corners].sum(axis=0)
        length = np.linalg.norm(total)
        parts.append(np.column_stack([np.full(np.sum(count == 1), len(vertices)), edges[count == 1]]))
        vertices = np.vstack([vertices, total / length])
        downmix = np.vstack([downmix, downmix[corners].sum(axis=0) / length])
        keep[list(face)] = False
    simplices = np.vstack([hull.simplices[keep], *parts])
    return vertices, downmix, simplices, np.linalg.inv(vertices[simplices])


def _pan_3d(layout: Layout, directions: np.ndarray) -> np.ndarray:
    """Triangle VBAP; imaginary loudspeakers' gains are dropped or shared, then renormalised."""
    _, downmix, simplices, inverses = _triangulation(layout)
    weights = np.einsum("nk,tkj->ntj", directions, inverses)
    tri = np.argmax(weights.min(axis=2), axis=1)
    rows = np.arange(len(directions))
    vertex_gains = np.zeros((len(directions), len(downmix)))
    vertex_gains[rows[:, None], simplices[tri]] = np.clip(weights[rows, tri], 0.0, None)
    gains = vertex_gains @ downmix
    at_pole = gains.max(axis=1) < 1e-9 * vertex_gains.max(axis=1)
    if np.any(at_pole):
        pole = np.argmax(vertex_gains[at_pole], axis=1)
        for v in np.unique(pole):
            ring = np.unique(simplices[np.any(simplices == v, axis=1)])
            gains[np.flatnonzero(at_pole)[pole == v]] = downmix[ring].sum(axis=0) > 0.0
    return gains


def vbap_gains(layout: str | Layout, directions: np.ndarray) -> np.ndarray:
    """VBAP gains of each loudspeaker for sources in the given directions.

    Horizontal layouts pan between the two loudspeakers adjacent in azimuth (an
    elevated source uses its azimuth; one straight above or below, azimuth 0). Where
    adjacent loudspeakers are 180 deg or more apart (behind a stereo pair) the gains
    follow an energy-preserving crossfade, ``cos`` / ``sin`` of ``90 deg`` times the
    fraction of the gap crossed. 3-D layouts pan within loudspeaker triangles (see
    :func:`_triangulation`); a source straight at an imaginary pole speaker is shared
    equally by the real loudspeakers around it.

    Parameters
    ----------
    layout
        A :class:`Layout` or a name in :data:`LAYOUTS`.
    directions
        Source directions, ``(n, 3)`` or ``(3,)`` vectors in the layout's frame (any length > 0).

    Returns
    -------
    np.ndarray
        ``(n, channels)`` float64 gains: non-negative, sum of squares 1 in each row,
        zero in the LFE column; a source on a loudspeaker drives only that loudspeaker.
    """
    layout = get_layout(layout)
    d = np.atleast_2d(np.asarray(directions, dtype=float))
    if d.ndim != 2 or d.shape[1] != 3:
        raise InvalidGeometryError(f"directions have shape {np.shape(directions)}; expected (n, 3) or (3,)")
    d = unit(d)
    gains = _pan_3d(layout, d) if layout.is_3d else _pan_horizontal(layout, d)
    gains[gains < _ZERO_GAIN * gains.max(axis=1, keepdims=True)] = 0.0
    return gains / np.linalg.norm(gains, axis=1, keepdims=True)


def add_lfe(
    signals: np.ndarray,
    layout: str | Layout,
    sr: int,
    *,
    gain_db: float | None = -10.0,
    cutoff_hz: float = 120.0,
) -> np.ndarray:
    """Fill the LFE channel with the low end of the main channels.

    The LFE channel becomes the sum of the main channels through a 4th-order
    Butterworth low-pass (causal, ``scipy.signal.sosfilt``: the LFE lags the mains by
    the filter's group delay, a few ms at 120 Hz), times ``10 ** (gain_db / 20)``.
    The -10 dB default offsets the +10 dB in-band gain with which an LFE channel is
    played back (ATSC A/52), so the reproduced LFE matches the level of the mains' sum.

    Parameters
    ----------
    signals
        ``(channels, samples)`` audio in the layout's channel order; its LFE row is replaced.
    layout
        A :class:`Layout` or a name in :data:`LAYOUTS`.
    sr
        Sample rate (Hz).
    gain_db
        LFE gain in dB; ``None`` leaves the LFE channel silent.
    cutoff_hz
        Low-pass cutoff (Hz), below ``sr / 2``.

    Returns
    -------
    np.ndarray
        A float copy of ``signals`` with the new LFE row; unchanged when the layout has no LFE.
    """
    layout = get_layout(layout)
    x = np.asarray(signals)
    if x.dtype.kind not in "biuf" or x.ndim != 2 or x.shape[0] != layout.channels:
        raise InvalidAudioError(
            f"signals have shape {x.shape} and dtype {x.dtype}; expected real ({layout.channels}, samples) "
            f"audio for layout '{layout.name}'"
        )
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise InvalidAudioError(f"sample rate must be a positive int (Hz), found {sr!r}")
    if not 0.0 < float(cutoff_hz) < sr / 2:
        raise InvalidAudioError(f"LFE cutoff {cutoff_hz} Hz must lie between 0 and sr/2 = {sr / 2} Hz")
    out = np.array(x, dtype=np.result_type(x.dtype, np.float32))
    if layout.lfe is None:
        return out
    if gain_db is None:
        out[layout.lfe] = 0.0
        return out
    sos = butter(4, float(cutoff_hz), btype="low", fs=sr, output="sos")
    mains = out[layout.main_channels].sum(axis=0, dtype=np.float64)
    out[layout.lfe] = sosfilt(sos, mains) * 10.0 ** (float(gain_db) / 20.0)
    return out


class Loudspeakers(Receiver):
    """A loudspeaker rig fed by VBAP: each direction becomes gains on the layout's channels.

    Parameters
    ----------
    layout
        A :class:`Layout` or a name in :data:`LAYOUTS`.
    yaw_deg, pitch_deg, roll_deg
        Orientation of the rig (its front) in the world, degrees (see :mod:`soundstage.geometry`).

    Attributes
    ----------
    speakers : Layout
        The loudspeaker layout; ``layout`` is its name and ``channels`` its channel count.
    """

    def __init__(
        self, layout: str | Layout, *, yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0
    ) -> None:
        self.speakers = get_layout(layout)
        self.layout = self.speakers.name
        self.channels = self.speakers.channels
        angles = (yaw_deg, pitch_deg, roll_deg)
        if not all(isinstance(a, (int, float, np.integer, np.floating)) and np.isfinite(a) for a in angles):
            raise InvalidGeometryError(f"orientation {angles} must be finite (yaw, pitch, roll) angles in degrees")
        self.orientation = tuple(float(a) for a in angles)

    def head_response(self, directions: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
        """VBAP gains as one-tap filters ``(n, channels, 1)`` and zero offsets ``(n, channels)``."""
        gains = vbap_gains(self.speakers, directions)
        return gains[:, :, None], np.zeros_like(gains)
