"""``speak`` speed and memory: scene analysis of a 640x480 RGB-D frame, end-to-end real-time factor.

* **scene**: :func:`~soundstage.scene.scene.analyze_scene` on a real NYU Depth v2 frame
  (640x480; a rendered room when ``../shared/data/rgbd`` is absent): depth -> room box,
  regions, materials, caption. Target <= 1 s.
* **end to end**: 5 s of dry speech at 16 kHz through the whole job (read image and depth,
  scene, impulse response, convolution, write WAV). Target real-time factor <= 0.2.
* **peer**: the impulse response of the same fitted room, materials and positions from
  pyroomacoustics' image-source model (``ShoeBox``, ``max_order`` 17, no ray tracing), the
  common way to get a room response from a room box, timed in the same run.
* **memory**: peak resident set size of a fresh process running the whole job. Target <= 1 GB.

Run ``python benchmarks/speak.py [--json]`` from the repository root (``taskset -c 0,1``
for the 2-core CI machine's numbers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import best_of, fmt, pass_fail, repeats_main, table

ROOT = Path(__file__).resolve().parents[1]
NYU = ROOT / ".." / "shared" / "data" / "rgbd" / "nyu_metric3d"
TARGETS = {"scene_s": 1.0, "rtf": 0.2, "peak_mb": 1024.0}


def inputs(tmp: Path) -> dict:
    """Image, depth, intrinsics of the benchmark frame and a 5 s dry signal."""
    from soundstage.io.audio import write_audio
    from soundstage.io.depth import write_depth
    from soundstage.io.image import write_image
    from soundstage.scene.synthetic import render_room

    rng = np.random.default_rng(0)
    t = np.arange(5 * 16000) / 16000
    voice = np.sin(2 * np.pi * 120 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(t.size)
    dry = write_audio(tmp / "dry.wav", (0.3 * voice).astype(np.float32), 16000)
    if NYU.is_dir():
        cam = json.loads((NYU / "test_annotations.json").read_text())["files"][0]["cam_in"]
        return {"frame": "NYU rgb_00000 (real)", "image": NYU / "rgb_00000.jpg", "depth": NYU / "sync_depth_00000.png",
                "intrinsics": ",".join(map(str, cam)), "dry": dry}
    rgb, depth, k = render_room((5.0, 6.0, 2.7), (2.5, 1.2, 1.5), 10.0, -5.0)
    return {"frame": "rendered 5x6x2.7 m room", "image": write_image(tmp / "room.png", rgb),
            "depth": write_depth(tmp / "depth.png", depth), "intrinsics": f"{k.fx},{k.fy},{k.cx},{k.cy}", "dry": dry}


def peak_memory_mb(frame: dict, tmp: Path) -> float:
    """Peak RSS (MB) of a fresh Python process that runs the whole job once."""
    code = (
        "import resource, sys\n"
        "from soundstage.pipelines.speak import speak\n"
        f"speak(None, image={str(frame['image'])!r}, depth={str(frame['depth'])!r}, intrinsics={frame['intrinsics']!r}, "
        f"speech={str(frame['dry'])!r}, output={str(tmp / 'mem.wav')!r})\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    return float(out.stdout.strip().splitlines()[-1])


def pra_response_seconds(scene) -> float:
    """Time of pyroomacoustics' image-source response of the scene's room (max_order 17)."""
    import pyroomacoustics as pra

    room = scene.room()
    absorption = {s: float(np.mean(m.absorption[2:5])) for s, m in zip(("west", "east", "south", "north", "floor", "ceiling"),
                                                                         room.surface_materials())}
    start = time.perf_counter()
    shoebox = pra.ShoeBox(list(room.dims), fs=16000, materials=pra.make_materials(**absorption), max_order=17,
                          air_absorption=False, ray_tracing=False)
    shoebox.add_source(list(scene.speaker))
    shoebox.add_microphone(list(scene.listener))
    shoebox.compute_rir()
    return time.perf_counter() - start


def run(repeats: int) -> dict:
    from soundstage.acoustics.rir import synthesize_rir
    from soundstage.io.depth import read_depth
    from soundstage.io.image import read_image
    from soundstage.pipelines.speak import speak
    from soundstage.scene.camera import parse_intrinsics
    from soundstage.scene.scene import analyze_scene

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        frame = inputs(tmp)
        rgb = read_image(frame["image"])
        depth = read_depth(frame["depth"], image_shape=rgb.shape)
        k = parse_intrinsics(frame["intrinsics"], rgb.shape[1], rgb.shape[0])
        t_scene, scene = best_of(lambda: analyze_scene(rgb, depth, k), repeats=repeats)
        t_rir, _ = best_of(lambda: synthesize_rir(scene.room(), scene.speaker, scene.listener, sr=16000), repeats=repeats)
        t_e2e, _ = best_of(lambda: speak(None, image=frame["image"], depth=frame["depth"], intrinsics=frame["intrinsics"],
                                         speech=frame["dry"], output=tmp / "out.wav"), repeats=repeats)
        t_pra = pra_response_seconds(scene)
        peak = peak_memory_mb(frame, tmp)
    return {"frame": frame["frame"], "size": [int(rgb.shape[1]), int(rgb.shape[0])], "scene_s": t_scene,
            "rir_s": t_rir, "pra_rir_s": t_pra, "rir_speedup_vs_pra": t_pra / t_rir, "end_to_end_s": t_e2e,
            "rtf": t_e2e / 5.0, "peak_mb": peak, "targets": TARGETS, "room_dims_m": list(scene.layout.dims)}


def print_report(r: dict) -> None:
    print(f"frame: {r['frame']} ({r['size'][0]}x{r['size'][1]}), fitted room "
          + " x ".join(f"{d:.2f}" for d in r["room_dims_m"]) + " m\n")
    rows = [
        ["scene analysis (s)", fmt(r["scene_s"]), f"<= {TARGETS['scene_s']}", pass_fail(r["scene_s"] <= TARGETS["scene_s"])],
        ["end-to-end RTF, 5 s speech", fmt(r["rtf"]), f"<= {TARGETS['rtf']}", pass_fail(r["rtf"] <= TARGETS["rtf"])],
        ["peak memory (MB)", fmt(r["peak_mb"], ".0f"), f"<= {TARGETS['peak_mb']:.0f}", pass_fail(r["peak_mb"] <= TARGETS["peak_mb"])],
    ]
    print(table(["measure", "value", "target", ""], rows))
    print(f"\nimpulse response of the fitted room: soundstage {r['rir_s']:.3f} s (image sources + per-band diffuse tail), "
          f"pyroomacoustics ISM order 17 {r['pra_rir_s']:.3f} s: speed ratio {r['rir_speedup_vs_pra']:.2f} "
          "(pyroomacoustics time / soundstage time; > 1 means soundstage is faster)")


def main(argv: list[str] | None = None) -> int:
    return repeats_main(__doc__, run, print_report, argv)


if __name__ == "__main__":
    sys.exit(main())
