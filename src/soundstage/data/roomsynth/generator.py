"""One RoomSynth item as a pure function of ``(seed, split, i)``.

:func:`make_item` draws a shoebox room, a texture family and material per surface,
furniture boxes, a camera inside and a talker in view, then renders the RGB image, the
metric depth and a label map (:func:`soundstage.scene.synthetic.render_room` with
flat colours; the family patterns of :mod:`.textures` are applied on the hit points) and
synthesizes the talker-to-camera impulse response with its acoustic profile.

Splits (see :data:`SHAPE_FAMILIES`, :data:`HELD_OUT_FAMILIES`):

* ``train`` and ``test-seen``: shape family ``regular`` (floor aspect ratio 1 to 2,
  height 2.4 to 5.0 m) and only the texture families not held out;
* ``test-unseen``: shape families ``corridor`` (aspect 2.5 to 5, height 2.4 to 5.0 m),
  ``lofty`` (aspect 1 to 2, height 5.5 to 8 m), ``low`` (aspect 1 to 2, height 2.2 to
  2.35 m) or ``l-shaped`` (a regular box with the far corner cut away: the notch is 30 to
  60 % of each side), one quarter each; and at least one room surface in a held-out
  texture family (``stone``, ``curtain``, ``metal``), the other surfaces and the furniture
  drawn from all families.

Sides are 2.5 to 25 m (the shorter one log-uniform). An L-shaped room is rendered as its
bounding box with the notch as a solid block (the block's faces are the two inner walls,
labelled and textured as the east wall, whose material they share) and its response
comes from :class:`~soundstage.acoustics.prism.PrismRoom` (image sources with occlusion).
The talker's body (a box) is drawn in the picture but, like the camera operator, adds no
absorption; furniture absorption is spread over the floor the way
:meth:`soundstage.scene.scene.Scene.room` does it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import numpy as np

from soundstage.acoustics.analysis import analyze
from soundstage.acoustics.materials import get_material
from soundstage.acoustics.prism import PrismRoom
from soundstage.acoustics.rir import synthesize_rir
from soundstage.acoustics.room import SURFACES, Room
from soundstage.constants import OCTAVE_BANDS, SPEED_OF_SOUND
from soundstage.errors import SoundstageError
from soundstage.scene.camera import Intrinsics, camera_rotation, pixel_rays, project
from soundstage.scene.caption import scene_summary
from soundstage.scene.synthetic import render_room
from soundstage.data.roomsynth.textures import FAMILIES, PATTERNS, families_for

__all__ = ["HELD_OUT_FAMILIES", "L_SHAPES", "SHAPE_FAMILIES", "SPLITS", "SPLIT_SHAPES", "TALKER_LABEL", "RoomSynthItem",
           "room_caption",
           "make_item"]

SPLITS: tuple[str, ...] = ("train", "test-seen", "test-unseen")
#: ``name -> ((min, max) floor aspect ratio, (min, max) height in m)``.
SHAPE_FAMILIES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "regular": ((1.0, 2.0), (2.4, 5.0)),
    "corridor": ((2.5, 5.0), (2.4, 5.0)),
    "lofty": ((1.0, 2.0), (5.5, 8.0)),
    "low": ((1.0, 2.0), (2.2, 2.35)),
    "l-shaped": ((1.0, 2.0), (2.4, 5.0)),
}
SPLIT_SHAPES: dict[str, tuple[str, ...]] = {
    "train": ("regular",), "test-seen": ("regular",), "test-unseen": ("corridor", "lofty", "low", "l-shaped"),
}
#: Shape families whose floor is not a rectangle.
L_SHAPES = frozenset({"l-shaped"})
NOTCH_RANGE = (0.3, 0.6)
#: Texture families never used in ``train`` / ``test-seen``.
HELD_OUT_FAMILIES: frozenset[str] = frozenset({"stone", "curtain", "metal"})
#: Label of the talker's body in the label map (0-5: :data:`SURFACES`; 7 + k: furniture k).
TALKER_LABEL = 6
SIDE_RANGE = (2.5, 25.0)
MOUTH_HEIGHT = 1.6
_MORTAR = np.array([196.0, 192.0, 184.0])
_PLURAL = {"shelf": "shelves"}
_FACE_COORDS = {0: (1, 2), 1: (0, 2), 2: (0, 1)}
# kind: (width range, depth range, height range, families)
_FURNITURE = {
    "sofa": ((1.6, 2.2), (0.8, 1.0), (0.7, 0.9), ("upholstery",)),
    "armchair": ((0.7, 0.9), (0.7, 0.9), (0.7, 1.0), ("upholstery",)),
    "table": ((0.8, 1.8), (0.6, 1.0), (0.7, 0.78), ("wood", "metal")),
    "cabinet": ((0.6, 1.2), (0.4, 0.6), (1.2, 2.0), ("wood", "metal")),
    "bed": ((1.4, 2.0), (1.9, 2.1), (0.45, 0.6), ("upholstery",)),
    "shelf": ((0.8, 1.6), (0.3, 0.4), (1.6, 2.2), ("wood",)),
    "desk": ((1.2, 1.6), (0.6, 0.8), (0.72, 0.76), ("wood", "metal")),
}


@dataclass
class RoomSynthItem:
    """One item: ``rgb`` uint8 (H, W, 3); ``depth`` float32 (H, W) metres along the optical
    axis; ``labels`` uint8 (H, W) (0-5 room surfaces in :data:`SURFACES` order, 6 talker,
    7 + k furniture k); ``rir`` float32 (samples,) at ``meta['rir']['sr']``; ``meta`` JSON-ready."""

    rgb: np.ndarray
    depth: np.ndarray
    labels: np.ndarray
    rir: np.ndarray
    meta: dict[str, Any]


def item_rng(seed: int, split: str, i: int) -> np.random.Generator:
    """The generator of item ``i`` of ``split``; independent across seeds, splits and indices."""
    if split not in SPLITS:
        raise SoundstageError(f"unknown split {split!r}; expected one of {SPLITS}")
    if int(seed) < 0 or int(i) < 0:
        raise SoundstageError(f"seed and index must be >= 0, got seed={seed!r}, i={i!r}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), SPLITS.index(split), int(i)]))


def _draw_dims(rng: np.random.Generator, shape: str) -> np.ndarray:
    (r_lo, r_hi), (h_lo, h_hi) = SHAPE_FAMILIES[shape]
    ratio = rng.uniform(r_lo, r_hi)
    short = float(np.exp(rng.uniform(np.log(SIDE_RANGE[0]), np.log(min(12.0, SIDE_RANGE[1] / ratio)))))
    sides = [short, short * ratio] if rng.random() < 0.5 else [short * ratio, short]
    return np.array([*sides, rng.uniform(h_lo, h_hi)])


def _draw_surfaces(rng: np.random.Generator, unseen: bool) -> dict[str, dict[str, Any]]:
    allowed = set(FAMILIES) if unseen else set(FAMILIES) - HELD_OUT_FAMILIES
    walls = families_for("wall", allowed)
    main_wall = walls[rng.integers(len(walls))]
    chosen = {}
    for s in SURFACES:
        kind = "floor" if s == "floor" else "ceiling" if s == "ceiling" else "wall"
        options = families_for(kind, allowed)
        chosen[s] = main_wall if kind == "wall" and rng.random() < 0.7 else options[rng.integers(len(options))]
    if unseen and not HELD_OUT_FAMILIES & set(chosen.values()):
        s = SURFACES[rng.integers(len(SURFACES))]
        kind = "floor" if s == "floor" else "ceiling" if s == "ceiling" else "wall"
        held = families_for(kind, HELD_OUT_FAMILIES) or families_for("wall", HELD_OUT_FAMILIES)
        s = s if families_for(kind, HELD_OUT_FAMILIES) else "north"
        chosen[s] = held[rng.integers(len(held))]
    return {s: _look(rng, f) for s, f in chosen.items()}


def _look(rng: np.random.Generator, family: str) -> dict[str, Any]:
    fam = FAMILIES[family]
    colour = np.asarray(fam.colours[rng.integers(len(fam.colours))], float) * rng.uniform(0.9, 1.1, 3)
    return {"family": family, "material": fam.materials[rng.integers(len(fam.materials))],
            "pattern": fam.pattern, "colour": [int(c) for c in np.clip(np.rint(colour), 0, 255)]}


def _segment_hits_box(p: np.ndarray, q: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    d = q - p
    t0, t1 = 0.0, 1.0
    for ax in range(3):
        if abs(d[ax]) < 1e-12:
            if p[ax] < lo[ax] or p[ax] > hi[ax]:
                return False
            continue
        a, b = sorted(((lo[ax] - p[ax]) / d[ax], (hi[ax] - p[ax]) / d[ax]))
        t0, t1 = max(t0, a), min(t1, b)
        if t0 > t1:
            return False
    return True


def _notch_box(dims: np.ndarray, notch: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
    if notch is None:
        return None
    return np.array([dims[0] - notch[0], dims[1] - notch[1], 0.0]), np.asarray(dims, float).copy()


def _near_box(p: np.ndarray, box: tuple[np.ndarray, np.ndarray] | None, margin: float) -> bool:
    return box is not None and bool(np.all((p[:2] > box[0][:2] - margin) & (p[:2] < box[1][:2] + margin)))


def _draw_view(rng: np.random.Generator, dims: np.ndarray, intr: Intrinsics,
               notch: np.ndarray | None = None) -> dict[str, Any]:
    """Camera pose and a talker 1-5 m in front whose mouth projects well inside the image."""
    block = _notch_box(dims, notch)
    for _ in range(200):
        cam = np.array([rng.uniform(0.5, dims[0] - 0.5), rng.uniform(0.5, dims[1] - 0.5),
                        rng.uniform(1.2, min(1.7, dims[2] - 0.4))])
        if _near_box(cam, block, 0.5):
            continue
        target = np.array([rng.uniform(0.5, dims[0] - 0.5), rng.uniform(0.5, dims[1] - 0.5)])
        d = target - cam[:2]
        if np.hypot(*d) < 1.5:
            continue
        yaw = float(np.degrees(np.arctan2(-d[0], d[1])) + rng.normal(0.0, 8.0))
        pitch = float(rng.uniform(-12.0, 3.0))
        mouth = min(MOUTH_HEIGHT, dims[2] - 0.5)
        half = np.radians(intr.hfov_deg / 2)
        rot = camera_rotation(yaw, pitch)
        for _ in range(20):
            dist = rng.uniform(1.0, 5.0)
            ang = np.radians(yaw) + rng.uniform(-0.6, 0.6) * half
            spk = np.array([cam[0] - dist * np.sin(ang), cam[1] + dist * np.cos(ang), mouth])
            if np.any(spk[:2] < 0.4) or np.any(spk[:2] > dims[:2] - 0.4) or _near_box(spk, block, 0.4):
                continue
            if block is not None and _segment_hits_box(cam, spk, block[0] - 0.1, block[1] + 0.1):
                continue
            u, v = project(rot.T @ (spk - cam), intr)
            if 0.1 * intr.width <= u <= 0.9 * intr.width and 0.1 * intr.height <= v <= 0.9 * intr.height:
                return {"camera": cam, "yaw": yaw, "pitch": pitch, "speaker": spk, "pixel": (float(u), float(v))}
    raise SoundstageError(f"could not place a camera and a visible talker in a room of {dims.round(2)} m")


def _talker_box(spk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return spk - np.array([0.2, 0.125, spk[2]]), spk + np.array([0.2, 0.125, 0.15])


def _draw_furniture(rng: np.random.Generator, dims: np.ndarray, view: dict[str, Any], unseen: bool,
                    notch: np.ndarray | None = None) -> list[dict]:
    kinds = sorted(_FURNITURE)
    n = int(rng.integers(0, min(6, 1 + int(dims[0] * dims[1] // 8)) + 1))
    cam, spk = view["camera"], view["speaker"]
    talker = _talker_box(spk)
    block = _notch_box(dims, notch)
    placed: list[dict] = []
    for _ in range(n):
        kind = kinds[rng.integers(len(kinds))]
        wr, dr, hr, fams = _FURNITURE[kind]
        fams = tuple(f for f in fams if unseen or f not in HELD_OUT_FAMILIES)
        size = np.array([rng.uniform(*wr), rng.uniform(*dr), min(rng.uniform(*hr), dims[2] - 0.3)])
        if rng.random() < 0.5:
            size[:2] = size[1::-1]
        look = _look(rng, fams[rng.integers(len(fams))])
        for _ in range(30):
            lo = np.array([rng.uniform(0.02, dims[0] - size[0] - 0.02), rng.uniform(0.02, dims[1] - size[1] - 0.02), 0.0])
            if np.any(lo[:2] < 0):
                break
            hi = lo + size
            pad = np.array([0.5, 0.5, 0.0])
            blocked = (np.all((cam[:2] > lo[:2] - 0.5) & (cam[:2] < hi[:2] + 0.5))
                       or np.all((talker[1] > lo - pad) & (talker[0] < hi + pad))
                       or _segment_hits_box(cam, spk, lo - 0.2, hi + 0.2)
                       or any(np.all((lo < p["max"]) & (hi > p["min"])) for p in placed)
                       or (block is not None and np.all((lo[:2] < block[1][:2]) & (hi[:2] > block[0][:2]))))
            if not blocked:
                placed.append({"kind": kind, "min": lo, "max": hi, **look})
                break
    return placed


def _texture(rgb: np.ndarray, points: np.ndarray, labels: np.ndarray, looks: list[dict],
             boxes: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Multiply flat-shaded ``rgb`` (n, 3) by each hit's family pattern; mortar where negative."""
    out = rgb.copy()
    axis = np.zeros(len(labels), int)
    room = labels < 6
    axis[room] = labels[room] // 2
    for k, (lo, hi) in enumerate(boxes):
        sel = labels == 6 + k
        if np.any(sel):
            gap = np.minimum(np.abs(points[sel] - lo), np.abs(points[sel] - hi))
            axis[sel] = np.argmin(gap, axis=1)
    for lab, look in enumerate(looks):
        if look is None:
            continue
        for ax in range(3):
            sel = (labels == lab) & (axis == ax)
            if np.any(sel):
                i, j = _FACE_COORDS[ax]
                factor = PATTERNS[look["pattern"]](points[sel, i], points[sel, j])
                shaded = rgb[sel] * np.abs(factor)[:, None]
                out[sel] = np.where((factor < 0)[:, None], _MORTAR * rgb[sel] / np.maximum(look["colour"], 1), shaded)
    return out


def _render(rng: np.random.Generator, dims, view, surfaces, furniture, intr: Intrinsics, notch=None):
    talker_colour = [int(c) for c in rng.integers(30, 220, 3)]
    boxes = [(*_talker_box(view["speaker"]), talker_colour)] + [(f["min"], f["max"], f["colour"]) for f in furniture]
    block = _notch_box(dims, notch)
    if block is not None:
        boxes.append((*block, surfaces["east"]["colour"]))
    flat, depth, _, labels = render_room(dims, view["camera"], view["yaw"], view["pitch"], intrinsics=intr,
                                         colours={s: surfaces[s]["colour"] for s in SURFACES}, textures=False,
                                         boxes=boxes, return_labels=True)
    rays = pixel_rays(intr).reshape(-1, 3).astype(np.float64) @ camera_rotation(view["yaw"], view["pitch"]).T
    points = view["camera"] + rays * depth.reshape(-1, 1).astype(np.float64)
    looks = [surfaces[s] for s in SURFACES] + [None] + list(furniture) + ([surfaces["east"]] if block else [])
    rgb = _texture(flat.reshape(-1, 3).astype(np.float64), points, labels.ravel(), looks,
                   [(b[0], b[1]) for b in boxes]).reshape(*intr.shape, 3)
    if block is not None:  # the notch's faces are walls of the room, in the east wall's material
        labels = np.where(labels == 7 + len(furniture), SURFACES.index("east"), labels)
    # lighting: exposure, white balance, vignette; then sensor noise
    yy, xx = np.mgrid[0:intr.height, 0:intr.width]
    r2 = ((xx - intr.cx) / intr.width) ** 2 + ((yy - intr.cy) / intr.height) ** 2
    gain = rng.uniform(0.85, 1.1) * rng.uniform(0.96, 1.04, 3)
    rgb = rgb * gain * (1.0 - 0.35 * r2)[..., None]
    rgb = rgb + rng.normal(0.0, rng.uniform(1.5, 5.0), rgb.shape)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8), depth.astype(np.float32), labels.astype(np.uint8)


def _room(dims: np.ndarray, surfaces: dict, furniture: list[dict], notch: np.ndarray | None = None) -> Room | PrismRoom:
    materials = {s: get_material(surfaces[s]["material"]) for s in SURFACES}
    floor_area = dims[0] * dims[1] - (0.0 if notch is None else notch[0] * notch[1])
    extra = np.zeros(len(OCTAVE_BANDS))
    for f in furniture:
        w, d, h = np.asarray(f["max"]) - np.asarray(f["min"])
        extra += (w * d + 2 * h * (w + d)) * np.asarray(get_material(f["material"]).absorption)
    if np.any(extra > 0):
        floor = materials["floor"]
        alpha = np.minimum(np.asarray(floor.absorption) + extra / floor_area, 0.95)
        materials["floor"] = replace(floor, name=f"{floor.name} + furnishings",
                                     absorption=tuple(np.maximum(alpha, floor.absorption).tolist()))
    if notch is not None:  # plan walls: south, east, the notch's two walls (east material), north, west
        order = ["south", "east", "east", "east", "north", "west", "floor", "ceiling"]
        return PrismRoom.l_shaped(tuple(dims), tuple(notch), [materials[s] for s in order])
    return Room.shoebox(tuple(dims), materials)


def room_caption(dims: np.ndarray, surfaces: dict, furniture: list[dict], distance: float, l_shaped: bool = False) -> str:
    """A RoomSynth caption in words only: size, shape, ceiling, materials, furniture, how far the talker is.

    ``surfaces`` maps every name in :data:`SURFACES` to a dict with a ``material``;
    ``furniture`` holds dicts with a ``kind``.
    """
    areas = dict(zip(SURFACES, Room.shoebox(tuple(dims)).surface_areas()))
    facts = {s: {"material": surfaces[s]["material"], "source": "true", "area_observed": float(areas[s])}
             for s in SURFACES}
    summary = scene_summary(SimpleNamespace(dims=tuple(dims)), [], facts, measurements=False)
    text = summary["caption"]
    if l_shaped:
        text = text.replace(f" {summary['shape']} room", " L-shaped room", 1)
    if furniture:
        counts: dict[str, int] = {}
        for f in furniture:
            counts[f["kind"]] = counts.get(f["kind"], 0) + 1
        parts = [f"{'an' if k[0] in 'aeiou' else 'a'} {k}" if c == 1 else f"{c} {_PLURAL.get(k, k + 's')}" for k, c in counts.items()]
        text += " Furnished with " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]) + "."
    where = "close to" if distance < 2.0 else "a few metres from" if distance < 3.5 else "far from"
    return text + f" A person speaks {where} the camera."


def _r(x: Any, nd: int = 4) -> Any:
    return [round(float(v), nd) for v in np.ravel(x)]


def make_item(seed: int, split: str, i: int, *, width: int = 224, height: int = 224, sr: int = 16000,
              max_rir_s: float = 4.0) -> RoomSynthItem:
    """Item ``i`` of ``split`` for ``seed``: a pure function of its arguments.

    Parameters
    ----------
    seed, split, i : dataset seed (>= 0), one of :data:`SPLITS`, item index (>= 0).
    width, height : image size in pixels (``Intrinsics.from_fov``, 60 degrees across).
    sr : sample rate of the impulse response, Hz.
    max_rir_s : longest impulse response, seconds (default length: 1.2 x the largest
        500-2000 Hz Eyring T60, at least 0.3 s).
    """
    rng = item_rng(seed, split, i)
    unseen = split == "test-unseen"
    shapes = SPLIT_SHAPES[split]
    shape = shapes[rng.integers(len(shapes))]
    dims = _draw_dims(rng, shape)
    notch = dims[:2] * rng.uniform(*NOTCH_RANGE, 2) if shape in L_SHAPES else None
    surfaces = _draw_surfaces(rng, unseen)
    intr = Intrinsics.from_fov(width, height)
    view = _draw_view(rng, dims, intr, notch)
    furniture = _draw_furniture(rng, dims, view, unseen, notch)
    if unseen and not HELD_OUT_FAMILIES & {v["family"] for v in surfaces.values()}:
        raise SoundstageError("internal: test-unseen item without a held-out family")
    rgb, depth, labels = _render(rng, dims, view, surfaces, furniture, intr, notch)
    room = _room(dims, surfaces, furniture, notch)
    rt60 = room.rt60()
    duration = float(np.clip(1.2 * np.max(rt60[2:5]), 0.3, max_rir_s))
    rir_seed = int(rng.integers(2**31))
    rir = synthesize_rir(room, view["speaker"], view["camera"], sr=sr, duration=duration, seed=rir_seed).data[0]
    profile = analyze(rir, sr)
    distance = float(np.linalg.norm(view["speaker"] - view["camera"]))
    meta = {
        "split": split, "seed": int(seed), "index": int(i), "shape_family": shape,
        "dims_m": _r(dims), "volume_m3": round(float(room.volume), 3),
        "notch_m": None if notch is None else _r(notch),
        "surfaces": {s: {k: surfaces[s][k] for k in ("material", "family", "colour")} for s in SURFACES},
        "furniture": [{"kind": f["kind"], "min_m": _r(f["min"]), "max_m": _r(f["max"]), "material": f["material"],
                       "family": f["family"], "label": 7 + k} for k, f in enumerate(furniture)],
        "camera": {"position_m": _r(view["camera"]), "yaw_deg": round(view["yaw"], 4),
                   "pitch_deg": round(view["pitch"], 4), "intrinsics": intr.to_dict()},
        "speaker": {"position_m": _r(view["speaker"]), "pixel": _r(view["pixel"], 2), "label": TALKER_LABEL},
        "listener": {"position_m": _r(view["camera"])},
        "distance_m": round(distance, 4), "direct_delay_s": round(distance / SPEED_OF_SOUND, 6),
        "rir": {"sr": int(sr), "samples": int(rir.shape[0]), "seed": rir_seed},
        "rt60_eyring_s": {str(b): round(float(t), 4) for b, t in zip(OCTAVE_BANDS, rt60)},
        "profile": profile.to_dict(),
        "caption": room_caption(dims, surfaces, furniture, distance, notch is not None),
    }
    return RoomSynthItem(rgb, depth, labels, rir.astype(np.float32), meta)
