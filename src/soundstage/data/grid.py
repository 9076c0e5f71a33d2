"""The GRID audio-visual corpus: clips, word alignments, character codes and a feature cache.

A GRID folder holds ``<id>.mkv`` talking-face clips (25 fps video, 16 kHz audio) and
``<id>.align`` word alignments with lines ``start end word`` in units of 1/25,000 s
(1000 per video frame); the words ``sil`` and ``sp`` mark silence. Transcripts are
spelled with the 28 characters of :data:`~soundstage.speech.characters.VOCAB`; CTC index 0 is the blank and
character ``c`` is ``1 + VOCAB.index(c)``.

:func:`build_feature_cache` stores, per clip, the log-mel features of its own audio
track (:func:`soundstage.speech.features.log_mel`) and the lip landmarks and motion
vectors of its frames (:func:`soundstage.vision.lips.lip_features`) in ``<id>.npz``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import zipfile
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from soundstage.dsp.resample import resample
from soundstage.errors import FileFormatError, SoundstageError
from soundstage.io import atomic_write, read_video, read_video_audio
from soundstage.io.atomic import PathLike
from soundstage.speech.features import SR, log_mel
from soundstage.vision.lips import FEATURE_VERSION, lip_features

#: Alignment time units per second.
ALIGN_RATE = 25_000
#: Alignment words that mark silence.
SILENCE = frozenset({"sil", "sp"})
#: File listing the clips the last :func:`build_feature_cache` run could not process.
FAILURES_FILE = "failures.json"


@dataclass(frozen=True)
class GridClip:
    """One GRID clip.

    Attributes
    ----------
    id
        Clip name, e.g. ``"bbaf2n"``.
    video, align
        Paths of the ``.mkv`` clip and its ``.align`` file.
    words
        ``(word, start_s, end_s)`` in time order, silences (``sil``, ``sp``) included.
    """

    id: str
    video: Path
    align: Path
    words: list[tuple[str, float, float]] = field(hash=False)


def read_align(path: PathLike) -> list[tuple[str, float, float]]:
    """Parse a GRID ``.align`` file into ``(word, start_s, end_s)`` tuples (seconds)."""
    source = Path(path)
    try:
        lines = source.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read alignment file '{source}': {exc}") from exc
    words = []
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            start, end, word = int(parts[0]), int(parts[1]), parts[2]
        except (ValueError, IndexError):
            start, end, word = -1, -1, ""
        if len(parts) != 3 or not 0 <= start <= end:
            raise FileFormatError(
                f"line {number} of '{source}' is {line!r}; expected 'start end word' with "
                "integer times 0 <= start <= end"
            )
        words.append((word, start / ALIGN_RATE, end / ALIGN_RATE))
    if not words:
        raise FileFormatError(f"alignment file '{source}' holds no words")
    return words


def load_grid(folder: PathLike) -> list[GridClip]:
    """All clips of a GRID folder (``<id>.mkv`` with ``<id>.align``), sorted by id.

    Raises
    ------
    FileFormatError
        When the folder is missing, holds no ``.mkv`` clips, a clip lacks its
        ``.align`` file, or an alignment cannot be parsed.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileFormatError(
            f"'{root}' is not a folder; expected a GRID folder of .mkv and .align files"
        )
    videos = sorted(root.glob("*.mkv"))
    if not videos:
        raise FileFormatError(
            f"'{root}' holds no .mkv clips; expected GRID <id>.mkv and <id>.align files"
        )
    lacking = [v.name for v in videos if not v.with_suffix(".align").is_file()]
    if lacking:
        raise FileFormatError(
            f"{len(lacking)} clips in '{root}' have no .align file (first: {lacking[0]}); "
            "expected one <id>.align next to every <id>.mkv"
        )
    clips = []
    for video in videos:
        align = video.with_suffix(".align")
        clips.append(GridClip(id=video.stem, video=video, align=align, words=read_align(align)))
    return clips


def transcript(clip: GridClip) -> str:
    """The spoken words of ``clip`` (silences dropped) joined by single spaces."""
    return " ".join(word for word, _, _ in clip.words if word not in SILENCE)


def split_clips(
    clips: list[GridClip] | list[str], *, n_val: int = 50, n_test: int = 50, seed: int = 0
) -> dict[str, list[str]]:
    """Split clip ids into train, validation and test sets.

    The sorted ids are permuted with ``np.random.default_rng(seed)``; the first
    ``n_val`` go to ``"val"``, the next ``n_test`` to ``"test"`` and the rest to
    ``"train"``. Each list is returned sorted.

    Raises
    ------
    SoundstageError
        For duplicate ids, negative sizes, or no clip left for training.
    """
    ids = sorted(c if isinstance(c, str) else c.id for c in clips)
    if len(set(ids)) != len(ids):
        raise SoundstageError("clip ids must be unique; found duplicates")
    if min(n_val, n_test) < 0 or n_val + n_test >= len(ids):
        raise SoundstageError(
            f"cannot take {n_val} val + {n_test} test clips from {len(ids)}; expected "
            "non-negative sizes that leave at least one training clip"
        )
    order = np.random.default_rng(seed).permutation(len(ids))
    chosen = {
        "train": order[n_val + n_test :],
        "val": order[:n_val],
        "test": order[n_val : n_val + n_test],
    }
    return {name: sorted(ids[i] for i in index) for name, index in chosen.items()}


@dataclass
class CacheReport:
    """Outcome of :func:`build_feature_cache`.

    Attributes
    ----------
    written
        Ids whose ``.npz`` was computed in this run.
    reused
        Ids whose valid ``.npz`` was already there.
    failed
        Id -> error message for clips that could not be processed (no file written).
    missing
        Id -> number of interpolated video frames, for every cached clip.
    """

    written: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)

    @property
    def total_missing(self) -> int:
        """Interpolated video frames over all cached clips."""
        return int(sum(self.missing.values()))


def _cached_missing(path: Path) -> int | None:
    """The ``missing`` count of a complete cache file of this feature version, else None."""
    try:
        with np.load(path, allow_pickle=False) as data:
            complete = {"logmel", "motion", "points", "text"} <= set(data.files)
            if not complete or int(data["version"]) != FEATURE_VERSION:
                return None
            return int(data["missing"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None


def clip_features(clip: GridClip) -> dict[str, np.ndarray]:
    """Features of one clip, as stored by :func:`build_feature_cache`.

    Returns
    -------
    dict
        ``logmel`` float32 ``(T_a, 80)`` of the clip's own audio track (mono, 16 kHz),
        ``motion`` float32 ``(T_v, 80)``, ``points`` float32 ``(T_v, 40, 2)``, ``text``
        (0-d str array, the transcript), ``missing`` and ``version`` (0-d int arrays).

    Raises
    ------
    FileFormatError
        When the clip cannot be read.
    NoFaceError
        When too few frames show a face.
    """
    video = read_video(clip.video, with_audio=False)
    lips = lip_features(video.frames, video.fps)
    audio, sr = read_video_audio(clip.video)
    mono = audio.mean(axis=0)
    if sr != SR:
        mono = resample(mono, sr_in=sr, sr_out=SR)
    return {
        "logmel": log_mel(mono, SR).astype(np.float32),
        "motion": lips.motion,
        "points": lips.points,
        "text": np.array(transcript(clip)),
        "missing": np.array(lips.missing),
        "version": np.array(FEATURE_VERSION),
    }


def _cache_one(clip: GridClip, cache_dir: Path) -> tuple[str, int | None, str | None]:
    """Compute and store one clip: ``(id, missing, None)`` or ``(id, None, error)``."""
    try:
        entry = clip_features(clip)
    except SoundstageError as exc:
        return clip.id, None, f"{type(exc).__name__}: {exc}"

    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **entry)

    atomic_write(cache_dir / f"{clip.id}.npz", _write, inputs=[clip.video])
    return clip.id, int(entry["missing"]), None


def build_feature_cache(
    clips: list[GridClip], cache_dir: PathLike, *, workers: int = 1, progress: bool = True
) -> CacheReport:
    """Store the audio and lip features of every clip as ``<cache_dir>/<id>.npz``.

    Resumable: clips whose file is already complete (same feature version) are
    reused; each file is written atomically, so an interrupted run leaves no partial
    file. A clip that fails with a :class:`SoundstageError` (unreadable video, no
    face) is skipped and reported; the failures of the run are also written to
    ``<cache_dir>/failures.json`` (an empty object when none failed).

    Parameters
    ----------
    clips
        Clips from :func:`load_grid`.
    cache_dir
        Output folder (created when missing).
    workers
        Processes computing features; 1 computes in this process.
    progress
        Show a tqdm progress bar.

    Returns
    -------
    CacheReport
        Written, reused and failed ids and the interpolated-frame counts.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SoundstageError(f"workers must be a positive int, found {workers!r}")
    root = Path(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    report = CacheReport()
    todo = []
    for clip in clips:
        known = _cached_missing(root / f"{clip.id}.npz")
        if known is None:
            todo.append(clip)
        else:
            report.reused.append(clip.id)
            report.missing[clip.id] = known
    bar = tqdm(total=len(todo), desc="feature cache", unit="clip", disable=not progress)
    if workers == 1:
        results = (_cache_one(clip, root) for clip in todo)
        _collect(results, report, bar)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [pool.submit(_cache_one, clip, root) for clip in todo]
            _collect((f.result() for f in as_completed(futures)), report, bar)
    bar.close()
    report.written.sort()
    failures = dict(sorted(report.failed.items()))
    text = json.dumps(failures, indent=1) + os.linesep
    atomic_write(root / FAILURES_FILE, lambda tmp: tmp.write_text(text))
    return report


def _collect(
    results: Iterable[tuple[str, int | None, str | None]], report: CacheReport, bar: tqdm
) -> None:
    """Add ``(id, missing, error)`` results to ``report``, advancing ``bar``."""
    for clip_id, missing, error in results:
        if error is None:
            report.written.append(clip_id)
            report.missing[clip_id] = missing
        else:
            report.failed[clip_id] = error
        bar.update(1)
