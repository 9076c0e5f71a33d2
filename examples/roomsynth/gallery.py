"""A picture of RoomSynth: one item per shape family, with its depth, plan and response decay.

    python examples/roomsynth/gallery.py [--seed 0] [--out docs/roomsynth_gallery.png]

For each family (``regular`` from ``train``; ``corridor``, ``lofty``, ``low`` and
``l-shaped`` from ``test-unseen``) the first item of that family is made with
:func:`soundstage.data.roomsynth.make_item` and drawn as four panels: the RGB picture, the
metric depth, a top-down plan (room outline, furniture, camera, talker) and the energy
decay of its impulse response with the measured broadband T30 against the Eyring design
at 1 kHz.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from soundstage.acoustics.analysis import schroeder_decay  # noqa: E402
from soundstage.data.roomsynth import make_item  # noqa: E402
from soundstage.io.atomic import atomic_write  # noqa: E402

FAMILIES = (("train", "regular"), ("test-unseen", "corridor"), ("test-unseen", "lofty"),
            ("test-unseen", "low"), ("test-unseen", "l-shaped"))


def first_of(seed: int, split: str, family: str, limit: int = 200):
    for i in range(limit):
        item = make_item(seed, split, i, width=16, height=16, sr=8000, max_rir_s=0.3)
        if item.meta["shape_family"] == family:
            return make_item(seed, split, i)
    raise SystemExit(f"no {family} item among the first {limit} of {split}")


def outline(meta: dict) -> np.ndarray:
    lx, ly, _ = meta["dims_m"]
    if meta.get("notch_m"):
        nx, ny = meta["notch_m"]
        return np.array([(0, 0), (lx, 0), (lx, ly - ny), (lx - nx, ly - ny), (lx - nx, ly), (0, ly), (0, 0)])
    return np.array([(0, 0), (lx, 0), (lx, ly), (0, ly), (0, 0)])


def draw(axes, item) -> None:
    m = item.meta
    ax_rgb, ax_depth, ax_plan, ax_decay = axes
    ax_rgb.imshow(item.rgb)
    ax_rgb.set_title(f"{m['split']} #{m['index']}: {m['shape_family']}", fontsize=9)
    im = ax_depth.imshow(item.depth, cmap="viridis")
    plt.colorbar(im, ax=ax_depth, fraction=0.046, label="depth (m)")
    for ax in (ax_rgb, ax_depth):
        ax.set_xticks([]), ax.set_yticks([])
    line = outline(m)
    ax_plan.plot(line[:, 0], line[:, 1], "k-")
    for f in m["furniture"]:
        (x0, y0, _), (x1, y1, _) = f["min_m"], f["max_m"]
        ax_plan.fill([x0, x1, x1, x0], [y0, y0, y1, y1], color="tan", alpha=0.7)
    cam, spk = m["camera"]["position_m"], m["speaker"]["position_m"]
    yaw = np.radians(m["camera"]["yaw_deg"])
    ax_plan.plot(*cam[:2], "b^", label="camera / listener")
    ax_plan.arrow(cam[0], cam[1], -0.8 * np.sin(yaw), 0.8 * np.cos(yaw), color="b", head_width=0.2)
    ax_plan.plot(*spk[:2], "ro", label="talker")
    ax_plan.set_aspect("equal")
    ax_plan.set_xlabel("x (m)", fontsize=8)
    ax_plan.set_ylabel("y (m)", fontsize=8)
    ax_plan.set_title(" x ".join(f"{d:.1f}" for d in m["dims_m"]) + " m", fontsize=9)
    ax_plan.legend(fontsize=6, loc="best")
    sr = m["rir"]["sr"]
    edc = schroeder_decay(item.rir, sr)
    ax_decay.plot(np.arange(edc.size) / sr, edc)
    ax_decay.set_ylim(-70, 2)
    ax_decay.set_xlabel("time (s)", fontsize=8)
    ax_decay.set_ylabel("energy decay (dB)", fontsize=8)
    t30 = m["profile"]["broadband"]["t30"]
    ax_decay.set_title(f"T30 {t30:.2f} s (Eyring 1 kHz {m['rt60_eyring_s']['1000']:.2f} s)", fontsize=9)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="docs/roomsynth_gallery.png")
    args = p.parse_args(argv)
    fig, axes = plt.subplots(len(FAMILIES), 4, figsize=(14, 3.2 * len(FAMILIES)))
    for row, (split, family) in zip(axes, FAMILIES):
        item = first_of(args.seed, split, family)
        draw(row, item)
        print(f"{family:9s} {item.meta['caption']}")
    fig.tight_layout()
    atomic_write(Path(args.out), lambda tmp: fig.savefig(tmp, dpi=80, format="png"))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
