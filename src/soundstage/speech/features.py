"""Log-mel speech features and their inversion to a waveform.

The front-end is fixed for all speech models: 16 kHz audio, a centred Hann STFT with
``n_fft = 640`` (40 ms, fine enough to resolve the harmonics of a ~110 Hz voice) and
``hop = 160`` (10 ms, exactly four audio frames per 25 fps video frame), 80 Slaney mel
bands over 0-8 kHz, and the natural log of mel power floored at ``1e-8``. A signal of
``n`` samples gives ``1 + n // 160`` frames; frame ``t`` is centred on sample
``t * 160`` (the conventions of :mod:`soundstage.dsp.spectral`). Spectra are the
unnormalised ``rfft`` of windowed frames, so a full-scale sine of amplitude ``a``
peaks at ``a * n_fft / 4 = 160 a`` in magnitude.

Going back: :func:`mel_to_magnitude` inverts the filterbank by non-negative least
squares, and :func:`griffin_lim` estimates phase, keeping any frames whose complex
values are known (the context around a gap) fixed at every iteration.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from soundstage.dsp.spectral import istft, mel_filterbank, stft
from soundstage.errors import InvalidAudioError

SR = 16000
N_FFT = 640
HOP = 160
N_MELS = 80
N_BINS = N_FFT // 2 + 1
#: Smallest mel power kept before the log, and its log (every feature is >= this).
POWER_FLOOR = 1e-8
LOGMEL_FLOOR = float(np.log(POWER_FLOOR))
#: Momentum of the fast Griffin-Lim algorithm (Perraudin, Balazs & Sondergaard 2013).
FAST_GL_MOMENTUM = 0.99


@lru_cache(maxsize=1)
def mel_basis() -> np.ndarray:
    """Slaney mel filterbank of the front-end, float64 ``(80, 321)`` (read-only)."""
    basis = mel_filterbank(sr=SR, n_fft=N_FFT, n_mels=N_MELS, fmin=0.0, fmax=SR / 2)
    basis.setflags(write=False)
    return basis


@lru_cache(maxsize=1)
def _basis_pinv() -> np.ndarray:
    pinv = np.linalg.pinv(mel_basis())
    pinv.setflags(write=False)
    return pinv


def n_frames(n_samples: int) -> int:
    """Number of feature frames for ``n_samples`` samples: ``1 + n_samples // 160``."""
    return 1 + int(n_samples) // HOP


def _check_mono(x: np.ndarray, sr: int) -> np.ndarray:
    if sr != SR:
        raise InvalidAudioError(f"speech features need {SR} Hz audio, got sr={sr}; resample first")
    x = np.asarray(x)
    if x.ndim != 1 or x.size == 0 or x.dtype.kind not in "biuf":
        raise InvalidAudioError(
            f"speech features need a non-empty real mono signal (samples,), got shape {x.shape} dtype {x.dtype}"
        )
    if not np.all(np.isfinite(x)):
        raise InvalidAudioError("speech features got NaN or infinite samples; expected finite audio")
    return x.astype(np.float64)


def log_mel(x: np.ndarray, sr: int = SR) -> np.ndarray:
    """Log mel power spectrogram of a mono 16 kHz signal.

    Parameters
    ----------
    x : array, shape ``(samples,)``
        Mono audio at 16 kHz, nominally in [-1, 1].
    sr : int
        Sample rate in Hz; must be 16000.

    Returns
    -------
    array, float32, shape ``(1 + samples // 160, 80)``
        ``log(max(mel power, 1e-8))``; every value is ``>= LOGMEL_FLOOR`` (-18.42).
    """
    spec = stft(_check_mono(x, sr), n_fft=N_FFT, hop=HOP, window="hann", center=True)
    power = spec.real**2 + spec.imag**2
    mel = mel_basis() @ power
    return np.log(np.maximum(mel, POWER_FLOOR)).T.astype(np.float32)


def _check_frames(a: np.ndarray, width: int, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2 or a.shape[1] != width or a.shape[0] == 0:
        raise InvalidAudioError(f"{name} must be shaped (frames >= 1, {width}), got {a.shape}")
    if a.dtype.kind not in "biuf" or not np.all(np.isfinite(a)):
        raise InvalidAudioError(f"{name} must hold finite real values, got dtype {a.dtype} with NaN/inf or non-numbers")
    return a.astype(np.float64)


def mel_to_magnitude(logmel: np.ndarray, *, n_iter: int = 200) -> np.ndarray:
    """STFT magnitude whose mel power matches ``exp(logmel)`` (non-negative least squares).

    The power spectrum ``P >= 0`` minimising ``||B P - exp(logmel)||^2`` (``B`` the mel
    filterbank) is found for all frames at once by accelerated projected gradient
    (FISTA), starting from the clipped pseudo-inverse. With 321 bins and 80 bands
    the problem is underdetermined; starting from the minimum-norm solution keeps the
    estimate smooth within each band.

    Parameters
    ----------
    logmel : array, shape ``(frames, 80)``
        Natural-log mel power as returned by :func:`log_mel`.
    n_iter : int
        Projected-gradient iterations (0 gives the clipped pseudo-inverse).

    Returns
    -------
    array, float64, shape ``(frames, 321)``
        Non-negative STFT magnitude (square root of the power estimate).
    """
    mel = np.exp(_check_frames(logmel, N_MELS, "logmel")).T
    if int(n_iter) != n_iter or n_iter < 0:
        raise InvalidAudioError(f"n_iter must be a non-negative integer, got {n_iter!r}")
    basis = mel_basis().astype(np.float32)  # float32: twice as fast, far below the model's error
    gram = basis.T @ basis
    target = basis.T @ mel.astype(np.float32)
    step = np.float32(1.0 / np.linalg.norm(basis, 2) ** 2)
    power = np.maximum(_basis_pinv().astype(np.float32) @ mel.astype(np.float32), 0.0)
    y, t = power, 1.0
    for _ in range(int(n_iter)):
        nxt = np.maximum(y - step * (gram @ y - target), 0.0)
        t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        y = nxt + ((t - 1.0) / t_next) * (nxt - power)
        power, t = nxt, t_next
    return np.sqrt(power).T.astype(np.float64)


def _spectrum(x: np.ndarray) -> np.ndarray:
    """Time-major complex STFT ``(frames, 321)`` of a float64 signal."""
    return stft(x, n_fft=N_FFT, hop=HOP, window="hann", center=True).T


def _waveform(spec: np.ndarray, length: int) -> np.ndarray:
    return istft(spec.T, hop=HOP, window="hann", center=True, length=length, n_fft=N_FFT)


def spectral_convergence(x: np.ndarray, magnitude: np.ndarray, frames: np.ndarray | None = None) -> float:
    """Relative distance between the STFT magnitude of ``x`` and a target magnitude.

    ``|| |STFT(x)| - magnitude ||_F / || magnitude ||_F`` over all frames, or over the
    frames selected by the bool ``frames`` ``(T,)``.

    Parameters
    ----------
    x : array, shape ``(samples,)``
        Signal at 16 kHz with ``1 + samples // 160 == T``.
    magnitude : array, shape ``(T, 321)``
        Target STFT magnitude.
    frames : bool array, shape ``(T,)``, optional
        Frames to compare.

    Returns
    -------
    float
        Spectral convergence (0 for a perfect match).
    """
    target = _check_frames(magnitude, N_BINS, "magnitude")
    got = np.abs(_spectrum(_check_mono(x, SR)))
    if got.shape != target.shape:
        raise InvalidAudioError(f"signal gives {got.shape[0]} frames but magnitude has {target.shape[0]}")
    if frames is not None:
        sel = _check_fixed(frames, target.shape[0])
        got, target = got[sel], target[sel]
    return float(np.linalg.norm(got - target) / max(np.linalg.norm(target), np.finfo(float).tiny))


def _check_fixed(fixed: np.ndarray, n: int) -> np.ndarray:
    fixed = np.asarray(fixed)
    if fixed.dtype != bool or fixed.shape != (n,):
        raise InvalidAudioError(f"fixed must be a bool array of shape ({n},), got {fixed.dtype} {fixed.shape}")
    return fixed


def griffin_lim(
    magnitude: np.ndarray,
    *,
    init_phase: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
    n_iter: int = 64,
    momentum: float = FAST_GL_MOMENTUM,
    length: int | None = None,
    rng: np.random.Generator | int | None = 0,
) -> np.ndarray:
    """Waveform whose STFT magnitude approximates ``magnitude`` (fast Griffin-Lim).

    Each iteration projects onto consistent spectrograms (``stft(istft(.))``), then
    onto the target magnitude, then resets the ``fixed`` frames to their known complex
    values ``magnitude * exp(1j * init_phase)``; only the other frames are
    re-estimated. With ``momentum > 0`` the next estimate is extrapolated,
    ``t = c + momentum * (c - c_prev)`` (Perraudin et al. 2013); ``momentum = 0`` is
    the classic algorithm of Griffin & Lim (1984).

    Parameters
    ----------
    magnitude : array, shape ``(T, 321)``
        Target STFT magnitude (same scale as :func:`soundstage.dsp.spectral.stft`).
    init_phase : array, shape ``(T, 321)``, optional
        Starting phase in radians (for inpainting: the damaged signal's phase). Random
        phase (from ``rng``) when omitted.
    fixed : bool array, shape ``(T,)``, optional
        Frames whose complex values ``magnitude * exp(1j * init_phase)`` are kept at
        every iteration; needs ``init_phase``.
    n_iter : int
        Iterations (64 by default).
    momentum : float
        Fast Griffin-Lim momentum in [0, 1); default 0.99.
    length : int, optional
        Output length in samples; defaults to ``160 * (T - 1)``.
    rng : numpy Generator, int seed or None
        Source of the random starting phase.

    Returns
    -------
    array, float32, shape ``(length,)``
        The estimated waveform at 16 kHz.
    """
    mag = _check_frames(magnitude, N_BINS, "magnitude")
    if np.any(mag < 0):
        raise InvalidAudioError("magnitude must be non-negative")
    if int(n_iter) != n_iter or n_iter < 0:
        raise InvalidAudioError(f"n_iter must be a non-negative integer, got {n_iter!r}")
    if not 0.0 <= momentum < 1.0:
        raise InvalidAudioError(f"momentum must lie in [0, 1), got {momentum}")
    n = mag.shape[0]
    length = HOP * (n - 1) if length is None else int(length)
    if not HOP * (n - 1) <= length < HOP * n:
        raise InvalidAudioError(f"{n} frames fit {HOP * (n - 1)}..{HOP * n - 1} samples, got length={length}")
    if init_phase is None:
        if fixed is not None:
            raise InvalidAudioError("fixed frames need init_phase: their complex values are magnitude * exp(1j * init_phase)")
        phase = np.random.default_rng(rng).uniform(-np.pi, np.pi, mag.shape)
    else:
        phase = _check_frames(init_phase, N_BINS, "init_phase")
        if phase.shape != mag.shape:
            raise InvalidAudioError(f"init_phase has shape {phase.shape}; expected the magnitude's {mag.shape}")
    keep = np.zeros(n, bool) if fixed is None else _check_fixed(fixed, n)
    known = mag[keep] * np.exp(1j * phase[keep])
    current = mag * np.exp(1j * phase)
    estimate = current
    for _ in range(int(n_iter)):
        rebuilt = _spectrum(_waveform(estimate, length))
        size = np.abs(rebuilt)
        nxt = mag * np.where(size > 0, rebuilt / np.maximum(size, 1e-30), 1.0)  # exp(1j * angle), without the angle
        nxt[keep] = known
        estimate = nxt + momentum * (nxt - current)
        current = nxt
    return _waveform(current, length).astype(np.float32)
