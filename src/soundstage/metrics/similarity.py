"""MFCC-DTW similarity, the content metric of SEE-2-SOUND's evaluation.

:func:`mfcc_dtw_similarity` = ``1 / (1 + mean DTW cost)`` between the MFCC sequences of two
signals: both resampled to 22.05 kHz, power mel spectrogram (n_fft 2048, hop 512, 128
Slaney bands), dB (10 log10, floored 80 dB below the maximum), orthonormal DCT-II, 13
coefficients c0..c12 (librosa's MFCC defaults, computed here); frames aligned by dynamic
time warping on their Euclidean distance (:func:`soundstage.metrics.room.dtw`), the mean
cost being the accumulated cost of the path over its length. 1 for identical signals,
towards 0 as they differ; it compares timbre and its evolution, not direction.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dct

from soundstage.dsp.resample import resample
from soundstage.dsp.spectral import mel_spectrogram
from soundstage.errors import InvalidAudioError
from soundstage.metrics.room import dtw

__all__ = ["MFCC_SR", "mfcc", "mfcc_dtw_similarity"]

#: Rate both signals are compared at (librosa's default), Hz.
MFCC_SR = 22050
_N_FFT, _HOP, _N_MELS, _N_MFCC, _TOP_DB = 2048, 512, 128, 13, 80.0


def mfcc(x: np.ndarray, sr: int) -> np.ndarray:
    """MFCCs c0..c12 of a mono signal, shape ``(frames, 13)`` (see the module doc)."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.size < 2 or not np.all(np.isfinite(a)) or not np.any(a):
        raise InvalidAudioError(f"MFCCs need a finite, non-silent mono signal (samples,), got shape {a.shape}")
    if sr != MFCC_SR:
        a = resample(a, sr_in=sr, sr_out=MFCC_SR)
    power = mel_spectrogram(a, sr=MFCC_SR, n_fft=_N_FFT, hop=_HOP, n_mels=_N_MELS)
    db = 10.0 * np.log10(np.maximum(power, 1e-10))
    db = np.maximum(db, db.max() - _TOP_DB)
    return dct(db, type=2, norm="ortho", axis=0)[:_N_MFCC].T


def mfcc_dtw_similarity(x: np.ndarray, y: np.ndarray, sr: int) -> float:
    """``1 / (1 + mean DTW cost)`` between the MFCCs of mono signals ``x`` and ``y`` at ``sr`` Hz."""
    cx, cy = mfcc(x, sr), mfcc(y, sr)
    dist = np.sqrt(np.maximum(np.sum(cx**2, 1)[:, None] + np.sum(cy**2, 1)[None, :] - 2.0 * cx @ cy.T, 0.0))
    rows, cols = dtw(dist)
    return float(1.0 / (1.0 + dist[rows, cols].sum() / len(rows)))
