"""Fast convolution of long multichannel signals with impulse responses.

The longer input is cut into blocks and convolved with the shorter one by FFT
(overlap-add), so working memory stays at a few blocks however long the signal is:
a 10-minute 48 kHz recording with a 3 s impulse response needs the output buffer
plus a few megabytes per channel.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft

from soundstage.errors import InvalidAudioError

#: Smallest FFT length used for a block.
MIN_FFT = 4096
#: The FFT length is about this many times the length of the shorter input.
FFT_TO_KERNEL = 8
#: Largest FFT length used for a block (bounds per-block memory).
MAX_FFT = 1 << 21

MODES = ("full", "same")


def _as_channels(x: np.ndarray, name: str) -> np.ndarray:
    """Validate ``x`` and return it as a ``(channels, samples)`` view."""
    x = np.asarray(x)
    if x.ndim not in (1, 2):
        raise InvalidAudioError(f"fft_convolve {name} has shape {x.shape}; expected (samples,) or (channels, samples)")
    if x.shape[-1] == 0 or x.size == 0:
        raise InvalidAudioError(f"fft_convolve {name} is empty (shape {x.shape}); expected at least one sample")
    if np.iscomplexobj(x):
        raise InvalidAudioError(f"fft_convolve {name} is complex ({x.dtype}); expected real audio")
    if not np.all(np.isfinite(x)):
        raise InvalidAudioError(f"fft_convolve {name} contains NaN or infinite values; expected finite audio")
    return np.atleast_2d(x)


def _block_fft_size(kernel_len: int, long_len: int) -> int:
    """FFT length for overlap-add: several kernel lengths, but no longer than needed."""
    whole = sfft.next_fast_len(long_len + kernel_len - 1, real=True)
    target = max(MIN_FFT, min(FFT_TO_KERNEL * kernel_len, MAX_FFT), 2 * kernel_len)
    return min(whole, sfft.next_fast_len(target, real=True))


def _overlap_add(long: np.ndarray, short: np.ndarray, out: np.ndarray) -> None:
    """Add the convolution ``long * short`` (channels broadcast) into ``out`` ``(C, L)``, cut at ``L``."""
    m = short.shape[-1]
    nfft = _block_fft_size(m, long.shape[-1])
    step = nfft - m + 1
    kernel = sfft.rfft(short.astype(np.float64), n=nfft, axis=-1)
    out_len = out.shape[-1]
    for start in range(0, min(long.shape[-1], out_len), step):
        block = long[:, start : start + step].astype(np.float64)
        piece = sfft.irfft(sfft.rfft(block, n=nfft, axis=-1) * kernel, n=nfft, axis=-1)
        stop = min(start + block.shape[-1] + m - 1, out_len)
        out[:, start:stop] += piece[:, : stop - start].astype(out.dtype)


def fft_convolve(signal: np.ndarray, ir: np.ndarray, *, mode: str = "full") -> np.ndarray:
    """Convolve signal(s) with impulse response(s) by block FFT (overlap-add).

    Parameters
    ----------
    signal : array, shape ``(N,)`` or ``(C, N)``
        Input audio.
    ir : array, shape ``(M,)``, ``(C, M)`` or ``(1, M)``
        Impulse response(s) at the same sample rate. A single-channel input on either
        side is broadcast over the channels of the other, so mono speech convolved
        with a binaural ``(2, M)`` response gives ``(2, N + M - 1)``.
    mode : {"full", "same"}
        ``"full"``: all ``N + M - 1`` output samples. ``"same"``: the first ``N``
        samples, i.e. a causal trim that keeps the signal aligned with its input
        and drops the reverberant tail past the end. This differs from
        ``numpy.convolve(mode="same")``, which centres the window.

    Returns
    -------
    array, float32, shape ``(N + M - 1,)`` / ``(N,)`` for 1-D inputs, else ``(C, ...)``
        One-dimensional only when both inputs are one-dimensional.
    """
    if mode not in MODES:
        raise InvalidAudioError(f"fft_convolve mode must be one of {MODES}, got {mode!r}")
    sig = _as_channels(signal, "signal")
    kern = _as_channels(ir, "ir")
    c_sig, c_ir = sig.shape[0], kern.shape[0]
    if c_sig != c_ir and 1 not in (c_sig, c_ir):
        raise InvalidAudioError(
            f"fft_convolve cannot pair a {c_sig}-channel signal with a {c_ir}-channel ir; "
            "expected equal channel counts or one of them mono"
        )
    n, m = sig.shape[-1], kern.shape[-1]
    out_len = n + m - 1 if mode == "full" else n
    out = np.zeros((max(c_sig, c_ir), out_len), dtype=np.float32)
    long, short = (sig, kern) if n >= m else (kern, sig)
    _overlap_add(long, short, out)
    if np.ndim(signal) == 1 and np.ndim(ir) == 1:
        return out[0]
    return out


def convolve_sum(signals: list[np.ndarray], irs: list[np.ndarray]) -> np.ndarray:
    """``sum_s signals[s] * irs[s]``: many sources, each through its own multichannel response.

    The mix of a scene: source ``s`` (mono, ``(N_s,)``) is convolved with its response
    ``(C, M_s)`` and the results are summed. Block overlap-add in single precision where
    the sum is taken in the frequency domain, so each signal block is transformed once
    (not once per output channel) and each output block is transformed back once (not
    once per source): ``S + C`` transforms per block instead of ``2 S C``.

    Returns
    -------
    array, float32, shape ``(C, max_s(N_s + M_s - 1))``
    """
    if len(signals) != len(irs) or not signals:
        raise InvalidAudioError(
            f"convolve_sum got {len(signals)} signals and {len(irs)} responses; expected the same number, at least one"
        )
    sigs = [_as_channels(s, f"signal {i}") for i, s in enumerate(signals)]
    kerns = [_as_channels(h, f"ir {i}") for i, h in enumerate(irs)]
    if any(s.shape[0] != 1 for s in sigs) or len({k.shape[0] for k in kerns}) != 1:
        raise InvalidAudioError("convolve_sum needs mono signals and responses with one channel count")
    channels = kerns[0].shape[0]
    m = max(k.shape[1] for k in kerns)
    n = max(s.shape[1] for s in sigs)
    out_len = max(s.shape[1] + k.shape[1] - 1 for s, k in zip(sigs, kerns))
    # Block length ~4 x the longest response balances response transforms against block transforms.
    nfft = min(sfft.next_fast_len(n + m - 1, real=True), sfft.next_fast_len(max(MIN_FFT, 4 * m), real=True))
    step = nfft - m + 1
    kernels = np.zeros((len(kerns), channels, m), dtype=np.float32)
    for row, k in zip(kernels, kerns):
        row[:, : k.shape[1]] = k
    spectra = sfft.rfft(kernels, n=nfft, axis=-1)  # (S, C, F): one batched transform
    out = np.zeros((channels, out_len + nfft), dtype=np.float32)
    for start in range(0, n, step):
        blocks = np.zeros((len(sigs), step), dtype=np.float32)
        for row, sig in zip(blocks, sigs):
            piece = sig[0, start : start + step]
            row[: piece.size] = piece
        block_spectra = sfft.rfft(blocks, n=nfft, axis=-1)
        acc = block_spectra[0] * spectra[0]
        for s_spec, k_spec in zip(block_spectra[1:], spectra[1:]):
            acc += s_spec * k_spec
        out[:, start : start + nfft] += sfft.irfft(acc, n=nfft, axis=-1)
    return out[:, :out_len]
