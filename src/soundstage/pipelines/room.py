"""Room jobs: synthesize an impulse response, analyse a measured one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from soundstage.acoustics.analysis import AcousticProfile, analyze_channels
from soundstage.acoustics.materials import Material
from soundstage.acoustics.rir import ImpulseResponse, synthesize_rir
from soundstage.acoustics.room import AirConditions, Room
from soundstage.errors import FileFormatError, InvalidGeometryError
from soundstage.io.audio import as_2d, read_audio, write_audio

PLOT_SUFFIXES = (".png", ".pdf", ".svg")


@dataclass
class RoomResult:
    """A synthesized response with its room and its measured parameters."""

    room: Room
    response: ImpulseResponse
    profile: AcousticProfile


def check_plot_path(path: str | Path | None) -> None:
    """Fail early (before anything is written) on a figure path matplotlib cannot write."""
    if path is not None and Path(path).suffix.lower() not in PLOT_SUFFIXES:
        raise FileFormatError(f"plot path '{path}' must end in one of {', '.join(PLOT_SUFFIXES)}")


def make_room(
    dims: Sequence[float],
    *,
    materials: Material | str | Mapping[str, Material | str] | None = None,
    rt60: float | None = None,
    air: bool = True,
) -> Room:
    """A shoebox from materials, or with uniform absorption for a target Eyring ``rt60``."""
    conditions = AirConditions() if air else None
    if rt60 is not None and materials is not None:
        raise InvalidGeometryError("give either materials or a target RT60, not both")
    if rt60 is not None:
        return Room.for_rt60(dims, rt60, air=conditions)
    return Room.shoebox(dims, "plaster" if materials is None else materials, air=conditions)


def render_room_response(
    room: Room,
    source: Sequence[float],
    listener: Sequence[float],
    *,
    output: str | Path,
    sr: int = 16000,
    duration: float | None = None,
    seed: int = 0,
    plot: str | Path | None = None,
) -> RoomResult:
    """Synthesize, analyse and write the response (and its figure) from ``source`` to ``listener``."""
    check_plot_path(plot)
    response = synthesize_rir(room, source, listener, sr=sr, duration=duration, seed=seed)
    profile = analyze_channels(response.data, sr)[0]
    write_audio(output, response.data, sr)
    if plot is not None:
        from soundstage.plots import plot_impulse_response

        title = f"{'x'.join(f'{d:g}' for d in room.dims)} m room, source-listener {response.metadata['distance_m']:.2f} m"
        plot_impulse_response(response.data[0], sr, plot, title=title, profile=profile)
    return RoomResult(room, response, profile)


def analyze_recording(path: str | Path, *, plot: str | Path | None = None) -> dict[str, Any]:
    """Blind estimate (:func:`soundstage.acoustics.blind.blind_profile`) of a recording's room, channels averaged.

    ``plot`` gets the decay-time distributions per band with the estimate marked.
    """
    from soundstage.acoustics.blind import blind_profile

    check_plot_path(plot)
    signal, sr = read_audio(path)
    mono = as_2d(signal).mean(axis=0)
    profile = blind_profile(mono, sr)
    if plot is not None:
        from soundstage.plots import plot_blind_decays

        plot_blind_decays(mono, sr, plot, profile=profile, title=Path(path).name, inputs=[path])
    return profile


def analyze_file(path: str | Path, *, plot: str | Path | None = None) -> list[AcousticProfile]:
    """ISO 3382-1 parameters of every channel of an impulse-response file (and a decay plot)."""
    check_plot_path(plot)
    signal, sr = read_audio(path)
    signal = as_2d(signal)
    profiles = analyze_channels(signal, sr)
    if plot is not None:
        from soundstage.plots import plot_decay_curves

        plot_decay_curves(signal, sr, plot, profiles=profiles, title=Path(path).name, inputs=[path])
    return profiles
