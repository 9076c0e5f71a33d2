"""A sentence or two describing a room as acoustics sees it, and a hook for captioning models.

:func:`caption_scene` writes, from the fitted room box, the regions and the surface
materials, something like

    A medium-sized rectangular room (about 5.1 x 4.0 x 2.6 m, 53 m^3) with a wooden floor,
    plaster walls and a plasterboard ceiling; moderately cluttered (furniture covers about
    20 % of the view), mostly soft furnishings.

Words are chosen by fixed thresholds (:data:`SIZE_WORDS` on the volume, :data:`SHAPE_WORDS`
on the ratio of the longer to the shorter floor side, :data:`CLUTTER_WORDS` on the share of
the measured view covered by objects); surfaces whose material is a prior are marked
"assumed". :func:`scene_summary` returns the same facts as plain data, which is also what
a :class:`Captioner` (for instance a vision-language model wrapped by the caller) receives;
:func:`caption_with` uses one and falls back to the rule-based caption when it fails. No
model is bundled or downloaded. :func:`caption_materials` reads the surface materials back
out of a caption in this template (RoomSynth's captions use it too).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from soundstage.errors import SoundstageError
from soundstage.scene.materials import WALLS, clutter_summary
from soundstage.scene.regions import Region

__all__ = ["CLUTTER_WORDS", "Captioner", "SHAPE_WORDS", "SIZE_WORDS", "caption_materials", "caption_scene",
           "caption_with", "scene_summary"]

#: ``(upper volume bound in m^3, word)``: a bathroom is small, a living room medium-sized,
#: a classroom large, a hall very large.
SIZE_WORDS: tuple[tuple[float, str], ...] = ((20.0, "small"), (80.0, "medium-sized"), (250.0, "large"),
                                             (float("inf"), "very large"))
#: ``(upper bound of longer / shorter floor side, word)``.
SHAPE_WORDS: tuple[tuple[float, str], ...] = ((1.2, "square"), (2.0, "rectangular"), (2.8, "elongated"),
                                              (float("inf"), "corridor-like"))
#: ``(upper bound of the object share of the view, word)``.
CLUTTER_WORDS: tuple[tuple[float, str], ...] = ((0.1, "sparsely furnished"), (0.35, "moderately cluttered"),
                                                (0.6, "cluttered"), (float("inf"), "heavily cluttered"))
LOW_CEILING_M, HIGH_CEILING_M = 2.3, 3.5

# Word used before "floor", "walls" or "ceiling"; other materials use their name with spaces.
_WORDS = {
    "wood_floor": "wooden", "parquet": "parquet", "wood": "wooden", "wood_panel": "wood-panelled",
    "wooden_door": "wooden", "wood_ceiling": "wooden", "wooden_lining": "wood-lined", "plywood": "plywood",
    "carpet": "carpeted", "carpet_thin": "thin-carpeted", "carpet_soft": "carpeted", "carpet_cotton": "carpeted",
    "concrete": "concrete", "concrete_floor": "concrete", "polished_concrete": "polished concrete",
    "rough_concrete": "rough concrete", "concrete_block": "concrete-block", "concrete_block_painted": "painted block",
    "linoleum": "linoleum", "tiles": "tiled", "marble": "marble", "rubber_floor": "rubber",
    "plaster": "plaster", "plaster_rough": "rough plaster", "plasterboard": "plasterboard", "sheetrock": "plasterboard",
    "plasterboard_ceiling": "plasterboard", "acoustic_ceiling_tiles": "acoustic-tile", "ceiling_tile": "acoustic-tile",
    "brick": "brick", "brick_painted": "painted brick", "brickwork": "brick", "glass": "glass",
    "double_glazing": "glazed", "curtains": "curtained", "curtains_heavy": "heavily curtained",
}


class Captioner(Protocol):
    """Anything that captions a room picture: ``captioner(rgb, summary) -> str``.

    ``rgb`` is the uint8 ``(H, W, 3)`` image and ``summary`` the dict of
    :func:`scene_summary` (measured size, materials, clutter and our own caption), which a
    model may use as context or ignore.
    """

    def __call__(self, rgb: np.ndarray, summary: dict[str, Any]) -> str: ...


def _pick(table: tuple[tuple[float, str], ...], value: float) -> str:
    return next(word for bound, word in table if value < bound)


def _word(material: str) -> str:
    word = _WORDS.get(material, material.replace("_", " "))
    for noun in (" ceiling", " walls", " wall", " floor"):  # "metal ceiling ceiling" -> "metal ceiling"
        word = word.removesuffix(noun)
    return word


@lru_cache(maxsize=1)
def _materials_by_word() -> dict[str, tuple[str, ...]]:
    from soundstage.acoustics.materials import list_materials

    table: dict[str, list[str]] = {}
    for name in list_materials():
        table.setdefault(_word(name), []).append(name)
    return {w: tuple(names) for w, names in table.items()}


_SURFACES_PHRASE = re.compile(r"with an? (.+?) floor(?: \(assumed\))?, (.+?) walls(?: \(assumed\))? "
                              r"and an? (.+?) ceiling")


def caption_materials(caption: str) -> dict[str, list[tuple[str, ...]]] | None:
    """The materials a caption in our template names: ``{"floor": [...], "walls": [...], "ceiling": [...]}``.

    Each entry lists, per material word in the caption ("carpeted", "brick", "melamine
    foam"), the material-table names written with that word (``("carpet", "carpet_soft",
    "carpet_cotton")``); words that name no material are left out. None when the caption
    does not have the "with a ... floor, ... walls and a ... ceiling" phrase.
    """
    match = _SURFACES_PHRASE.search(caption)
    if match is None:
        return None
    floor, walls, ceiling = match.groups()
    table = _materials_by_word()
    words = {"floor": [floor], "walls": [w for w in re.split(r", | and ", walls) if w], "ceiling": [ceiling]}
    return {surface: [table[w] for w in ws if w in table] for surface, ws in words.items()}


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _surface_phrase(entry: Mapping[str, Any], noun: str) -> str:
    word = _word(entry["material"])
    assumed = " (assumed)" if entry.get("source") == "prior" else ""
    return f"{_article(word)} {word} {noun}{assumed}"


def _walls_phrase(materials: Mapping[str, Mapping[str, Any]]) -> str:
    seen = [w for w in WALLS if materials[w].get("source") != "prior"]
    if not seen:
        return f"{_word(materials[WALLS[0]]['material'])} walls (assumed)"
    area: dict[str, float] = {}
    for w in seen:
        name = materials[w]["material"]
        area[name] = area.get(name, 0.0) + float(materials[w].get("area_observed", 0.0))
    words = list(dict.fromkeys(_word(m) for m in sorted(area, key=lambda m: -area[m])))
    return (" and ".join(words[:2]) if len(words) <= 2 else ", ".join(words[:-1]) + " and " + words[-1]) + " walls"


def scene_summary(
    layout: Any,
    regions: Iterable[Region],
    surface_materials: Mapping[str, Mapping[str, Any]],
    *,
    monocular: bool = False,
    measurements: bool = True,
) -> dict[str, Any]:
    """The facts behind the caption, as plain data.

    Parameters
    ----------
    layout : RoomLayout
        The room box (anything with ``dims``).
    regions : iterable of Region
        Classified regions (for the clutter figures).
    surface_materials : mapping
        Output of :func:`soundstage.scene.materials.surface_materials`.
    monocular : bool
        True when the room size is a prior (no depth), not a measurement.
    measurements : bool
        Put the dimensions and volume in the caption (default); False keeps words only
        (size, shape, ceiling, materials), as a person describing the picture would.

    Returns
    -------
    dict
        ``dims_m``, ``volume_m3``, ``size``, ``shape``, ``ceiling_height`` (word or None),
        ``materials`` (surface -> material and source), ``clutter`` (see
        :func:`~soundstage.scene.materials.clutter_summary`), ``monocular`` and ``caption``.
    """
    dims = tuple(float(d) for d in layout.dims)
    if len(dims) != 3 or not all(np.isfinite(d) and d > 0 for d in dims):
        raise SoundstageError(f"layout dims are {layout.dims!r}; expected three positive lengths in metres")
    missing = [s for s in (*WALLS, "floor", "ceiling") if s not in surface_materials]
    if missing:
        raise SoundstageError(f"surface materials lack {missing}; expected the output of surface_materials")
    volume = dims[0] * dims[1] * dims[2]
    ratio = max(dims[:2]) / min(dims[:2])
    height = "low-ceilinged" if dims[2] < LOW_CEILING_M else "high-ceilinged" if dims[2] > HIGH_CEILING_M else None
    summary: dict[str, Any] = {
        "dims_m": [round(d, 2) for d in dims], "volume_m3": round(volume, 1),
        "size": _pick(SIZE_WORDS, volume), "shape": _pick(SHAPE_WORDS, ratio), "ceiling_height": height,
        "materials": {s: {"material": e["material"], "source": e.get("source", "")} for s, e in surface_materials.items()},
        "clutter": clutter_summary(regions), "monocular": bool(monocular),
    }
    summary["caption"] = _describe(summary, surface_materials, measurements)
    return summary


def _describe(summary: dict[str, Any], materials: Mapping[str, Mapping[str, Any]], measurements: bool = True) -> str:
    lx, ly, lz = summary["dims_m"]
    words = [summary["size"]] + ([summary["ceiling_height"]] if summary["ceiling_height"] else []) + [summary["shape"]]
    head = f"{_article(words[0]).capitalize()} {' '.join(words)} room"
    size = f"about {lx:.1f} x {ly:.1f} x {lz:.1f} m, {summary['volume_m3']:.0f} m^3"
    if summary["monocular"]:
        head = f"A room of assumed typical size ({size}; no depth map, so the size is a guess)"
    elif measurements:
        head += f" ({size})"
    text = (f"{head} with {_surface_phrase(materials['floor'], 'floor')}, {_walls_phrase(materials)} "
            f"and {_surface_phrase(materials['ceiling'], 'ceiling')}")
    clutter = summary["clutter"]
    if summary["monocular"] or clutter["object_share"] is None:
        return text + "."
    share = clutter["object_share"]
    text += f"; {_pick(CLUTTER_WORDS, share)} (furniture covers about {100 * share:.0f} % of the view)"
    if clutter["object_area_m2"] > 0:
        text += ", mostly soft furnishings" if clutter["soft_share"] >= 0.5 else ", mostly hard furniture"
    return text + "."


def caption_scene(
    layout: Any,
    regions: Iterable[Region],
    surface_materials: Mapping[str, Mapping[str, Any]],
    *,
    monocular: bool = False,
) -> str:
    """One or two sentences on size, shape, materials and clutter (see the module doc)."""
    return scene_summary(layout, regions, surface_materials, monocular=monocular)["caption"]


def caption_with(captioner: Captioner | None, rgb: np.ndarray, summary: Mapping[str, Any]) -> str:
    """Caption from ``captioner``, or the rule-based ``summary["caption"]`` if it fails.

    Parameters
    ----------
    captioner : Captioner or None
        Called as ``captioner(rgb, dict(summary))``; None means use the rule-based caption.
    rgb : ndarray, uint8, shape (H, W, 3)
        The room picture.
    summary : mapping
        Output of :func:`scene_summary`; must hold ``"caption"``.

    Returns
    -------
    str
        The captioner's text, stripped; when it raises or returns no text, the rule-based
        caption, with a :class:`RuntimeWarning` naming what went wrong.
    """
    if "caption" not in summary:
        raise SoundstageError("summary has no 'caption'; expected the dict returned by scene_summary")
    if captioner is None:
        return str(summary["caption"])
    try:
        text = captioner(rgb, dict(summary))
    except Exception as exc:  # a model may fail in any way; the rule-based caption stands in
        problem = f"raised {type(exc).__name__}: {exc}"
    else:
        if isinstance(text, str) and text.strip():
            return text.strip()
        problem = f"returned {text!r} instead of text"
    warnings.warn(f"captioner {captioner!r} {problem}; using the rule-based caption", RuntimeWarning, stacklevel=2)
    return str(summary["caption"])
