"""Speech quality of a restored signal against its clean reference.

* :func:`pesq_wb`: wide-band PESQ (ITU-T P.862.2) through the ``pesq`` package, 16 kHz;
* :func:`stoi`: short-time objective intelligibility (Taal et al. 2011) through ``pystoi``;
* :func:`log_spectral_distance`: LSD in dB over chosen STFT frames;
* :func:`logmel_l1`: mean absolute log-mel difference over chosen frames;
* :func:`word_error_rate`: word-level edit distance over the reference's word count.

PESQ and STOI need whole utterances (PESQ finds no utterance in a few hundred
milliseconds), so :func:`inpainting_scores` gives them on the whole clip, where a
restored clip differs from the reference only inside its gaps, and LSD and log-mel L1
on the gap frames alone.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from soundstage.dsp.spectral import stft
from soundstage.errors import InvalidAudioError
from soundstage.speech.features import HOP, N_FFT, SR, log_mel
from soundstage.speech.gaps import Gap, frame_mask


def _pair(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    if ref.ndim != 1 or est.shape != ref.shape:
        raise InvalidAudioError(
            f"reference {ref.shape} and estimate {est.shape} must be mono signals of the same length"
        )
    if not (np.all(np.isfinite(ref)) and np.all(np.isfinite(est))):
        raise InvalidAudioError("speech metrics got NaN or infinite samples; expected finite audio")
    return ref, est


def pesq_wb(reference: np.ndarray, estimate: np.ndarray, sr: int = SR) -> float:
    """Wide-band PESQ (MOS-LQO, about 1.0 to 4.6) of ``estimate`` against ``reference`` at 16 kHz."""
    from pesq import pesq

    ref, est = _pair(reference, estimate)
    if sr != 16000:
        raise InvalidAudioError(f"wide-band PESQ is defined at 16000 Hz, got {sr} Hz")
    return float(pesq(sr, ref, est, "wb"))


def stoi(reference: np.ndarray, estimate: np.ndarray, sr: int = SR) -> float:
    """STOI (0 to 1) of ``estimate`` against ``reference``."""
    from pystoi import stoi as _stoi

    ref, est = _pair(reference, estimate)
    return float(_stoi(ref, est, sr, extended=False))


def log_spectral_distance(reference: np.ndarray, estimate: np.ndarray, frames: np.ndarray | None = None) -> float:
    """Log-spectral distance in dB, ``mean_t sqrt(mean_f (10 log10 P_ref - 10 log10 P_est)^2)``.

    Power spectra from the front-end's STFT (640-point Hann, hop 160); ``frames`` (bool,
    one per STFT frame) selects the frames averaged, default all. Powers are floored
    at 1e-10 of the reference's peak power.
    """
    ref, est = _pair(reference, estimate)
    p_ref = np.abs(stft(ref, n_fft=N_FFT, hop=HOP)) ** 2
    p_est = np.abs(stft(est, n_fft=N_FFT, hop=HOP)) ** 2
    floor = 1e-10 * max(p_ref.max(), 1e-30)
    diff = 10 * np.log10(np.maximum(p_ref, floor)) - 10 * np.log10(np.maximum(p_est, floor))
    per_frame = np.sqrt(np.mean(diff**2, axis=0))  # stft gives (freqs, frames)
    chosen = per_frame if frames is None else per_frame[np.asarray(frames, dtype=bool)[: per_frame.size]]
    if chosen.size == 0:
        raise InvalidAudioError("no frames selected for the log-spectral distance")
    return float(chosen.mean())


def logmel_l1(reference: np.ndarray, estimate: np.ndarray, frames: np.ndarray | None = None) -> float:
    """Mean absolute difference of log-mel features ``(T, 80)`` over the selected frames."""
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    if ref.shape != est.shape or ref.ndim != 2:
        raise InvalidAudioError(f"log-mel features {ref.shape} and {est.shape} must be equal (T, mels) arrays")
    rows = slice(None) if frames is None else np.asarray(frames, dtype=bool)
    chosen = np.abs(ref - est)[rows]
    if chosen.size == 0:
        raise InvalidAudioError("no frames selected for the log-mel L1")
    return float(chosen.mean())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by Levenshtein alignment of whitespace-split words."""
    ref, hyp = reference.split(), hypothesis.split()
    if not ref:
        raise InvalidAudioError("word error rate needs a reference with at least one word")
    row = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        prev, row = row, [i] + [0] * len(hyp)
        for j, other in enumerate(hyp, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (word != other))
    return row[-1] / len(ref)


def inpainting_scores(clean: np.ndarray, restored: np.ndarray, gaps: Sequence[Gap], sr: int = SR) -> dict[str, float]:
    """PESQ and STOI of the whole clip, LSD and log-mel L1 inside the gaps."""
    ref, est = _pair(clean, restored)
    ref_mel, est_mel = log_mel(ref, sr), log_mel(est, sr)
    mask = frame_mask(gaps, ref_mel.shape[0], hop=HOP, sr=sr)
    return {
        "pesq": pesq_wb(ref, est, sr),
        "stoi": stoi(ref, est, sr),
        "lsd": log_spectral_distance(ref, est, mask),
        "l1": logmel_l1(ref_mel, est_mel, mask),
    }
