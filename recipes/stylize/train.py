"""Train the learned stylizer (log-mel diffusion conditioned on a scene clip) self-supervised.

    python recipes/stylize/train.py --rooms /work/data/roomsynth --grid ../shared/data/grid_s1 \
        --out src/soundstage/models/weights/stylizer --minutes 110 --steps 6000

Training pairs, made on the fly (the paper's self-supervision: two clips of one scene):

* a **room**: a RoomSynth ``train`` item (its impulse response and its RGB picture);
  items whose index is a multiple of 50 are the validation rooms;
* two **utterances** of the GRID training clips (``split_clips``, the same split as the
  in-painting recipe; their audio is read once into ``--cache``): clip A, cut to
  ``--seconds``, is the one to stylize; clip B is the scene clip;
* a **background**: stationary noise with a random spectral tilt (-2 to +0.5 in log
  power per log frequency) and sometimes a mains hum, a different realisation for A and
  B, at one random speech-to-ambience ratio (5 to 40 dB; none in 10 % of the pairs).
  Recorded ambience is deliberately not used: ``soundstage eval stylize`` is built from
  the shared ambience recordings, and the model must not have heard them;
* **target** = log-mel of A in the room plus its background; **scene clip** = log-mel of B
  in the same room plus its background, and the room's picture; **input** = log-mel of
  A dry plus white noise 30 to 50 dB below it (the paper adds noise to the input so that
  the model does not learn to copy its fine detail). Every signal is scaled to the same
  active-speech level first, so the model learns the scene's sound, not levels.

A random 30 % of the batches leave the picture out (a reference is often a sound file
only). AdamW with a warm-up and a cosine decay over ``--steps``; the validation loss (the
diffusion loss at fixed times and noise on 64 fixed pairs of validation rooms) every
``--val-every`` steps; the best weights are written each time it improves.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
from pathlib import Path

import numpy as np
import torch
from scipy.fft import next_fast_len
from scipy.signal import fftconvolve
from tqdm import tqdm

from soundstage.data.grid import load_grid, split_clips
from soundstage.data.roomsynth.manifest import item_path, read_manifest
from soundstage.dsp.loudness import active_power
from soundstage.errors import SoundstageError
from soundstage.io.atomic import atomic_write
from soundstage.io.video import read_video_audio
from soundstage.models.stylization import (
    SPEECH_LEVEL,
    Stylizer,
    StylizerConfig,
    diffusion_loss,
    prepare_image,
    save_stylizer,
)
from soundstage.models.training import train_loop
from soundstage.speech.features import SR, log_mel

VAL_EVERY_NTH = 50
NO_IMAGE = 0.3  # fraction of batches without the picture (references are often sound only)


def dry_cache(grid: Path, cache: Path) -> dict[str, np.ndarray]:
    """The GRID training and validation clips' audio (16 kHz float16), read once into ``cache/grid_audio.npz``."""
    path = cache / "grid_audio.npz"
    if not path.is_file():
        clips = {c.id: c for c in load_grid(grid)}
        parts = split_clips(list(clips.values()))
        audio = {}
        for name in ("train", "val"):
            for clip_id in tqdm(parts[name], desc=f"GRID {name} audio"):
                track, sr = read_video_audio(clips[clip_id].video)
                if sr != SR:
                    raise SoundstageError(f"{clips[clip_id].video}: audio at {sr} Hz; expected {SR} Hz GRID clips")
                audio[f"{name}/{clip_id}"] = track.mean(axis=0).astype(np.float16)
        cache.mkdir(parents=True, exist_ok=True)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, **audio)

        atomic_write(path, write)
    with np.load(path) as z:
        return {k: z[k].astype(np.float32) for k in z.files}


def active_rms(x: np.ndarray) -> float:
    return math.sqrt(active_power(x, SR))


def background(n: int, rng: np.random.Generator, tilt: float, hum: float) -> np.ndarray:
    """Stationary noise with power ~ f**tilt and an optional 50/60 Hz hum series, unit RMS."""
    size = next_fast_len(n)  # shaped at an FFT-friendly length, then cut
    spec = np.fft.rfft(rng.standard_normal(size))
    f = np.fft.rfftfreq(size, 1 / SR)
    spec[1:] *= (f[1:] / 1000.0) ** (tilt / 2)
    spec[0] = 0
    x = np.fft.irfft(spec, size)[:n]
    if hum > 0:
        base = rng.choice([50.0, 60.0])
        t = np.arange(n) / SR
        x += hum * sum(np.sin(2 * np.pi * base * k * t + rng.uniform(0, 2 * np.pi)) / k for k in (1, 2, 3))
    return x / np.sqrt(np.mean(x**2))


class Pairs:
    """Random (target, input, scene clip, picture) examples from rooms and utterances (see the module doc)."""

    def __init__(self, rooms: Path, room_index: np.ndarray, audio: list[np.ndarray], seconds: float) -> None:
        self.rooms, self.room_index, self.audio = rooms, room_index, audio
        self.n = int(round(seconds * SR))

    def example(self, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        with np.load(item_path(self.rooms, "train", int(rng.choice(self.room_index)))) as item:
            h, rgb = item["rir"].astype(np.float64), item["rgb"]
        a, b = (self.audio[i].astype(np.float64) for i in rng.choice(len(self.audio), 2, replace=False))
        start = int(rng.integers(0, max(1, a.size - self.n)))
        a = np.pad(a[start: start + self.n], (0, max(0, self.n - a.size)))
        a *= SPEECH_LEVEL / max(active_rms(a), 1e-9)
        b *= SPEECH_LEVEL / max(active_rms(b), 1e-9)
        tilt, hum = rng.uniform(-2.0, 0.5), (rng.uniform(0.0, 0.5) if rng.random() < 0.3 else 0.0)
        ratio = rng.uniform(5.0, 40.0) if rng.random() > 0.1 else None
        mixes = []
        for x in (a, b):
            wet = fftconvolve(x, h)[: x.size]
            wet *= SPEECH_LEVEL / max(active_rms(wet), 1e-9)
            if ratio is not None:
                wet = wet + SPEECH_LEVEL * 10 ** (-ratio / 20) * background(x.size, rng, tilt, hum)
            mixes.append(wet)
        noisy_dry = a + SPEECH_LEVEL * 10 ** (-rng.uniform(30, 50) / 20) * rng.standard_normal(a.size)
        return log_mel(mixes[0]), log_mel(noisy_dry), log_mel(mixes[1]), rgb

    def batch(self, rng: np.random.Generator, size: int, stats: dict[str, float]) -> dict[str, torch.Tensor]:
        ex = [self.example(rng) for _ in range(size)]
        norm = lambda m: (m - stats["mean"]) / stats["std"]  # noqa: E731
        clips = [e[2] for e in ex]
        width = max(c.shape[0] for c in clips)
        clip = np.stack([np.pad(norm(c), ((0, width - c.shape[0]), (0, 0))) for c in clips])
        return {"target": torch.from_numpy(np.stack([norm(e[0]) for e in ex])),
                "dry": torch.from_numpy(np.stack([norm(e[1]) for e in ex])),
                "clip": torch.from_numpy(clip), "clip_lengths": torch.tensor([c.shape[0] for c in clips]),
                "image": prepare_image(np.stack([e[3] for e in ex]))}


def _loss(model: Stylizer, b: dict[str, torch.Tensor], generator: torch.Generator | None = None,
          with_image: bool = True) -> torch.Tensor:
    return diffusion_loss(model, b["target"], b["dry"], b["clip"], b["clip_lengths"],
                          b["image"] if model.config.image and with_image else None, generator=generator)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rooms", required=True, help="RoomSynth folder (manifest.jsonl + items/)")
    p.add_argument("--grid", required=True, help="GRID folder of one speaker (video + align files)")
    p.add_argument("--out", required=True, help="checkpoint path without suffix")
    p.add_argument("--cache", default="/tmp/soundstage_stylize_cache", help="where the GRID audio is cached")
    p.add_argument("--minutes", type=float, default=110.0)
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seconds", type=float, default=2.5, help="length of the clip to stylize")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--blocks", type=int, default=8)
    p.add_argument("--no-image", action="store_true", help="condition on the scene's sound only")
    p.add_argument("--val-every", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rooms = Path(args.rooms)
    index = np.array(sorted(int(r["index"]) for r in read_manifest(rooms) if r.get("split") == "train"))
    if index.size < 2 * VAL_EVERY_NTH:
        raise SoundstageError(f"'{rooms}' has {index.size} train rooms; expected a RoomSynth folder with hundreds")
    audio = dry_cache(Path(args.grid), Path(args.cache))
    train = Pairs(rooms, index[index % VAL_EVERY_NTH != 0], [v for k, v in audio.items() if k.startswith("train/")],
                  args.seconds)
    val = Pairs(rooms, index[index % VAL_EVERY_NTH == 0], [v for k, v in audio.items() if k.startswith("val/")],
                args.seconds)
    rng = np.random.default_rng(args.seed)
    sample_feats = np.concatenate([train.example(rng)[0] for _ in range(64)])
    stats = {"mean": float(sample_feats.mean()), "std": float(sample_feats.std())}
    val_batches = [val.batch(np.random.default_rng(10_000 + k), 16, stats) for k in range(4)]
    model = Stylizer(StylizerConfig(dim=args.dim, blocks=args.blocks, image=not args.no_image))
    optim = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warm = max(1, min(200, args.steps // 20))
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps)))

    def batches():
        while True:
            loss = _loss(model, train.batch(rng, args.batch, stats), with_image=rng.random() >= NO_IMAGE)
            yield loss, {"train_loss": float(loss.detach())}

    @torch.no_grad()
    def validate() -> tuple[float, dict[str, float]]:
        model.eval()
        losses = [float(_loss(model, b, torch.Generator().manual_seed(k))) for k, b in enumerate(val_batches)]
        model.train()
        return float(np.mean(losses)), {"val_loss": round(float(np.mean(losses)), 4)}

    def on_best(step: int, minutes: float, history: list, score: float) -> None:
        record = {"rooms": str(rooms), "rooms_train": int(train.room_index.size), "grid": str(args.grid),
                  "utterances_train": len(train.audio), "seconds": args.seconds, "seed": args.seed, "steps": step,
                  "batch": args.batch, "lr": args.lr, "minutes": round(minutes, 1), "threads": args.threads,
                  "val_loss": round(score, 4), "history": history, "machine": platform.machine(),
                  "background": "synthetic stationary noise (tilt, hum); no recorded ambience",
                  "recipe": "recipes/stylize/train.py " + " ".join(sys.argv[1:] if argv is None else argv)}
        save_stylizer(model, args.out, stats, record)

    best = train_loop(model, optim, sched, batches(), steps=args.steps, minutes=args.minutes, val_every=args.val_every,
                      validate=validate, on_best=on_best, desc="train stylizer")
    print(json.dumps({"best_val_loss": best, "out": args.out}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
