"""Run ``soundstage speak`` on every real RGB-D frame in ``../shared/data/rgbd/`` and tabulate the rooms.

    python examples/speak/real_rooms.py [--data ../shared/data/rgbd] [--out docs/scenes]

Writes ``<out>/<frame>.png`` (regions and materials, depth, plan), ``<out>/<frame>.flac``
(the sentence said in that room) and prints a Markdown table of fitted dimensions,
surface materials and predicted T30 (the README's table).

Each dataset stores depth its own way (the Open3D samples' conventions, checked against
Open3D's readers and the datasets' toolboxes):

* NYU Depth v2 (Metric3D demo frames): millimetres (scale 1000), colour-camera intrinsics
  from the dataset's ``test_annotations.json``, depth registered to the colour image;
* NYU (Open3D sample): raw Kinect disparity, ``351.3 / (1092.5 - v)`` metres, the depth
  camera's intrinsics (NYU toolbox ``camera_params.m``); the colour frame is the raw,
  unregistered colour camera, so region colours are only approximately aligned;
* SUN RGB-D (Open3D sample): millimetres with the 16 bits rotated by 3; no intrinsics ship
  with the sample, so the PrimeSense default (fx = fy = 525) is assumed;
* TUM RGB-D: 1/5000 m units, the TUM default intrinsics (fx = fy = 525, registered depth).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from soundstage.pipelines.speak import speak

TEXT = "The quick brown fox jumps over the lazy dog."
PRIMESENSE = "525,525,319.5,239.5"


def frames(data: Path) -> list[dict]:
    nyu = data / "nyu_metric3d"
    found = []
    if nyu.is_dir():
        cam = json.loads((nyu / "test_annotations.json").read_text())["files"]
        for entry in cam:
            stem = Path(entry["rgb"]).stem.replace("rgb_", "")
            found.append({"name": f"nyu_{stem}", "image": nyu / f"rgb_{stem}.jpg", "depth": nyu / f"sync_depth_{stem}.png",
                          "intrinsics": ",".join(map(str, entry["cam_in"])), "depth_scale": entry["depth_scale"],
                          "depth_encoding": "linear"})
    o3d = data / "open3d"
    if o3d.is_dir():
        found += [
            {"name": "open3d_nyu", "image": o3d / "NYU_color.ppm", "depth": o3d / "NYU_depth.pgm",
             "intrinsics": "582.62448,582.69103,313.04476,238.44390", "depth_scale": None,
             "depth_encoding": "kinect-disparity"},
            {"name": "open3d_sun", "image": o3d / "SUN_color.jpg", "depth": o3d / "SUN_depth.png",
             "intrinsics": PRIMESENSE, "depth_scale": 1000.0, "depth_encoding": "sunrgbd"},
            {"name": "open3d_tum", "image": o3d / "TUM_color.png", "depth": o3d / "TUM_depth.png",
             "intrinsics": PRIMESENSE, "depth_scale": 5000.0, "depth_encoding": "linear"},
        ]
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/rgbd"))
    p.add_argument("--out", type=Path, default=Path("docs/scenes"))
    args = p.parse_args(argv)
    todo = frames(args.data)
    if not todo:
        print(f"no RGB-D frames under {args.data}", file=sys.stderr)
        return 2
    print("| frame | fitted room (m) | volume (m^3) | walls / floor / ceiling | T30 500 Hz / 1 kHz / 2 kHz (s) | camera inside |")
    print("|---|---|---|---|---|---|")
    for f in todo:
        result = speak(TEXT, image=f["image"], depth=f["depth"], intrinsics=f["intrinsics"], depth_scale=f["depth_scale"],
                       depth_encoding=f["depth_encoding"], output=args.out / f"{f['name']}.flac",
                       plot=args.out / f"{f['name']}.png")
        s = result.scene.summary()
        dims, cam = s["room_dims_m"], s["listener_m"]
        walls = sorted({s["surfaces"][w]["material"] for w in ("west", "east", "south", "north") if s["surfaces"][w]["observed"]})
        inside = all(0 < c < d for c, d in zip(cam, dims))
        t = s["predicted_t30_s"]
        print(f"| {f['name']} | {' x '.join(f'{d:.2f}' for d in dims)} | {s['volume_m3']:.0f} | "
              f"{', '.join(walls) or '-'} / {s['surfaces']['floor']['material']} / {s['surfaces']['ceiling']['material']} | "
              f"{t['500']:.2f} / {t['1000']:.2f} / {t['2000']:.2f} | {'yes' if inside else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
