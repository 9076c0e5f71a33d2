"""Texture families of RoomSynth: materials, colours and procedural patterns.

A *family* groups acoustic materials of :mod:`soundstage.acoustics.materials` that look
alike (all wood, all carpet, ...). Each family has a procedural brightness pattern of the
kind :data:`soundstage.scene.synthetic.TEXTURES` holds (a function of the in-face
coordinates ``(a, b)`` in metres returning a factor; negative values mark mortar/grout),
a palette of base colours and the surfaces it may cover. Patterns already in
``synthetic.TEXTURES`` (wood, brick, carpet, tiles, paint) are reused; the new ones here
(concrete, glass, curtain, acoustic panel, marble, ceiling tile, metal, rubber) have the
same signature and could be added to that dict as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from soundstage.scene.synthetic import TEXTURES, _hash

__all__ = ["FAMILIES", "PATTERNS", "TextureFamily", "families_for"]

Pattern = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _value_noise(a: np.ndarray, b: np.ndarray, cell: float, salt: float = 0.0) -> np.ndarray:
    """Smooth lattice noise in [0, 1) with cells of ``cell`` metres."""
    x, y = a / cell, b / cell
    i, j = np.floor(x), np.floor(y)
    fx, fy = x - i, y - j
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    n00, n10 = _hash(i + salt, j), _hash(i + 1 + salt, j)
    n01, n11 = _hash(i + salt, j + 1), _hash(i + 1 + salt, j + 1)
    return (n00 * (1 - fx) + n10 * fx) * (1 - fy) + (n01 * (1 - fx) + n11 * fx) * fy


def _concrete(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mottled cast concrete: two octaves of blotches, fine grit, 1.2 x 0.6 m formwork seams."""
    blotch = 0.14 * (_value_noise(a, b, 0.5) - 0.5) + 0.07 * (_value_noise(a, b, 0.12, 31.0) - 0.5)
    grit = 0.08 * (_hash(np.floor(a / 0.006), np.floor(b / 0.006)) - 0.5)
    seam = (np.mod(a, 1.2) < 0.008) | (np.mod(b, 0.6) < 0.008)
    return np.where(seam, 0.8, 1.0 + blotch + grit)


def _glass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Glazing: 1.2 x 1.5 m panes with a bright diagonal reflection and 6 cm dark mullions."""
    frame = (np.mod(a, 1.2) < 0.06) | (np.mod(b, 1.5) < 0.06)
    sheen = 1.0 + 0.18 * np.sin(2.2 * (a + 0.6 * b)) ** 8 - 0.06 * np.mod(b, 1.5) / 1.5
    return np.where(frame, 0.45, sheen)


def _curtain(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hanging folds every 15 cm (vertical light and shade) and faint weave."""
    fold = 0.22 * np.sin(2 * np.pi * a / 0.15 + 0.8 * np.sin(2 * np.pi * a / 0.9))
    weave = 0.05 * (_hash(np.floor(a / 0.003), np.floor(b / 0.003)) - 0.5)
    return 1.0 + fold + weave


def _panel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Fabric-faced absorber panels 0.6 x 1.2 m, each its own tone, 2 cm dark gaps."""
    col, row = np.floor(a / 0.6), np.floor(b / 1.2)
    gap = (a / 0.6 - col < 0.033) | (b / 1.2 - row < 0.017)
    fabric = 1.0 + 0.12 * (_hash(col, row) - 0.5) + 0.1 * (_hash(np.floor(a / 0.004), np.floor(b / 0.004)) - 0.5)
    return np.where(gap, 0.35, fabric)


def _marble(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Polished slabs 0.6 m square with thin meandering dark veins."""
    warp = 2.5 * _value_noise(a, b, 0.35, 7.0) + 1.2 * _value_noise(a, b, 0.09, 11.0)
    vein = np.abs(np.sin(3.0 * (a + 0.7 * b) + 4.0 * warp)) ** 0.15
    joint = (np.mod(a, 0.6) < 0.002) | (np.mod(b, 0.6) < 0.002)
    return np.where(joint, 0.75, 0.7 + 0.32 * vein)


def _ceiling_tile(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Suspended ceiling: 0.6 m grid of 2.5 cm light metal bars, fissured mineral tiles."""
    grid = (np.mod(a, 0.6) < 0.025) | (np.mod(b, 0.6) < 0.025)
    fissure = _hash(np.floor(a / 0.01), np.floor(b / 0.01)) < 0.08
    return np.where(grid, 1.08, np.where(fissure, 0.82, 1.0))


def _metal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Brushed sheet metal: fine streaks along a, 1 m panels with dark joints, soft sheen."""
    streak = 0.07 * (_hash(np.floor(b / 0.0015)) - 0.5)
    joint = np.mod(a, 1.0) < 0.01
    return np.where(joint, 0.55, 1.0 + streak + 0.1 * np.sin(1.3 * a + 0.4 * b))


def _rubber(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Studded rubber or linoleum: 2 cm dots on a 5 cm lattice, slight flecks."""
    da, db = np.mod(a, 0.05) - 0.025, np.mod(b, 0.05) - 0.025
    dot = da * da + db * db < 0.01 ** 2
    fleck = 0.1 * (_hash(np.floor(a / 0.008), np.floor(b / 0.008)) - 0.5)
    return np.where(dot, 1.12, 1.0 + fleck)


#: Every pattern by name: the ones of ``synthetic.TEXTURES`` plus the new ones above.
PATTERNS: dict[str, Pattern] = {
    **TEXTURES, "concrete": _concrete, "glass": _glass, "curtain": _curtain, "panel": _panel,
    "marble": _marble, "ceiling_tile": _ceiling_tile, "metal": _metal, "rubber": _rubber,
}


@dataclass(frozen=True)
class TextureFamily:
    """Materials that look alike, their pattern, colour palette and allowed surfaces."""

    name: str
    pattern: str
    materials: tuple[str, ...]
    colours: tuple[tuple[int, int, int], ...]
    surfaces: frozenset[str]  # subset of {"wall", "floor", "ceiling", "furniture"}


def _fam(name: str, pattern: str, materials: str, colours: tuple, surfaces: str) -> TextureFamily:
    return TextureFamily(name, pattern, tuple(materials.split()), colours, frozenset(surfaces.split()))


#: The texture families, by name.
FAMILIES: dict[str, TextureFamily] = {f.name: f for f in (
    _fam("wood", "wood", "wood wood_floor parquet wood_panel wooden_lining plywood wood_ceiling",
         ((150, 104, 64), (181, 136, 88), (110, 72, 44), (200, 164, 118)), "wall floor ceiling furniture"),
    _fam("carpet", "carpet", "carpet carpet_thin carpet_soft carpet_cotton needle_felt",
         ((120, 40, 44), (70, 80, 110), (128, 120, 104), (60, 96, 70)), "floor"),
    _fam("concrete", "concrete", "concrete rough_concrete polished_concrete concrete_floor concrete_block_painted",
         ((160, 160, 156), (132, 130, 126), (184, 180, 172)), "wall floor ceiling"),
    _fam("tile", "tiles", "tiles linoleum",
         ((228, 228, 222), (190, 200, 204), (170, 150, 130)), "wall floor"),
    _fam("glass", "glass", "glass glass_3mm double_glazing double_glazing_10mm",
         ((150, 180, 196), (120, 150, 170), (176, 196, 204)), "wall"),
    _fam("curtain", "curtain", "curtains curtains_heavy curtains_light curtains_velvet studio_curtains",
         ((120, 30, 40), (40, 50, 90), (190, 176, 150), (60, 60, 64)), "wall"),
    _fam("brick", "brick", "brick brick_painted brickwork brick_pointed",
         ((160, 74, 52), (140, 60, 44), (232, 228, 220)), "wall"),
    _fam("plaster", "paint", "plaster plaster_rough plasterboard sheetrock stucco lime_wash plasterboard_ceiling",
         ((222, 218, 210), (236, 232, 220), (200, 212, 214), (226, 206, 186)), "wall ceiling"),
    _fam("acoustic_panel", "panel", "acoustic_panel acoustic_panel_light melamine_foam perforated_gypsum",
         ((90, 92, 98), (176, 170, 160), (70, 90, 120)), "wall ceiling"),
    _fam("stone", "marble", "marble limestone",
         ((232, 230, 226), (200, 192, 178), (80, 82, 86)), "wall floor"),
    _fam("ceiling_tile", "ceiling_tile", "acoustic_ceiling_tiles ceiling_tile",
         ((238, 238, 232), (226, 224, 216)), "ceiling"),
    _fam("metal", "metal", "metal metal_ceiling",
         ((176, 178, 182), (140, 142, 146)), "wall ceiling furniture"),
    _fam("rubber", "rubber", "rubber_floor",
         ((60, 60, 62), (40, 90, 70), (150, 60, 50)), "floor"),
    _fam("upholstery", "carpet", "chairs_upholstered seats_heavy_upholstered chairs_leather",
         ((90, 60, 50), (60, 70, 90), (150, 140, 120), (40, 40, 44)), "furniture"),
)}


def families_for(kind: str, allowed: frozenset[str] | set[str]) -> list[str]:
    """Sorted names of the families in ``allowed`` that may cover a ``kind`` surface."""
    return sorted(n for n in allowed if kind in FAMILIES[n].surfaces)
