"""The ``spatialize`` job: a YAML scene of sources, a listener and an optional room -> a spatial audio file.

Scene schema (metres; x right, y forward, z up; see :mod:`soundstage.geometry`)::

    sr: 48000                       # optional, Hz (default 48000)
    seed: 0                         # optional, seed of the reverberation tails
    doppler: true                   # optional, pitch shift of moving sources
    hrtf: path/to/set.sofa          # optional, SimpleFreeFieldHRIR file for binaural
    listener: {position: [4, 3, 1.6], yaw_deg: 0, pitch_deg: 0}
    room:                           # optional; omit for free field
      dims: [8, 6, 3]
      material: plaster             # one material, or
      # materials: {walls: brick, floor: carpet, ceiling: acoustic_panel}, or
      # rt60: 0.6                   # uniform absorption for this reverberation time
      air: true                     # optional, air absorption (default true)
    sources:
      - audio: voice.wav            # relative to the scene file's folder
        position: [2.27, 4.0, 1.6]
        gain_db: 0                  # optional
        start_s: 0                  # optional, when the sound begins in the scene
      - audio: car.wav
        trajectory: [[0.0, [-10, 5, 0]], [4.0, [10, 5, 0]]]   # [time_s, [x, y, z]], scene time

Every source signal is the sound pressure at 1 m (unit gain at 1 m). In a room, a
source outside the room (or the part of a trajectory outside it) is heard in free field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import yaml

from soundstage.acoustics.room import Room
from soundstage.errors import FileFormatError, InvalidGeometryError, SoundstageError
from soundstage.io.atomic import check_not_input
from soundstage.io.audio import read_audio, write_audio
from soundstage.pipelines.room import check_plot_path, make_room
from soundstage.spatial.formats import finish, get_format, make_receiver
from soundstage.spatial.moving import Trajectory
from soundstage.spatial.render import Source, render_sources

log = logging.getLogger(__name__)

#: Loudest sample written; a louder mix is scaled down to it (and the gain reported).
PEAK_LIMIT = 10 ** (-1 / 20)


@dataclass
class SpatialScene:
    """A parsed scene: sources with their signals, the listener and an optional room."""

    sr: int
    listener: np.ndarray
    sources: list[Source]
    room: Room | None = None
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    seed: int = 0
    doppler: bool = True
    hrtf: Path | None = None
    inputs: list[Path] = field(default_factory=list)


@dataclass
class SpatialResult:
    """What :func:`spatialize` wrote and measured."""

    path: Path
    format: str
    layout: tuple[str, ...]
    sr: int
    duration: float
    peak_dbfs: float
    normalization_db: float
    sources: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "format": self.format, "channels": list(self.layout), "sr": self.sr,
            "duration_s": round(self.duration, 4), "peak_dbfs": round(self.peak_dbfs, 2),
            "normalization_db": round(self.normalization_db, 2), "sources": self.sources,
        }


def load_scene(path: str | Path) -> SpatialScene:
    """Read and check a scene file; errors name the offending key."""
    scene_path = Path(path)
    if not scene_path.is_file():
        raise FileFormatError(f"no such scene file: '{scene_path}'")
    try:
        spec = yaml.safe_load(scene_path.read_text())
    except yaml.YAMLError as err:
        raise FileFormatError(f"'{scene_path}' is not valid YAML: {err}") from err
    if not isinstance(spec, Mapping):
        raise FileFormatError(f"'{scene_path}' must hold a mapping with 'listener' and 'sources'")
    unknown = set(spec) - {"sr", "seed", "doppler", "hrtf", "listener", "room", "sources"}
    if unknown:
        raise FileFormatError(f"unknown scene keys {sorted(unknown)}; expected sr, seed, doppler, hrtf, listener, room, sources")
    sr = _integer(spec.get("sr", 48000), "sr", low=8000)
    listener = _mapping(spec.get("listener"), "listener")
    position = _point(listener.get("position"), "listener.position")
    room = _room(spec["room"]) if spec.get("room") is not None else None
    if room is not None:
        room.check_inside(position, name="listener.position")
    sources_spec = spec.get("sources")
    if not isinstance(sources_spec, list) or not sources_spec:
        raise FileFormatError("scene 'sources' must be a non-empty list")
    base = scene_path.parent
    sources, inputs = [], [scene_path]
    for i, item in enumerate(sources_spec):
        source, audio = _source(item, f"sources[{i}]", base, sr, position)
        sources.append(source)
        inputs.append(audio)
    hrtf = spec.get("hrtf")
    hrtf_path = None if hrtf is None else (base / str(hrtf))
    if hrtf_path is not None and not hrtf_path.is_file():
        raise FileFormatError(f"hrtf: no such SOFA file '{hrtf_path}'")
    return SpatialScene(
        sr=sr, listener=position, sources=sources, room=room,
        yaw_deg=_number(listener.get("yaw_deg", 0.0), "listener.yaw_deg"),
        pitch_deg=_number(listener.get("pitch_deg", 0.0), "listener.pitch_deg"),
        seed=_integer(spec.get("seed", 0), "seed"), doppler=bool(spec.get("doppler", True)),
        hrtf=hrtf_path, inputs=inputs + ([hrtf_path] if hrtf_path else []),
    )


def render_scene(scene: SpatialScene, fmt: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """The scene's mix in format ``fmt`` (see :data:`~soundstage.spatial.formats.FORMATS`) and its channel labels."""
    receiver = make_receiver(fmt, yaw_deg=scene.yaw_deg, pitch_deg=scene.pitch_deg, hrtf=scene.hrtf, sr=scene.sr)
    audio = render_sources(scene.sources, scene.listener, receiver, scene.sr, room=scene.room,
                           doppler=scene.doppler, seed=scene.seed)
    return finish(audio, fmt, scene.sr)


def spatialize(
    scene_path: str | Path,
    output: str | Path,
    *,
    fmt: str = "binaural",
    plot: str | Path | None = None,
) -> SpatialResult:
    """Render the scene file into ``output`` (WAV with a channel mask for loudspeaker formats)."""
    get_format(fmt)
    check_plot_path(plot)
    scene = load_scene(scene_path)
    target = Path(output)
    check_not_input(target, scene.inputs)
    if plot is not None:
        check_not_input(plot, scene.inputs)
    audio, labels = render_scene(scene, fmt)
    peak = float(np.max(np.abs(audio)))
    gain = min(1.0, PEAK_LIMIT / peak) if peak > 0 else 1.0
    if gain < 1.0:
        log.warning("mix peaks at %.1f dBFS: scaled by %.1f dB to avoid clipping", 20 * np.log10(peak), 20 * np.log10(gain))
    audio = audio * np.float32(gain)
    write_audio(target, audio, scene.sr, inputs=scene.inputs, channel_mask=get_format(fmt).channel_mask)
    result = SpatialResult(
        path=target, format=fmt, layout=labels, sr=scene.sr, duration=audio.shape[1] / scene.sr,
        peak_dbfs=float(20 * np.log10(max(peak * gain, 1e-12))), normalization_db=float(20 * np.log10(gain)),
        sources=[_describe(s, scene) for s in scene.sources],
    )
    if plot is not None:
        from soundstage.plots import plot_spatial_scene

        plot_spatial_scene(scene, audio, labels, plot)
    return result


def _describe(source: Source, scene: SpatialScene) -> dict[str, Any]:
    first = source.path.positions[0] - scene.listener
    from soundstage.geometry import to_head, vector_to_azel

    info: dict[str, Any] = {"name": source.name, "moving": not source.static,
                            "distance_m": round(float(np.linalg.norm(first)), 3)}
    if np.linalg.norm(first) > 0:
        az, el = vector_to_azel(to_head(first, scene.yaw_deg, scene.pitch_deg))
        info.update(azimuth_deg=round(float(az), 1), elevation_deg=round(float(el), 1))
    return info


def _mapping(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FileFormatError(f"scene '{key}' must be a mapping, got {value!r}")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise FileFormatError(f"scene '{key}' must be a finite number, got {value!r}")
    return float(value)


def _integer(value: Any, key: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise FileFormatError(f"scene '{key}' must be an integer >= {low}, got {value!r}")
    return int(value)


def _point(value: Any, key: str) -> np.ndarray:
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise FileFormatError(f"scene '{key}' must be [x, y, z] in metres, got {value!r}")
    return np.array([_number(v, key) for v in value])


def _room(value: Any) -> Room:
    spec = _mapping(value, "room")
    unknown = set(spec) - {"dims", "material", "materials", "rt60", "air"}
    if unknown:
        raise FileFormatError(f"unknown room keys {sorted(unknown)}; expected dims, material, materials, rt60, air")
    dims = _point(spec.get("dims"), "room.dims")
    if "material" in spec and "materials" in spec:
        raise FileFormatError("room: give 'material' or 'materials', not both")
    materials = spec.get("material", spec.get("materials"))
    rt60 = None if spec.get("rt60") is None else _number(spec["rt60"], "room.rt60")
    try:
        return make_room(dims, materials=materials, rt60=rt60, air=bool(spec.get("air", True)))
    except SoundstageError as err:
        raise type(err)(f"room: {err}") from err


def _source(item: Any, key: str, base: Path, sr: int, listener: np.ndarray) -> tuple[Source, Path]:
    spec = _mapping(item, key)
    unknown = set(spec) - {"audio", "position", "trajectory", "gain_db", "start_s", "name"}
    if unknown:
        raise FileFormatError(f"unknown keys {sorted(unknown)} in {key}; expected audio, position or trajectory, gain_db, start_s, name")
    if "audio" not in spec:
        raise FileFormatError(f"{key} needs 'audio': a sound file")
    audio = base / str(spec["audio"])
    if not audio.is_file():
        raise FileFormatError(f"{key}.audio: no such file '{audio}' (paths are relative to the scene file)")
    if ("position" in spec) == ("trajectory" in spec):
        raise FileFormatError(f"{key} needs exactly one of 'position' or 'trajectory'")
    try:
        if "position" in spec:
            path = Trajectory(np.zeros(1), _point(spec["position"], f"{key}.position")[None])
        else:
            points = spec["trajectory"]
            if not isinstance(points, list) or not points:
                raise FileFormatError(f"{key}.trajectory must be a list of [time_s, [x, y, z]]")
            path = Trajectory.from_points(points)
        if path.times.size == 1 and np.linalg.norm(path.positions[0] - listener) < 1e-6:
            raise InvalidGeometryError(f"{key} is at the listener's position (distance 0); move it away")
        signal, _ = read_audio(audio, sr=sr, mono=True)
    except SoundstageError as err:
        if key in str(err):
            raise
        raise type(err)(f"{key}: {err}") from err
    name = str(spec.get("name", Path(str(spec["audio"])).stem))
    return Source(signal, path, gain_db=_number(spec.get("gain_db", 0.0), f"{key}.gain_db"),
                  start=_number(spec.get("start_s", 0.0), f"{key}.start_s"), name=name), audio

