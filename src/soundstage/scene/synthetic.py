"""A small vectorised ray caster for shoebox rooms with box-shaped furniture.

:func:`render_room` draws the RGB image and the depth map a pinhole camera inside the
room ``[0, Lx] x [0, Ly] x [0, Lz]`` (room frame: x east, y north, z up) would record.
Tests use it as ground truth for the layout fit and the region classifier, and the demo
uses it as its built-in room. The surfaces carry simple procedural patterns (painted
plaster, wood planks, brick, carpet, tiles) computed from the hit point's position on the
face, so a pattern stays put when the camera moves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Callable

import numpy as np

from soundstage.acoustics.room import SURFACES, Room
from soundstage.errors import InvalidGeometryError
from soundstage.scene.camera import Intrinsics, camera_rotation, pixel_rays

__all__ = ["DEFAULT_COLOURS", "DEFAULT_TEXTURES", "TEXTURES", "render_room"]

Colour = tuple[int, int, int]

#: Surface colours (RGB 0-255) used when ``colours`` does not name a surface.
DEFAULT_COLOURS: dict[str, Colour] = {
    "west": (222, 218, 210), "east": (222, 218, 210), "south": (222, 218, 210),
    "north": (222, 218, 210), "floor": (150, 104, 64), "ceiling": (244, 244, 240),
}
#: Pattern per surface when ``textures=True``: painted walls, wood floor, flat ceiling.
DEFAULT_TEXTURES: dict[str, str] = {
    "west": "paint", "east": "paint", "south": "paint", "north": "paint", "floor": "wood", "ceiling": "flat",
}
_MORTAR = np.array([196.0, 192.0, 184.0])
# In-face coordinates (a, b) of a hit on a face normal to each axis: along the wall and up
# for walls, (x, y) for the floor and ceiling.
_FACE_COORDS = {0: (1, 2), 1: (0, 2), 2: (0, 1)}
# Mild shading of faces normal to x, y, z so that corners of one colour stay visible.
_AXIS_SHADE = np.array([0.94, 1.0, 1.0])
_BOX_SHADE = np.array([0.82, 0.9, 1.0])


def _hash(*ints: np.ndarray) -> np.ndarray:
    """Deterministic pseudo-random values in [0, 1) from integer lattice coordinates."""
    x = np.zeros(np.broadcast(*ints).shape)
    for i, k in enumerate(ints):
        x = x + np.asarray(k, dtype=np.float64) * (12.9898 + 65.233 * i)
    return np.modf(np.abs(np.sin(x) * 43758.5453))[0]


def _flat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.ones_like(a)


def _paint(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Flat paint: faint low-frequency unevenness (about +-2 %)."""
    return 1.0 + 0.012 * np.sin(1.7 * a + 0.9 * b) + 0.008 * np.sin(0.6 * a - 2.3 * b)


def _wood(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Planks 14 cm wide running along b, each with its own tone, grain stripes and dark joints."""
    plank = np.floor(a / 0.14)
    across = a / 0.14 - plank
    tone = 1.0 + 0.24 * (_hash(plank) - 0.5)
    grain = 0.1 * np.sin(2 * np.pi * (across * 5.0 + 0.35 * np.sin(1.3 * b + 7.0 * _hash(plank + 17.0))))
    joint = np.where(across < 0.04, 0.55, 1.0)
    return tone * (1.0 + grain) * joint


def _brick(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Stretcher bond of 215 x 65 mm bricks; negative values mark 10 mm mortar joints."""
    row = np.floor(b / 0.075)
    shifted = a + 0.1125 * (row % 2)
    col = np.floor(shifted / 0.225)
    mortar = (b / 0.075 - row < 0.133) | (shifted / 0.225 - col < 0.044)
    return np.where(mortar, -1.0, 1.0 + 0.3 * (_hash(row, col) - 0.5))


def _carpet(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Fine pile: +-15 % speckle on a 4 mm lattice."""
    return 1.0 + 0.3 * (_hash(np.floor(a / 0.004), np.floor(b / 0.004)) - 0.5)


def _tiles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """30 cm square tiles with 5 mm darker grout."""
    grout = (np.mod(a, 0.3) < 0.005) | (np.mod(b, 0.3) < 0.005)
    return np.where(grout, 0.7, 1.0 + 0.04 * (_hash(np.floor(a / 0.3), np.floor(b / 0.3)) - 0.5))


#: Procedural patterns: each maps in-face coordinates (metres) to a brightness factor.
TEXTURES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "flat": _flat, "paint": _paint, "wood": _wood, "brick": _brick, "carpet": _carpet, "tiles": _tiles,
}


def _colour(value: Sequence[float], what: str) -> np.ndarray:
    c = np.asarray(value, dtype=float)
    if c.shape != (3,) or not np.all((c >= 0) & (c <= 255)):
        raise InvalidGeometryError(f"colour of {what} must be three numbers 0-255 (r, g, b), got {value!r}")
    return c


def _pattern(name: str, what: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    if name not in TEXTURES:
        raise InvalidGeometryError(f"unknown texture {name!r} for {what}; expected one of {sorted(TEXTURES)}")
    return TEXTURES[name]


def _shade(points: np.ndarray, axis: int, base: np.ndarray, pattern: Callable) -> np.ndarray:
    """RGB (0-255 floats) of hits ``points (n, 3)`` on a face normal to ``axis``."""
    i, j = _FACE_COORDS[axis]
    factor = pattern(points[:, i], points[:, j])
    rgb = base[None, :] * np.abs(factor)[:, None]
    return np.where((factor < 0)[:, None], _MORTAR[None, :], rgb)


def _check_boxes(boxes: Sequence) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
    checked = []
    for k, box in enumerate(boxes):
        if len(box) not in (3, 4):
            raise InvalidGeometryError(f"box {k} must be (min xyz, max xyz, colour[, texture]), got {box!r}")
        lo, hi = np.asarray(box[0], dtype=float), np.asarray(box[1], dtype=float)
        if lo.shape != (3,) or hi.shape != (3,) or not np.all(np.isfinite(lo) & np.isfinite(hi)) or np.any(lo >= hi):
            raise InvalidGeometryError(f"box {k} corners must be finite xyz with min < max, got {box[0]!r}, {box[1]!r}")
        texture = box[3] if len(box) == 4 else "flat"
        _pattern(texture, f"box {k}")
        checked.append((lo, hi, _colour(box[2], f"box {k}"), texture))
    return checked


def render_room(
    dims: Sequence[float],
    camera_position: Sequence[float],
    yaw_deg: float = 0.0,
    pitch_deg: float = 0.0,
    *,
    intrinsics: Intrinsics | None = None,
    colours: Mapping[str, Sequence[float]] | None = None,
    textures: bool | Mapping[str, str] = True,
    boxes: Sequence = (),
    noise_m: float = 0.0,
    rng: int | np.random.Generator = 0,
    return_labels: bool = False,
) -> tuple[np.ndarray, ...]:
    """Render what a pinhole camera inside a shoebox room sees.

    Parameters
    ----------
    dims
        Room size ``(Lx, Ly, Lz)`` in metres.
    camera_position
        Camera centre in the room frame, strictly inside the room and outside every box.
    yaw_deg, pitch_deg
        Orientation as in :func:`soundstage.geometry.rotation_matrix`: yaw 0 and pitch 0
        look along +y (north) with the image's up along +z; positive yaw turns left,
        positive pitch looks up.
    intrinsics
        Camera; default ``Intrinsics.from_fov(640, 480)`` (60 degrees across).
    colours
        RGB 0-255 per surface name (:data:`SURFACES`); others use :data:`DEFAULT_COLOURS`.
    textures
        ``True``: :data:`DEFAULT_TEXTURES`; ``False``: every surface flat; or a mapping
        from surface name to a :data:`TEXTURES` name (unnamed surfaces use the default).
    boxes
        Furniture as ``(min_xyz, max_xyz, colour)`` or ``(min_xyz, max_xyz, colour,
        texture)`` axis-aligned boxes in the room frame; faces are shaded by orientation.
    noise_m
        Standard deviation (metres) of Gaussian noise added to the depth map.
    rng
        Seed or generator for the depth noise.
    return_labels
        Also return the ``(H, W)`` int32 map of what each pixel sees: ``i`` for
        ``SURFACES[i]``, ``6 + k`` for box ``k``.

    Returns
    -------
    rgb : np.ndarray
        uint8 ``(H, W, 3)``.
    depth : np.ndarray
        float32 ``(H, W)`` metres along the optical axis (no holes).
    intrinsics : Intrinsics
        The camera used.
    labels : np.ndarray
        Only with ``return_labels``.
    """
    room = Room.shoebox(dims)
    size = np.asarray(room.dims)
    origin = room.check_inside(camera_position, name="camera position")
    intr = intrinsics if intrinsics is not None else Intrinsics.from_fov(640, 480)
    if not np.isfinite(noise_m) or noise_m < 0:
        raise InvalidGeometryError(f"depth noise must be a standard deviation >= 0 metres, got {noise_m!r}")
    colour_spec = dict(colours or {})
    texture_spec = {} if textures is True else {s: "flat" for s in SURFACES} if textures is False else dict(textures)
    for name in set(colour_spec) | set(texture_spec):
        if name not in SURFACES:
            raise InvalidGeometryError(f"unknown surface {name!r}; expected one of {SURFACES}")
    looks = [(_colour(colour_spec.get(s, DEFAULT_COLOURS[s]), s), _pattern(texture_spec.get(s, DEFAULT_TEXTURES[s]), s))
             for s in SURFACES]
    checked = _check_boxes(boxes)
    for k, (lo, hi, _, _) in enumerate(checked):
        if np.all((origin > lo) & (origin < hi)):
            raise InvalidGeometryError(f"camera position {tuple(origin)} is inside box {k}; expected it outside")

    rays = pixel_rays(intr).reshape(-1, 3).astype(np.float64) @ camera_rotation(yaw_deg, pitch_deg).T
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / rays
        exits = np.where(rays > 0, (size - origin) * inv, np.where(rays < 0, -origin * inv, np.inf))
        axis = np.argmin(exits, axis=1)
        t = exits[np.arange(len(rays)), axis]
        labels = 2 * axis + (rays[np.arange(len(rays)), axis] > 0)
        for k, (lo, hi, _, _) in enumerate(checked):
            t1, t2 = (lo - origin) * inv, (hi - origin) * inv
            on_edge = np.isnan(t1) | np.isnan(t2)  # ray parallel to a slab face it starts on
            near = np.where(on_edge, -np.inf, np.minimum(t1, t2))
            far = np.where(on_edge, np.inf, np.maximum(t1, t2))
            enter, leave = near.max(axis=1), far.min(axis=1)
            hit = (enter <= leave) & (enter > 0) & (enter < t)
            t = np.where(hit, enter, t)
            labels = np.where(hit, 6 + k, labels)
            axis = np.where(hit, np.argmax(near, axis=1), axis)
    points = origin + rays * t[:, None]

    rgb = np.zeros((len(rays), 3))
    for i, (base, pattern) in enumerate(looks):
        sel = labels == i
        if np.any(sel):
            rgb[sel] = _shade(points[sel], i // 2, base, pattern) * _AXIS_SHADE[i // 2]
    for k, (_, _, base, texture) in enumerate(checked):
        sel = labels == 6 + k
        for ax in range(3):
            part = sel & (axis == ax)
            if np.any(part):
                rgb[part] = _shade(points[part], ax, base, TEXTURES[texture]) * _BOX_SHADE[ax]

    shape = intr.shape
    depth = t.reshape(shape)
    if noise_m > 0:
        depth = depth + np.random.default_rng(rng).normal(0.0, noise_m, shape)
    out = (np.clip(np.rint(rgb), 0, 255).astype(np.uint8).reshape(*shape, 3), depth.astype(np.float32), intr)
    return out + (labels.reshape(shape).astype(np.int32),) if return_labels else out
