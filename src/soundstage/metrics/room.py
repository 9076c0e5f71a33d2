"""How well a generated room response matches the true one: RTE and MCD.

* :func:`rte`: reverberation-time error, the absolute difference of broadband T30 (s);
* :func:`broadband_t30`: the broadband T30 of an impulse response (T20 where T30 is not measurable);
* :func:`mel_cepstral_distortion`: MCD in dB between two (reverberant speech) signals,
  frames aligned by dynamic time warping (:func:`dtw`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.fft import dct

from soundstage.acoustics.analysis import DECAY_RANGES, decay_time, schroeder_decay
from soundstage.dsp.spectral import mel_spectrogram
from soundstage.errors import InvalidAudioError

#: STFT frame and hop (samples at 16 kHz: 32 ms and 10 ms) and mel bands of the MCD front end.
MCD_N_FFT: int = 512
MCD_HOP: int = 160
MCD_N_MELS: int = 40
#: Mel cepstra compared: c1..c13 (c0, the frame's overall level, is left out).
MCD_N_CEPS: int = 13
#: Mel energies are floored this far (in dB) below the signal's largest one.
MCD_FLOOR_DB: float = 80.0
#: Factor from natural-log cepstral distance to dB: 10 sqrt(2) / ln 10.
MCD_ALPHA: float = 10.0 * math.sqrt(2.0) / math.log(10.0)


def _time(value: float, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidAudioError(f"{name} must be a reverberation time in seconds, got {value!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise InvalidAudioError(f"{name} must be a finite reverberation time >= 0 s, got {v!r}")
    return v


def rte(t30_generated_s: float, t30_true_s: float) -> float:
    """Reverberation-time error ``|T30_generated - T30_true|`` in seconds.

    Raises
    ------
    InvalidAudioError
        A negative or non-finite time.
    """
    return abs(_time(t30_generated_s, "t30_generated_s") - _time(t30_true_s, "t30_true_s"))


def broadband_t30(h: np.ndarray, sr: int) -> float:
    """Broadband T30 (s) of an impulse response, as ``analyze(h, sr).broadband["t30"]``.

    Computed the same way (Schroeder decay from the ISO 3382-1 onset with Lundeby
    truncation and compensation, line fitted from -5 to -35 dB) without the band
    analysis. Where the decay does not reach -35 dB (too little dynamic range) the
    T20 (-5 to -25 dB) is returned instead; NaN when neither is measurable.

    Parameters
    ----------
    h : np.ndarray
        ``(samples,)`` impulse response.
    sr : int
        Sample rate in Hz.
    """
    edc = schroeder_decay(h, sr)
    for key in ("t30", "t20"):
        lo, hi = DECAY_RANGES[key]
        t = decay_time(edc, sr, start_db=lo, end_db=hi)
        if math.isfinite(t):
            return float(t)
    return math.nan


def mel_cepstra(x: np.ndarray, sr: int) -> np.ndarray:
    """Mel cepstra c1..c13 per frame, shape ``(frames, 13)``.

    Log-mel spectrogram (centred Hann STFT, ``n_fft`` :data:`MCD_N_FFT` = 512, hop
    :data:`MCD_HOP` = 160, :data:`MCD_N_MELS` = 40 Slaney mel bands from 0 Hz to
    ``sr / 2``; see :func:`soundstage.dsp.spectral.mel_spectrogram`), natural log of
    the mel *amplitude* (half the log power), mel energies floored :data:`MCD_FLOOR_DB`
    (80) dB below the signal's largest; then an orthonormal DCT-II over the bands, keeping
    coefficients 1..13. c0, the frame level, is dropped, so the cepstra do not change
    when the signal is scaled.
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.size < 2:
        raise InvalidAudioError(f"MCD needs a mono signal of shape (samples,), got shape {a.shape}")
    if not np.all(np.isfinite(a)) or not np.any(a):
        raise InvalidAudioError("MCD got a silent or non-finite signal; expected finite audio with some energy")
    mel = mel_spectrogram(a, sr=sr, n_fft=MCD_N_FFT, hop=MCD_HOP, n_mels=MCD_N_MELS)
    mel = np.maximum(mel, mel.max() * 10.0 ** (-MCD_FLOOR_DB / 10.0))
    log_amp = 0.5 * np.log(mel)
    return dct(log_amp, type=2, norm="ortho", axis=0)[1 : MCD_N_CEPS + 1].T


def dtw(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dynamic time warping path through a cost matrix.

    Steps (1, 0), (0, 1) and (1, 1), each adding the cost of the cell it enters; the
    path runs from ``(0, 0)`` to ``(n - 1, m - 1)`` with the least total cost. Rows are
    done one at a time: within a row ``C[j] = min(a[j], d[j] + C[j - 1])`` with
    ``a[j] = d[j] + min(C_prev[j - 1], C_prev[j])`` unrolls to
    ``S[j] + min_{k <= j}(a[k] - S[k])`` (``S`` the running sum of ``d``), a cumulative
    minimum, so each row is a few vector operations. The backtrack prefers the
    diagonal, then the step from the row above, on ties.

    Parameters
    ----------
    cost : np.ndarray
        ``(n, m)`` non-negative local costs.

    Returns
    -------
    rows, cols : np.ndarray
        Indices of the path cells, from ``(0, 0)`` to ``(n - 1, m - 1)``.
    """
    d = np.asarray(cost, dtype=np.float64)
    if d.ndim != 2 or 0 in d.shape or not np.all(np.isfinite(d)):
        raise InvalidAudioError(f"DTW needs a finite, non-empty (n, m) cost matrix, got shape {d.shape}")
    n, m = d.shape
    acc = np.empty((n, m))
    acc[0] = np.cumsum(d[0])
    for i in range(1, n):
        a = np.empty(m)
        a[0] = d[i, 0] + acc[i - 1, 0]
        a[1:] = d[i, 1:] + np.minimum(acc[i - 1, :-1], acc[i - 1, 1:])
        s = np.cumsum(d[i])
        acc[i] = s + np.minimum.accumulate(a - s)
    return _backtrack(acc)


def _backtrack(acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    i, j = acc.shape[0] - 1, acc.shape[1] - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            diag, up, left = acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]
            if diag <= up and diag <= left:
                i, j = i - 1, j - 1
            elif up <= left:
                i -= 1
            else:
                j -= 1
        path.append((i, j))
    rows, cols = np.array(path[::-1]).T
    return rows, cols


def mel_cepstral_distortion(x: np.ndarray, y: np.ndarray, sr: int) -> float:
    """Mel cepstral distortion (dB) between two signals, frames aligned by DTW.

    Both signals go through :func:`mel_cepstra` (13 mel cepstra c1..c13 from a 40-band
    log-mel spectrogram, n_fft 512, hop 160, c0 excluded); the frames are aligned by
    :func:`dtw` on the Euclidean cepstral distance, and

        ``MCD = alpha * mean over aligned frame pairs of sqrt(sum_k (c_k - c'_k)^2)``

    with ``alpha = 10 sqrt(2) / ln 10`` (:data:`MCD_ALPHA`), as in the usual definition
    (Kubichek 1993). The signals may differ in length. MCD(x, x) = 0, and scaling a
    signal leaves it unchanged.

    Parameters
    ----------
    x, y : np.ndarray
        ``(samples,)`` signals at ``sr`` Hz.
    sr : int
        Sample rate in Hz.
    """
    if not np.isscalar(sr) or not np.isfinite(sr) or sr <= 0:
        raise InvalidAudioError(f"sample rate must be a positive number of Hz, got {sr!r}")
    cx, cy = mel_cepstra(x, sr), mel_cepstra(y, sr)
    dist = np.sqrt(np.maximum(np.sum(cx**2, 1)[:, None] + np.sum(cy**2, 1)[None, :] - 2.0 * cx @ cy.T, 0.0))
    rows, cols = dtw(dist)
    pair = np.sqrt(np.sum((cx[rows] - cy[cols]) ** 2, axis=1))
    return float(MCD_ALPHA * np.mean(pair))
