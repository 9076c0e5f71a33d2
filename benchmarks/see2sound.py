"""``see2sound`` speed: a 640x480 picture with 3 sources -> 10 s of binaural at 48 kHz.

* **picture**: the shared NYU Depth v2 room ``rgbd/nyu_metric3d/rgb_00050.jpg`` with its
  depth map (indoors: the fitted room's acoustics); without the shared data, a synthetic
  room rendered by the scene layer. Also an outdoor picture (sky over grass with a red
  object, no depth: free field with ground reflections).
* **measures**: the whole job (:func:`~soundstage.pipelines.see2sound.see2sound`: picture,
  depth, regions, faces, classification, positions, procedural sounds, rendering with the
  room, loudness, the WAV file) and its two halves, analysis and rendering.
  Target: <= 10 s on 2 cores (the published pipeline takes minutes on a 40 GB GPU).
* **peer**: the least any binaural renderer does for the same job: three 10 s signals each
  convolved with one measured HRIR pair (``scipy.signal.fftconvolve``), no room, timed in
  the same run; the ratio is soundstage's time over the peer's.

Run ``python benchmarks/see2sound.py [--json]`` from the repository root (``taskset -c 0,1``
for the 2-core CI machine's numbers).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve

from common import best_of, fmt, pass_fail, repeats_main, table

SR = 48000
SECONDS = 10.0
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "rgbd" / "nyu_metric3d"
TARGET_S = 10.0


def pictures(tmp: Path) -> list[tuple[str, dict]]:
    """(name, see2sound keywords) of the indoor and the outdoor picture."""
    from PIL import Image

    if DATA.is_dir():
        indoor = {"picture": DATA / "rgb_00050.jpg", "depth": DATA / "sync_depth_00050.png",
                  "intrinsics": "518.8579,519.46961,325.58245,253.73617"}
        name = "NYU room 00050 (RGB-D)"
    else:
        from soundstage.scene.camera import Intrinsics
        from soundstage.scene.synthetic import render_room

        rgb, depth = render_room((6.0, 5.0, 2.8), (3.0, 1.0, 1.5), 0.0, -5.0, intrinsics=Intrinsics.from_fov(640, 480))[:2]
        Image.fromarray(rgb).save(tmp / "room.png")
        Image.fromarray(np.round(depth * 1000).astype(np.uint16)).save(tmp / "room_depth.png")
        indoor = {"picture": tmp / "room.png", "depth": tmp / "room_depth.png"}
        name = "synthetic room (RGB-D)"
    field = np.zeros((480, 640, 3), np.uint8)
    field[:160] = (110, 160, 230)
    field[160:] = (60, 130, 50)
    field[300:360, 250:330] = (200, 30, 30)
    Image.fromarray(field).save(tmp / "field.png")
    return [(name, indoor), ("outdoor field (no depth)", {"picture": tmp / "field.png"})]


def run(repeats: int) -> dict:
    from soundstage.io.depth import read_depth
    from soundstage.io.image import read_image
    from soundstage.pipelines.see2sound import analyze_sound_scene, render_sound_scene, see2sound
    from soundstage.scene.camera import parse_intrinsics
    from soundstage.spatial.hrtf import default_hrtf
    from soundstage.sources.procedural import synthesize

    out: dict = {"seconds": SECONDS, "sr": SR, "target_s": TARGET_S, "cases": []}
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in pictures(Path(tmp)):
            t_job, result = best_of(lambda: see2sound(output=Path(tmp) / "out.wav", duration=SECONDS, sr=SR, **kw),
                                    repeats=repeats)
            rgb = read_image(kw["picture"])
            depth = read_depth(kw["depth"], image_shape=rgb.shape) if "depth" in kw else None
            intr = parse_intrinsics(kw["intrinsics"], 640, 480) if "intrinsics" in kw else None
            t_an, scene = best_of(lambda: analyze_sound_scene(rgb, depth, intr), repeats=repeats)
            t_render, _ = best_of(lambda: render_sound_scene(scene, "binaural", SECONDS, SR), repeats=repeats)
            out["cases"].append({"picture": name, "job_s": t_job, "analysis_s": t_an, "rendering_s": t_render,
                                 "space": "outdoor" if result.scene.outdoor else "indoor",
                                 "labels": [r.label for r in result.scene.regions]})
    from soundstage.geometry import azel_to_vector

    irs = default_hrtf(SR).impulse_responses(azel_to_vector(np.array([30.0, 0.0, -30.0])))
    signals = [synthesize(c, SECONDS, SR) for c in ("rain", "birds", "engine")]
    t_peer, _ = best_of(lambda: [fftconvolve(s, ir[ch]) for s, ir in zip(signals, irs) for ch in range(2)],
                        repeats=repeats)
    out["peer_s"] = t_peer
    for case in out["cases"]:
        case["ratio_to_peer"] = case["job_s"] / t_peer
    return out


def print_report(r: dict) -> None:
    print(f"3 sources, {r['seconds']:g} s of binaural at {r['sr']} Hz, 640x480 pictures\n")
    rows = []
    for c in r["cases"]:
        rows += [[f"{c['picture']}: whole job (s) [{c['space']}: {', '.join(c['labels'])}]", fmt(c["job_s"], ".2f"),
                  f"<= {r['target_s']:g}", pass_fail(c["job_s"] <= r["target_s"])],
                 ["  analysis: regions, faces, labels, positions (s)", fmt(c["analysis_s"], ".2f"), "", ""],
                 ["  rendering (s)", fmt(c["rendering_s"], ".2f"), "", ""],
                 ["  ratio: whole job / peer", fmt(c["ratio_to_peer"], ".1f"), "", ""]]
    rows.append(["peer: 3 sources x HRIR pair, scipy fftconvolve, no room (s)", fmt(r["peer_s"], ".3f"), "", ""])
    print(table(["measure", "value", "target", ""], rows))


def main(argv: list[str] | None = None) -> int:
    return repeats_main(__doc__, run, print_report, argv)


if __name__ == "__main__":
    sys.exit(main())
