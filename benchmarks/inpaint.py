"""Speech in-painting speed: lip landmarks per second and restoration real-time factor.

On one real GRID clip (3 s, 75 frames at 25 fps, 16 kHz audio):

* **landmarks**: MediaPipe face mesh + lip normalisation over the decoded frames
  (frames per second; the peer is real time, 25 fps);
* **restore**: one 600 ms gap restored by each model from cached lip motion
  (log-mel, model, Griffin-Lim from context phase, splice); real-time factor =
  time / 3 s, target <= 0.1; the peer is the classical (interpolation) in-painter,
  which runs the same front end and Griffin-Lim without a network.

Run ``python benchmarks/inpaint.py [--data ../shared/data/grid_s1] [--json]`` from the
repository root, on one core (``taskset -c 0``) for numbers comparable to the README.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from common import best_of, fmt, output_options, pass_fail, report, table

from soundstage.errors import DependencyError
from soundstage.io.video import read_video, read_video_audio
from soundstage.pipelines.inpaint import MODELS, load_model, restore
from soundstage.speech.features import SR
from soundstage.speech.gaps import Gap, mask_waveform
from soundstage.vision.lips import lip_features

TARGET_RTF = 0.1


def run(clip: Path, repeats: int) -> dict:
    video = read_video(clip, with_audio=False)
    t_lips, lips = best_of(lambda: lip_features(video.frames, video.fps), repeats=repeats)
    audio, sr = read_video_audio(clip)
    audio = audio.mean(axis=0)
    gaps = [Gap(1.0, 1.6)]
    damaged = mask_waveform(audio, gaps, sr)
    duration = audio.size / SR
    models = {}
    for name in MODELS:
        try:
            model = load_model(name)
        except DependencyError as exc:  # a model without shipped weights is reported, not fatal
            models[name] = {"error": str(exc)}
            continue
        seconds, _ = best_of(lambda: restore(damaged, gaps, model, lips.motion), repeats=repeats)
        models[name] = {"seconds": seconds, "rtf": seconds / duration}
    base = models["classical"].get("seconds")
    for entry in models.values():
        if "seconds" in entry and base:
            entry["vs_classical"] = entry["seconds"] / base
    return {"clip": clip.name, "frames": int(video.frames.shape[0]), "duration_s": duration,
            "landmarks": {"seconds": t_lips, "fps": video.frames.shape[0] / t_lips,
                          "x_real_time": video.frames.shape[0] / t_lips / video.fps},
            "models": models, "target_rtf": TARGET_RTF, "threads": torch.get_num_threads()}


def print_report(r: dict) -> None:
    lm = r["landmarks"]
    print(f"clip {r['clip']}: {r['frames']} frames, {r['duration_s']:.2f} s, torch threads {r['threads']}")
    print(f"landmarks: {lm['fps']:.0f} frames/s = {lm['x_real_time']:.1f}x real time (25 fps)\n")
    rows = [[name, fmt(m.get("seconds"), ".3f"), fmt(m.get("rtf"), ".3f"), fmt(m.get("vs_classical"), ".2f") + "x",
             pass_fail(m.get("rtf", 1e9) <= r["target_rtf"])] for name, m in r["models"].items()]
    print(table(["model", "seconds", "RTF", "time vs classical", f"RTF <= {r['target_rtf']}"], rows))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data/grid_s1"))
    p.add_argument("--clip", default="bbaf2n")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    output_options(p)
    args = p.parse_args(argv)
    clip = args.data / f"{args.clip}.mkv"
    if not clip.is_file():
        print(f"GRID clip {clip} not found; pass --data", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    np.random.seed(0)
    return report(run(clip, args.repeats), args.json, print_report)


if __name__ == "__main__":
    sys.exit(main())
