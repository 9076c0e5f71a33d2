"""The ``inpaint`` job: restore missing stretches of speech from the damaged audio and the talker's lips.

:func:`restore` runs any in-painter on a damaged 16 kHz signal: log-mel features of
the damaged audio, the model's log-mel inside the gaps, magnitudes from it, phase by
Griffin-Lim started from the surrounding (context) phase with every frame outside the
gaps held fixed, and a splice that leaves every sample outside the gaps untouched.
Frames whose analysis window reaches into a gap are re-estimated too (the gaps are
widened by half a window for the model and for Griffin-Lim), because the zeros of the
gap leak into them.

:func:`inpaint` is the command-line job; :func:`evaluate` scores every model on GRID
clips with seeded gaps of 300 to 1500 ms.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from tqdm.auto import tqdm

from soundstage.errors import DependencyError, InvalidAudioError, InvalidImageError, NoFaceError
from soundstage.io.audio import read_audio, write_audio
from soundstage.io.video import read_video_audio
from soundstage.metrics.speech import inpainting_scores
from soundstage.models.inpainting import ClassicalInpainter, load_inpainter
from soundstage.speech.features import HOP, N_FFT, SR, griffin_lim, log_mel, mel_to_magnitude
from soundstage.speech.gaps import Gap, check_gaps, detect_dropouts, frame_mask, mask_waveform, splice
from soundstage.dsp.resample import resample
from soundstage.dsp.spectral import stft
from soundstage.vision.lips import video_lip_features

log = logging.getLogger(__name__)

#: In-painters by name: the paper's model, without its lip-reading head, audio only, and interpolation.
MODELS: tuple[str, ...] = ("av-mtl", "av", "audio", "classical")
#: Folder of the shipped checkpoints.
WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "weights"
#: Video frame rate the models were trained at.
FPS = 25.0
#: Slowest video whose lip motion the models take (resampled to :data:`FPS`): a syllable lasts ~4 frames at 20 fps.
MIN_FPS = 20.0
#: Unmasked frames on each side of the gaps whose phase anchors Griffin-Lim (80 ms, two windows).
CONTEXT_FRAMES = 8
#: Name of :func:`evaluate`'s control: the gap filled with the same talker saying other words.
CONTROL = "other words"
#: Gap lengths scored by :func:`evaluate`, milliseconds.
GAP_BINS_MS: tuple[int, ...] = (300, 600, 900, 1200, 1500)


def load_model(name: str):
    """The in-painter called ``name`` (see :data:`MODELS`), with its shipped weights."""
    if name not in MODELS:
        raise InvalidAudioError(f"unknown in-painting model {name!r}; expected one of {', '.join(MODELS)}")
    if name == "classical":
        return ClassicalInpainter()
    path = WEIGHTS / f"inpaint_{name}"
    if not path.with_suffix(".safetensors").exists():
        raise DependencyError(f"no shipped weights for model {name!r} at {path}.safetensors; train them with recipes/inpaint")
    return load_inpainter(path)


def motion_at_model_rate(points: np.ndarray, fps: float, n_frames: int) -> np.ndarray:
    """Lip motion vectors ``(n_frames, 80)`` at 25 fps from normalised lip points ``(T, 40, 2)`` at ``fps``.

    Points are linearly interpolated onto the 25 fps timeline (held at the ends) and
    differenced frame to frame, the first frame zero.
    """
    t_in = np.arange(points.shape[0]) / fps
    t_out = np.arange(n_frames) / FPS
    flat = points.reshape(points.shape[0], -1)
    resampled = np.stack([np.interp(t_out, t_in, flat[:, k]) for k in range(flat.shape[1])], axis=1)
    motion = np.zeros_like(resampled)
    motion[1:] = np.diff(resampled, axis=0)
    return motion.astype(np.float32)


def _widened(gaps: Sequence[Gap], duration: float) -> list[Gap]:
    half = N_FFT / 2 / SR
    return [Gap(max(0.0, g.start - half), min(duration, g.end + half)) for g in gaps]


def restore(damaged: np.ndarray, gaps: Sequence[Gap], inpainter, motion: np.ndarray | None = None) -> np.ndarray:
    """Restore ``damaged`` (16 kHz mono, zeros or garbage inside ``gaps``) with ``inpainter``.

    ``motion`` is ``(T_video, 80)`` lip motion at 25 fps for audio-visual models.
    Returns float32 of the same length; samples outside the gaps equal ``damaged``.
    The model sees the whole clip; phase is re-estimated only on a stretch from
    :data:`CONTEXT_FRAMES` frames before the first gap to as many after the last one.
    """
    x = mask_waveform(np.asarray(damaged, dtype=np.float32), gaps, SR)
    logmel = log_mel(x, SR)
    n = logmel.shape[0]
    mask = frame_mask(_widened(gaps, x.size / SR), n, hop=HOP, sr=SR)
    predicted = inpainter.predict(logmel, mask, motion)
    masked = np.flatnonzero(mask)
    lo, hi = max(0, masked[0] - CONTEXT_FRAMES), min(n, masked[-1] + CONTEXT_FRAMES + 1)
    start, stop = lo * HOP, (x.size if hi == n else (hi - 1) * HOP)
    spectrum = stft(x[start:stop].astype(np.float64), n_fft=N_FFT, hop=HOP).T  # (hi - lo, F)
    gap = mask[lo:hi]
    magnitude = np.abs(spectrum)
    magnitude[gap] = mel_to_magnitude(predicted[lo:hi][gap])
    synthesized = x.copy()
    synthesized[start:stop] = griffin_lim(magnitude, init_phase=np.angle(spectrum), fixed=~gap, length=stop - start)
    return splice(x, synthesized, gaps, SR).astype(np.float32)


@dataclass
class InpaintResult:
    """What :func:`inpaint` wrote."""

    path: Path
    model: str
    gaps: list[Gap]
    duration: float
    missing_frames: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "model": self.model, "duration_s": round(self.duration, 3),
                "gaps": [[round(g.start, 3), round(g.end, 3)] for g in self.gaps],
                "missing_face_frames": self.missing_frames, "notes": self.notes}


def parse_gaps(text: str) -> list[Gap]:
    """``"1.20-2.00,2.4-2.7"`` -> gaps in seconds."""
    gaps = []
    for item in text.split(","):
        start, sep, end = item.strip().partition("-")
        try:
            gaps.append(Gap(float(start), float(end)))
        except ValueError:
            raise InvalidAudioError(f"gap {item!r} must look like START-END in seconds, e.g. 1.20-2.00") from None
        if not sep:
            raise InvalidAudioError(f"gap {item!r} must look like START-END in seconds, e.g. 1.20-2.00")
    return gaps


def inpaint(
    video: str | Path,
    output: str | Path,
    *,
    audio: str | Path | None = None,
    gaps: Sequence[Gap] | None = None,
    model: str = "av-mtl",
    allow_audio_only: bool = False,
    cache_dir: str | Path | None = None,
) -> InpaintResult:
    """Restore the speech of ``audio`` (default: the video's own track) inside ``gaps`` and write ``output``.

    Without ``gaps``, dropouts (digital silence or near-zero energy for 100 ms or more)
    are found and filled. Audio at any rate is resampled to 16 kHz and the result written
    at 16 kHz.
    """
    inputs = [p for p in (video, audio) if p is not None]
    if audio is None:
        signal, sr = read_video_audio(video)
        signal = signal.mean(axis=0) if signal.ndim == 2 else signal
    else:
        signal, sr = read_audio(audio, mono=True)
    if sr < SR:
        raise InvalidAudioError(f"audio at {sr} Hz has no content above {sr / 2:g} Hz; the models restore 0-8 kHz "
                                f"speech and need at least {SR} Hz audio")
    signal = resample(np.asarray(signal, np.float32), sr_in=sr, sr_out=SR) if sr != SR else np.asarray(signal, np.float32)
    duration = signal.size / SR
    gaps = list(gaps) if gaps is not None else detect_dropouts(signal, SR)
    if not gaps:
        raise InvalidAudioError("no gap found (no dropout of 100 ms or more); give the gaps to fill, e.g. --gaps 1.2-2.0")
    check_gaps(gaps, duration)
    load_model(model)  # fail on missing weights before the slow face tracking
    notes, missing = [], 0
    motion = None
    if model in ("av-mtl", "av"):
        try:
            lips = video_lip_features(video, cache_dir=cache_dir)
        except NoFaceError as err:
            if not allow_audio_only:
                raise NoFaceError(f"{err}; pass --allow-audio-only to restore from the audio alone") from err
            log.warning("%s: falling back to the audio-only model", err)
            notes.append(f"audio only: {err}")
            model = "audio"
        else:
            if lips.fps < MIN_FPS:
                raise InvalidImageError(f"video at {lips.fps:g} fps is too slow for lip motion; the models were trained "
                                        f"at {FPS:g} fps and need at least {MIN_FPS:g} fps")
            video_duration = lips.points.shape[0] / lips.fps
            if video_duration + 1.0 / lips.fps < duration:
                raise InvalidAudioError(
                    f"video ({video_duration:.2f} s) is shorter than the audio ({duration:.2f} s); expected the whole talk on video"
                )
            n_video = int(np.ceil((1 + signal.size // HOP) / 4))
            motion = motion_at_model_rate(lips.points, lips.fps, n_video)
            missing = lips.missing
    restored = restore(signal, gaps, load_model(model), motion)
    path = write_audio(output, restored, SR, inputs=inputs)
    return InpaintResult(Path(path), model, list(gaps), duration, missing, notes)


def _clip_audio(clip) -> np.ndarray:
    """A GRID clip's sound track, mono at 16 kHz."""
    clean, sr = read_video_audio(clip.video)
    clean = clean.mean(axis=0) if clean.ndim == 2 else clean
    return resample(clean, sr_in=sr, sr_out=SR) if sr != SR else clean


def _gap_for(clip, length_s: float, duration: float, rng: np.random.Generator) -> Gap:
    """A gap of ``length_s`` inside the clip's speech (between its first and last word) where it fits."""
    spoken = [(s, e) for w, s, e in clip.words if w not in ("sil", "sp")]
    lo, hi = (spoken[0][0], spoken[-1][1]) if spoken else (0.1, duration - 0.1)
    if hi - lo < length_s:
        lo, hi = 0.05, duration - 0.05
    start = rng.uniform(lo, max(lo, hi - length_s))
    return Gap(start, start + length_s)


def evaluate(
    data_dir: str | Path,
    *,
    models: Sequence[str] = MODELS,
    bins_ms: Sequence[int] = GAP_BINS_MS,
    split: str = "test",
    seed: int = 0,
    limit: int | None = None,
    cache_dir: str | Path | None = None,
    control: bool = True,
) -> dict[str, dict[str, dict[str, float]]]:
    """Mean PESQ, STOI, LSD and log-mel L1 per model and gap length on GRID-layout clips.

    ``split`` is ``test``/``val``/``train`` (the fixed split of :func:`~soundstage.data.grid.split_clips`)
    or ``all``. Each clip gets one seeded gap per length bin inside its speech; every model
    and the zero-filled input (``unprocessed``) are scored on the same gaps. With
    ``control``, :data:`CONTROL` is scored too: the gap filled (with the same crossfades)
    by the real recording of the next clip in the list, the same talker at the same level
    saying other words: what any in-painter that cannot tell the lost words could at best
    produce, and a check of how a metric treats plausible speech that is wrong.
    """
    from soundstage.data.grid import load_grid, split_clips

    clips = load_grid(data_dir)
    if split != "all":
        parts = split_clips(clips)
        if split not in parts:
            raise InvalidAudioError(f"unknown split {split!r}; expected test, val, train or all")
        chosen = set(parts[split])
        clips = [c for c in clips if c.id in chosen]
    clips = clips[:limit] if limit else clips
    inpainters = {name: load_model(name) for name in models}
    sums: dict[str, dict[str, dict[str, float]]] = {}
    for k, clip in enumerate(tqdm(clips, desc="clips")):
        clean = _clip_audio(clip)
        motion = None
        if any(m in ("av-mtl", "av") for m in models):
            lips = video_lip_features(clip.video, cache_dir=cache_dir)
            motion = motion_at_model_rate(lips.points, lips.fps, int(np.ceil((1 + clean.size // HOP) / 4)))
        rng = np.random.default_rng([seed, int.from_bytes(clip.id.encode(), "little") % (2**32)])
        for bin_ms in bins_ms:
            gap = [_gap_for(clip, bin_ms / 1000, clean.size / SR, rng)]
            damaged = mask_waveform(clean, gap, SR)
            outputs = {"unprocessed": damaged}
            for name, model in inpainters.items():
                outputs[name] = restore(damaged, gap, model, motion if name in ("av-mtl", "av") else None)
            if control and len(clips) > 1:
                other = _clip_audio(clips[(k + 1) % len(clips)])[: clean.size]
                other = np.pad(other, (0, clean.size - other.size))
                outputs[CONTROL] = splice(damaged, other.astype(np.float32), gap, SR)
            for name, restored in outputs.items():
                scores = inpainting_scores(clean, restored, gap, SR)
                cell = sums.setdefault(name, {}).setdefault(str(bin_ms), {"n": 0.0})
                cell["n"] += 1
                for key, value in scores.items():
                    cell[key] = cell.get(key, 0.0) + value
    return {
        name: {b: {k: v / cell["n"] for k, v in cell.items() if k != "n"} | {"clips": int(cell["n"])} for b, cell in bins.items()}
        for name, bins in sums.items()
    }
