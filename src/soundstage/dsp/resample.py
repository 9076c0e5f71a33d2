"""Sample-rate conversion with libsoxr.

soxr's band-limited resampler keeps the pass band flat up to about 91 % of the lower
Nyquist frequency ("VHQ": 175 dB stop-band rejection), so a tone keeps its frequency
and level, and the output length is ``round(n * sr_out / sr_in)`` samples.
"""

from __future__ import annotations

import numpy as np
import soxr

from soundstage.errors import InvalidAudioError

#: Quality presets understood by soxr, from fastest to most accurate.
QUALITIES: tuple[str, ...] = ("QQ", "LQ", "MQ", "HQ", "VHQ")


def _check_rate(value: float, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite positive rate."""
    if isinstance(value, bool) or not np.isscalar(value):
        raise InvalidAudioError(f"{name} must be a positive number of Hz, found {value!r}")
    rate = float(value)
    if not np.isfinite(rate) or rate <= 0:
        raise InvalidAudioError(f"{name} must be a positive number of Hz, found {value!r}")
    return rate


def resample(
    signal: np.ndarray,
    *,
    sr_in: float,
    sr_out: float,
    quality: str = "VHQ",
) -> np.ndarray:
    """Resample audio from ``sr_in`` to ``sr_out``.

    Parameters
    ----------
    signal
        Audio shaped ``(samples,)`` or ``(channels, samples)``.
    sr_in, sr_out
        Input and output sample rates (Hz).
    quality
        One of :data:`QUALITIES`; ``"VHQ"`` is the most accurate.

    Returns
    -------
    np.ndarray
        float32 audio with the same number of dimensions (and channels) as
        ``signal`` and about ``samples * sr_out / sr_in`` samples. When the
        rates are equal, a float32 copy of ``signal``.

    Raises
    ------
    InvalidAudioError
        For a rate that is not a positive number, an unknown quality, or a
        signal that is neither 1-D nor 2-D.
    """
    rate_in = _check_rate(sr_in, "sr_in")
    rate_out = _check_rate(sr_out, "sr_out")
    if quality not in QUALITIES:
        raise InvalidAudioError(f"quality must be one of {QUALITIES}, found {quality!r}")
    x = np.asarray(signal)
    if x.ndim not in (1, 2) or (x.ndim == 2 and x.shape[0] == 0):
        raise InvalidAudioError(
            "expected audio shaped (samples,) or (channels, samples) with at least one "
            f"channel, found shape {x.shape}"
        )
    x = x.astype(np.float32, copy=False)
    if rate_in == rate_out:
        return x.copy()
    if x.shape[-1] == 0:
        return np.zeros(x.shape, dtype=np.float32)
    if x.ndim == 1:
        return np.asarray(soxr.resample(x, rate_in, rate_out, quality), dtype=np.float32)
    frames_first = np.ascontiguousarray(x.T)
    out = soxr.resample(frames_first, rate_in, rate_out, quality)
    return np.ascontiguousarray(np.asarray(out, dtype=np.float32).T)
