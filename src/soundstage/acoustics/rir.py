"""Room impulse response synthesis: exact early reflections plus a matched diffuse tail.

The early part comes from the image-source model up to a crossover time chosen so that
enough images (by default 600) arrive before it; each image is rendered per octave band
with a fractional-delay kernel and the band filter of its reflection gains. After the
crossover a seeded noise tail takes over whose per-band decay follows the room's
reverberation time (Eyring by default) and whose per-band energy equals the image
sources' energy in the window before the crossover; an energy-preserving cross-fade
joins the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy import fft as sfft
from tqdm.auto import tqdm

from soundstage.acoustics.directivity import Directivity
from soundstage.acoustics.image_source import ImageSources, image_sources
from soundstage.acoustics.late_reverb import diffuse_tail, matched_band_amplitudes
from soundstage.acoustics.receiver import Omni, Receiver
from soundstage.acoustics.room import Enclosure
from soundstage.constants import DEFAULT_SR, SPEED_OF_SOUND
from soundstage.dsp.convolve import fft_convolve
from soundstage.dsp.delay import HALF_TAPS, render_impulses
from soundstage.dsp.filterbank import band_power_fractions, band_split, high_pass
from soundstage.errors import InvalidAudioError

#: Images expected before the crossover: enough for a stable energy match.
DEFAULT_CROSSOVER_IMAGES = 600
#: Corner of the DC-blocking high-pass on the whole response (a real source radiates no DC), Hz.
HIGH_PASS_HZ = 20.0
#: Cross-fade length between the early part and the tail, seconds.
CROSSFADE = 0.005
#: FFT length of the diffuse-field mixing filters (frequency-dependent receivers).
DIFFUSE_FFT = 512


@dataclass
class ImpulseResponse:
    """Impulse response(s): ``data`` shape ``(channels, samples)``, float32, at ``sr`` Hz.

    ``layout`` names the channel meaning (``mono``, ``binaural``, ``foa``, ``5.1`` ...).
    """

    data: np.ndarray
    sr: int
    layout: str = "mono"
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.data.shape[-1] / self.sr


def crossover_time(room: Enclosure, distance: float, *, n_images: int = DEFAULT_CROSSOVER_IMAGES) -> float:
    """Time (s) by which about ``n_images`` image sources have arrived.

    Images fill space at one per room volume (exactly for a shoebox, on average for a
    convex room), so about ``4 pi R^3 / (3 V)`` lie within radius ``R``. The result is
    at least 50 ms after the direct sound.
    """
    radius = (3.0 * room.volume * n_images / (4.0 * np.pi)) ** (1.0 / 3.0)
    return max(radius, distance + 10 * CROSSFADE * SPEED_OF_SOUND) / SPEED_OF_SOUND


def default_duration(room: Enclosure, *, formula: str = "eyring") -> float:
    """1.1 x the longest band reverberation time (a 66 dB decay), at most 20 s."""
    rt60 = room.rt60(formula=formula)
    return min(1.1 * float(np.max(rt60[np.isfinite(rt60)], initial=0.0)), 20.0)


def synthesize_rir(
    room: Enclosure,
    source: Sequence[float],
    listener: Sequence[float],
    *,
    sr: int = DEFAULT_SR,
    duration: float | None = None,
    crossover: float | None = None,
    formula: str = "eyring",
    seed: int | None = 0,
    source_directivity: Directivity | None = None,
    receiver_directivity: Directivity | None = None,
    receiver: Receiver | None = None,
    direct: bool = True,
    reflections: bool = True,
    tail: bool = True,
) -> ImpulseResponse:
    """Synthesize the impulse response from ``source`` to ``listener`` in ``room``.

    Parameters
    ----------
    room : Room or ConvexRoom
    source, listener : positions (x, y, z) in metres, strictly inside the room.
    sr : sample rate in Hz.
    duration : length in seconds; default 1.1 x the longest band RT60 (at most 20 s),
        enough for a 60 dB decay.
    crossover : end of the image-source part in seconds; default from :func:`crossover_time`.
    formula : ``eyring`` or ``sabine``, the tail's per-band reverberation time.
    seed : seed of the tail's noise; ``None`` draws fresh randomness.
    source_directivity, receiver_directivity : optional gain patterns (see ``directivity``).
    receiver : how the listener hears each direction (:class:`~soundstage.acoustics.receiver.Receiver`:
        binaural head, ambisonic microphone, loudspeaker rig); default one omnidirectional
        microphone. Each image source is rendered through the receiver's response for its own
        direction of arrival; the diffuse tail gets the powers and inter-channel coherence of
        a diffuse field at the receiver.
    direct, reflections, tail : which parts to include: the direct sound, the image-source
        reflections before the crossover, the diffuse tail after it (all by default). The
        parts always fit together: the tail's level is matched to all the images.

    Returns
    -------
    ImpulseResponse
        Shape ``(receiver.channels, samples)``, layout ``receiver.layout``; with the default
        receiver the direct sound of a unit source arrives at ``distance / 343`` s with
        amplitude ``1 / (4 pi distance)`` (less air absorption).
    """
    if not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise InvalidAudioError(f"sample rate must be a positive integer in Hz, got {sr!r}")
    src = room.check_inside(source, name="source")
    lst = room.check_inside(listener, name="listener")
    distance = float(np.linalg.norm(src - lst))
    rt60 = room.rt60(formula=formula)
    t_c = crossover if crossover is not None else crossover_time(room, distance)
    duration = max(default_duration(room, formula=formula) if duration is None else duration, t_c + 4 * CROSSFADE)
    length = int(np.ceil(duration * sr))
    images = image_sources(
        room, src, lst, max_time=t_c + CROSSFADE / 2,
        source_directivity=source_directivity, receiver_directivity=receiver_directivity,
    )
    if images.complete_s < t_c + CROSSFADE / 2:  # the image search stopped early: hand over sooner
        t_c = max(images.complete_s - CROSSFADE / 2, distance / SPEED_OF_SOUND + CROSSFADE)
    receiver = Omni() if receiver is None else receiver
    keep = (images.orders == 0) & direct | (images.orders > 0) & reflections
    early, early_energy, window = _render_early(images, lst, receiver, keep, sr=sr, length=length, crossover=t_c,
                                                energy=tail)
    response = early
    if tail:
        power = band_power_fractions(sr, high_pass_cutoff=HIGH_PASS_HZ)
        amplitudes = matched_band_amplitudes(early_energy, rt60, sr=sr, window=window, band_power=power)
        rng = np.random.default_rng(seed)
        late = diffuse_tail(amplitudes, rt60, sr=sr, length=length, fade=_fade_in(length, sr, t_c), rng=rng,
                            channels=receiver.channels, high_pass_cutoff=HIGH_PASS_HZ)
        response = early + _diffuse_mix(late, receiver, sr)
    meta = {
        "room": type(room).__name__, "volume_m3": room.volume, "source": src.tolist(), "listener": lst.tolist(),
        "distance_m": distance, "crossover_s": t_c, "n_images": len(images), "rt60_design": rt60.tolist(),
        "formula": formula, "seed": seed, "parts": {"direct": direct, "reflections": reflections, "tail": tail},
    }
    return ImpulseResponse(response.astype(np.float32), int(sr), receiver.layout, meta)


def synthesize_rirs(
    room: Enclosure,
    sources: np.ndarray,
    listeners: np.ndarray,
    *,
    sr: int = DEFAULT_SR,
    duration: float | None = None,
    seed: int = 0,
    progress: bool | None = None,
    **options: Any,
) -> ImpulseResponse:
    """Mono impulse responses for many source/listener pairs, shape ``(n_pairs, samples)``.

    ``sources`` and ``listeners`` are ``(n_pairs, 3)`` arrays (or one of them ``(3,)``,
    shared by every pair). Pair ``i`` uses tail seed ``seed + i``, so it equals
    ``synthesize_rir(..., seed=seed + i)``. All pairs share one length.
    """
    src = np.atleast_2d(np.asarray(sources, dtype=float))
    lst = np.atleast_2d(np.asarray(listeners, dtype=float))
    src, lst = np.broadcast_arrays(src, lst)
    if duration is None:
        duration = default_duration(room, formula=options.get("formula", "eyring"))
    rows = []
    show = len(src) > 16 if progress is None else progress
    for i in tqdm(range(len(src)), desc="impulse responses", disable=not show):
        rows.append(synthesize_rir(room, src[i], lst[i], sr=sr, duration=duration, seed=seed + i, **options).data[0])
    length = max(r.size for r in rows)
    data = np.stack([np.pad(r, (0, length - r.size)) for r in rows])
    return ImpulseResponse(data, int(sr), "mono", {"room": type(room).__name__, "pairs": len(rows), "seed": seed})


def _crossfade_position(length: int, sr: int, crossover: float) -> np.ndarray:
    """0 before the cross-fade, rising linearly to 1 across it (only the ramp is computed)."""
    start = max(0, min(length, int(np.floor((crossover - CROSSFADE / 2) * sr))))
    stop = max(start, min(length, int(np.ceil((crossover + CROSSFADE / 2) * sr)) + 1))
    x = np.zeros(length)
    x[start:stop] = np.clip((np.arange(start, stop) / sr - (crossover - CROSSFADE / 2)) / CROSSFADE, 0.0, 1.0)
    x[stop:] = 1.0
    return x


def _fade_in(length: int, sr: int, crossover: float) -> np.ndarray:
    return np.sin(0.5 * np.pi * _crossfade_position(length, sr, crossover))


def _fade_out(length: int, sr: int, crossover: float) -> np.ndarray:
    return np.cos(0.5 * np.pi * _crossfade_position(length, sr, crossover))


def _render_early(
    images: ImageSources,
    listener: np.ndarray,
    receiver: Receiver,
    keep: np.ndarray,
    *,
    sr: int,
    length: int,
    crossover: float,
    energy: bool = True,
) -> tuple[np.ndarray, np.ndarray | None, tuple[float, float]]:
    """Early response of the images in ``keep`` ``(channels, samples)``, the omnidirectional per-band
    energy of all images in the matching window (when ``energy``), and the window (s).

    The early part ends at the crossover, so it is rendered on a buffer that stops just
    after it. The energy is measured on each band's own rendered signal (after the
    DC-blocking high-pass), because low-frequency images add up coherently rather than
    in energy; it is the pressure (omnidirectional) energy, which sets the level of the
    diffuse tail whatever the receiver.
    """
    # The margin holds the kernels and the band filters' ringing after the fade-out.
    short = min(length, int(np.ceil((crossover + CROSSFADE + 0.02) * sr)) + HALF_TAPS)
    fade = _fade_out(short, sr, crossover)
    window = (max(crossover / 2, images.delays[0] + CROSSFADE), crossover - CROSSFADE / 2)
    span = slice(int(round(window[0] * sr)), int(round(window[1] * sr)))
    omni_only = isinstance(receiver, Omni) and np.all(keep)
    omni = None
    if energy or omni_only:
        omni = _band_limited(render_impulses(images.delays * sr, images.gains, short), sr, fade)
    delays, gains = images.delays[keep], images.gains[keep]
    if omni_only:
        bands = omni[:, None]
    elif not np.any(keep):
        bands = np.zeros((1, receiver.channels, short))
    else:
        directions = images.positions[keep] - listener
        bands = _band_limited(_directional_trains(delays, gains, directions, receiver, sr, short), sr, fade)
    early = np.zeros((receiver.channels, length))
    early[:, :short] = bands.sum(axis=0)
    return early, None if omni is None else (omni[:, span] ** 2).sum(axis=1), window


def _band_limited(trains: np.ndarray, sr: int, fade: np.ndarray) -> np.ndarray:
    """Per-band impulse trains ``(bands, ..., samples)``: DC-blocked, faded out, each band-filtered."""
    # DC-block before fading out, so the fade cuts no low-frequency build-up.
    return band_split(high_pass(trains, sr, cutoff=HIGH_PASS_HZ) * fade, sr)


def _directional_trains(
    delays: np.ndarray, gains: np.ndarray, directions: np.ndarray, receiver: Receiver, sr: int, length: int
) -> np.ndarray:
    """Impulse trains ``(bands, channels, length)``: each arrival through the receiver's response for its direction."""
    filters, offsets = receiver.response(directions, sr)
    n, channels, taps = filters.shape
    if taps == 1 and not np.any(offsets):
        amplitudes = gains[:, :, None] * filters[:, None, :, 0]
        return render_impulses(delays * sr, amplitudes.reshape(n, -1), length).reshape(gains.shape[1], channels, length)
    return np.stack(
        [render_impulses(delays * sr + offsets[:, c], gains, length, filters=filters[:, c]) for c in range(channels)],
        axis=1,
    )


def _diffuse_mix(tail: np.ndarray, receiver: Receiver, sr: int) -> np.ndarray:
    """Independent noise tails ``(channels, samples)`` mixed to the receiver's diffuse-field coherence."""
    if isinstance(receiver, Omni):
        return tail
    if receiver.frequency_independent:
        return receiver.diffuse_mixing(sr, DIFFUSE_FFT)[0].real @ tail
    # Zero-phase mixing filters, centred in their window; the centring delay is removed after filtering.
    mixing = sfft.irfft(receiver.diffuse_mixing(sr, DIFFUSE_FFT), DIFFUSE_FFT, axis=0)
    mixing = np.roll(mixing, DIFFUSE_FFT // 2, axis=0) * np.hanning(DIFFUSE_FFT + 1)[:-1, None, None]
    out = np.zeros_like(tail)
    half = DIFFUSE_FFT // 2
    for c in range(receiver.channels):
        for j in range(receiver.channels):
            out[c] += fft_convolve(tail[j], mixing[:, c, j])[half : half + tail.shape[1]]
    return out
