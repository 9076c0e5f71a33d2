"""A pictured room as acoustics sees it: geometry, surfaces, materials, talker and listener.

:func:`analyze_scene` turns an RGB image (and a depth map, when there is one) into a
:class:`Scene`:

1. camera: the given intrinsics, or a pinhole with :data:`~soundstage.scene.camera.DEFAULT_HFOV_DEG`
   horizontal field of view (recorded as assumed);
2. geometry: depth -> camera-frame points -> floor, walls and ceiling
   (:func:`~soundstage.scene.layout.fit_room`) -> the room box in the room frame of
   :mod:`soundstage.geometry`; without depth, a prior room (:func:`~soundstage.scene.layout.layout_from_prior`)
   flagged ``monocular`` with a warning;
3. regions: superpixels split at depth edges, each with 3D centroid, area, normal and
   the box face it lies on (:mod:`~soundstage.scene.regions`);
4. materials: a heuristic visual classifier per region and an area-weighted vote per
   surface (:mod:`~soundstage.scene.materials`);
5. a caption from all of the above (:mod:`~soundstage.scene.caption`);
6. talker and listener: the listener at the camera; the talker at a given pixel or, by
   default, at a visible spot about 2 m in front of the camera, mouth 1.6 m above the floor.

:meth:`Scene.room` is the acoustic model (:class:`~soundstage.acoustics.room.Room`);
:meth:`Scene.summary` is what ``soundstage speak --json`` prints.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from soundstage.acoustics.materials import get_material
from soundstage.acoustics.room import SURFACES, Room
from soundstage.constants import OCTAVE_BANDS
from soundstage.errors import FileFormatError, InvalidGeometryError, InvalidImageError
from soundstage.io.atomic import atomic_write
from soundstage.scene.camera import Intrinsics, backproject, project
from soundstage.scene.caption import Captioner, caption_with, scene_summary
from soundstage.scene.layout import RoomLayout, fit_room, layout_from_prior
from soundstage.scene.materials import classify_region, object_absorption_area, surface_materials
from soundstage.scene.regions import Region, segment_regions
from soundstage.scene.synthetic import render_room

#: Height of a standing talker's mouth above the floor, metres.
MOUTH_HEIGHT = 1.6
#: Distance in front of the camera of the default talker, metres.
DEFAULT_DISTANCE = 2.0
#: Smallest distance kept between a talker or listener and any surface, metres.
MARGIN = 0.3
MIN_VALID_POINTS = 1000


@dataclass
class Scene:
    """Everything :func:`analyze_scene` found, in the room frame (x right, y forward, z up, metres)."""

    image_size: tuple[int, int]
    intrinsics: Intrinsics
    intrinsics_assumed: bool
    layout: RoomLayout
    regions: list[Region]
    surfaces: dict[str, dict[str, Any]]
    caption: str
    speaker: np.ndarray
    listener: np.ndarray
    speaker_pixel: tuple[float, float] | None = None
    monocular: bool = False
    warnings: list[str] = field(default_factory=list)
    #: Region id per pixel (from :func:`analyze_scene`; not stored in JSON).
    labels: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: Room-frame point of every pixel, NaN without depth (from :func:`analyze_scene`; not stored in JSON).
    points: np.ndarray | None = field(default=None, repr=False, compare=False)

    def room(self) -> Room:
        """The shoebox with the surface materials of the scene, furnishings included.

        The visible furniture's absorption area (:func:`~soundstage.scene.materials.object_absorption_area`,
        m^2 sabins per band) is spread over the floor it stands on: the floor's
        absorption becomes ``alpha + A_objects / S_floor`` (at most 0.95), so a room
        full of sofas is deader than the same room full of cabinets.
        """
        materials = {s: get_material(self.surfaces[s]["material"]) for s in SURFACES}
        extra = object_absorption_area(self.regions)
        if np.any(extra > 0):
            floor = materials["floor"]
            lx, ly, _ = self.layout.dims
            alpha = np.minimum(np.asarray(floor.absorption) + extra / (lx * ly), 0.95)
            materials["floor"] = replace(floor, name=f"{floor.name} + furnishings",
                                         absorption=tuple(np.maximum(alpha, floor.absorption).tolist()))
        return Room.shoebox(self.layout.dims, materials)

    def predicted_t30(self) -> dict[str, float]:
        """Eyring reverberation time per octave band (Hz -> s) of :meth:`room`."""
        return {str(band): round(float(t), 3) for band, t in zip(OCTAVE_BANDS, self.room().rt60())}

    def listener_yaw(self) -> float:
        """Yaw (degrees, :mod:`soundstage.geometry`) of the camera's horizontal viewing direction."""
        return _yaw_pitch(self.layout)[0]

    def summary(self) -> dict[str, Any]:
        """Room size, volume, surface materials, predicted T30, talker and listener, caption."""
        areas = self.layout.surface_areas()
        return {
            "room_dims_m": [round(float(d), 3) for d in self.layout.dims],
            "volume_m3": round(float(self.layout.volume), 2),
            "surfaces": {s: {"material": self.surfaces[s]["material"], "area_m2": round(float(areas[s]), 2),
                             "observed": bool(self.layout.surfaces[s].observed),
                             "source": self.surfaces[s].get("source", "")} for s in SURFACES},
            "predicted_t30_s": self.predicted_t30(),
            "speaker_m": [round(float(v), 3) for v in self.speaker],
            "listener_m": [round(float(v), 3) for v in self.listener],
            "speaker_pixel": None if self.speaker_pixel is None else [round(float(v), 1) for v in self.speaker_pixel],
            "camera_yaw_deg": round(self.listener_yaw(), 1),
            "monocular": self.monocular,
            "intrinsics_assumed": self.intrinsics_assumed,
            "regions": len(self.regions),
            "caption": self.caption,
            "notes": list(self.layout.notes),
            "warnings": list(self.warnings),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_size": list(self.image_size),
            "intrinsics": self.intrinsics.to_dict(),
            "intrinsics_assumed": self.intrinsics_assumed,
            "layout": self.layout.to_dict(),
            "regions": [r.to_dict() for r in self.regions],
            "surfaces": self.surfaces,
            "caption": self.caption,
            "speaker": self.speaker.tolist(),
            "listener": self.listener.tolist(),
            "speaker_pixel": None if self.speaker_pixel is None else list(self.speaker_pixel),
            "monocular": self.monocular,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scene:
        try:
            return cls(
                image_size=tuple(data["image_size"]),
                intrinsics=Intrinsics.from_dict(data["intrinsics"]),
                intrinsics_assumed=bool(data["intrinsics_assumed"]),
                layout=RoomLayout.from_dict(data["layout"]),
                regions=[Region.from_dict(r) for r in data["regions"]],
                surfaces={k: dict(v) for k, v in data["surfaces"].items()},
                caption=str(data["caption"]),
                speaker=np.asarray(data["speaker"], float),
                listener=np.asarray(data["listener"], float),
                speaker_pixel=None if data.get("speaker_pixel") is None else tuple(data["speaker_pixel"]),
                monocular=bool(data["monocular"]),
                warnings=list(data.get("warnings", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(f"not a soundstage scene: {exc!r}; expected the JSON written by Scene.save") from exc

    def save(self, path: str | Path) -> Path:
        """Write the scene as JSON (atomically)."""
        text = json.dumps(self.to_dict(), indent=1)
        return atomic_write(Path(path), lambda tmp: tmp.write_text(text))

    @classmethod
    def load(cls, path: str | Path) -> Scene:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FileFormatError(f"cannot read scene '{path}': {exc}; expected JSON written by Scene.save") from exc
        return cls.from_dict(data)


def _yaw_pitch(layout: RoomLayout) -> tuple[float, float]:
    """Yaw and pitch (degrees, :mod:`soundstage.geometry`) of the camera's optical axis in the room."""
    forward = layout.rotation @ np.array([0.0, 0.0, 1.0])
    yaw = float(np.degrees(np.arctan2(-forward[0], forward[1])))
    return yaw, float(np.degrees(np.arcsin(np.clip(forward[2], -1.0, 1.0))))


def _check_depth(rgb: np.ndarray, depth: np.ndarray | None) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise InvalidImageError(f"image must be uint8 (H, W, 3); got {rgb.dtype} {rgb.shape}")
    if depth is None:
        return
    if depth.shape != rgb.shape[:2]:
        raise InvalidImageError(f"depth map is {depth.shape[0]}x{depth.shape[1]} (H x W) but the image is "
                                f"{rgb.shape[0]}x{rgb.shape[1]}; expected matching sizes")
    valid = int(np.count_nonzero(np.isfinite(depth) & (depth > 0)))
    if valid < MIN_VALID_POINTS:
        raise InvalidImageError(f"depth map has {valid} valid pixels; expected at least {MIN_VALID_POINTS} "
                                "(is it all zero, or stored in another encoding?)")


def inside_box(point: np.ndarray, dims: Sequence[float], margin: float = MARGIN) -> np.ndarray:
    lo = np.minimum(margin, np.asarray(dims) / 2 - 1e-3)
    return np.clip(point, lo, np.asarray(dims) - lo)


def _speaker_at_pixel(pixel: tuple[float, float], points_room: np.ndarray, layout: RoomLayout) -> np.ndarray:
    """Talker standing where pixel ``(u, v)`` looks: the median 3D point of a 7x7 window, mouth height."""
    h, w = points_room.shape[:2]
    u, v = pixel
    if not (0 <= u < w and 0 <= v < h):
        raise InvalidGeometryError(f"speaker pixel ({u:g}, {v:g}) is outside the {w}x{h} image; expected 0 <= u < {w}, 0 <= v < {h}")
    window = points_room[max(0, int(v) - 3) : int(v) + 4, max(0, int(u) - 3) : int(u) + 4].reshape(-1, 3)
    window = window[np.all(np.isfinite(window), axis=1)]
    if window.size == 0:
        raise InvalidGeometryError(f"no valid depth around speaker pixel ({u:g}, {v:g}); choose a pixel with depth")
    p = np.median(window, axis=0)
    return inside_box(np.array([p[0], p[1], MOUTH_HEIGHT]), layout.dims)


def _default_speaker(layout: RoomLayout, intrinsics: Intrinsics) -> np.ndarray:
    """About 2 m in front of the camera along its horizontal view, nearer when a wall is closer, in view."""
    forward = layout.rotation @ np.array([0.0, 0.0, 1.0])
    flat = np.array([forward[0], forward[1], 0.0])
    flat /= max(np.linalg.norm(flat), 1e-9)
    cam = np.asarray(layout.camera_position, float)
    dims = np.asarray(layout.dims, float)
    # distance along ``flat`` to the box, keeping the margin
    with np.errstate(divide="ignore", invalid="ignore"):
        limits = np.where(flat[:2] > 0, (dims[:2] - MARGIN - cam[:2]) / flat[:2],
                          np.where(flat[:2] < 0, (MARGIN - cam[:2]) / flat[:2], np.inf))
    distance = float(min(DEFAULT_DISTANCE, 0.7 * max(float(np.min(limits)), 0.5)))
    for _ in range(20):  # walk closer until the mouth is in the picture
        p = inside_box(cam + distance * flat + np.array([0, 0, MOUTH_HEIGHT - cam[2]]), dims)
        cam_point = layout.rotation.T @ (p - layout.translation)
        if cam_point[2] > 0:
            u, v = project(cam_point, intrinsics)
            if 0 <= u < intrinsics.width and 0 <= v < intrinsics.height:
                return p
        distance *= 0.85
    return inside_box(cam + distance * flat, dims)


def analyze_scene(
    rgb: np.ndarray,
    depth: np.ndarray | None = None,
    intrinsics: Intrinsics | None = None,
    *,
    speaker_pixel: tuple[float, float] | None = None,
    seed: int = 0,
    captioner: Captioner | None = None,
    depth_estimator: Callable[[np.ndarray], np.ndarray] | None = None,
    check_talker: bool = True,
) -> Scene:
    """Room geometry, regions, materials, caption, talker and listener of an RGB(-D) picture.

    Parameters
    ----------
    rgb : uint8 ``(H, W, 3)``
    depth : float ``(H, W)`` metres along the optical axis, NaN where unknown; None for a
        monocular guess (a prior room, with a warning and ``monocular=True``).
    intrinsics : pinhole camera; default a 60 degree horizontal field of view (recorded).
    speaker_pixel : ``(u, v)`` where the talker stands; default about 2 m in front.
    seed : seed of the RANSAC plane search.
    captioner : optional local vision-language model, called as ``captioner(rgb, facts)``
        (see :class:`~soundstage.scene.caption.Captioner`); our rule-based caption is used
        when it is None or fails.
    depth_estimator : optional monocular depth model for pictures without depth, called as
        ``depth_estimator(rgb) -> (H, W)`` metric depth (e.g. a locally stored checkpoint;
        nothing is downloaded). Its depth is used like a measured one, and the scene
        stays flagged ``monocular`` with a warning saying the depth was estimated.
    check_talker : refuse a talker within 0.3 m of the listener (False for jobs that
        do not use the talker).
    """
    rgb = np.asarray(rgb)
    _check_depth(rgb, depth)
    h, w = rgb.shape[:2]
    notes = []
    assumed = intrinsics is None
    if intrinsics is None:
        intrinsics = Intrinsics.from_fov(w, h)
    elif (intrinsics.width, intrinsics.height) != (w, h):
        raise InvalidImageError(f"intrinsics are for a {intrinsics.width}x{intrinsics.height} image, "
                                f"the image is {w}x{h}; expected the same size")
    if depth is None and depth_estimator is not None:
        depth = np.asarray(depth_estimator(rgb), dtype=np.float32)
        _check_depth(rgb, depth)
        message = "no depth map: depth estimated from the picture by the given depth model, not measured"
        warnings.warn(message, stacklevel=2)
        notes.append(message)
        monocular = True
    else:
        monocular = depth is None
    if depth is None:
        layout = layout_from_prior(intrinsics, (w, h))
        message = ("no depth map: the room is a prior (typical size, camera 1.5 m high), not measured; "
                   "give --depth for a fitted room")
        warnings.warn(message, stacklevel=2)
        notes.append(message)
        # the prior room seen through the camera: approximate geometry for regions and materials
        prior_depth = render_room(layout.dims, layout.camera_position, *_yaw_pitch(layout), intrinsics=intrinsics)[1]
        points_room = layout.to_room(backproject(prior_depth, intrinsics))
    else:
        points_cam = backproject(depth, intrinsics)
        layout = fit_room(points_cam, rng=seed)
        points_room = layout.to_room(points_cam)
    labels, regions = segment_regions(rgb, points_room, layout)
    for region in regions:
        region.material, region.material_confidence, region.material_reason = classify_region(region)
    surfaces = surface_materials(regions, layout)
    caption = caption_with(captioner, rgb, scene_summary(layout, regions, surfaces, monocular=depth is None))
    if speaker_pixel is not None:
        speaker = _speaker_at_pixel(speaker_pixel, points_room, layout)
    else:
        speaker = _default_speaker(layout, intrinsics)
    listener = inside_box(np.asarray(layout.camera_position, float), layout.dims, margin=0.1)
    if check_talker and np.linalg.norm(speaker - listener) < 0.3:
        raise InvalidGeometryError(f"talker {speaker.round(2)} and listener {listener.round(2)} are less than "
                                   "0.3 m apart; choose a speaker pixel farther from the camera")
    return Scene((w, h), intrinsics, assumed, layout, regions, surfaces, caption, speaker, listener,
                 None if speaker_pixel is None else tuple(map(float, speaker_pixel)), monocular, notes, labels,
                 points_room)
