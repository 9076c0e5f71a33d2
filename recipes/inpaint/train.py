"""Train one speech in-painter (av-mtl, av or audio) on a GRID-layout folder.

    python recipes/inpaint/train.py --model av-mtl --data ../shared/data/grid_s1 \
        --cache /tmp/grid_s1_cache --steps 3000 --minutes 120 \
        --out src/soundstage/models/weights/inpaint_av-mtl

The lip and log-mel features of every clip are cached first (resumable, one .npz per
clip). The clips are split by id with :func:`soundstage.data.grid.split_clips`
(seeded); feature statistics come from the training clips only. Each batch draws new
random gaps (1 or 2 per clip, 0.3-1.5 s). The validation loss (masked log-mel MSE on
fixed, seeded gaps) is checked every ``--val-every`` steps and the best checkpoint is
kept; its JSON records the data, split, steps, time and losses.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np
import torch

from soundstage.data.grid import build_feature_cache, load_grid, split_clips
from soundstage.models.inpainting import (
    InpainterConfig,
    build_inpainter,
    collate,
    count_parameters,
    feature_stats,
    inpainting_loss,
    save_inpainter,
)
from soundstage.models.training import train_loop


def load_examples(cache: Path, ids: list[str]) -> list[dict]:
    """The cached ``logmel``, ``motion`` and ``text`` of each clip id."""
    out = []
    for clip_id in ids:
        with np.load(cache / f"{clip_id}.npz", allow_pickle=False) as data:
            out.append({"id": clip_id, "logmel": data["logmel"], "motion": data["motion"],
                        "text": str(data["text"]), "missing": int(data["missing"])})
    return out


def validation_batches(examples: list[dict], batch: int, seed: int) -> list[dict]:
    """Fixed validation batches: the same gaps at every check."""
    rng = np.random.default_rng(seed)
    return [collate(examples[i : i + batch], rng) for i in range(0, len(examples), batch)]


@torch.no_grad()
def validate(model, batches: list[dict]) -> dict[str, float]:
    model.eval()
    sums = {"mse": 0.0, "ctc": 0.0}
    for b in batches:
        _, parts = inpainting_loss(model, b)
        for k in sums:
            sums[k] += parts[k] / len(batches)
    model.train()
    return sums


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=("av-mtl", "av", "audio"), required=True)
    p.add_argument("--data", default="../shared/data/grid_s1", help="GRID-layout folder (<id>.mkv/.mpg + <id>.align)")
    p.add_argument("--cache", required=True, help="feature cache folder (built when missing)")
    p.add_argument("--out", required=True, help="checkpoint path without suffix")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--minutes", type=float, default=120.0, help="stop after this much training time")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden", type=int, default=192)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--ctc-weight", type=float, default=0.001, help="weight of the lip-reading CTC loss (av-mtl)")
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--max-missing", type=int, default=10,
                   help="leave out training clips with more interpolated video frames than this")
    p.add_argument("--n-val", type=int, default=50)
    p.add_argument("--n-test", type=int, default=50)
    p.add_argument("--seed", type=int, default=0, help="split seed (the evaluation uses the same)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workers", type=int, default=1, help="processes for the feature cache")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cache = Path(args.cache)
    clips = load_grid(args.data)
    report = build_feature_cache(clips, cache, workers=args.workers)
    usable = [c for c in clips if c.id not in report.failed]
    split = split_clips(usable, n_val=args.n_val, n_test=args.n_test, seed=args.seed)
    train = [e for e in load_examples(cache, split["train"]) if e["missing"] <= args.max_missing]
    val = load_examples(cache, split["val"])
    left_out = sorted(set(split["train"]) - {e["id"] for e in train})
    print(f"{len(train)} training clips ({len(left_out)} left out for face misses: {left_out}), {len(val)} validation")

    stats = feature_stats(train)
    config = InpainterConfig(kind=args.model, hidden=args.hidden, layers=args.layers, ctc_weight=args.ctc_weight, **stats)
    model = build_inpainter(config)
    print(f"{args.model}: {count_parameters(model) / 1e6:.2f} M parameters")
    optim = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=args.lr, total_steps=args.steps, pct_start=0.05)
    val_batches = validation_batches(val, args.batch, seed=1000 + args.seed)
    rng = np.random.default_rng(args.seed)


    def batches():
        while True:
            order = rng.permutation(len(train))
            for k in range(0, len(order) - args.batch + 1, args.batch):
                loss, parts = inpainting_loss(model, collate([train[j] for j in order[k : k + args.batch]], rng))
                yield loss, {"train_mse": parts["mse"], "train_ctc": parts["ctc"]}

    def check() -> tuple[float, dict]:
        v = validate(model, val_batches)
        return v["mse"], {"val_mse": v["mse"], "val_ctc": v["ctc"]}

    def save(step: int, minutes: float, history: list, score: float) -> None:
        model.config.training = {
            "data": f"GRID corpus, speaker s1 only ({Path(args.data).name}): speaker-dependent",
            "split": {"seed": args.seed, "train": len(split["train"]), "val": len(val),
                      "test": len(split["test"]), "rule": "soundstage.data.grid.split_clips"},
            "train_clips_used": len(train), "left_out_clips": left_out,
            "gaps": "1-2 random gaps of 0.3-1.5 s per clip, new every batch",
            "steps": step, "batch": args.batch, "lr": args.lr, "schedule": "one-cycle",
            "minutes": round(minutes, 1), "threads": args.threads,
            "val_mse": round(score, 4), "val_ctc": round(history[-1]["val_ctc"], 3),
            "history": history, "recipe": "recipes/inpaint/train.py " + " ".join(argv or sys.argv[1:]),
            "torch": torch.__version__, "python": platform.python_version(),
        }
        save_inpainter(model, args.out)

    best = train_loop(model, optim, sched, batches(), steps=args.steps, minutes=args.minutes, val_every=args.val_every,
                      validate=check, on_best=save, desc=f"train {args.model}")
    print(f"best validation MSE {best:.4f}; checkpoint {args.out}.safetensors/.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
