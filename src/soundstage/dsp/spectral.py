"""Short-time Fourier transform, its inverse, and mel spectrograms.

Conventions follow librosa: with ``center=True`` the signal is zero-padded by
``n_fft // 2`` on both sides, so frame ``t`` is centred on sample ``t * hop`` and a
signal of ``n`` samples gives ``1 + n // hop`` frames (for even ``n_fft``). The
inverse uses weighted overlap-add (the synthesis window equals the analysis window,
and the sum of squared windows is divided out), so ``istft(stft(x), length=len(x))``
returns ``x`` for any hop up to ``n_fft / 2``.

The mel scale is Slaney's (librosa's default, ``htk=False``): linear below 1 kHz
(3 mel per 200 Hz) and logarithmic above it.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import fft as sfft
from scipy.signal import get_window

from soundstage.errors import InvalidAudioError

#: Slaney mel scale: Hz per mel in the linear region, its end (Hz and mel) and log step.
_F_SP = 200.0 / 3.0
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = np.log(6.4) / 27.0

WindowSpec = str | tuple | np.ndarray


def _check_signal(x: np.ndarray, name: str) -> np.ndarray:
    """Return ``x`` as an array after rejecting empty, complex or non-finite input."""
    x = np.asarray(x)
    if x.ndim == 0 or x.size == 0:
        raise InvalidAudioError(f"{name} got an empty signal of shape {x.shape}; expected at least one sample")
    if np.iscomplexobj(x):
        raise InvalidAudioError(f"{name} got complex input of dtype {x.dtype}; expected a real signal")
    if not np.all(np.isfinite(x)):
        raise InvalidAudioError(f"{name} got NaN or infinite samples; expected finite audio")
    return x


def _check_frame_params(n_fft: int, hop: int) -> None:
    if int(n_fft) != n_fft or n_fft < 2:
        raise InvalidAudioError(f"n_fft must be an integer >= 2, got {n_fft!r}")
    if int(hop) != hop or hop <= 0:
        raise InvalidAudioError(f"hop must be a positive integer number of samples, got {hop!r}")


def _window(window: WindowSpec, n_fft: int) -> np.ndarray:
    """Periodic analysis window of length ``n_fft`` from a scipy name, tuple or array."""
    if isinstance(window, np.ndarray):
        if window.shape != (n_fft,):
            raise InvalidAudioError(f"window array has shape {window.shape}; expected ({n_fft},)")
        return window.astype(np.float64)
    try:
        return get_window(window, n_fft, fftbins=True).astype(np.float64)
    except ValueError as exc:
        raise InvalidAudioError(f"unknown window {window!r}: {exc}") from exc


def stft(
    x: np.ndarray,
    *,
    n_fft: int = 1024,
    hop: int = 256,
    window: WindowSpec = "hann",
    center: bool = True,
) -> np.ndarray:
    """Short-time Fourier transform.

    Parameters
    ----------
    x : array, shape ``(..., samples)``
        Real signal(s); the last axis is time.
    n_fft : int
        Frame and FFT length in samples (the window has the same length).
    hop : int
        Frame advance in samples.
    window : str, tuple or array of shape ``(n_fft,)``
        Analysis window (a :func:`scipy.signal.get_window` spec, periodic form).
    center : bool
        Zero-pad ``n_fft // 2`` samples on both sides so frame ``t`` is centred on
        sample ``t * hop``. Without it, frame ``t`` starts at sample ``t * hop`` and
        the signal must be at least ``n_fft`` samples long.

    Returns
    -------
    array, complex, shape ``(..., n_fft // 2 + 1, frames)``
        Spectrum; complex64 for float32 (or narrower) input, complex128 otherwise.
    """
    x = _check_signal(x, "stft")
    _check_frame_params(n_fft, hop)
    n_fft, hop = int(n_fft), int(hop)
    out_dtype = np.complex128 if x.dtype == np.float64 else np.complex64
    xf = x.astype(np.float64, copy=False)
    if center:
        pad = [(0, 0)] * (xf.ndim - 1) + [(n_fft // 2, n_fft // 2)]
        xf = np.pad(xf, pad)
    if xf.shape[-1] < n_fft:
        raise InvalidAudioError(
            f"stft with center=False needs at least n_fft={n_fft} samples, got {x.shape[-1]}"
        )
    frames = sliding_window_view(xf, n_fft, axis=-1)[..., ::hop, :]
    spec = sfft.rfft(frames * _window(window, n_fft), axis=-1)
    return np.swapaxes(spec, -1, -2).astype(out_dtype, copy=False)


def _overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """Sum frames ``(..., T, n_fft)`` placed ``hop`` apart into ``(..., hop * (T - 1) + n_fft)``."""
    *lead, n_frames, n_fft = frames.shape
    n_chunks = -(-n_fft // hop)
    padded = np.zeros((*lead, n_frames, n_chunks * hop))
    padded[..., :n_fft] = frames
    blocks = np.zeros((*lead, n_frames + n_chunks - 1, hop))
    for r in range(n_chunks):
        blocks[..., r : r + n_frames, :] += padded[..., r * hop : (r + 1) * hop]
    flat = blocks.reshape(*lead, -1)
    return flat[..., : hop * (n_frames - 1) + n_fft]


def istft(
    spec: np.ndarray,
    *,
    hop: int = 256,
    window: WindowSpec = "hann",
    center: bool = True,
    length: int | None = None,
    n_fft: int | None = None,
) -> np.ndarray:
    """Inverse short-time Fourier transform by weighted overlap-add.

    Parameters
    ----------
    spec : array, complex, shape ``(..., n_fft // 2 + 1, frames)``
        Spectrum as returned by :func:`stft`.
    hop, window, center
        The values given to :func:`stft`.
    length : int, optional
        Output length in samples (trimmed or zero-padded). Pass the original length
        for an exact round trip; by default it is ``hop * (frames - 1)`` when centred.
    n_fft : int, optional
        Frame length; defaults to ``2 * (bins - 1)``. Needed only for odd ``n_fft``.

    Returns
    -------
    array, shape ``(..., samples)``
        float32 for complex64 input, float64 otherwise. Samples where the summed
        squared window vanishes (only the outer edges with ``center=False``) are zero.

    Notes
    -----
    With ``hop = n_fft / 2`` and a length that is not a multiple of ``hop``, the last
    samples are covered only by a window's tail; float64 spectra still invert to
    ~1e-12, but complex64 spectra bring those samples back to only ~1e-4.
    """
    spec = np.asarray(spec)
    if spec.ndim < 2 or spec.shape[-1] == 0 or spec.shape[-2] < 2:
        raise InvalidAudioError(f"istft expects shape (..., bins >= 2, frames >= 1), got {spec.shape}")
    if not np.all(np.isfinite(spec)):
        raise InvalidAudioError("istft got NaN or infinite spectrum values; expected finite values")
    n_fft = 2 * (spec.shape[-2] - 1) if n_fft is None else int(n_fft)
    _check_frame_params(n_fft, hop)
    if n_fft // 2 + 1 != spec.shape[-2]:
        raise InvalidAudioError(f"n_fft={n_fft} needs {n_fft // 2 + 1} frequency bins, spectrum has {spec.shape[-2]}")
    out_dtype = np.float32 if spec.dtype == np.complex64 else np.float64
    win = _window(window, n_fft)
    frames = sfft.irfft(np.swapaxes(spec, -1, -2).astype(np.complex128), n=n_fft, axis=-1) * win
    signal = _overlap_add(frames, int(hop))
    norm = _overlap_add(np.broadcast_to(win**2, (spec.shape[-1], n_fft)), int(hop))
    tiny = np.finfo(np.float64).tiny ** 0.5
    signal = np.where(norm > tiny, signal / np.maximum(norm, tiny), 0.0)
    if center:
        signal = signal[..., n_fft // 2 :]
        if length is None:
            signal = signal[..., : hop * (spec.shape[-1] - 1)]
    if length is not None:
        signal = signal[..., :length]
        if signal.shape[-1] < length:
            signal = np.pad(signal, [(0, 0)] * (signal.ndim - 1) + [(0, length - signal.shape[-1])])
    return signal.astype(out_dtype, copy=False)


def hz_to_mel(freqs: np.ndarray | float) -> np.ndarray | float:
    """Convert frequencies in Hz to Slaney mel (linear below 1 kHz, logarithmic above)."""
    f = np.asarray(freqs, dtype=np.float64)
    log_part = _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOG_STEP
    mels = np.where(f >= _MIN_LOG_HZ, log_part, f / _F_SP)
    return float(mels) if mels.ndim == 0 else mels


def mel_to_hz(mels: np.ndarray | float) -> np.ndarray | float:
    """Convert Slaney mel values back to frequencies in Hz (inverse of :func:`hz_to_mel`)."""
    m = np.asarray(mels, dtype=np.float64)
    log_part = _MIN_LOG_HZ * np.exp(_LOG_STEP * (np.maximum(m, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    freqs = np.where(m >= _MIN_LOG_MEL, log_part, m * _F_SP)
    return float(freqs) if freqs.ndim == 0 else freqs


def mel_filterbank(
    *,
    sr: int,
    n_fft: int,
    n_mels: int = 80,
    fmin: float = 0.0,
    fmax: float | None = None,
    norm: str | None = "slaney",
) -> np.ndarray:
    """Triangular mel filters on the Slaney mel scale (matches librosa's default).

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    n_fft : int
        FFT length the filters apply to.
    n_mels : int
        Number of filters.
    fmin, fmax : float
        Lowest and highest edge frequency in Hz; ``fmax`` defaults to ``sr / 2``.
    norm : {"slaney", None}
        ``"slaney"`` scales each triangle to unit area per Hz (``2 / bandwidth``);
        ``None`` leaves peaks at one.

    Returns
    -------
    array, float64, shape ``(n_mels, n_fft // 2 + 1)``
        Filter weights; row ``i`` peaks at the ``i + 1``-th of ``n_mels + 2`` points
        spaced evenly in mel between ``fmin`` and ``fmax``.
    """
    _check_frame_params(n_fft, 1)
    fmax = sr / 2.0 if fmax is None else float(fmax)
    if sr <= 0 or n_mels < 1:
        raise InvalidAudioError(f"mel_filterbank needs sr > 0 and n_mels >= 1, got sr={sr}, n_mels={n_mels}")
    if not 0.0 <= fmin < fmax <= sr / 2.0:
        raise InvalidAudioError(f"mel_filterbank needs 0 <= fmin < fmax <= sr/2={sr / 2}, got fmin={fmin}, fmax={fmax}")
    if norm not in ("slaney", None):
        raise InvalidAudioError(f"mel_filterbank norm must be 'slaney' or None, got {norm!r}")
    fft_freqs = sfft.rfftfreq(int(n_fft), 1.0 / sr)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if norm == "slaney":
        weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights


def mel_spectrogram(
    x: np.ndarray,
    *,
    sr: int,
    n_fft: int = 1024,
    hop: int = 256,
    n_mels: int = 80,
    fmin: float = 0.0,
    fmax: float | None = None,
    power: float = 2.0,
) -> np.ndarray:
    """Mel spectrogram of a signal (centred Hann STFT, Slaney mel filters).

    Parameters
    ----------
    x : array, shape ``(..., samples)``
        Real signal(s) at ``sr`` Hz.
    sr, n_fft, hop, n_mels, fmin, fmax
        See :func:`stft` and :func:`mel_filterbank`.
    power : float
        Exponent on the STFT magnitude: 2 for power, 1 for magnitude.

    Returns
    -------
    array, shape ``(..., n_mels, frames)``
        Mel-band energies; float32 unless ``x`` is float64.
    """
    if power <= 0:
        raise InvalidAudioError(f"mel_spectrogram power must be > 0, got {power}")
    spec = stft(x, n_fft=n_fft, hop=hop, center=True)
    mag = np.abs(spec).astype(np.float64) ** power
    basis = mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    out_dtype = np.float64 if spec.dtype == np.complex128 else np.float32
    return np.matmul(basis, mag).astype(out_dtype, copy=False)
