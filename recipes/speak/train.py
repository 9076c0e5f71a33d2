"""Train the visual-acoustics model (RGB-D + caption -> acoustic profile) on a RoomSynth folder.

    python recipes/speak/train.py --data /work/data/roomsynth --cache /tmp/roomsynth_cache \
        --out src/soundstage/models/weights/visual_acoustics --minutes 110 --steps 3000

The ``train`` rows of the folder's manifest are cached once (resumable): rgb uint8 and
depth float16 at ``--image-size`` (area averaging, the model's own
:func:`~soundstage.models.visual_acoustics.prepare_inputs`) in memory-mapped ``.npy``
files, the room's volume over surface area fitted to the full-size depth map
(:func:`~soundstage.models.visual_acoustics.room_ratio`, for the Eyring head), the
captions and the target spec vectors
(:func:`~soundstage.acoustics.from_profile.spec_to_vector` of each item's profile). The
materials each caption names give the absorption prior
(:func:`~soundstage.models.visual_acoustics.caption_absorption`, computed at start-up). Items
whose index is a multiple of 50 (2 %) are held out for validation. The caption vocabulary
and the target mean/std come from the other (training) items. AdamW with a warm-up and a
cosine decay over ``--steps``; every batch flips a random half of its pictures left-right
(rgb and depth together: the acoustics of a mirrored room are the same). The validation
loss (MSE of the normalized targets) is checked every ``--val-every`` steps; the best
weights are written (atomically) each time they improve. Training stops at ``--steps`` or
``--minutes``. The same seed gives the same checkpoint.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from soundstage.acoustics.from_profile import spec_from_profile, spec_to_vector
from soundstage.data.roomsynth.manifest import item_path, load_item, read_manifest
from soundstage.errors import SoundstageError
from soundstage.io.atomic import atomic_write
from soundstage.models.training import train_loop
from soundstage.models.visual_acoustics import (
    MAX_TOKENS,
    VisualAcousticsNet,
    build_vocab,
    caption_absorption,
    encode_captions,
    prepare_inputs,
    room_ratio,
    save_checkpoint,
)
from soundstage.scene.camera import Intrinsics

#: Items with ``index % VAL_EVERY_NTH == 0`` are the validation set (2 %).
VAL_EVERY_NTH = 50


def _load_small(job: tuple[str, int]) -> tuple[np.ndarray, np.ndarray, float]:
    """rgb uint8 and depth float16 of one item file at ``size`` squared, and its room's V/S (pool worker)."""
    path, size = job
    item = load_item(path)
    depth = item["depth"].astype(np.float32)
    rgb, small = prepare_inputs(item["rgb"][None], depth[None], size)
    intrinsics = Intrinsics.from_dict(item["meta"]["camera"]["intrinsics"])
    with threadpool_limits(1):  # the same RANSAC sums in every process
        ratio = float(room_ratio(depth, intrinsics)[0])
    return rgb[0], small[0].astype(np.float16), ratio


def build_cache(data: Path, cache: Path, size: int, workers: int = 1) -> dict:
    """Memory-mapped rgb / depth / targets and the captions of the ``train`` rows (built or resumed)."""
    rows = sorted((r for r in read_manifest(data) if r.get("split") == "train"), key=lambda r: r["index"])
    if not rows:
        raise SoundstageError(f"'{data}' has no train rows in manifest.jsonl; expected a RoomSynth folder "
                              "(soundstage data roomsynth --out DIR --n N --split train)")
    index = [int(r["index"]) for r in rows]
    info = {"data": str(data.resolve()), "image_size": int(size), "n": len(rows), "index": index}
    cache.mkdir(parents=True, exist_ok=True)
    if (cache / "cache.json").is_file():
        old = json.loads((cache / "cache.json").read_text())
        if old != info:
            raise SoundstageError(f"cache '{cache}' holds {old['n']} items of '{old['data']}' at {old['image_size']} px; "
                                  f"asked for {len(rows)} items of '{data}' at {size} px: use another --cache folder")
    else:
        for name, shape, dtype in (("rgb", (len(rows), size, size, 3), np.uint8),
                                   ("depth", (len(rows), size, size), np.float16), ("filled", (len(rows),), np.bool_)):
            np.lib.format.open_memmap(cache / f"{name}.npy", "w+", dtype, shape).flush()
        targets = np.stack([spec_to_vector(spec_from_profile(r["profile"])) for r in rows]).astype(np.float32)
        atomic_write(cache / "targets.npy", lambda tmp: np.save(tmp, targets))
        text = json.dumps([r["caption"] for r in rows])
        atomic_write(cache / "captions.json", lambda tmp: tmp.write_text(text))
        text = json.dumps(info)
        atomic_write(cache / "cache.json", lambda tmp: tmp.write_text(text))
    if not (cache / "ratio.npy").is_file():  # caches made before the room ratio was cached: fill it in
        np.lib.format.open_memmap(cache / "ratio.npy", "w+", np.float64, (len(rows),))[:] = np.nan
    mm = {k: np.load(cache / f"{k}.npy", mmap_mode="r+") for k in ("rgb", "depth", "filled", "ratio")}
    todo = np.flatnonzero(~mm["filled"] | ~np.isfinite(mm["ratio"]))
    jobs = [(str(item_path(data, "train", index[k])), size) for k in todo]
    if len(jobs):
        pool = mp.get_context("spawn").Pool(workers) if workers > 1 else None
        results = pool.imap(_load_small, jobs, chunksize=8) if pool else map(_load_small, jobs)
        for n, (k, (rgb, depth, ratio)) in enumerate(tqdm(zip(todo, results), total=len(jobs), desc="feature cache")):
            mm["rgb"][k], mm["depth"][k], mm["ratio"][k] = rgb, depth, ratio
            mm["filled"][k] = True
            if n % 500 == 499 or n == len(jobs) - 1:  # data reaches the disk before its flag
                for name in ("rgb", "depth", "ratio", "filled"):
                    mm[name].flush()
        if pool:
            pool.close()
            pool.join()
    return {"rgb": np.load(cache / "rgb.npy", mmap_mode="r"), "depth": np.load(cache / "depth.npy", mmap_mode="r"),
            "ratio": np.load(cache / "ratio.npy"),
            "targets": np.load(cache / "targets.npy"), "captions": json.loads((cache / "captions.json").read_text()),
            "index": np.asarray(index)}


def batch_tensors(data: dict, rows: np.ndarray, tokens: np.ndarray, flip: np.ndarray | None = None) -> tuple:
    """rgb, depth, tokens, room ratios, caption material priors and normalized targets of cache ``rows``
    (sorted: memory-map order), flipped where asked."""
    rgb, depth = data["rgb"][rows], data["depth"][rows].astype(np.float32)
    if flip is not None and flip.any():
        rgb[flip], depth[flip] = rgb[flip][:, :, ::-1], depth[flip][:, :, ::-1]
    return (torch.from_numpy(np.ascontiguousarray(rgb)), torch.from_numpy(np.ascontiguousarray(depth)),
            torch.from_numpy(tokens[rows]), torch.from_numpy(data["ratio"][rows]),
            torch.from_numpy(data["prior"][rows]), torch.from_numpy(data["norm_targets"][rows]))


@torch.no_grad()
def validate(model: VisualAcousticsNet, data: dict, rows: np.ndarray, tokens: np.ndarray, batch: int = 128) -> float:
    """Mean squared error of the normalized targets over ``rows``."""
    model.eval()
    total = 0.0
    for k in range(0, len(rows), batch):
        rgb, depth, tok, ratio, prior, y = batch_tensors(data, rows[k : k + batch], tokens)
        out = model(rgb, depth if model.use_depth else None, tok, ratio if model.geometry else None,
                    prior if model.material_prior else None)
        total += float(((out - y) ** 2).mean(1).sum())
    model.train()
    return total / len(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="RoomSynth folder (manifest.jsonl + items/)")
    p.add_argument("--out", required=True, help="checkpoint path without suffix")
    p.add_argument("--cache", help="feature cache folder (default: <temp dir>/soundstage_<data name>_<size>)")
    p.add_argument("--minutes", type=float, default=120.0, help="stop after this much training time")
    p.add_argument("--steps", type=int, default=3000, help="steps of the cosine schedule (and the most run)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--top-k", type=int, default=80)
    p.add_argument("--no-depth", action="store_true", help="RGB-only model")
    p.add_argument("--no-caption", action="store_true", help="a learned query replaces the caption")
    p.add_argument("--no-local-aware", action="store_true", help="mean-pooled patch tokens instead of the local-aware module")
    p.add_argument("--no-geometry", action="store_true", help="regress T30 directly (no Eyring head over the fitted room)")
    p.add_argument("--no-material-prior", action="store_true",
                   help="no absorption prior from the materials the caption names")
    p.add_argument("--image-size", type=int, default=112)
    p.add_argument("--patch", type=int, default=8)
    p.add_argument("--dim", type=int, default=96)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--val-every", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=1, help="processes for the feature cache")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data_dir = Path(args.data)
    settings_file = data_dir / "dataset.json"  # RoomSynth generation settings (seed, image size, rate)
    settings = json.loads(settings_file.read_text()) if settings_file.is_file() else None
    cache = Path(args.cache or Path(tempfile.gettempdir()) / f"soundstage_{data_dir.resolve().name}_{args.image_size}")
    data = build_cache(data_dir, cache, args.image_size, args.workers)
    is_val = data["index"] % VAL_EVERY_NTH == 0
    train, val = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    if len(train) < 2 or len(val) < 1:
        raise SoundstageError(f"{len(data['index'])} train items give {len(train)} for training and {len(val)} for "
                              f"validation (index % {VAL_EVERY_NTH} == 0); expected at least 2 and 1")
    vocab = build_vocab(data["captions"][k] for k in train)
    tokens = encode_captions(data["captions"], {t: i for i, t in enumerate(vocab)}, MAX_TOKENS)
    y = data["targets"].astype(np.float64)
    mean, std = y[train].mean(0), np.maximum(y[train].std(0), 1e-6)
    data["norm_targets"] = ((y - mean) / std).astype(np.float32)
    data["prior"] = caption_absorption(data["captions"])
    model = VisualAcousticsNet(image_size=args.image_size, patch=args.patch, dim=args.dim, layers=args.layers,
                               heads=max(1, args.dim // 32), top_k=args.top_k, rounds=args.rounds, vocab_size=len(vocab),
                               use_depth=not args.no_depth, use_caption=not args.no_caption,
                               local_aware=not args.no_local_aware, geometry=not args.no_geometry,
                               material_prior=not (args.no_geometry or args.no_material_prior))
    model.set_target_stats(mean, std)
    config = {"vocab": vocab, "target_mean": mean.tolist(), "target_std": std.tolist(),
              "target_min": y[train].min(0).tolist(), "target_max": y[train].max(0).tolist()}
    print(f"{len(train)} training and {len(val)} validation items; vocabulary {len(vocab)}; "
          f"{sum(q.numel() for q in model.parameters()) / 1e6:.2f} M parameters")
    optim = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    warm = max(1, args.steps // 30)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + np.cos(np.pi * min(1.0, s / max(1, args.steps)))))
    rng = np.random.default_rng(args.seed)

    def batches():
        order = np.array([], int)
        while True:
            if len(order) < args.batch:
                order = np.concatenate([order, rng.permutation(train)])
            rows, order = np.sort(order[: args.batch]), order[args.batch :]
            rgb, depth, tok, ratio, prior, target = batch_tensors(data, rows, tokens, rng.random(len(rows)) < 0.5)
            out = model(rgb, None if args.no_depth else depth, tok, ratio if model.geometry else None,
                        prior if model.material_prior else None)
            loss = ((out - target) ** 2).mean()
            yield loss, {"train_loss": loss.item()}

    def save(step: int, minutes: float, history: list, score: float) -> None:
        record = {"data": data_dir.resolve().name, "split": "train", "dataset": settings,
                  "items": {"train": len(train), "val": len(val), "val_rule": f"index % {VAL_EVERY_NTH} == 0"},
                  "seed": args.seed, "steps": step, "batch": args.batch, "lr": args.lr,
                  "minutes": round(minutes, 1), "threads": args.threads, "val_loss": round(score, 4),
                  "loss": "MSE of the normalized spec vector", "history": history,
                  "recipe": "recipes/speak/train.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                  "torch": torch.__version__, "python": platform.python_version()}
        save_checkpoint(model, args.out, config, record)

    def check() -> tuple[float, dict]:
        v = validate(model, data, val, tokens)
        return v, {"val_loss": v}

    best = train_loop(model, optim, sched, batches(), steps=args.steps, minutes=args.minutes, val_every=args.val_every,
                      validate=check, on_best=save, desc="train visual-acoustics")
    print(f"best validation loss {best:.4f}; checkpoint {args.out}.safetensors/.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
