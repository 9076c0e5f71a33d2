"""The ``see2sound`` job: a picture -> a spatial soundscape of what is in it, in its room.

Steps (:func:`analyze_sound_scene`, then :func:`render_sound_scene`):

1. **Indoors or outdoors** (``space``): given, or ``"auto"``: outdoors when a sky region
   (see :mod:`~soundstage.scene.sound_labels`) touching the top edge covers at least
   :data:`SKY_SHARE` of the picture and has no measured depth (a ceiling has depth).
2. **Geometry**: indoors, the scene layer (:func:`~soundstage.scene.scene.analyze_scene`):
   the room box fitted to the depth (or a prior room without depth), its surface materials,
   the listener at the camera. Outdoors, the listener is at the camera, 1.6 m above flat
   ground, looking level; depth comes from the map, or without one from that ground plane
   (pixels above the horizon, and ground farther than that, at :data:`SKY_DISTANCE`).
3. **Regions of interest**: superpixel regions, one sound category each (user labels >
   the heuristic classifier > ``"ambience"``), touching same-category regions joined (or,
   with a Segment Anything checkpoint, the regions of one object mask), ranked by saliency
   and size (:mod:`~soundstage.scene.interest`); the top ``sources`` kept and numbered from 1.
4. **Positions**: each region sounds from the ray through its mean pixel, at the median
   distance of its depth points (else the sky or ground fallback), kept 0.3 m inside the
   room indoors; azimuth (positive to the listener's left), elevation and distance follow
   from the listener's pose (:mod:`soundstage.geometry`).
5. **Sounds** (:class:`~soundstage.sources.library.SoundLibrary`): the user's bank folder
   for a label when it has one, else a text-to-audio generator when one is given
   (AudioLDM from a local checkpoint, :mod:`~soundstage.sources.generative`; any label is
   its prompt), else the procedural category (:func:`~soundstage.sources.procedural.synthesize`),
   seeded per region.
6. **Rendering** through the spatial layer in any format of
   :data:`~soundstage.spatial.formats.FORMATS`: indoors with the room's acoustics (image
   sources and diffuse tail from the fitted materials), outdoors in free field with one
   ground reflection per source (an image source mirrored in the ground, pressure
   reflection :data:`GROUND_REFLECTION`). The sources loop seamlessly, so the rendered
   reverberation is folded back onto the start (circular convolution): the soundscape
   itself loops, without a dry start. Loudness is set to :data:`TARGET_LUFS` (BS.1770,
   measured on the two-channel version), peaks kept below -1 dBFS; formats with more
   than two channels also get a loudspeaker-stereo downmix file.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.acoustics.room import Room
from soundstage.dsp.loudness import integrated_loudness
from soundstage.errors import InvalidImageError, SoundstageError
from soundstage.geometry import rotation_matrix, vector_to_azel
from soundstage.io.atomic import check_not_input
from soundstage.io.audio import write_audio
from soundstage.scene.camera import Intrinsics, backproject, camera_rotation, pixel_rays
from soundstage.scene.interest import Interest, regions_of_interest
from soundstage.scene.regions import Region, segment_regions
from soundstage.scene.sound_labels import classify_sound
from soundstage.sources.library import SoundLibrary
from soundstage.spatial.formats import finish, get_format, make_receiver
from soundstage.spatial.moving import Trajectory
from soundstage.spatial.render import Source, render_sources

log = logging.getLogger(__name__)

__all__ = ["SPACES", "SoundRegion", "SoundScene", "analyze_sound_scene", "analyze_sound_video", "ground_image", "load_labels", "parse_labels",
           "render_sound_scene", "see2sound"]

SPACES: tuple[str, ...] = ("auto", "indoor", "outdoor")
#: Height of the listener's ears (the camera) above the ground outdoors, metres.
EYE_HEIGHT = 1.6
#: Where sky sounds are placed, metres, and the farthest ground point of the monocular prior
#: (the same, so that the prior's distance does not jump at the horizon).
SKY_DISTANCE = 20.0
#: Share of the picture a depth-less sky must cover for ``space="auto"`` to say outdoors.
SKY_SHARE = 0.03
#: Pressure reflection coefficient of the ground outdoors (grass and soil 0.6-0.9, asphalt ~1).
GROUND_REFLECTION = 0.8
#: Distance kept between an indoor source and the room's surfaces, metres.
SOURCE_MARGIN = 0.3
#: Seconds between the key frames of a video at which regions are found again.
KEY_INTERVAL = 0.5
#: Least mask overlap (intersection over union) for a region to continue a source's track...
MIN_TRACK_IOU = 0.2
#: ... else the nearest region of the same category within this share of the picture's diagonal.
MAX_TRACK_JUMP = 0.25
#: Seconds a video's sources sound before its first frame, so the room is already ringing at the start.
PRE_ROLL = 1.0
#: Integrated loudness of the result (LUFS), and its highest peak (-1 dBFS).
TARGET_LUFS, PEAK_LIMIT = -23.0, 10 ** (-1 / 20)


@dataclass
class SoundRegion:
    """A region of interest made a sound source."""

    rank: int
    box: tuple[int, int, int, int]
    pixel: tuple[float, float]
    position: np.ndarray
    azimuth_deg: float
    elevation_deg: float
    distance_m: float
    label: str
    label_from: str
    reason: str
    members: list[int] = field(default_factory=list)
    generator: str = ""
    #: Key-frame times (s) and positions ``(K, 3)`` of a source that follows its region in a video.
    path_times: np.ndarray | None = None
    path_positions: np.ndarray | None = None

    def trajectory(self) -> Trajectory:
        """Where the source is over time (one point for a picture)."""
        if self.path_times is None or len(self.path_times) < 2:
            return Trajectory([0.0], [self.position])
        return Trajectory(self.path_times, self.path_positions)

    def to_dict(self) -> dict[str, Any]:
        out = {"rank": self.rank, "box": list(self.box), "pixel": [round(v, 1) for v in self.pixel],
                "position": [round(float(v), 3) for v in self.position],
                "azimuth_deg": round(self.azimuth_deg, 2), "elevation_deg": round(self.elevation_deg, 2),
                "distance_m": round(self.distance_m, 3), "label": self.label, "label_from": self.label_from,
                "reason": self.reason, "generator": self.generator}
        if self.path_times is not None:
            out["trajectory"] = [{"time_s": round(float(t), 3), "position": [round(float(v), 3) for v in p]}
                                 for t, p in zip(self.path_times, self.path_positions)]
        return out


@dataclass
class SoundScene:
    """What :func:`analyze_sound_scene` found: where the listener is, the room (indoors) and the sources."""

    image_size: tuple[int, int]
    outdoor: bool
    space_reason: str
    listener: np.ndarray
    yaw_deg: float
    room: Room | None
    regions: list[SoundRegion]
    labels: np.ndarray
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"space": "outdoor" if self.outdoor else "indoor", "space_reason": self.space_reason,
                               "listener": [round(float(v), 3) for v in self.listener], "yaw_deg": round(self.yaw_deg, 2),
                               "regions": [r.to_dict() for r in self.regions], "notes": list(self.notes)}
        if self.room is not None:
            out["room_dims_m"] = [round(float(d), 3) for d in self.room.dims]
        return out


def parse_labels(items: list[str] | None) -> dict[int, str]:
    """``["1=birds", "3=church bells"]`` -> ``{1: "birds", 3: "church bells"}`` (a label may be a generator's
    prompt); bad items name what was expected."""
    out: dict[int, str] = {}
    for item in items or []:
        match = re.fullmatch(r"\s*(\d+)\s*=\s*(\S(?:.*\S)?)\s*", item)
        if not match or int(match.group(1)) < 1:
            raise SoundstageError(f"label {item!r} is not N=CATEGORY with N >= 1 (e.g. 1=birds)")
        out[int(match.group(1))] = match.group(2)
    return out


def load_labels(path: str | Path) -> dict[int, str]:
    """A YAML file of labels, ``{rank: category}`` (e.g. ``1: birds``), as :func:`parse_labels` gives them."""
    import yaml

    from soundstage.errors import FileFormatError

    try:
        data = yaml.safe_load(Path(path).read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FileFormatError(f"cannot read labels file '{path}': {exc}; expected YAML like '1: birds'") from exc
    if not isinstance(data, dict):
        raise FileFormatError(f"labels file '{path}' must map region numbers to categories, e.g. '1: birds'")
    return parse_labels([f"{k}={v}" for k, v in data.items()])


def _outdoor_points(depth: np.ndarray | None, intrinsics: Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """Listener-frame points (x right, y forward, z up; listener at the origin) and per-pixel unit rays."""
    rotation = camera_rotation()
    rays = pixel_rays(intrinsics).astype(np.float64) @ rotation.T
    unit = rays / np.linalg.norm(rays, axis=-1, keepdims=True)
    if depth is not None:
        return backproject(depth, intrinsics).astype(np.float64) @ rotation.T, unit
    down = -unit[..., 2]
    with np.errstate(divide="ignore"):
        distance = np.where(down > 1e-3, np.minimum(EYE_HEIGHT / np.maximum(down, 1e-9), SKY_DISTANCE), SKY_DISTANCE)
    return unit * distance[..., None], unit


def _sky_share(regions: list[Region], size: tuple[int, int], has_depth: bool) -> float:
    sky = [r for r in regions if classify_sound(r, size, outdoor=True)[0] == "wind" and r.bbox[1] == 0
           and not (has_depth and r.valid_fraction > 0.5)]
    return sum(r.pixels for r in sky) / float(size[0] * size[1])


@dataclass
class _View:
    """What every frame of a picture or video shares: where each pixel is, the listener, the room."""

    size: tuple[int, int]
    outdoor: bool
    reason: str
    listener: np.ndarray
    yaw: float
    room: Room | None
    origin: np.ndarray
    rays: np.ndarray
    points: np.ndarray
    layout: Any
    notes: list[str]
    segmenter: Any = None

    def regions(self, rgb: np.ndarray) -> tuple[np.ndarray, list[Region]]:
        """A frame's measured regions on this view's geometry."""
        return segment_regions(rgb, self.points, self.layout)

    def rank(self, rgb: np.ndarray, labels: np.ndarray, regions: list[Region]) -> list[Interest]:
        """A frame's regions of interest, best first (faces, heuristic categories, saliency and size)."""
        from soundstage.vision.faces import detect_faces

        faces = detect_faces(rgb)
        cats = [classify_sound(r, self.size, outdoor=self.outdoor, faces=faces) for r in regions]
        objects = None if self.segmenter is None else self.segmenter.masks(rgb)
        return regions_of_interest(rgb, labels, regions, cats, objects)

    def place(self, roi: Interest, regions: list[Region]) -> np.ndarray:
        """Where a region of interest sounds from: on its mean pixel's ray, at its measured (or fallback) distance."""
        from soundstage.scene.scene import inside_box

        w, h = self.size
        ray = self.rays[min(int(round(roi.pixel[1])), h - 1), min(int(round(roi.pixel[0])), w - 1)]
        position = self.origin + _distance(roi, regions, self.origin, self.outdoor, ray) * ray
        return position if self.room is None else inside_box(position, self.room.dims, SOURCE_MARGIN)

    def direction(self, position: np.ndarray) -> tuple[float, float, float]:
        """Azimuth and elevation (degrees, :mod:`soundstage.geometry`) and distance of ``position`` for the listener."""
        rel = rotation_matrix(self.yaw).T @ (np.asarray(position, float) - self.listener)
        az, el = vector_to_azel(rel)
        return float(az), float(el), float(np.linalg.norm(rel))


def _check_request(rgb: np.ndarray, space: str, sources: int) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidImageError(f"image must be uint8 (H, W, 3); got {rgb.dtype} {rgb.shape}")
    if space not in SPACES:
        raise SoundstageError(f"unknown space {space!r}; expected one of {', '.join(SPACES)}")
    if isinstance(sources, bool) or not isinstance(sources, (int, np.integer)) or sources < 1:
        raise SoundstageError(f"sources must be a whole number >= 1, got {sources!r}")
    return rgb


def _view(rgb: np.ndarray, depth: np.ndarray | None, intrinsics: Intrinsics | None, space: str,
          seed: int, segmenter: Any = None) -> tuple[_View, np.ndarray, list[Region]]:
    """The view of the first (or only) picture, with that picture's regions."""
    view, labels, regions = _measured_view(rgb, depth, intrinsics, space, seed)
    if segmenter is not None:
        view.segmenter = segmenter
        view.notes.append(f"regions grouped by {segmenter.name} object masks from {segmenter.path}")
    return view, labels, regions


def _measured_view(rgb: np.ndarray, depth: np.ndarray | None, intrinsics: Intrinsics | None, space: str,
                   seed: int) -> tuple[_View, np.ndarray, list[Region]]:
    from soundstage.scene.scene import analyze_scene

    h, w = rgb.shape[:2]
    intr = intrinsics if intrinsics is not None else Intrinsics.from_fov(w, h)
    if (intr.width, intr.height) != (w, h):
        raise InvalidImageError(f"intrinsics are for a {intr.width}x{intr.height} image, the image is {w}x{h}")
    notes: list[str] = []
    points, rays = _outdoor_points(depth, intr)
    if space != "indoor":
        seg_labels, regions = segment_regions(rgb, points)
    if space == "auto":
        share = _sky_share(regions, (w, h), depth is not None)
        outdoor = share >= SKY_SHARE
        reason = (f"sky without depth covers {100 * share:.0f} % of the picture" if outdoor else
                  f"no sky (at least {100 * SKY_SHARE:.0f} % of the picture, touching its top, without depth)")
    else:
        outdoor, reason = space == "outdoor", "given"
    if outdoor:
        if depth is None:
            notes.append(f"no depth map: distances from flat ground {EYE_HEIGHT:g} m below a level camera "
                         f"(sky at {SKY_DISTANCE:g} m), not measured")
        view = _View((w, h), True, reason, np.zeros(3), 0.0, None, np.zeros(3), rays, points, None, notes)
        return view, seg_labels, regions
    with warnings.catch_warnings():  # its warnings are kept in the notes
        warnings.simplefilter("ignore")
        scene = analyze_scene(rgb, depth, intrinsics, seed=seed, check_talker=False)
    rays = pixel_rays(intr).astype(np.float64) @ scene.layout.rotation.T
    rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
    view = _View((w, h), False, reason, np.asarray(scene.listener, float), scene.listener_yaw(), scene.room(),
                 np.asarray(scene.layout.camera_position, float), rays, scene.points, scene.layout,
                 notes + list(scene.warnings))
    return view, scene.labels, scene.regions


def _chosen(ranked: list[Interest], sources: int, labels: dict[int, str] | None, what: str) -> list[Interest]:
    if not ranked:
        raise InvalidImageError(f"no usable region in the {what} (every candidate is smaller than 0.5 % of it, "
                                "or it is flat); expected a picture with visible things")
    chosen = ranked[:sources]
    missing = sorted(k for k in (labels or {}) if k > len(chosen))
    if missing:
        raise SoundstageError(f"label for region {missing[0]}, but the {what} gives {len(chosen)} region(s) "
                              f"(numbered 1-{len(chosen)} by rank); use --sources to keep more")
    return chosen


def _sound_region(view: _View, rank: int, roi: Interest, position: np.ndarray, labels: dict[int, str] | None
                  ) -> SoundRegion:
    az, el, dist = view.direction(position)
    label, source, why = (labels[rank], "user", "labelled by the user") if rank in (labels or {}) else (
        roi.category, "heuristic", roi.reason)
    return SoundRegion(rank, roi.bbox, roi.pixel, position, az, el, dist, label, source, why, roi.members)


def analyze_sound_scene(
    rgb: np.ndarray,
    depth: np.ndarray | None = None,
    intrinsics: Intrinsics | None = None,
    *,
    sources: int = 3,
    space: str = "auto",
    labels: dict[int, str] | None = None,
    seed: int = 0,
    segmenter: Any = None,
) -> SoundScene:
    """Regions of interest of a picture, placed around the listener, with a sound label each (see the module doc).

    ``segmenter`` (e.g. :class:`soundstage.vision.sam.SamSegmenter`) gives object masks
    that group the superpixel regions (:func:`~soundstage.scene.interest.regions_of_interest`).
    """
    rgb = _check_request(rgb, space, sources)
    view, seg_labels, regions = _view(rgb, depth, intrinsics, space, seed, segmenter)
    chosen = _chosen(view.rank(rgb, seg_labels, regions), sources, labels, "picture")
    out = [_sound_region(view, rank, roi, view.place(roi, regions), labels) for rank, roi in enumerate(chosen, 1)]
    return SoundScene(view.size, view.outdoor, view.reason, view.listener, view.yaw, view.room, out, seg_labels,
                      view.notes)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def analyze_sound_video(
    frames: np.ndarray,
    times: np.ndarray,
    intrinsics: Intrinsics | None = None,
    *,
    sources: int = 3,
    space: str = "auto",
    labels: dict[int, str] | None = None,
    seed: int = 0,
    key_interval: float = KEY_INTERVAL,
    segmenter: Any = None,
) -> SoundScene:
    """Regions of interest of a video followed over time: sources that move with their regions.

    The camera is taken to stand still: the first frame gives the view (indoors or
    outdoors, the room, every pixel's place) and the ranking; every ``key_interval``
    seconds the regions of interest are found again and each source follows the region
    that overlaps its last one most (mask IoU at least :data:`MIN_TRACK_IOU`, greedy, best
    overlap first), or without overlap (a fast region) the nearest one of the same
    category within :data:`MAX_TRACK_JUMP` of the diagonal, else stays where it was.
    Positions between key frames are linear. ``segmenter`` as in :func:`analyze_sound_scene`.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[0] == 0:
        raise InvalidImageError(f"video has no frames (got an array of shape {frames.shape}); expected (T, H, W, 3)")
    times = np.asarray(times, float)
    first = _check_request(frames[0], space, sources)
    view, seg_labels, regions = _view(first, None, intrinsics, space, seed, segmenter)
    chosen = _chosen(view.rank(first, seg_labels, regions), sources, labels, "video's first frame")
    masks = [np.isin(seg_labels, roi.members) for roi in chosen]
    last = list(chosen)
    paths = [[(float(times[0]), view.place(roi, regions))] for roi in chosen]
    keys = [0]
    for k in range(1, len(frames)):
        if times[k] - times[keys[-1]] >= key_interval - 1e-9 or k == len(frames) - 1:
            keys.append(k)
    for k in keys[1:]:
        frame_labels, frame_regions = view.regions(frames[k])
        rois = view.rank(frames[k], frame_labels, frame_regions)
        candidates = [np.isin(frame_labels, roi.members) for roi in rois]
        pairs = sorted(((_iou(m, c), i, j) for i, m in enumerate(masks) for j, c in enumerate(candidates)), reverse=True)
        taken_tracks: set[int] = set()
        taken_rois: set[int] = set()

        def follow(i: int, j: int) -> None:
            taken_tracks.add(i)
            taken_rois.add(j)
            masks[i], last[i] = candidates[j], rois[j]
            paths[i].append((float(times[k]), view.place(rois[j], frame_regions)))

        for overlap, i, j in pairs:
            if overlap < MIN_TRACK_IOU:
                break
            if i not in taken_tracks and j not in taken_rois:
                follow(i, j)
        jump = MAX_TRACK_JUMP * float(np.hypot(*view.size))
        for i in range(len(chosen)):  # no overlap (a fast region): the nearest region of the same category
            near = [(float(np.hypot(rois[j].pixel[0] - last[i].pixel[0], rois[j].pixel[1] - last[i].pixel[1])), j)
                    for j in range(len(rois)) if j not in taken_rois and rois[j].category == last[i].category]
            if i not in taken_tracks and near and min(near)[0] <= jump:
                follow(i, min(near)[1])
    out = []
    for rank, (roi, path) in enumerate(zip(chosen, paths), start=1):
        region = _sound_region(view, rank, roi, path[0][1], labels)
        region.path_times = np.array([t for t, _ in path])
        region.path_positions = np.array([p for _, p in path])
        out.append(region)
    return SoundScene(view.size, view.outdoor, view.reason, view.listener, view.yaw, view.room, out, seg_labels,
                      view.notes + ["video: the camera is taken to stand still (the first frame sets the room)"])


def _distance(roi: Interest, regions: list[Region], origin: np.ndarray, outdoor: bool, ray: np.ndarray) -> float:
    """Median distance of the region's measured points from the camera, else the sky or ground fallback."""
    members = [regions[i] for i in roi.members if regions[i].has_geometry]
    if members:
        d = np.array([np.linalg.norm(r.centroid - origin) for r in members])
        weights = np.array([r.pixels * r.valid_fraction for r in members], float)
        order = np.argsort(d)
        cum = np.cumsum(weights[order])
        return float(max(d[order][np.searchsorted(cum, 0.5 * cum[-1])], 0.5))
    if outdoor and ray[2] < -1e-3:
        return float(min(EYE_HEIGHT / -ray[2], SKY_DISTANCE))
    return SKY_DISTANCE if outdoor else 2.0


def ground_image(position: np.ndarray) -> np.ndarray:
    """Mirror image of an outdoor source in the ground plane ``z = -EYE_HEIGHT`` (listener at the origin)."""
    p = np.asarray(position, float)
    return np.array([p[0], p[1], -2.0 * EYE_HEIGHT - p[2]])


def _fold(audio: np.ndarray, n: int) -> np.ndarray:
    """``audio`` folded onto its first ``n`` samples (what a looped input makes: circular convolution)."""
    out = audio[:, :n].copy()
    for start in range(n, audio.shape[1], n):
        piece = audio[:, start : start + n]
        out[:, : piece.shape[1]] += piece
    return out


def render_sound_scene(scene: SoundScene, fmt: str, duration: float, sr: int = 48000, *,
                       sounds: SoundLibrary | None = None, seed: int = 0, loop: bool = True
                       ) -> tuple[np.ndarray, tuple[str, ...]]:
    """The scene in format ``fmt``, ``duration`` seconds long, before loudness setting.

    Each region's sound comes from ``sounds`` (procedural sources only when ``None``),
    seeded by ``seed`` plus its rank.

    ``loop`` (a picture): the reverberation is folded back onto the start, so the result
    loops seamlessly. Otherwise (a video) the sources start :data:`PRE_ROLL` seconds before
    the first frame and that lead-in is cut, so the room already rings at the start.
    """
    n = int(round(duration * sr))
    if n < 1:
        raise SoundstageError(f"duration must be a positive number of seconds, got {duration!r}")
    lead = 0.0 if loop else PRE_ROLL
    sounds = SoundLibrary() if sounds is None else sounds
    srcs = []
    for region in scene.regions:
        sounds.check(region.label, f"region {region.rank}")
        signal, region.generator = sounds.render(region.label, duration + lead, sr, seed=seed + region.rank)
        path = region.trajectory()
        path = Trajectory(path.times + lead, path.positions)
        name = f"{region.rank}:{region.label}"
        srcs.append(Source(signal.astype(np.float32), path, name=name))
        if scene.outdoor:  # the ground reflection
            mirror = Trajectory(path.times, np.array([ground_image(p) for p in path.positions]))
            srcs.append(Source(signal.astype(np.float32), mirror, gain_db=20 * np.log10(GROUND_REFLECTION),
                               name=f"{name} (ground)"))
    receiver = make_receiver(fmt, yaw_deg=scene.yaw_deg, sr=sr)
    audio = render_sources(srcs, scene.listener, receiver, sr, room=scene.room, seed=seed)
    skip = int(round(lead * sr))
    audio = _fold(audio, n) if loop else audio[:, skip : skip + n]
    return finish(audio, fmt, sr)


@dataclass
class See2SoundResult:
    """What :func:`see2sound` wrote."""

    path: Path
    format: str
    channels: tuple[str, ...]
    sr: int
    duration: float
    loudness_lufs: float
    gain_db: float
    scene: SoundScene
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "format": self.format, "channels": list(self.channels), "sr": self.sr,
                "duration_s": round(self.duration, 3), "loudness_lufs": round(self.loudness_lufs, 2),
                "gain_db": round(self.gain_db, 2), "files": self.files, **self.scene.summary()}


def see2sound(
    picture: str | Path,
    output: str | Path,
    *,
    depth: str | Path | None = None,
    intrinsics: str | None = None,
    depth_scale: float | None = None,
    depth_encoding: str = "linear",
    fmt: str = "binaural",
    sources: int = 3,
    labels: dict[int, str] | None = None,
    duration: float = 10.0,
    sr: int = 48000,
    bank: str | Path | None = None,
    generator: str | Path | None = None,
    generator_steps: int = 25,
    sam: str | Path | None = None,
    space: str = "auto",
    plot: str | Path | None = None,
    mux: str | Path | None = None,
    seed: int = 0,
) -> See2SoundResult:
    """Picture or video file -> soundscape file ``output`` (plus ``<stem>.stereo.wav`` for formats of more than
    two channels).

    A picture gives ``duration`` seconds that loop seamlessly. A video (a suffix of
    :data:`~soundstage.io.video.VIDEO_SUFFIXES`) gives a soundtrack as long as the video,
    its sources following their regions (:func:`analyze_sound_video`); ``mux`` also writes
    the video with that soundtrack (``.mkv``, ``.mp4`` or ``.mov``). ``bank`` is a folder of
    the user's recordings per label, ``generator`` the folder of an AudioLDM checkpoint
    (run ``generator_steps`` denoising steps per sound); see
    :class:`~soundstage.sources.library.SoundLibrary` for which is used when. ``sam`` is the
    folder of a Segment Anything checkpoint whose masks group the regions
    (:class:`~soundstage.vision.sam.SamSegmenter`).
    """
    from soundstage.io.depth import read_depth
    from soundstage.io.image import read_image
    from soundstage.io.video import VIDEO_CONTAINERS, VIDEO_SUFFIXES, read_video, write_video
    from soundstage.pipelines.room import check_plot_path
    from soundstage.scene.camera import parse_intrinsics

    info = get_format(fmt)
    check_plot_path(plot)
    if generator is not None:
        from soundstage.sources.generative import TextToAudio

        generator = TextToAudio(generator, steps=generator_steps)
    sounds = SoundLibrary(bank, generator)
    if sam is not None:
        from soundstage.vision.sam import SamSegmenter

        sam = SamSegmenter(sam)
    for rank, label in (labels or {}).items():
        sounds.check(label, f"--label {rank}={label}")
    is_video = Path(picture).suffix.lower() in VIDEO_SUFFIXES
    if mux is not None and (not is_video or Path(mux).suffix.lower() not in VIDEO_CONTAINERS):
        raise SoundstageError(f"mux writes a video with the soundtrack: it needs a video input and a "
                              f"{', '.join(VIDEO_CONTAINERS)} file, got {picture} -> {mux}")
    if is_video and depth is not None:
        raise SoundstageError("depth maps are read for pictures only; a video is placed on the monocular prior")
    inputs = [Path(picture)] + ([Path(depth)] if depth is not None else [])
    target = Path(output)
    stereo_path = target.with_name(f"{target.stem}.stereo.wav") if len(info.labels) > 2 else None
    for path in [target, stereo_path, plot, mux]:
        if path is not None:
            check_not_input(path, inputs)
    if is_video:
        video = read_video(picture, with_audio=False)
        rgb = video.frames[0]
        intr = None if intrinsics is None else parse_intrinsics(intrinsics, rgb.shape[1], rgb.shape[0])
        duration = float(len(video.frames) / video.fps)
        scene = analyze_sound_video(video.frames, video.timestamps, intr, sources=sources, space=space,
                                    labels=labels, seed=seed, segmenter=sam)
    else:
        rgb = read_image(picture)
        depth_m = None if depth is None else read_depth(depth, depth_scale=depth_scale, image_shape=rgb.shape,
                                                       depth_encoding=depth_encoding)
        intr = None if intrinsics is None else parse_intrinsics(intrinsics, rgb.shape[1], rgb.shape[0])
        scene = analyze_sound_scene(rgb, depth_m, intr, sources=sources, space=space, labels=labels, seed=seed,
                                    segmenter=sam)
    render = dict(sounds=sounds, seed=seed, loop=not is_video)
    audio, channels = render_sound_scene(scene, fmt, duration, sr, **render)
    two = audio if stereo_path is None else render_sound_scene(scene, "stereo", duration, sr, **render)[0]
    loudness = integrated_loudness(two, sr)
    gain = 10 ** ((TARGET_LUFS - loudness) / 20) if np.isfinite(loudness) else 1.0
    peak = max(float(np.max(np.abs(audio))), float(np.max(np.abs(two)))) * gain
    if peak > PEAK_LIMIT:
        log.warning("soundscape would peak at %.1f dBFS at %g LUFS: turned down %.1f dB", 20 * np.log10(peak),
                    TARGET_LUFS, 20 * np.log10(peak / PEAK_LIMIT))
        gain *= PEAK_LIMIT / peak
    files = [str(write_audio(target, audio * np.float32(gain), sr, inputs=inputs, channel_mask=info.channel_mask))]
    if stereo_path is not None:
        files.append(str(write_audio(stereo_path, two * np.float32(gain), sr, inputs=inputs)))
    if mux is not None:
        files.append(str(write_video(mux, _even(video.frames), video.fps, audio=audio * np.float32(gain), sr=sr,
                                     inputs=inputs)))
    result = See2SoundResult(target, fmt, channels, sr, duration, float(integrated_loudness(two * gain, sr)),
                             float(20 * np.log10(gain)), scene, files)
    if plot is not None:
        from soundstage.plots import plot_sound_scene

        files.append(str(plot_sound_scene(rgb, scene, plot, inputs=inputs)))
    return result


def _even(frames: np.ndarray) -> np.ndarray:
    """Frames cropped to even height and width (what the video encoders take)."""
    h, w = frames.shape[1] // 2 * 2, frames.shape[2] // 2 * 2
    return frames[:, :h, :w]
