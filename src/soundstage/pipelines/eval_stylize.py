"""``soundstage eval stylize``: stylization scored against true re-recordings, built from real recordings only.

The evaluation set comes from a data folder laid out like ``../shared/data``:

* ``speech/``: clean speech files, grouped into *talks*: runs of :data:`FILES_PER_TALK`
  consecutive files (peak-normalized, 0.3 s apart; 9 to 35 s each on the shared data).
* ``rirs/``: measured room responses (the files :func:`find_rirs` picks; first channel).
* ``ambient/``: background recordings of at least :data:`MIN_AMBIENCE_S`.

Item ``(room r, talk k)``: the **reference** is talk ``k`` convolved with response ``r``
plus the start of ambience recording ``(r + k) mod A``; the **input** is the next talk
(other words, mostly other talkers) with 0.5 s of silence before and 1 s after; the
**ground truth** is that input convolved with the same response (cut to the input's
length) plus the end of the same ambience recording (looped if too short), mixed at the
same speech-to-ambience ratio (:data:`LEVELS_DB`, cycled: the active-speech power over
20 ms frames within 30 dB of the loudest, against the ambience's mean power) and scaled
to the reference's integrated loudness, as the systems' outputs are. References peak at
:data:`REFERENCE_PEAK`.

Systems: ``none`` (the input, loudness-matched), ``generic-reverb`` (a fixed 0.5 s,
0 dB-DRR room, no ambience), ``dsp`` (:func:`soundstage.pipelines.stylize.stylize_signal`)
and ``true-room`` (the DSP path given the true response instead of the estimated one:
what perfect room estimation would reach); learned stylizers given as ``models``.

Metrics, per item, then summarized over items:

* ``rt60_rel_err``: |blind T60 of the output - true T30 of the response| / true T30
  (T30 as in ``benchmarks/blind.py``: median of the 500 Hz-2 kHz bands);
* ``drr_err_db``: |DRR of the system's effective response - true DRR|: the output
  deconvolved by the input (:func:`effective_response`, Wiener-regularized, as long as the
  true response), so that every system, learned ones and ``none`` included, is measured
  the same way from what it outputs (the ISO 3382 analysis of both responses);
* ``ambience_lsd_db``: log-spectral distance between the output's and the truth's mean
  power spectra over the truth's non-speech frames (its reverberant speech at least 10 dB
  below its ambience);
* ``logmel_l1``: mean absolute log-mel difference (the in-painting front-end) over the clip;
* ``stoi``: STOI of the output against the truth.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from soundstage.acoustics.analysis import analyze
from soundstage.acoustics.blind import BROADBAND_BANDS, blind_t60
from soundstage.acoustics.from_profile import PROFILE_BANDS, synthesize_from_spec
from soundstage.dsp.convolve import fft_convolve
from soundstage.dsp.loudness import active_power, integrated_loudness
from soundstage.dsp.spectral import stft
from soundstage.errors import FileFormatError, InvalidAudioError
from soundstage.io.audio import as_2d, read_audio
from soundstage.metrics.speech import logmel_l1, stoi
from soundstage.pipelines.stylize import learned_stylize, reference_profile, stylize_signal
from soundstage.speech.features import HOP, N_FFT, log_mel

SR = 16000
SYSTEMS = ("none", "generic-reverb", "dsp", "true-room")
FILES_PER_TALK = 3
#: Response file names that count as measured responses.
RIR_PREFIXES = ("ir_", "h0", "h2", "pymixconsole_", "seminar_room_clap")
MIN_AMBIENCE_S = 5.0
LEVELS_DB = (10.0, 20.0, 30.0)
#: Peak of every reference (a recording with headroom; the responses' own gains vary by 40 dB).
REFERENCE_PEAK = 0.5
PAD_S = (0.5, 1.0)
#: The generic reverb: the same room for every reference.
GENERIC_SPEC = {"t30": {str(fc): 0.5 for fc in PROFILE_BANDS}, "drr_db": 0.0, "direct_delay_s": 0.0}
#: Regularization of the deconvolution that recovers a system's effective response (re the median input power).
DECONV_REG: float = 1e-2
#: Non-speech frames: the truth's reverberant speech this far (dB) below its ambience.
QUIET_DB = 10.0
METRICS = ("rt60_rel_err", "drr_err_db", "ambience_lsd_db", "logmel_l1", "stoi")


def _mono16k(path: Path) -> np.ndarray:
    signal, _ = read_audio(path, sr=SR)
    return as_2d(signal)[0].astype(np.float64)


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".wav", ".flac", ".ogg"))


def find_rirs(folder: Path) -> list[Path]:
    """Measured responses in ``folder``: WAV files whose names start with one of :data:`RIR_PREFIXES`."""
    return sorted(p for p in folder.glob("*.wav") if p.name.startswith(RIR_PREFIXES))


def speech_talks(files: list[Path]) -> list[np.ndarray]:
    """Runs of :data:`FILES_PER_TALK` consecutive files, peak-normalized, 0.3 s apart, one talk each."""
    gap = np.zeros(int(0.3 * SR))
    talks = []
    for k in range(0, len(files) - FILES_PER_TALK + 1, FILES_PER_TALK):
        parts = [_mono16k(p) for p in files[k: k + FILES_PER_TALK]]
        talks.append(np.concatenate([np.concatenate([p / np.abs(p).max(), gap]) for p in parts]))
    return talks


def true_t30(h: np.ndarray) -> float:
    """Broadband T30 (s) of a response: the median of its :data:`BROADBAND_BANDS` T30s."""
    bands = analyze(h, SR).bands
    return float(np.median([bands[fc]["t30"] for fc in BROADBAND_BANDS]))


def _stretch(x: np.ndarray, n: int, from_end: bool) -> np.ndarray:
    x = np.resize(x, max(n, x.size))
    return x[-n:] if from_end else x[:n]


def _mix(wet: np.ndarray, amb: np.ndarray, level_db: float) -> tuple[np.ndarray, np.ndarray]:
    """``wet`` and ``amb`` scaled so that active speech is ``level_db`` above the ambience's mean power."""
    g = math.sqrt(active_power(wet, SR) / 10 ** (level_db / 10) / float(np.mean(amb**2)))
    return wet, g * amb


def build_items(data: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The evaluation items (see the module doc): reference, input, truth, response, parts of the truth."""
    root = Path(data)
    need = [root / d for d in ("speech", "rirs", "ambient")]
    missing = [str(d) for d in need if not d.is_dir()]
    if missing:
        raise FileFormatError(f"'{root}' lacks {missing}; expected a folder with speech/, rirs/ and ambient/ "
                              "(like ../shared/data)")
    files = _audio_files(root / "speech")
    talks = speech_talks(files)
    rooms = [(p.stem, _mono16k(p)) for p in find_rirs(root / "rirs")]
    ambiences = [(p.stem, a) for p in _audio_files(root / "ambient") if (a := _mono16k(p)).size >= MIN_AMBIENCE_S * SR]
    if len(talks) < 2 or not rooms or not ambiences:
        raise FileFormatError(f"'{root}' needs at least {2 * FILES_PER_TALK} speech files, one measured response and "
                              f"one ambience recording of {MIN_AMBIENCE_S:g} s; found {len(files)}, {len(rooms)}, "
                              f"{len(ambiences)}")
    items = []
    for r, (room, h) in enumerate(rooms):
        for k, talk in enumerate(talks):
            dry = talks[(k + 1) % len(talks)]
            dry = np.concatenate([np.zeros(int(PAD_S[0] * SR)), dry, np.zeros(int(PAD_S[1] * SR))])
            amb_name, amb = ambiences[(r + k) % len(ambiences)]
            level = LEVELS_DB[(r + k) % len(LEVELS_DB)]
            ref_wet, ref_amb = _mix(fft_convolve(talk[None], h[None])[0][: talk.size], _stretch(amb, talk.size, False), level)
            reference = ref_wet + ref_amb
            reference *= REFERENCE_PEAK / np.abs(reference).max()
            wet, noise = _mix(fft_convolve(dry[None], h[None])[0][: dry.size], _stretch(amb, dry.size, True), level)
            gain = 10 ** ((integrated_loudness(reference, SR) - integrated_loudness(wet + noise, SR)) / 20)
            items.append({"room": room, "talk": k, "input_talk": (k + 1) % len(talks), "ambience": amb_name, "level_db": level,
                          "reference": reference, "input": dry, "response": h, "truth": gain * (wet + noise),
                          "truth_speech": gain * wet, "truth_ambience": gain * noise})
            if limit is not None and len(items) >= limit:
                return items
    return items


def _quiet_frames(speech: np.ndarray, amb: np.ndarray) -> np.ndarray:
    ps = np.abs(stft(speech, n_fft=N_FFT, hop=HOP)) ** 2
    pa = np.abs(stft(amb, n_fft=N_FFT, hop=HOP)) ** 2
    return ps.sum(axis=0) * 10 ** (QUIET_DB / 10) <= pa.sum(axis=0)


def ambience_lsd(truth: np.ndarray, output: np.ndarray, frames: np.ndarray) -> float:
    """LSD (dB) between the mean power spectra of ``truth`` and ``output`` over ``frames``; NaN without frames."""
    if frames.sum() < 10:
        return math.nan
    pt = (np.abs(stft(truth, n_fft=N_FFT, hop=HOP)) ** 2)[:, frames].mean(axis=1)
    po = (np.abs(stft(output, n_fft=N_FFT, hop=HOP)) ** 2)[:, frames].mean(axis=1)
    floor = 1e-10 * max(pt.max(), 1e-30)
    return float(np.sqrt(np.mean((10 * np.log10(np.maximum(pt, floor) / np.maximum(po, floor))) ** 2)))


def _drr(h: np.ndarray) -> float:
    return float(analyze(h, SR).broadband["drr_db"])


def effective_response(x: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` samples of the response taking ``x`` to ``y``, by Wiener-regularized deconvolution.

    ``H = Y conj(X) / (|X|^2 + DECONV_REG * median |X|^2)``: exact where the input has
    energy, damped where it has none; anything in ``y`` not made from ``x`` (the
    ambience) spreads as low-level noise over the estimate.
    """
    size = 1 << int(math.ceil(math.log2(x.size + y.size)))
    spec_x, spec_y = np.fft.rfft(x, size), np.fft.rfft(y, size)
    power = np.abs(spec_x) ** 2
    return np.fft.irfft(spec_y * np.conj(spec_x) / (power + DECONV_REG * np.median(power)), size)[:n]


def _outputs(item: dict[str, Any], systems: list[str], models: dict[str, str], seed: int) -> dict[str, np.ndarray]:
    x, ref = item["input"], item["reference"]
    target = integrated_loudness(ref, SR)
    out: dict[str, np.ndarray] = {}
    profile = reference_profile(ref, SR) if ({"dsp", "true-room"} & set(systems)) or models else None
    for name in systems:
        if name == "none":
            out[name] = x * 10 ** ((target - integrated_loudness(x, SR)) / 20)
        elif name == "generic-reverb":
            h = synthesize_from_spec(GENERIC_SPEC, sr=SR, seed=seed).astype(np.float64)
            y = fft_convolve(x[None], h[None])[0][: x.size]
            out[name] = y * 10 ** ((target - integrated_loudness(y, SR)) / 20)
        else:
            r = stylize_signal(x, SR, ref, seed=seed, profile=profile,
                               response=item["response"] if name == "true-room" else None)
            out[name] = r.audio.astype(np.float64)
    for name, checkpoint in models.items():
        out[name] = learned_stylize(x, SR, ref, checkpoint=checkpoint, seed=seed, profile=profile).audio.astype(np.float64)
    return out


def score_item(item: dict[str, Any], systems: list[str], seed: int = 0,
               models: dict[str, str] | None = None) -> dict[str, dict[str, float]]:
    """Every metric of every system (and learned model) on one item."""
    truth = item["truth"]
    t30 = true_t30(item["response"])
    drr = _drr(item["response"])
    quiet = _quiet_frames(item["truth_speech"], item["truth_ambience"])
    ref_mel = log_mel(truth)
    scores = {}
    for name, y in _outputs(item, systems, dict(models or {}), seed).items():
        est = blind_t60(y, SR)["broadband"]
        scores[name] = {
            "rt60_rel_err": abs(est - t30) / t30 if math.isfinite(est) else math.nan,
            "drr_err_db": abs(_drr(effective_response(item["input"], y, item["response"].size)) - drr),
            "ambience_lsd_db": ambience_lsd(truth, y, quiet),
            "logmel_l1": logmel_l1(ref_mel, log_mel(y)),
            "stoi": stoi(truth, y, SR),
        }
    return scores


def _summary(rows: list[dict[str, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(rows)}
    for m in METRICS:
        v = np.array([r[m] for r in rows], dtype=float)
        ok = v[np.isfinite(v)]
        out[m] = float(np.mean(ok)) if ok.size else None
        out[f"{m}_median"] = float(np.median(ok)) if ok.size else None
        out[f"{m}_n"] = int(ok.size)
    return out


def evaluate(data: str | Path, *, systems: list[str] | tuple[str, ...] = SYSTEMS, models: dict[str, str] | None = None,
             limit: int | None = None, seed: int = 0, progress: bool = True) -> dict[str, dict[str, Any]]:
    """``{system: {metric: mean, metric_median, metric_n, ..., "n"}}`` over the items of ``data``.

    ``models`` maps names to stylizer checkpoints scored as further systems (the learned method).
    """
    systems, models = list(systems), dict(models or {})
    unknown = [s for s in systems if s not in SYSTEMS]
    clash = [m for m in models if m in SYSTEMS or not m]
    if unknown or clash or not (systems or models):
        raise InvalidAudioError(f"unknown systems {unknown} or model names {clash} (empty or built-in); expected "
                                f"systems among {', '.join(SYSTEMS)} and at least one system or model")
    items = build_items(data, limit)
    rows: dict[str, list[dict[str, float]]] = {s: [] for s in systems + list(models)}
    for item in tqdm(items, desc="eval stylize", disable=not progress):
        for name, s in score_item(item, systems, seed, models).items():
            rows[name].append(s)
    return {name: _summary(r) for name, r in rows.items()}


def format_table(result: dict[str, dict[str, Any]]) -> str:
    """A text table: one row per system, mean (median) per metric."""
    head = f"{'system':>15}" + "".join(f"{m:>22}" for m in METRICS)
    rows = [head, "-" * len(head)]
    for name, s in result.items():
        cells = "".join(f"{'-':>22}" if s[m] is None else f"{s[m]:>12.3f} ({s[m + '_median']:.3f})" for m in METRICS)
        rows.append(f"{name:>15}{cells}")
    return "\n".join(rows)


def plot_scores(result: dict[str, dict[str, Any]], path: str | Path) -> Path:
    """Bar chart of each metric's median per system (PNG)."""
    from soundstage.plots import _pyplot, _save

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(METRICS), figsize=(3.2 * len(METRICS), 3.6))
    names = list(result)
    colors = plt.get_cmap("tab10")(np.arange(len(names)))
    for ax, m in zip(axes, METRICS):
        vals = [np.nan if result[n][f"{m}_median"] is None else result[n][f"{m}_median"] for n in names]
        ax.bar(np.arange(len(names)), vals, color=colors)
        ax.set_xticks(np.arange(len(names)), names, rotation=35, ha="right", fontsize=8)
        ax.set_title(f"{m} (median)", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    return _save(fig, path, [])
