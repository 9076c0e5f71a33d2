"""RoomSynth on disk: one ``.npz`` per item, a JSONL manifest, resumable generation.

Layout of a dataset folder::

    dataset.json              generation settings (image size, sample rate, ...); checked on resume
    items/<split>-<i:06d>.npz rgb uint8 (H, W, 3), depth float16 (H, W) m, labels uint8 (H, W),
                              rir float32 (samples,), meta (the item's JSON as a 0-d string array)
    manifest.jsonl            one JSON line per item (the ``meta`` of :func:`make_item`), sorted
                              by split then index

Each item file is written atomically (:func:`soundstage.io.atomic.atomic_write`) with fixed
zip timestamps, so a file is either complete or absent, and regenerating an item gives the
same bytes. The manifest is rebuilt from the item files after each run (lines of an
existing manifest are reused when their item file is there), also atomically. Temporary
files left by a crash (``items/.<name>.<hex>.tmp.npz``) are removed.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from soundstage.data.distributed import BACKENDS, run_items
from soundstage.errors import FileFormatError, SoundstageError
from soundstage.io.atomic import atomic_write
from soundstage.data.roomsynth.generator import SPLITS, RoomSynthItem, make_item

__all__ = ["generate", "generate_one", "item_path", "load_item", "read_manifest", "save_item"]

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def item_path(out_dir: str | Path, split: str, i: int) -> Path:
    """``out_dir/items/<split>-<i:06d>.npz``."""
    return Path(out_dir) / "items" / f"{split}-{int(i):06d}.npz"


def save_item(path: str | Path, item: RoomSynthItem) -> Path:
    """Write ``item`` atomically as a deterministic ``.npz`` (depth stored as float16)."""
    arrays = {"rgb": item.rgb, "depth": item.depth.astype(np.float16), "labels": item.labels,
              "rir": item.rir.astype(np.float32), "meta": np.array(json.dumps(item.meta, sort_keys=True))}

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for name, arr in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, buf.getvalue())

    return atomic_write(Path(path), write)


def load_item(path: str | Path) -> dict[str, Any]:
    """Arrays of an item file plus ``meta`` (a dict)."""
    try:
        with np.load(Path(path), allow_pickle=False) as z:
            out = {k: z[k] for k in ("rgb", "depth", "labels", "rir")}
            out["meta"] = json.loads(z["meta"].item())
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise FileFormatError(f"cannot read RoomSynth item '{path}': {exc}; expected a file written by save_item") from exc
    return out


def _item_meta(path: Path) -> dict[str, Any]:
    with np.load(path, allow_pickle=False) as z:
        return json.loads(z["meta"].item())


def read_manifest(out_dir: str | Path) -> list[dict[str, Any]]:
    """The manifest's lines as dicts (a malformed trailing line is ignored)."""
    path = Path(out_dir) / "manifest.jsonl"
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def generate_one(out_dir: str, seed: int, split: str, i: int, options: dict[str, Any]) -> str:
    """Make item ``i`` and write it (skipped if its file exists); top-level, so pools can run it.

    The item is made with BLAS on one thread: multi-threaded sums round differently, and
    the bytes must not depend on the core count or the back-end (Ray workers run with
    ``OMP_NUM_THREADS=1``).
    """
    path = item_path(out_dir, split, i)
    if not path.is_file():
        with threadpool_limits(limits=1):
            item = make_item(seed, split, i, **options)
        save_item(path, item)
    return str(path)


def _check_settings(out_dir: Path, settings: dict[str, Any]) -> None:
    path = out_dir / "dataset.json"
    if path.is_file():
        old = json.loads(path.read_text())
        if old != settings:
            raise SoundstageError(f"'{out_dir}' holds a RoomSynth dataset made with {old}; asked for {settings}. "
                                  "Use another folder or the same settings")
    else:
        text = json.dumps(settings, indent=1, sort_keys=True)
        atomic_write(path, lambda tmp: tmp.write_text(text))


def _rebuild_manifest(out_dir: Path) -> list[dict[str, Any]]:
    known = {(r.get("split"), r.get("index")): r for r in read_manifest(out_dir)}
    rows = []
    for split in SPLITS:
        for path in sorted((out_dir / "items").glob(f"{split}-*.npz")):
            index = int(path.stem.rsplit("-", 1)[1])
            row = known.get((split, index))
            rows.append(row if row is not None else _item_meta(path))
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    atomic_write(out_dir / "manifest.jsonl", lambda tmp: tmp.write_text(text))
    return rows


def generate(out_dir: str | Path, n: int, split: str, seed: int, workers: int = 1, *, width: int = 224,
             height: int = 224, sr: int = 16000, max_rir_s: float = 4.0, progress: bool = True,
             backend: str = "local", ray_address: str | None = None) -> list[dict[str, Any]]:
    """Make items ``0 .. n-1`` of ``split`` in ``out_dir``, resuming where a run stopped.

    Items whose file exists are skipped; the others are made by :func:`generate_one`
    through :func:`soundstage.data.distributed.run_items`: a spawn-context process pool
    (``backend="local"``, in this process when ``workers == 1``) or Ray tasks
    (``backend="ray"``; a local Ray with ``workers`` CPUs, or the cluster at
    ``ray_address``, which must see ``out_dir``). Both give the same bytes. A folder holds
    one seed and one set of settings (``dataset.json``); other values are refused.

    Returns
    -------
    list of dict
        The manifest rows of the whole folder (every split), as written to ``manifest.jsonl``.
    """
    if split not in SPLITS:
        raise SoundstageError(f"unknown split {split!r}; expected one of {SPLITS}")
    if backend not in BACKENDS:
        raise SoundstageError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    if ray_address and backend != "ray":
        raise SoundstageError(f"ray_address={ray_address!r} needs backend='ray', got backend={backend!r}")
    if int(n) < 0 or int(workers) < 1:
        raise SoundstageError(f"need n >= 0 and workers >= 1, got n={n!r}, workers={workers!r}")
    out = Path(out_dir).resolve()  # absolute: Ray workers may run in another folder
    (out / "items").mkdir(parents=True, exist_ok=True)
    options = {"width": int(width), "height": int(height), "sr": int(sr), "max_rir_s": float(max_rir_s)}
    _check_settings(out, {"seed": int(seed), **options})
    for tmp in (out / "items").glob(".*.tmp.npz"):
        tmp.unlink(missing_ok=True)
    todo = [i for i in range(int(n)) if not item_path(out, split, i).is_file()]
    if todo:
        run_items(generate_one, [(str(out), int(seed), split, i, options) for i in todo], backend=backend,
                  workers=int(workers), ray_address=ray_address, progress=progress, desc=f"roomsynth {split}")
    return _rebuild_manifest(out)
