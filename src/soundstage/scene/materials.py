"""Visual guesses of acoustic materials for image regions and room surfaces.

**This is a heuristic, not a trained recogniser.** :func:`classify_region` compares a
region's measured appearance with a small table of hand-set prototypes
(:data:`PROTOTYPES`) and returns the nearest one. It looks at

* where the region is: on the floor, a wall or the ceiling of the fitted room box, or an
  object in the room (only the prototypes of that place compete; a region without depth
  is compared with all of them, at half the confidence);
* colour: hue, saturation and brightness of the mean colour (hue counts only as far as
  the colour is saturated and bright enough, saturation only as far as it is not dark);
* texture: the mean luminance gradient (flat paint ~0.008, carpet pile or brick ~0.02-0.05)
  and its anisotropy (wood grain and planks are striped); both count only as far as the
  region is seen finely enough (1.5 cm per pixel or better), which also scales confidence;
* planarity: RMS distance of the region's 3D points to a plane (folded curtains are not
  flat; painted walls and glass are).

Its limits: it sees one picture under unknown lighting and white balance, so colour and
brightness shift with the camera; a grey carpet and a grey concrete floor, or a painted
wall and a painted plasterboard ceiling, can look alike; glass is seen by what is behind
it; it knows nothing of what is behind a surface (plasterboard and plaster look the
same); it cannot see the grid of acoustic ceiling tiles at a distance, so a grey tiled
ceiling passes for plasterboard or concrete. Every answer therefore carries a confidence
and a reason naming the features and the runner-up; surfaces that are not seen get a
stated prior (:func:`surface_materials`), and object absorption counts each guess only as
far as it is believed (:func:`object_absorption_area`). The prototype values were set by
hand on a handful of frames (listed at :data:`PROTOTYPES`), not fitted to a dataset.
Every material named here exists in :func:`soundstage.acoustics.materials.list_materials`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from soundstage.acoustics.materials import get_material
from soundstage.acoustics.room import SURFACES
from soundstage.scene.regions import Region

__all__ = [
    "OBJECT_PRIOR",
    "PRIOR_MATERIALS",
    "PROTOTYPES",
    "Prototype",
    "WALLS",
    "classify_region",
    "clutter_summary",
    "is_soft",
    "object_absorption_area",
    "surface_materials",
]

WALLS = ("west", "east", "south", "north")
#: Material of a surface nobody saw (walls first take the material seen on other walls).
PRIOR_MATERIALS: dict[str, str] = {"wall": "plaster", "floor": "wood_floor", "ceiling": "plasterboard_ceiling"}
MIN_OBSERVED_AREA = 0.25  # m^2 of classified regions before a surface counts as seen
PRIOR_CONFIDENCE = 0.2
SOFT_ABSORPTION = 0.3  # mean 500 Hz-2 kHz absorption from which a material counts as soft
OBJECT_PRIOR = "hard_surface"  # what an object is taken to be as far as its guess is unsure
_HUE_GREY = 0.2  # saturation at which hue starts to count fully
_SATURATION_DARK = 0.15  # value under which saturation (noisy in the dark) counts less
#: Camera noise alone gives flat paint a texture of ~0.008 and a depth sensor gives a flat
#: wall ~3 mm of planarity; smoother values (noise-free renders) count as these.
TEXTURE_FLOOR = 0.008
PLANARITY_FLOOR = 0.003
#: Pixel footprint (m) up to which texture counts as resolved; for coarser regions (far
#: away, or seen at a grazing angle) the texture terms and the confidence are weighted by
#: DETAIL_M / footprint (at least 0.3).
DETAIL_M = 0.015
MIN_DETAIL_FACTOR = 0.3


@dataclass(frozen=True)
class Prototype:
    """Typical appearance of one material in one place; ``(mean, sd)`` per feature, None = any.

    ``texture`` and ``planarity`` are given as ``(log10 mean, sd in decades)``; hue in degrees.
    """

    material: str
    label: str
    places: frozenset[str]
    hue: tuple[float, float] | None = None
    saturation: tuple[float, float] | None = None
    value: tuple[float, float] | None = None
    texture: tuple[float, float] | None = None
    anisotropy: tuple[float, float] | None = None
    planarity: tuple[float, float] | None = None


def _p(material: str, label: str, places: str, **features: tuple[float, float]) -> Prototype:
    return Prototype(material, label, frozenset(places.split()), **features)


FLAT, GRAIN, ROUGH = (-2.05, 0.2), (-1.65, 0.2), (-1.5, 0.25)  # log10 texture: smooth, grain/pile, rough
WOOD_HUE = (32.0, 12.0)
#: The prototype table. Values were read off the synthetic renders of
#: :mod:`soundstage.scene.synthetic` and real NYU Depth v2, SUN RGB-D and TUM frames.
PROTOTYPES: tuple[Prototype, ...] = (
    _p("wood_floor", "wooden floor", "floor", hue=WOOD_HUE, saturation=(0.45, 0.2), value=(0.45, 0.25),
       texture=GRAIN, anisotropy=(0.7, 0.2)),
    _p("carpet", "carpet", "floor", saturation=(0.3, 0.2), value=(0.35, 0.2), texture=(-1.55, 0.12),
       anisotropy=(0.3, 0.2)),
    _p("concrete_floor", "bare concrete floor", "floor", saturation=(0.08, 0.12), value=(0.45, 0.2),
       texture=(-1.8, 0.2)),
    _p("linoleum", "smooth vinyl or linoleum floor", "floor", saturation=(0.1, 0.2), value=(0.5, 0.2), texture=FLAT),
    _p("tiles", "tiled floor", "floor", saturation=(0.05, 0.1), value=(0.8, 0.12), texture=(-1.6, 0.15),
       anisotropy=(0.35, 0.25)),
    _p("plaster", "painted plaster", "wall", saturation=(0.06, 0.1), value=(0.65, 0.25), texture=FLAT,
       planarity=(-2.2, 0.4)),
    _p("brick_painted", "painted brick or block", "wall", saturation=(0.06, 0.1), value=(0.6, 0.25), texture=ROUGH,
       anisotropy=(0.35, 0.25)),
    _p("brick", "bare brick", "wall", hue=(15.0, 12.0), saturation=(0.4, 0.15), value=(0.35, 0.15), texture=ROUGH),
    _p("wood_panel", "wood panelling", "wall", hue=WOOD_HUE, saturation=(0.55, 0.2), value=(0.3, 0.15),
       texture=GRAIN, anisotropy=(0.6, 0.3)),
    _p("wooden_door", "smooth wood (door)", "wall", hue=WOOD_HUE, saturation=(0.55, 0.2), value=(0.35, 0.15),
       texture=FLAT),
    _p("concrete", "bare concrete", "wall ceiling", saturation=(0.05, 0.08), value=(0.35, 0.15),
       texture=(-1.75, 0.2)),
    _p("glass", "dark glass (window)", "wall", saturation=(0.15, 0.2), value=(0.12, 0.1), texture=FLAT,
       planarity=(-2.2, 0.4)),
    _p("curtains", "curtains (folded fabric)", "wall", saturation=(0.3, 0.25), value=(0.4, 0.25), texture=GRAIN,
       planarity=(-1.4, 0.25)),
    # ceilings are lit from below and often look grey in photos
    _p("plasterboard_ceiling", "smooth painted ceiling", "ceiling", saturation=(0.05, 0.1), value=(0.6, 0.25),
       texture=FLAT),
    _p("acoustic_ceiling_tiles", "acoustic ceiling tiles", "ceiling", saturation=(0.05, 0.1), value=(0.65, 0.2),
       texture=GRAIN, anisotropy=(0.4, 0.3)),
    _p("wood_ceiling", "wooden ceiling", "ceiling", hue=WOOD_HUE, saturation=(0.5, 0.2), value=(0.35, 0.2),
       texture=GRAIN),
    _p("chairs_upholstered", "upholstered furniture", "object", saturation=(0.5, 0.25), value=(0.3, 0.2),
       texture=(-1.75, 0.3)),
    _p("wood", "wooden furniture or panels", "object", hue=WOOD_HUE, saturation=(0.5, 0.2), value=(0.35, 0.2),
       texture=(-1.8, 0.3)),
    _p("hard_surface", "hard furniture or appliance", "object", saturation=(0.15, 0.3), value=(0.6, 0.3),
       texture=(-2.0, 0.3)),
    _p("hard_surface", "dark object (too dark to tell; taken as hard)", "object", value=(0.08, 0.07)),
)
_PLACE = {**{w: "wall" for w in WALLS}, "floor": "floor", "ceiling": "ceiling", "object": "object"}


def _features(region: Region) -> dict[str, float]:
    """Features compared with the prototypes; texture and planarity floored at sensor noise.

    ``detail`` (0.3-1) says how well texture is resolved: 1 up to DETAIL_M per pixel.
    """
    h, s, v = (float(x) for x in region.hsv)
    planarity = region.planarity
    footprint = math.sqrt(region.area / region.pixels) if math.isfinite(region.area) and region.pixels else math.nan
    return {
        "hue": h * 360.0, "saturation": s, "value": v,
        "texture": math.log10(max(region.texture, TEXTURE_FLOOR)), "anisotropy": float(region.anisotropy),
        "planarity": math.log10(max(planarity, PLANARITY_FLOOR)) if math.isfinite(planarity) else math.nan,
        "footprint": footprint,
        "detail": max(MIN_DETAIL_FACTOR, min(1.0, DETAIL_M / footprint)) if footprint > 0 else 1.0,
    }


def _distance(proto: Prototype, f: dict[str, float]) -> float:
    """RMS z-score of the region's features against the prototype's.

    A missing feature scores 1; so, in part, do hue at low saturation, saturation in the
    dark and texture that is not resolved (each blends its z^2 with 1).
    """
    terms = []
    for name in ("hue", "saturation", "value", "texture", "anisotropy", "planarity"):
        spec = getattr(proto, name)
        if spec is None:
            continue
        mean, sd = spec
        if not math.isfinite(f[name]):
            terms.append(1.0)
            continue
        diff = abs((f["hue"] - mean + 180.0) % 360.0 - 180.0) if name == "hue" else f[name] - mean
        weight = {
            "hue": min(1.0, f["saturation"] / _HUE_GREY, f["value"] / _SATURATION_DARK),
            "saturation": min(1.0, f["value"] / _SATURATION_DARK),
            "texture": f["detail"], "anisotropy": f["detail"],
        }.get(name, 1.0)
        terms.append(weight * (diff / sd) ** 2 + (1.0 - weight))
    return math.sqrt(sum(terms) / len(terms))


def classify_region(region: Region) -> tuple[str, float, str]:
    """Nearest prototype material of a region.

    Returns
    -------
    name : str
        A material of :func:`~soundstage.acoustics.materials.list_materials`.
    confidence : float
        In [0, 1]: the softmax share (weights ``exp(-d^2)``) of the winning material
        against the other prototypes of the same place, lowered when even the winner is far (RMS z-score over 1), when the
        region is seen coarser than 1.5 cm per pixel, and halved for a region without depth.
    reason : str
        The place, the measured features, the winner and the runner-up with distances.
    """
    place = _PLACE.get(region.surface)
    candidates = [p for p in PROTOTYPES if place is None or place in p.places]
    f = _features(region)
    scored = sorted((_distance(p, f), i, p) for i, p in enumerate(candidates))
    best_d, _, best = scored[0]
    weights = np.exp(-np.array([d for d, _, _ in scored]) ** 2)
    share = weights[[p.material == best.material for _, _, p in scored]].sum() / weights.sum()
    confidence = float(share) * math.exp(-0.5 * max(0.0, best_d - 1.0) ** 2)
    confidence *= f["detail"] * (0.5 if place is None else 1.0)
    footprint = f["footprint"]
    where = {"floor": "region on the floor", "ceiling": "region on the ceiling",
             "wall": f"region on the {region.surface} wall"}.get(place, f"{region.surface} region")
    plan = "" if not math.isfinite(region.planarity) else f", planarity {region.planarity * 100:.1f} cm"
    plan += "" if not math.isfinite(footprint) else f", {footprint * 100:.1f} cm per pixel"
    reason = (
        f"{where}: hue {f['hue']:.0f} deg, saturation {f['saturation']:.2f}, value {f['value']:.2f}, "
        f"texture {region.texture:.3f}, anisotropy {region.anisotropy:.2f}{plan}; "
        f"nearest prototype '{best.label}' ({best.material}, distance {best_d:.2f})"
    )
    other = next(((d, p) for d, _, p in scored if p.material != best.material), None)
    if other is not None:
        reason += f", next '{other[1].label}' ({other[1].material}, {other[0]:.2f})"
    return best.material, round(confidence, 3), reason


def _material_of(region: Region) -> tuple[str, float]:
    if region.material is None:
        region.material, region.material_confidence, region.material_reason = classify_region(region)
    return region.material, region.material_confidence


def _vote(regions: Sequence[Region]) -> tuple[str, float, float, dict[str, float]]:
    """Area x confidence vote: winner, its share of the area-weighted confidence, area, shares."""
    votes: dict[str, float] = {}
    area = 0.0
    for r in regions:
        name, conf = _material_of(r)
        votes[name] = votes.get(name, 0.0) + r.area * max(conf, 0.05)
        area += r.area
    winner = max(votes, key=votes.__getitem__)
    total = sum(votes.values())
    shares = {k: round(v / total, 3) for k, v in sorted(votes.items(), key=lambda kv: -kv[1])}
    return winner, votes[winner] / area, area, shares


def surface_materials(regions: Iterable[Region], layout: Any | None = None) -> dict[str, dict[str, Any]]:
    """Material of each room surface from the regions seen on it, else a stated prior.

    Parameters
    ----------
    regions : iterable of Region
        Regions from :func:`~soundstage.scene.regions.segment_regions`; those not yet
        classified are classified here (and updated in place).
    layout : RoomLayout, optional
        Only used to name in the reason a surface the layout marks as never observed.

    Returns
    -------
    dict
        For each of :data:`~soundstage.acoustics.room.SURFACES`: ``material``,
        ``confidence`` (0-1), ``area_observed`` (m^2 of regions on it), ``source``
        (``"image"``: an area x confidence vote of its regions; ``"prior"``), ``votes``
        (share of the vote per material) and ``reason``. Priors: a surface with less
        than 0.25 m^2 of regions takes, for a wall, the material voted on the walls seen
        to be hard (curtains seen on one wall are not spread to the others), else plaster;
        for the floor ``wood_floor`` (the commonest floor of furnished rooms) and for the
        ceiling ``plasterboard_ceiling``.
    """
    regions = [r for r in regions if math.isfinite(r.area) and r.area > 0]
    out: dict[str, dict[str, Any]] = {}
    for surface in SURFACES:
        on = [r for r in regions if r.surface == surface]
        area = float(sum(r.area for r in on))
        if area >= MIN_OBSERVED_AREA:
            winner, confidence, _, shares = _vote(on)
            out[surface] = {"material": winner, "confidence": round(min(confidence, 1.0), 3),
                            "area_observed": round(area, 3), "source": "image", "votes": shares,
                            "reason": f"area-weighted vote of {len(on)} regions ({area:.2f} m^2)"}
    hard_walls = [s for s in WALLS if s in out and not is_soft(out[s]["material"])]
    seen_walls = [r for r in regions if r.surface in hard_walls]
    for surface in SURFACES:
        if surface in out:
            continue
        area = float(sum(r.area for r in regions if r.surface == surface))
        place = _PLACE[surface]
        unseen = "was not seen" if area == 0 else f"was barely seen ({area:.2f} m^2)"
        observed = getattr(getattr(layout, "surfaces", {}).get(surface), "observed", None)
        if observed is False:
            unseen += " and its position is itself a prior"
        material = PRIOR_MATERIALS[place]
        reason = f"{surface} {unseen}; prior for a {place}: {material}"
        if place == "wall" and seen_walls:  # curtains or panels seen on one wall are not spread to others
            material = _vote([r for r in seen_walls if not is_soft(r.material)] or seen_walls)[0]
            reason = f"{surface} {unseen}; assumed like the hard walls that were seen ({material})"
        out[surface] = {"material": material, "confidence": PRIOR_CONFIDENCE, "area_observed": round(area, 3),
                        "source": "prior", "votes": {}, "reason": reason}
    return {s: out[s] for s in SURFACES}


def is_soft(material: str) -> bool:
    """Whether a material absorbs like a soft furnishing (mean 500 Hz-2 kHz absorption >= 0.3)."""
    return float(np.mean(get_material(material).absorption[2:5])) >= SOFT_ABSORPTION


def object_absorption_area(regions: Iterable[Region]) -> np.ndarray:
    """Expected equivalent absorption area (m^2 sabins per octave band, shape (7,)) of the objects seen.

    The sum over object regions of ``area x (c absorption(material) + (1 - c)
    absorption(OBJECT_PRIOR))`` with ``c`` the region's material confidence: a guess
    counts as far as it is believed, the rest as hard furniture. Only the visible faces
    are counted, so this is a lower bound of what the furniture adds.
    """
    prior = np.asarray(get_material(OBJECT_PRIOR).absorption)
    total = np.zeros(len(prior))
    for r in regions:
        if r.surface == "object" and math.isfinite(r.area):
            name, conf = _material_of(r)
            total += r.area * (conf * np.asarray(get_material(name).absorption) + (1.0 - conf) * prior)
    return total


def clutter_summary(regions: Iterable[Region]) -> dict[str, Any]:
    """How much of the view is furniture and how soft it is.

    Returns
    -------
    dict
        ``object_share``: share of the pixels with depth that belong to objects (None
        when no region has depth); ``object_area_m2``; ``soft_area_m2``: area of regions
        classified soft, weighted by their confidence (as in :func:`object_absorption_area`);
        ``soft_share``: the confidence-weighted share of soft among the object guesses;
        ``materials``: object area per material.
    """
    regions = list(regions)
    measured = sum(r.pixels for r in regions if r.surface != "unknown")
    objects = [r for r in regions if r.surface == "object"]
    by_material: dict[str, float] = {}
    soft = believed = 0.0
    for r in objects:
        if math.isfinite(r.area):
            name, conf = _material_of(r)
            by_material[name] = by_material.get(name, 0.0) + r.area
            believed += r.area * conf
            soft += r.area * conf if is_soft(name) else 0.0
    area = sum(by_material.values())
    return {
        "object_share": None if measured == 0 else round(sum(r.pixels for r in objects) / measured, 3),
        "object_area_m2": round(area, 3),
        "soft_area_m2": round(soft, 3),
        "soft_share": round(soft / believed, 3) if believed > 0 else 0.0,
        "materials": {k: round(v, 3) for k, v in sorted(by_material.items(), key=lambda kv: -kv[1])},
    }
