"""Room geometry and surface materials.

Coordinates are metres with x right, y forward, z up; a shoebox room spans
``[0, Lx] x [0, Ly] x [0, Lz]``. Its six surfaces are named ``west`` (x = 0), ``east``
(x = Lx), ``south`` (y = 0), ``north`` (y = Ly), ``floor`` (z = 0) and ``ceiling`` (z = Lz).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from soundstage.acoustics.air import air_energy_coefficient
from soundstage.acoustics.materials import Material, get_material
from soundstage.constants import DECAY_60DB, OCTAVE_BANDS, SPEED_OF_SOUND
from soundstage.errors import InvalidGeometryError, InvalidMaterialError

SURFACES: tuple[str, ...] = ("west", "east", "south", "north", "floor", "ceiling")
#: Shorthand groups accepted wherever surfaces are named.
SURFACE_GROUPS: dict[str, tuple[str, ...]] = {"walls": ("west", "east", "south", "north")}


@dataclass(frozen=True)
class AirConditions:
    """Air state for absorption: temperature (°C) and relative humidity (%)."""

    temperature_c: float = 20.0
    humidity: float = 50.0

    def energy_coefficient(self) -> np.ndarray:
        """Per-band energy attenuation ``m`` (1/m), shape ``(n_bands,)``."""
        return air_energy_coefficient(OCTAVE_BANDS, temperature_c=self.temperature_c, humidity=self.humidity)


class Enclosure(ABC):
    """Reverberation formulas shared by every room shape.

    Subclasses provide ``volume``, ``air``, :meth:`surface_areas`, :meth:`surface_materials`
    and :meth:`check_inside`.
    """

    air: AirConditions | None

    @property
    @abstractmethod
    def volume(self) -> float:
        """Volume in cubic metres."""

    @abstractmethod
    def surface_areas(self) -> np.ndarray:
        """Area of each surface in square metres, shape ``(n_surfaces,)``."""

    @abstractmethod
    def surface_materials(self) -> list[Material]:
        """Material of each surface, in the order of :meth:`surface_areas`."""

    @abstractmethod
    def check_inside(self, point: Sequence[float], *, name: str = "point") -> np.ndarray:
        """Return ``point`` as an array, raising when it is not strictly inside the room."""

    def absorption(self) -> np.ndarray:
        """Absorption coefficients, shape ``(n_surfaces, n_bands)``."""
        return np.array([m.absorption for m in self.surface_materials()], dtype=float)

    def mean_absorption(self) -> np.ndarray:
        """Area-weighted mean absorption per band, shape ``(n_bands,)``."""
        areas = self.surface_areas()
        return areas @ self.absorption() / areas.sum()

    def air_coefficient(self) -> np.ndarray:
        """Energy attenuation of air per band (1/m); zeros when the room has no air absorption."""
        return np.zeros(len(OCTAVE_BANDS)) if self.air is None else self.air.energy_coefficient()

    def rt60(self, *, formula: str = "eyring") -> np.ndarray:
        """Reverberation time per band in seconds, with the air term.

        Sabine: ``T = 4 ln(1e6) V / (c (S a + 4 m V))`` (= 0.161 V / (S a) without air);
        Eyring replaces ``S a`` by ``-S ln(1 - a)``. ``a`` is the area-weighted mean absorption.
        """
        area, volume = self.surface_areas().sum(), self.volume
        alpha = np.clip(self.mean_absorption(), 0.0, 1.0 - 1e-12)
        if formula == "eyring":
            surface_term = -area * np.log1p(-alpha)
        elif formula == "sabine":
            surface_term = area * alpha
        else:
            raise InvalidGeometryError(f"unknown reverberation formula {formula!r}; expected 'eyring' or 'sabine'")
        denom = surface_term + 4.0 * self.air_coefficient() * volume
        with np.errstate(divide="ignore"):
            return np.where(denom > 0, 4.0 * DECAY_60DB * volume / (SPEED_OF_SOUND * denom), np.inf)

@dataclass(frozen=True)
class Room(Enclosure):
    """A shoebox room: dimensions plus one material per surface.

    Use :meth:`shoebox` or :meth:`for_rt60` to build one; they validate their input.
    ``air`` is ``None`` for a room without air absorption.
    """

    dims: tuple[float, float, float]
    materials: Mapping[str, Material]
    air: AirConditions | None = field(default_factory=AirConditions)

    @classmethod
    def shoebox(
        cls,
        dims: Sequence[float],
        materials: Material | str | Mapping[str, Material | str] = "plaster",
        *,
        air: AirConditions | None = AirConditions(),
    ) -> "Room":
        """A shoebox of size ``dims`` (metres) with one material or a material per surface.

        ``materials`` may map surface names (see :data:`SURFACES`, plus ``walls`` and
        ``default`` for every surface not named) to a :class:`Material` or a material name.
        """
        return cls(_check_dims(dims), _assign_materials(materials), air)

    @classmethod
    def for_rt60(
        cls,
        dims: Sequence[float],
        rt60: float,
        *,
        air: AirConditions | None = AirConditions(),
    ) -> "Room":
        """A shoebox with uniform, per-band absorption whose Eyring RT60 is ``rt60`` s in every band.

        Where air alone absorbs more than ``rt60`` allows (very large rooms, high bands),
        that band's surfaces become fully reflecting and its RT60 stays below the target.
        """
        size = _check_dims(dims)
        if not np.isfinite(rt60) or rt60 <= 0:
            raise InvalidGeometryError(f"target RT60 must be a positive number of seconds, got {rt60}")
        volume, area = float(np.prod(size)), _surface_area(size)
        m = np.zeros(len(OCTAVE_BANDS)) if air is None else air.energy_coefficient()
        # Eyring: rt60 = 4 ln(1e6) V / (c (-S ln(1 - alpha) + 4 m V)), solved for alpha.
        exponent = 4.0 * DECAY_60DB * volume / (SPEED_OF_SOUND * rt60) - 4.0 * m * volume
        alpha = -np.expm1(-np.maximum(exponent, 0.0) / area)
        material = Material(name=f"rt60_{rt60:g}s", absorption=tuple(alpha), scattering=(0.0,) * len(alpha))
        return cls(size, {s: material for s in SURFACES}, air)

    @property
    def volume(self) -> float:
        """Volume in cubic metres."""
        return float(np.prod(self.dims))

    def surface_areas(self) -> np.ndarray:
        """Area of each surface in :data:`SURFACES` order, square metres, shape ``(6,)``."""
        lx, ly, lz = self.dims
        return np.array([ly * lz, ly * lz, lx * lz, lx * lz, lx * ly, lx * ly])

    def surface_materials(self) -> list[Material]:
        """Materials in :data:`SURFACES` order."""
        return [self.materials[s] for s in SURFACES]

    def check_inside(self, point: Sequence[float], *, name: str = "point") -> np.ndarray:
        """Return ``point`` as an array, raising when it is not strictly inside the room."""
        p = as_point(point, name=name)
        if np.any(p <= 0) or np.any(p >= np.asarray(self.dims)):
            raise InvalidGeometryError(
                f"{name} {tuple(p.tolist())} is outside the room; expected 0 < x < {self.dims[0]}, "
                f"0 < y < {self.dims[1]}, 0 < z < {self.dims[2]}"
            )
        return p


def as_point(point: Sequence[float], *, name: str = "point") -> np.ndarray:
    """``point`` as a float array of shape ``(3,)``, raising when it is not three finite numbers."""
    try:
        p = np.asarray(point, dtype=float)
    except (TypeError, ValueError):
        p = np.empty(0)
    if p.shape != (3,) or not np.all(np.isfinite(p)):
        raise InvalidGeometryError(f"{name} must be three finite coordinates x,y,z in metres, got {point!r}")
    return p


def _check_dims(dims: Sequence[float]) -> tuple[float, float, float]:
    try:
        size = tuple(float(d) for d in dims)
    except (TypeError, ValueError):
        raise InvalidGeometryError(f"room size must be three numbers (metres), got {dims!r}") from None
    if len(size) != 3 or not all(np.isfinite(size)):
        raise InvalidGeometryError(f"room size must be three finite numbers Lx, Ly, Lz in metres, got {dims!r}")
    if min(size) <= 0:
        raise InvalidGeometryError(f"room size must be positive in every dimension, got {size} m")
    return size  # type: ignore[return-value]


def _surface_area(size: tuple[float, float, float]) -> float:
    lx, ly, lz = size
    return 2.0 * (lx * ly + lx * lz + ly * lz)


def _assign_materials(spec: Material | str | Mapping[str, Material | str]) -> dict[str, Material]:
    if not isinstance(spec, Mapping):
        material = get_material(spec)
        return {s: material for s in SURFACES}
    out: dict[str, Material] = {}
    default = spec.get("default")
    # Groups first, so a named surface overrides its group whatever the order given.
    for key, value in sorted(spec.items(), key=lambda kv: kv[0] not in SURFACE_GROUPS):
        if key == "default":
            continue
        names = SURFACE_GROUPS.get(key, (key,))
        for name in names:
            if name not in SURFACES:
                raise InvalidGeometryError(
                    f"unknown surface {key!r}; expected one of {', '.join(SURFACES + tuple(SURFACE_GROUPS))}, default"
                )
            out[name] = get_material(value)
    missing = [s for s in SURFACES if s not in out]
    if missing and default is None:
        raise InvalidMaterialError(f"no material given for surface(s) {', '.join(missing)}; add them or a 'default'")
    for s in missing:
        out[s] = get_material(default)
    return out
