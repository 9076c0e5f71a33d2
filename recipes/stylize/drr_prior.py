"""Refit the DRR prior of blind analysis (``soundstage.acoustics.blind.DRR_PRIOR``).

Reads a RoomSynth folder's manifest (``soundstage data roomsynth --out DIR --n 20000``),
takes each train item's broadband DRR and the median T30 of its 500 Hz, 1 kHz and 2 kHz
bands (the bands blind analysis calls broadband), and fits ``DRR = a + b ln T30`` by least
squares. Prints the coefficients, the residual spread and the number of rooms as JSON.

    python recipes/stylize/drr_prior.py --data /path/to/roomsynth
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from soundstage.acoustics.blind import BROADBAND_BANDS


def fit_prior(t30: np.ndarray, drr_db: np.ndarray) -> tuple[float, float, float]:
    """Least-squares ``(a, b, residual standard deviation)`` of ``drr_db = a + b ln t30``."""
    t30, drr_db = np.asarray(t30, float), np.asarray(drr_db, float)
    design = np.column_stack([np.ones_like(t30), np.log(t30)])
    (a, b), *_ = np.linalg.lstsq(design, drr_db, rcond=None)
    return float(a), float(b), float(np.std(drr_db - design @ [a, b]))


def manifest_pairs(folder: Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Broadband T30 (median of the broadband bands) and DRR of every item of ``split`` that has both."""
    t30, drr = [], []
    with open(folder / "manifest.jsonl") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("split", "train") != split or "profile" not in row:
                continue
            bands = [row["profile"]["bands"][str(fc)]["t30"] for fc in BROADBAND_BANDS]
            d = row["profile"].get("broadband", {}).get("drr_db")
            if None in bands or d is None or not np.all(np.isfinite(bands)) or not np.isfinite(d):
                continue
            t30.append(float(np.median(bands)))
            drr.append(float(d))
    return np.array(t30), np.array(drr)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="RoomSynth folder (manifest.jsonl)")
    p.add_argument("--split", default="train")
    args = p.parse_args()
    t30, drr = manifest_pairs(Path(args.data), args.split)
    if t30.size < 10:
        raise SystemExit(f"{args.data}: only {t30.size} {args.split} items with T30 and DRR; expected a RoomSynth folder")
    a, b, spread = fit_prior(t30, drr)
    print(json.dumps({"a_db": round(a, 2), "b_db": round(b, 2), "residual_sd_db": round(spread, 2), "rooms": int(t30.size)}))


if __name__ == "__main__":
    main()
