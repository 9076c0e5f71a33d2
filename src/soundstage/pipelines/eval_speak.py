"""``soundstage eval speak``: how close predicted room responses come to the true ones.

On a RoomSynth folder (:mod:`soundstage.data.roomsynth.manifest`) every item of a split
has a true impulse response (``rir``) and so a true reverberant voice, the dry speech
convolved with it. Each system predicts a response from the item's picture:

* ``mean``: the mean spec (:func:`~soundstage.acoustics.from_profile.spec_to_vector`
  averaged over the ``train`` items' measured profiles), the same for every item;
* ``physics``: the zero-shot path of ``soundstage speak``: scene analysis of the RGB-D
  picture with the item's camera and the talker at the item's true pixel, then the
  shoebox response (:func:`soundstage.pipelines.speak.render_speech`);
* any predictor (``predict(rgb (N,H,W,3) uint8, depth (N,H,W) float32, captions) ->
  [spec, ...]``, e.g. :func:`soundstage.models.visual_acoustics.load_predictor`); one
  whose ``uses_geometry`` is true also gets ``ratios=``, the ``V/S`` of the room fitted
  to each item's depth with the item's camera.

Spec systems render :func:`~soundstage.acoustics.from_profile.synthesize_from_spec`
with ``seed`` = item index. Scores per system: RTE (absolute broadband T30 difference,
seconds; :mod:`soundstage.metrics.room`) between the predicted and the true response, and
MCD (dB) between the predicted and the true reverberant voice.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
from scipy.signal import fftconvolve
from tqdm import tqdm

from soundstage.acoustics.from_profile import spec_from_profile, spec_to_vector, synthesize_from_spec, vector_to_spec
from soundstage.data.roomsynth.generator import SPLITS
from soundstage.data.roomsynth.manifest import item_path, load_item, read_manifest
from soundstage.errors import FileFormatError, SoundstageError
from soundstage.metrics.room import broadband_t30, mel_cepstral_distortion, rte

#: Systems that need no checkpoint.
BUILTIN_SYSTEMS: tuple[str, ...] = ("mean", "physics")
#: The default dry voice: one espeak-ng sentence (about 2.6 s at 16 kHz).
DEFAULT_SENTENCE = "Could you open the window in the other room?"
#: Items per predictor call.
BATCH_SIZE = 64


@lru_cache(maxsize=4)
def _tts_speech(sr: int) -> np.ndarray:
    from soundstage.speech.tts import synthesize_speech

    dry, _ = synthesize_speech(DEFAULT_SENTENCE, sr=sr)
    dry.flags.writeable = False
    return dry


def dry_speech(speech: str | Path | None, sr: int) -> np.ndarray:
    """The dry voice: ``speech`` (a recording, resampled to ``sr``) or :data:`DEFAULT_SENTENCE` by espeak-ng.

    The spoken sentence is made once per rate and cached (read-only array).
    """
    if speech is None:
        return _tts_speech(int(sr))
    from soundstage.speech.tts import load_dry_speech

    return load_dry_speech(speech, sr=int(sr))


def split_rows(data: str | Path, split: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Manifest rows of ``split`` in ``data`` by item index (the first ``limit``).

    Raises
    ------
    FileFormatError
        ``data`` is not a RoomSynth folder (no ``manifest.jsonl``) or holds no item of ``split``.
    SoundstageError
        An unknown split or a ``limit`` below 1.
    """
    if split not in SPLITS:
        raise SoundstageError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    if limit is not None and int(limit) < 1:
        raise SoundstageError(f"--limit must be >= 1, got {limit!r}")
    folder = Path(data)
    if not (folder / "manifest.jsonl").is_file():
        raise FileFormatError(f"'{folder}' is not a RoomSynth folder: no manifest.jsonl "
                              "(make one with 'soundstage data roomsynth')")
    rows = sorted((r for r in read_manifest(folder) if r.get("split") == split), key=lambda r: int(r["index"]))
    if not rows:
        raise FileFormatError(f"'{folder}' holds no {split} items; expected at least one in manifest.jsonl")
    return rows[: int(limit)] if limit is not None else rows


def mean_spec(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The spec of the mean :func:`spec_to_vector` of the rows' measured profiles (``row["profile"]``)."""
    vectors = [spec_to_vector(spec_from_profile(r["profile"])) for r in rows]
    if not vectors:
        raise SoundstageError("the mean system needs train items; the folder has none")
    return vector_to_spec(np.mean(vectors, axis=0))


def _train_rows(data: Path, mean_from: str | Path | None) -> list[dict[str, Any]]:
    source = Path(mean_from) if mean_from is not None else data
    if mean_from is not None and not (source / "manifest.jsonl").is_file():
        raise FileFormatError(f"--mean-from '{source}' is not a RoomSynth folder: no manifest.jsonl")
    rows = [r for r in read_manifest(source) if r.get("split") == "train"]
    if not rows:
        hint = "" if mean_from is not None else "; give a training folder with --mean-from DIR"
        raise FileFormatError(f"'{source}' has no train items for the mean system{hint}")
    return rows


def _physics(item: dict[str, Any], dry: np.ndarray, sr: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from soundstage.pipelines.speak import render_speech
    from soundstage.scene.camera import Intrinsics
    from soundstage.scene.scene import analyze_scene

    meta = item["meta"]
    intrinsics = Intrinsics.from_dict(meta["camera"]["intrinsics"])
    pixel = tuple(float(v) for v in meta["speaker"]["pixel"])
    scene = analyze_scene(item["rgb"], item["depth"].astype(np.float32), intrinsics, speaker_pixel=pixel, seed=seed)
    wet, response = render_speech(dry, scene, sr, seed=seed)
    return response.data[0], wet[0]


def _predict(predictor: Any, name: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rgb = np.stack([it["rgb"] for it in items]).astype(np.uint8)
    depth = np.stack([it["depth"] for it in items]).astype(np.float32)
    captions = [str(it["meta"]["caption"]) for it in items]
    if getattr(predictor, "uses_geometry", False):  # the room fitted with each item's own camera
        from soundstage.models.visual_acoustics import room_ratio
        from soundstage.scene.camera import Intrinsics

        ratios = [room_ratio(it["depth"], Intrinsics.from_dict(it["meta"]["camera"]["intrinsics"]))[0] for it in items]
        specs = list(predictor.predict(rgb, depth, captions, ratios=ratios))
    else:
        specs = list(predictor.predict(rgb, depth, captions))
    if len(specs) != len(items):
        raise SoundstageError(f"model {name!r} returned {len(specs)} specs for {len(items)} items; expected one each")
    return specs


def _summary(rows: list[tuple[float, float, float]]) -> dict[str, Any]:
    """Scores from per-item (generated T30, true T30, MCD); items without a measurable T30 leave RTE out."""
    gen, true, mcd = (np.array(c, dtype=float) for c in zip(*rows))
    ok = np.isfinite(gen) & np.isfinite(true)
    errors = np.array([rte(g, t) for g, t in zip(gen[ok], true[ok])])
    nan = math.nan
    return {
        "rte_s": float(errors.mean()) if ok.any() else nan,
        "mcd_db": float(mcd.mean()),
        "n": int(len(rows)),
        "n_rte": int(ok.sum()),
        "rte_median_s": float(np.median(errors)) if ok.any() else nan,
        "t30_bias_s": float(np.mean(gen[ok] - true[ok])) if ok.any() else nan,
        "mcd_median_db": float(np.median(mcd)),
    }


def evaluate(
    data: str | Path,
    *,
    split: str = "test-unseen",
    limit: int | None = None,
    systems: Iterable[str] = BUILTIN_SYSTEMS,
    predictors: Mapping[str, Any] | None = None,
    speech: str | Path | None = None,
    mean_from: str | Path | None = None,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """RTE and MCD of each system on the items of one split of a RoomSynth folder.

    Parameters
    ----------
    data : RoomSynth folder (``manifest.jsonl`` + ``items/``).
    split : one of ``train``, ``test-seen``, ``test-unseen``.
    limit : score only the first ``limit`` items (by index).
    systems : built-in systems to run, a subset of :data:`BUILTIN_SYSTEMS`.
    predictors : name -> object with ``predict(rgb, depth, captions) -> list of specs``.
    speech : a dry voice recording; default :data:`DEFAULT_SENTENCE` by espeak-ng.
    mean_from : RoomSynth folder whose ``train`` items give the mean spec (default ``data``).
    batch_size : items per predictor call.
    progress : show a tqdm bar over the items.

    Returns
    -------
    dict
        ``{system: {"rte_s", "mcd_db", "n", "n_rte", "rte_median_s", "t30_bias_s",
        "mcd_median_db"}}``: means over the items (RTE over the ``n_rte`` items whose
        T30 or T20 both responses let measure), ``t30_bias_s`` the mean signed T30 error;
        ``by_shape`` (when the items come from several shape families): ``rte_s``, ``mcd_db``
        and ``n`` per family.
    """
    systems = list(systems)
    predictors = dict(predictors or {})
    unknown = [s for s in systems if s not in BUILTIN_SYSTEMS]
    if unknown:
        raise SoundstageError(f"unknown systems {unknown}; expected some of {', '.join(BUILTIN_SYSTEMS)}")
    clash = [n for n in predictors if n in BUILTIN_SYSTEMS or not n]
    if clash:
        raise SoundstageError(f"model names {clash} are empty or taken by built-in systems {BUILTIN_SYSTEMS}")
    if not systems and not predictors:
        raise SoundstageError("nothing to evaluate: give at least one system or model")
    if int(batch_size) < 1:
        raise SoundstageError(f"batch_size must be >= 1, got {batch_size!r}")
    folder = Path(data)
    rows = split_rows(folder, split, limit)
    mean = mean_spec(_train_rows(folder, mean_from)) if "mean" in systems else None
    rates = {int(r["rir"]["sr"]) for r in rows}
    if len(rates) != 1:
        raise FileFormatError(f"items of '{folder}' {split} have responses at several rates {sorted(rates)}; "
                              "expected one")
    sr = rates.pop()
    dry = np.asarray(dry_speech(speech, sr), dtype=np.float64)
    names = systems + list(predictors)
    scores: dict[str, list[tuple[float, float, float]]] = {n: [] for n in names}
    shapes: list[str] = []
    bar = tqdm(total=len(rows), desc=f"eval speak {split}", disable=not progress)
    for start in range(0, len(rows), int(batch_size)):
        chunk = rows[start: start + int(batch_size)]
        items = [load_item(item_path(folder, split, int(r["index"]))) for r in chunk]
        specs = {n: _predict(p, n, items) for n, p in predictors.items()}
        for k, item in enumerate(items):
            index = int(item["meta"]["index"])
            true = item["rir"].astype(np.float64)
            true_t30 = broadband_t30(true, sr)
            true_wet = fftconvolve(dry, true)
            shapes.append(str(item["meta"].get("shape_family", "")))
            for name in names:
                if name == "physics":
                    h, wet = _physics(item, dry, sr, index)
                else:
                    spec = mean if name == "mean" else specs[name][k]
                    h = synthesize_from_spec(spec, sr=sr, seed=index).astype(np.float64)
                    wet = fftconvolve(dry, h)
                scores[name].append((broadband_t30(h, sr), true_t30, mel_cepstral_distortion(wet, true_wet, sr)))
            bar.update(1)
    bar.close()
    result = {}
    for name in names:
        result[name] = _summary(scores[name])
        families = sorted(set(shapes))
        if len(families) > 1:
            result[name]["by_shape"] = {f: {k: v for k, v in _summary([r for r, s in zip(scores[name], shapes) if s == f]).items()
                                            if k in ("rte_s", "mcd_db", "n")} for f in families}
    return result


def format_table(result: Mapping[str, Mapping[str, Any]]) -> str:
    """A text table of :func:`evaluate`'s result, one row per system."""
    head = f"{'system':>14}{'n':>6}{'RTE s':>9}{'RTE med':>9}{'T30 bias':>10}{'MCD dB':>9}{'MCD med':>9}"
    lines = [head, "-" * len(head)]
    for name, r in result.items():
        lines.append(f"{name:>14}{r['n']:>6}{r['rte_s']:>9.3f}{r['rte_median_s']:>9.3f}{r['t30_bias_s']:>+10.3f}"
                     f"{r['mcd_db']:>9.2f}{r['mcd_median_db']:>9.2f}")
    return "\n".join(lines)


def plot_scores(result: Mapping[str, Mapping[str, Any]], path: str | Path) -> Path:
    """Bar charts of mean RTE (s) and MCD (dB) per system, written atomically to ``path``."""
    from soundstage.pipelines.room import check_plot_path
    from soundstage.plots import _pyplot, _save

    check_plot_path(path)
    plt = _pyplot()
    names = list(result)
    fig, axes = plt.subplots(1, 2, figsize=(max(6.0, 1.6 * len(names) + 3.0), 3.4))
    for ax, (key, label) in zip(axes, (("rte_s", "RTE (s), lower is better"), ("mcd_db", "MCD (dB), lower is better"))):
        values = [result[n][key] for n in names]
        bars = ax.bar(names, values, color=plt.get_cmap("tab10")(np.arange(len(names)) % 10))
        ax.bar_label(bars, fmt="%.3f" if key == "rte_s" else "%.2f", fontsize=8)
        ax.set_title(label)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_xlabel(f"n = {result[names[0]]['n']} items" if names else "")
    return _save(fig, path, ())
