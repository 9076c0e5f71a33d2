"""Surface materials: octave-band absorption and scattering coefficients.

A :class:`Material` holds one random-incidence energy absorption coefficient and one
scattering coefficient per octave band of :data:`soundstage.constants.OCTAVE_BANDS`
(125 Hz to 8 kHz, seven bands). The named materials come from the package file
``soundstage/acoustics/materials.json``, which cites the published table behind every
entry (mostly M. Vorländer, *Auralization*, Springer 2008, appendix tables).

Examples
--------
>>> get_material("carpet").absorption[3]          # 1 kHz
0.6
>>> get_material("0.3") == Material.uniform(0.3)   # a number means uniform absorption
True
"""

from __future__ import annotations

import copy
import difflib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from soundstage.constants import OCTAVE_BANDS
from soundstage.errors import FileFormatError, InvalidMaterialError

__all__ = [
    "Material",
    "get_material",
    "list_materials",
    "material_table",
    "reflection_coefficients",
]

N_BANDS: int = len(OCTAVE_BANDS)
_TABLE_FILE = "materials.json"


def _check_bands(values: Any, *, name: str, quantity: str) -> tuple[float, ...]:
    """Return ``values`` as a tuple of seven floats in [0, 1], or raise naming the bad band."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise InvalidMaterialError(
            f"material {name!r}: {quantity} is {values!r}; expected {N_BANDS} numbers, "
            f"one per octave band {', '.join(f'{b} Hz' for b in OCTAVE_BANDS)}"
        )
    if len(values) != N_BANDS:
        raise InvalidMaterialError(
            f"material {name!r}: {quantity} has {len(values)} values; expected {N_BANDS}, "
            f"one per octave band {', '.join(f'{b} Hz' for b in OCTAVE_BANDS)}"
        )
    out = []
    for band, value in zip(OCTAVE_BANDS, values):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(value, bool) or not math.isfinite(number) or not 0.0 <= number <= 1.0:
            raise InvalidMaterialError(
                f"material {name!r}: {quantity} at {band} Hz is {value!r}; "
                "expected a finite number in [0, 1]"
            )
        out.append(number)
    return tuple(out)


def _broadcast(value: float | Sequence[float], *, name: str, quantity: str) -> tuple[float, ...]:
    """Repeat a scalar over all bands; check a sequence band by band."""
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise InvalidMaterialError(
                f"material {name!r}: {quantity} is {value!r} in every band "
                f"({OCTAVE_BANDS[0]} Hz to {OCTAVE_BANDS[-1]} Hz); expected a finite number in [0, 1]"
            )
        value = (float(value),) * N_BANDS
    return _check_bands(value, name=name, quantity=quantity)


@dataclass(frozen=True)
class Material:
    """Octave-band acoustic properties of a surface.

    Parameters
    ----------
    name : str
        Name used in messages and tables.
    absorption : tuple of float, shape (7,)
        Random-incidence energy absorption coefficient per octave band
        (125, 250, 500, 1000, 2000, 4000, 8000 Hz), each in [0, 1].
    scattering : tuple of float, shape (7,)
        Random-incidence scattering coefficient per octave band, each in [0, 1]:
        the fraction of reflected energy that leaves non-specularly.
    source : str
        Citation key or text naming where the values come from.

    Raises
    ------
    InvalidMaterialError
        When a sequence does not hold seven values or a value is not finite or
        lies outside [0, 1]; the message names the material, the band and the value.
    """

    name: str
    absorption: tuple[float, ...]
    scattering: tuple[float, ...]
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidMaterialError(f"material name is {self.name!r}; expected a non-empty string")
        absorption = _check_bands(self.absorption, name=self.name, quantity="absorption")
        scattering = _check_bands(self.scattering, name=self.name, quantity="scattering")
        object.__setattr__(self, "absorption", absorption)
        object.__setattr__(self, "scattering", scattering)

    @classmethod
    def uniform(cls, absorption: float, scattering: float = 0.0, name: str | None = None) -> Material:
        """A material with the same absorption (and scattering) in every band.

        Parameters
        ----------
        absorption : float
            Energy absorption coefficient in [0, 1], applied to all seven bands.
        scattering : float, optional
            Scattering coefficient in [0, 1], applied to all seven bands.
        name : str, optional
            Defaults to ``"uniform_<absorption>"``.
        """
        label = name if name is not None else f"uniform_{absorption:g}"
        return cls.from_values(absorption, scattering, name=label, source="uniform")

    @classmethod
    def from_values(
        cls,
        absorption: float | Sequence[float],
        scattering: float | Sequence[float] = 0.0,
        *,
        name: str = "custom",
        source: str = "",
    ) -> Material:
        """A material from a scalar or seven per-band values for each coefficient.

        Parameters
        ----------
        absorption : float or sequence of 7 floats
            Energy absorption coefficient(s) in [0, 1]; a scalar applies to every band.
        scattering : float or sequence of 7 floats, optional
            Scattering coefficient(s) in [0, 1]; a scalar applies to every band.
        name, source : str, optional
            Stored on the material.
        """
        return cls(
            name=name,
            absorption=_broadcast(absorption, name=name, quantity="absorption"),
            scattering=_broadcast(scattering, name=name, quantity="scattering"),
            source=source,
        )


@lru_cache(maxsize=1)
def _load_table() -> dict[str, Any]:
    """Parse the packaged ``materials.json`` once."""
    path = resources.files("soundstage").joinpath("acoustics").joinpath(_TABLE_FILE)
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"cannot read the materials table {path}: {exc}") from exc
    missing = {"bands_hz", "sources", "materials"} - set(table)
    if missing:
        raise FileFormatError(f"materials table {path} lacks key(s) {sorted(missing)}")
    if tuple(table["bands_hz"]) != OCTAVE_BANDS:
        raise FileFormatError(
            f"materials table {path} has bands {table['bands_hz']}; expected {list(OCTAVE_BANDS)}"
        )
    return table


@lru_cache(maxsize=1)
def _named_materials() -> dict[str, Material]:
    """Every table entry as a validated :class:`Material`, keyed by name."""
    entries = _load_table()["materials"]
    return {
        name: Material(
            name=name,
            absorption=tuple(entry["absorption"]),
            scattering=tuple(entry["scattering"]),
            source=entry["source"],
        )
        for name, entry in entries.items()
    }


def material_table() -> dict[str, Any]:
    """The parsed materials table: bands, cited sources, scattering defaults and entries.

    Returns
    -------
    dict
        A copy of the contents of ``soundstage/acoustics/materials.json``; keys
        ``bands_hz``, ``sources``, ``scattering_defaults`` and ``materials``. Each material
        entry holds ``description``, ``category``, ``absorption`` and ``scattering``
        (7 floats each), ``source`` (a key of ``sources``), ``notes`` and provenance fields.
    """
    return copy.deepcopy(_load_table())


def list_materials() -> list[str]:
    """Names accepted by :func:`get_material`, sorted alphabetically."""
    return sorted(_named_materials())


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def _parse_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def get_material(name_or_material: Material | str | float) -> Material:
    """Resolve a material given as an object, a table name or a uniform absorption.

    Parameters
    ----------
    name_or_material : Material, str or float
        A :class:`Material` (returned unchanged); a name from :func:`list_materials`
        (case, spaces and hyphens are forgiven); or a number, or a string holding one
        such as ``"0.3"``, meaning that absorption in every band and no scattering.

    Returns
    -------
    Material

    Raises
    ------
    InvalidMaterialError
        For an unknown name (the message suggests the closest known names) or a
        number outside [0, 1].
    """
    if isinstance(name_or_material, Material):
        return name_or_material
    if isinstance(name_or_material, (int, float, np.integer, np.floating)) and not isinstance(
        name_or_material, bool
    ):
        return Material.uniform(float(name_or_material))
    if not isinstance(name_or_material, str):
        raise InvalidMaterialError(
            f"material is {name_or_material!r} of type {type(name_or_material).__name__}; "
            "expected a Material, a material name or an absorption number in [0, 1]"
        )
    known = _named_materials()
    key = _normalise(name_or_material)
    if key in known:
        return known[key]
    number = _parse_number(name_or_material.strip())
    if number is not None:
        return Material.uniform(number)
    close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    raise InvalidMaterialError(
        f"unknown material {name_or_material!r}; {hint}expected one of the {len(known)} names "
        "listed by soundstage.acoustics.materials.list_materials(), or an absorption number "
        "in [0, 1] such as '0.3'"
    )


def reflection_coefficients(material: Material | str | float) -> np.ndarray:
    """Pressure reflection magnitude per octave band, ``sqrt(1 - absorption)``.

    Parameters
    ----------
    material : Material, str or float
        Anything :func:`get_material` accepts.

    Returns
    -------
    np.ndarray, shape (7,), float64
        Values in [0, 1]; their squares are the reflected energy fractions.
    """
    alpha = np.asarray(get_material(material).absorption, dtype=np.float64)
    return np.sqrt(1.0 - alpha)
