"""``soundstage eval see2sound``: soundscapes of real RGB-D pictures against real recordings (MFCC-DTW).

SEE-2-SOUND scores its output by MFCC-DTW similarity to reference audio
(:func:`soundstage.metrics.similarity.mfcc_dtw_similarity`). Nobody recorded the rooms of
the shared RGB-D pictures, so the references here are real recordings of *other* places,
grouped by :data:`REFERENCE_PLACES` into indoor ones (a kitchen, a meeting room) and
outdoor ones (a street scene, a robin); other recordings count as unlabelled. The question
the numbers answer is narrow: is a picture's soundscape nearer to real indoor sound than
to real outdoor sound, and does the room (our addition to the paper) move it nearer?

Pictures: every RGB-D pair of a data folder laid out like ``../shared/data``:
``rgbd/nyu_metric3d/`` (``rgb_*.jpg`` + ``sync_depth_*.png`` in millimetres, intrinsics
from ``test_annotations.json``) and ``rgbd/open3d/`` (NYU Kinect disparity, SUN RGB-D and
TUM pairs, :data:`OPEN3D`), all indoors.

Systems, on the same regions, labels and sounds (:func:`~soundstage.pipelines.see2sound.analyze_sound_scene`,
seed 0), rendered in stereo for :data:`CLIP_S` seconds:

* ``see2sound``: the job as shipped, in the room fitted to the picture;
* ``free-field``: the same sources at the same places without the room (what a pipeline
  that models no room, like the paper's, renders);
* ``noise``: pink noise (a content-free floor).

Every signal, references included, is mixed to mono and set to -23 LUFS first, so that
the metric (whose c0 follows level) compares sounds, not recording gains.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from soundstage.dsp.loudness import match_loudness
from soundstage.errors import FileFormatError
from soundstage.io.audio import read_audio
from soundstage.metrics.similarity import mfcc_dtw_similarity

__all__ = ["CLIP_S", "OPEN3D", "REFERENCE_PLACES", "SYSTEMS", "evaluate", "find_pictures", "find_references",
           "format_table", "plot_scores"]

SYSTEMS: tuple[str, ...] = ("see2sound", "free-field", "noise")
#: Seconds of each soundscape and reference compared.
CLIP_S = 8.0
SR = 22050
TARGET_LUFS = -23.0
#: Where the shared recordings were made (file name -> ``"indoor"`` or ``"outdoor"``).
REFERENCE_PLACES: dict[str, str] = {
    "speechcommands_doing_the_dishes.wav": "indoor",  # a kitchen
    "AMI_WSJ20-Array1-1_T10c0201.wav": "indoor",  # a meeting room (read speech)
    "dcase_acoustic_scene.wav": "outdoor",  # a street scene
    "robin_inspectorj.ogg": "outdoor",  # a robin
}
#: The Open3D pairs: colour, depth, intrinsics, depth scale, depth encoding.
OPEN3D: tuple[tuple[str, str, str, float | None, str], ...] = (
    ("NYU_color.ppm", "NYU_depth.pgm", "582.62448,582.69103,313.04476,238.44390", None, "kinect-disparity"),
    ("SUN_color.jpg", "SUN_depth.png", "525,525,319.5,239.5", 1000.0, "sunrgbd"),
    ("TUM_color.png", "TUM_depth.png", "525,525,319.5,239.5", 5000.0, "linear"),
)


@dataclasses.dataclass
class Picture:
    """One RGB-D picture of the data folder and how to read it."""

    name: str
    rgb: Path
    depth: Path
    intrinsics: str
    depth_scale: float | None
    depth_encoding: str


def find_pictures(data: str | Path) -> list[Picture]:
    """The RGB-D pictures of ``data`` (see the module doc)."""
    root = Path(data) / "rgbd"
    out: list[Picture] = []
    nyu = root / "nyu_metric3d"
    if (nyu / "test_annotations.json").is_file():
        for entry in json.loads((nyu / "test_annotations.json").read_text())["files"]:
            rgb = nyu / entry["rgb"].split("/")[-1]
            depth = nyu / entry["depth"].split("/")[-1]
            if rgb.is_file() and depth.is_file():
                out.append(Picture(f"nyu_{rgb.stem}", rgb, depth, ",".join(map(str, entry["cam_in"])),
                                   float(entry.get("depth_scale", 1000.0)), "linear"))
    for colour, depth, intrinsics, scale, encoding in OPEN3D:
        if (root / "open3d" / colour).is_file() and (root / "open3d" / depth).is_file():
            out.append(Picture(f"open3d_{colour.split('_')[0]}", root / "open3d" / colour, root / "open3d" / depth,
                               intrinsics, scale, encoding))
    if not out:
        raise FileFormatError(f"no RGB-D pictures under '{root}'; expected rgbd/nyu_metric3d/ or rgbd/open3d/ "
                              "laid out like ../shared/data")
    return out


def find_references(data: str | Path) -> dict[str, Path]:
    """Real recordings of ``data``: every file of ``ambient/`` and the files of :data:`REFERENCE_PLACES` elsewhere."""
    root = Path(data)
    found = {p.name: p for p in sorted((root / "ambient").glob("*")) if p.suffix in (".wav", ".ogg", ".flac")}
    for name in REFERENCE_PLACES:
        found.update({p.name: p for p in root.glob(f"*/{name}")})
    if not found:
        raise FileFormatError(f"no reference recordings under '{root}'; expected ambient/*.wav like ../shared/data")
    return dict(sorted(found.items()))


def _mono_at_target(x: np.ndarray, sr: int) -> np.ndarray:
    """Mono mix of ``(channels, samples)`` or ``(samples,)``, the first :data:`CLIP_S` seconds, at -23 LUFS."""
    x = np.asarray(x, dtype=np.float64)
    mono = (x if x.ndim == 1 else x.mean(axis=0))[: int(CLIP_S * sr)]
    return match_loudness(mono, sr, TARGET_LUFS)[0]


def _pink(n: int, seed: int) -> np.ndarray:
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SR)
    return np.fft.irfft(spectrum / np.sqrt(np.maximum(f, 20.0)), n=n)


def soundscapes(picture: Picture, *, seed: int = 0):
    """The picture's scene, its RGB image and each system's soundscape (mono, -23 LUFS, :data:`SR`)."""
    from soundstage.io.depth import read_depth
    from soundstage.io.image import read_image
    from soundstage.pipelines.see2sound import analyze_sound_scene, render_sound_scene
    from soundstage.scene.camera import parse_intrinsics
    from soundstage.sources.library import SoundLibrary

    rgb = read_image(picture.rgb)
    depth = read_depth(picture.depth, depth_scale=picture.depth_scale, image_shape=rgb.shape,
                       depth_encoding=picture.depth_encoding)
    intr = parse_intrinsics(picture.intrinsics, rgb.shape[1], rgb.shape[0])
    scene = analyze_sound_scene(rgb, depth, intr, space="indoor", seed=seed)
    sounds = SoundLibrary()
    out = {}
    for system, room_scene in (("see2sound", scene), ("free-field", dataclasses.replace(scene, room=None))):
        audio, _ = render_sound_scene(room_scene, "stereo", CLIP_S, SR, sounds=sounds, seed=seed)
        out[system] = _mono_at_target(audio, SR)
    out["noise"] = _mono_at_target(_pink(int(CLIP_S * SR), seed), SR)
    return scene, rgb, out


def evaluate(data: str | Path, *, out: str | Path | None = None, seed: int = 0) -> dict[str, Any]:
    """MFCC-DTW similarity of every system's soundscape of every picture to every reference (see the module doc).

    Returns ``{"pictures": {picture: {"labels": [...], system: {reference: similarity}}},
    "summary": {system: {"indoor": mean, "outdoor": mean, "nearest_indoor": share of pictures}},
    "references": {reference: place}}``. ``out`` also gets each picture's overlay PNG
    (regions and plan) and its ``see2sound`` soundscape.
    """
    from soundstage.io.audio import write_audio
    from soundstage.plots import plot_sound_scene

    pictures, refs = find_pictures(data), find_references(data)
    places = {name: REFERENCE_PLACES.get(name, "unlabelled") for name in refs}
    references = {}
    for name, path in refs.items():
        x, sr = read_audio(path, sr=SR, mono=True)
        references[name] = _mono_at_target(x, SR)
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"pictures": {}, "references": places}
    for picture in tqdm(pictures, desc="see2sound pictures", unit="picture"):
        scene, rgb, systems = soundscapes(picture, seed=seed)
        row: dict[str, Any] = {"labels": [r.label for r in scene.regions]}
        for system, y in systems.items():
            row[system] = {name: round(mfcc_dtw_similarity(y, ref, SR), 6) for name, ref in references.items()}
        result["pictures"][picture.name] = row
        if out is not None:
            plot_sound_scene(rgb, scene, Path(out) / f"{picture.name}.png", inputs=[picture.rgb])
            write_audio(Path(out) / f"{picture.name}.wav", systems["see2sound"][None].astype(np.float32), SR)
    result["summary"] = _summary(result["pictures"], places)
    return result


def _summary(rows: dict[str, Any], places: dict[str, str]) -> dict[str, dict[str, float]]:
    summary = {}
    for system in SYSTEMS:
        stats: dict[str, float] = {}
        for place in ("indoor", "outdoor"):
            names = [n for n, p in places.items() if p == place]
            if names:
                stats[place] = round(float(np.mean([np.mean([row[system][n] for n in names]) for row in rows.values()])), 6)
        if "indoor" in stats and "outdoor" in stats:
            nearest = [places[max(row[system], key=row[system].get)] == "indoor" for row in rows.values()]
            stats["nearest_indoor"] = round(float(np.mean(nearest)), 3)
        summary[system] = stats
    return summary


def format_table(result: dict[str, Any]) -> str:
    """A text table: per picture and system, the similarity to each reference; then the summary."""
    refs = list(result["references"])
    head = f"{'picture':>16} {'system':>10} {'labels':>24}" + "".join(f"{f'r{k}':>8}" for k in range(1, len(refs) + 1))
    lines = [head, "-" * len(head)]
    for name, row in result["pictures"].items():
        labels = ",".join(row["labels"])
        for system in SYSTEMS:
            lines.append(f"{name:>16} {system:>10} {labels:>24}" + "".join(f"{1000 * row[system][r]:>8.2f}" for r in refs))
    lines.append("similarity x 1000 to the references: " + "; ".join(
        f"r{k} {r} ({result['references'][r]})" for k, r in enumerate(refs, 1)))
    for system, stats in result["summary"].items():
        lines.append(f"{system:>10}: " + ", ".join(f"{k} {v:.4g}" for k, v in stats.items()))
    return "\n".join(lines)


def plot_scores(result: dict[str, Any], path: str | Path) -> Path:
    """Mean similarity to indoor and to outdoor references per system (PNG)."""
    from soundstage.plots import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    places = [p for p in ("indoor", "outdoor") if all(p in s for s in result["summary"].values())]
    width = 0.8 / max(len(places), 1)
    for k, place in enumerate(places):
        vals = [1000 * result["summary"][s][place] for s in SYSTEMS]
        ax.bar(np.arange(len(SYSTEMS)) + k * width, vals, width, label=f"{place} references")
    ax.set_xticks(np.arange(len(SYSTEMS)) + width * (len(places) - 1) / 2, SYSTEMS)
    ax.set_ylabel("MFCC-DTW similarity x 1000")
    ax.set_title(f"{len(result['pictures'])} RGB-D pictures vs real recordings", fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path, ())
