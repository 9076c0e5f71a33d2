"""RoomSynth generation throughput, local process pool against Ray, and the learned model's speed.

* **generation**: ``generate(folder, n, "train", seed 0, workers, backend=...)`` of ``n``
  items (default 60) of 224x224 into a fresh temporary folder, for the local back-end and
  for Ray at 1 and 2 workers. Every configuration makes the same items (and the script
  checks that their files are byte-identical).

  - *items/s* = ``n`` / wall time of the ``generate`` call. For ``local`` that includes
    starting the spawn pool (each worker imports soundstage; 1 worker runs in-process).
    For ``ray`` a local Ray with ``num_cpus=workers`` is started *before* the clock, as a
    cluster would already be running (``ray_start_s`` reports that start); starting and
    warming its worker processes is inside the clock.
  - *steady items/s*: from the items' file times: ``(n - w) / (t_last - t_w)`` where
    ``t_w`` is the ``w``-th finished item, i.e. the rate once every worker has finished
    its first item (start-up excluded).
  - *scaling* = items/s at 2 workers / items/s at 1 worker, per back-end, and the same
    ratio of steady items/s; the target (>= 1.7 on 2 cores) is judged on the steady ratio,
    since a real run (thousands of items) pays the start-up once. *ray / local* = Ray's
    items/s / local items/s at the same worker count.

* **model** (``--checkpoint PATH``): ``soundstage.models.visual_acoustics.load_predictor``
  then ``predict`` on one 224x224 RoomSynth image (RGB, depth, caption) per call; best
  time of ``--repeats`` calls after one warm-up call, ms per image (target <= 20 ms). For a
  model with the Eyring head the room fit to the depth map (``room_ratio``) is timed
  apart, as ``room_fit_ms``: ``speak`` makes that fit for its scene analysis anyway.

Run ``python benchmarks/roomsynth.py [--n 60] [--checkpoint ckpt] [--json]`` from the
repository root on an otherwise idle machine (2 cores for the README's numbers).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import best_of, fmt, output_options, pass_fail, report, save_figure, table

TARGETS = {"scaling": 1.7, "model_ms": 20.0}
CONFIGS = (("local", 1), ("local", 2), ("ray", 1), ("ray", 2))


def _folder_bytes(out: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((out / "items").glob("*.npz"))]


def _steady_ips(out: Path, workers: int) -> float:
    times = np.sort([p.stat().st_mtime for p in (out / "items").glob("*.npz")])
    if times.size <= workers:
        return float("nan")
    span = times[-1] - times[workers - 1]
    return float((times.size - workers) / span) if span > 0 else float("nan")


def time_generation(backend: str, workers: int, n: int, size: int, root: Path) -> dict:
    """Time one ``generate`` run of ``n`` items into a fresh folder under ``root``."""
    from soundstage.data.roomsynth import generate

    out = root / f"{backend}-{workers}"
    entry: dict = {"backend": backend, "workers": workers}
    ray = None
    if backend == "ray":
        import ray

        start = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        entry["ray_start_s"] = time.perf_counter() - start
    try:
        start = time.perf_counter()
        generate(out, n, "train", 0, workers, width=size, height=size, backend=backend, progress=False)
        entry["seconds"] = time.perf_counter() - start
    finally:
        if ray is not None:
            ray.shutdown()
    entry["ips"] = n / entry["seconds"]
    entry["steady_ips"] = _steady_ips(out, workers)
    return entry


def model_inference(checkpoint: Path, repeats: int = 20, size: int = 224) -> dict:
    """Time ``load_predictor(checkpoint).predict`` on one ``size``x``size`` RoomSynth image per call.

    Parameters
    ----------
    checkpoint : Path
        A visual-acoustics checkpoint (``.safetensors`` + ``.json``, with or without suffix).
    repeats : int
        Timed calls; the best is kept (one untimed warm-up call first).
    size : int
        Image width and height in pixels.

    Returns
    -------
    dict
        ``ms_per_image`` (best call of the network, given the fitted room's V/S for a geometry
        model), ``room_fit_ms`` (geometry models: :func:`room_ratio` on the full depth map,
        the fit `speak` already makes for its scene analysis), ``load_s`` (loading the
        checkpoint), ``threads`` (torch intra-op threads), ``t30_1000_s`` (the prediction, to
        show it ran) and the target.
    """
    import torch

    from soundstage.data.roomsynth import make_item
    from soundstage.models.visual_acoustics import load_predictor, room_ratio
    from soundstage.scene.camera import Intrinsics

    start = time.perf_counter()
    predictor = load_predictor(checkpoint)
    load_s = time.perf_counter() - start
    item = make_item(0, "test-unseen", 0, width=size, height=size)
    rgb, depth = item.rgb[None], item.depth.astype(np.float32)[None]
    captions = [item.meta["caption"]]
    intrinsics = Intrinsics.from_dict(item.meta["camera"]["intrinsics"])
    out = {"checkpoint": str(checkpoint), "size": size, "load_s": load_s, "threads": torch.get_num_threads(),
           "target_ms": TARGETS["model_ms"]}
    ratios = None
    if predictor.uses_geometry:  # the room fit, which `speak` shares with its scene analysis
        fit_s, ratios = best_of(lambda: room_ratio(depth, intrinsics), repeats=max(1, repeats // 4))
        out["room_fit_ms"] = fit_s * 1000
    predictor.predict(rgb, depth, captions, ratios=ratios)
    seconds, spec = best_of(lambda: predictor.predict(rgb, depth, captions, ratios=ratios), repeats=repeats)
    return out | {"ms_per_image": seconds * 1000, "t30_1000_s": spec[0]["t30"].get("1000")}


def run(n: int, size: int, use_ray: bool, checkpoint: Path | None, repeats: int) -> dict:
    configs = [c for c in CONFIGS if use_ray or c[0] == "local"]
    rows, files = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend, workers in configs:
            print(f"generating {n} items: {backend}, {workers} worker(s)", file=sys.stderr)
            rows.append(time_generation(backend, workers, n, size, Path(tmp)))
            files[(backend, workers)] = _folder_bytes(Path(tmp) / f"{backend}-{workers}")
    ips = {(r["backend"], r["workers"]): r for r in rows}
    result: dict = {"n": n, "size": size, "cpus": os.cpu_count(), "runs": rows,
                    "identical_items": all(f == files[configs[0]] for f in files.values()),
                    "scaling": {}, "steady_scaling": {}, "ray_vs_local": {}, "targets": TARGETS}
    for backend in {b for b, _ in configs}:
        result["scaling"][backend] = ips[(backend, 2)]["ips"] / ips[(backend, 1)]["ips"]
        result["steady_scaling"][backend] = ips[(backend, 2)]["steady_ips"] / ips[(backend, 1)]["steady_ips"]
    if use_ray:
        result["ray_vs_local"] = {str(w): ips[("ray", w)]["ips"] / ips[("local", w)]["ips"] for w in (1, 2)}
    if checkpoint is not None:
        result["model"] = model_inference(checkpoint, repeats=repeats, size=size)
    return result


def plot(r: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    labels = [f"{x['backend']}\n{x['workers']} worker(s)" for x in r["runs"]]
    pos = np.arange(len(labels))
    ax.bar(pos - 0.2, [x["ips"] for x in r["runs"]], 0.4, label="items/s (start-up included)")
    ax.bar(pos + 0.2, [x["steady_ips"] for x in r["runs"]], 0.4, label="steady items/s")
    ax.set_xticks(pos, labels)
    ax.set_ylabel("items per second")
    ax.set_title(f"RoomSynth {r['size']}x{r['size']}, {r['n']} items")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def print_report(r: dict) -> None:
    print(f"RoomSynth generation: {r['n']} train items of {r['size']}x{r['size']}, {r['cpus']} CPUs\n")
    rows = [[x["backend"], str(x["workers"]), fmt(x["seconds"], ".1f"), fmt(x["ips"], ".2f"), fmt(x["steady_ips"], ".2f"),
             fmt(x.get("ray_start_s"), ".1f")] for x in r["runs"]]
    print(table(["backend", "workers", "time (s)", "items/s", "steady items/s", "ray start (s)"], rows))
    print()
    rows = [[b, fmt(s, ".2f"), fmt(r["steady_scaling"][b], ".2f"), f">= {TARGETS['scaling']}",
             pass_fail(r["steady_scaling"][b] >= TARGETS["scaling"])] for b, s in sorted(r["scaling"].items())]
    print(table(["backend", "scaling 2/1", "steady scaling", "target (steady)", ""], rows))
    for w, ratio in r["ray_vs_local"].items():
        print(f"ray / local items/s at {w} worker(s): {ratio:.2f}")
    print(f"item files identical across back-ends: {r['identical_items']}")
    if "model" in r:
        m = r["model"]
        print(f"\nlearned model ({m['checkpoint']}): {m['ms_per_image']:.1f} ms per {m['size']}x{m['size']} image "
              f"on {m['threads']} thread(s) (target <= {m['target_ms']:.0f} ms: "
              f"{pass_fail(m['ms_per_image'] <= m['target_ms'])}); loading {m['load_s']:.2f} s")
        if "room_fit_ms" in m:
            print(f"room fit to the depth map (V/S for the Eyring head, shared with the scene analysis): "
                  f"{m['room_fit_ms']:.1f} ms")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=60, help="items per configuration (default 60)")
    p.add_argument("--size", type=int, default=224, help="image width and height (default 224)")
    p.add_argument("--no-ray", action="store_true", help="time the local back-end only")
    p.add_argument("--checkpoint", type=Path, help="visual-acoustics checkpoint: also time the learned model")
    p.add_argument("--repeats", type=int, default=20, help="timed model calls (default 20)")
    output_options(p, Path(__file__).with_name("roomsynth.png"))
    args = p.parse_args(argv)
    if args.n < 4:
        p.error(f"--n must be at least 4, got {args.n}")
    result = run(args.n, args.size, not args.no_ray, args.checkpoint, args.repeats)
    if not args.no_plot:
        plot(result, args.plot)
    return report(result, args.json, print_report)


if __name__ == "__main__":
    sys.exit(main())
