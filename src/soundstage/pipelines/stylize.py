"""The ``stylize`` job: speech re-recorded in the scene of a reference clip (its room and its background).

The DSP method (``method="dsp"``), step by step:

1. **Reference analysis** (:func:`reference_profile`): the reference recording (an audio
   file, or a video's audio track) is analysed blindly
   (:func:`soundstage.acoustics.blind.blind_profile`): reverberation time per octave band
   (bands without a measurable decay take the nearest band's value), the DRR prior, the
   ambience and its speech-to-ambience ratio, and the integrated loudness (BS.1770).
2. **Dereverberation** of the input when it is not dry (``dereverb="auto"``: its own blind
   T60 above :data:`DRY_T60_S`; ``"on"`` always, ``"off"`` never): single-channel WPE
   (weighted prediction error, Nakatani et al. 2010; the ``nara_wpe`` implementation),
   which removes the late reverberation by delayed linear prediction in each STFT bin.
3. **Room**: an impulse response with the reference's T60 per band and DRR
   (:func:`soundstage.acoustics.from_profile.synthesize_from_spec`, direct sound at time
   zero so the output stays in sync with the input) convolved with the input. Its decay is
   then matched the way the ambience level is: the blind estimator is run on the
   output (reverberant input plus ambience, as the reference is reverberant speech plus
   ambience), and each band's T60 is scaled by what the reference measured over what the
   output measures (:data:`DECAY_STEPS` times). Blind estimates from running
   speech read short (speech rarely lets a decay run to the floor), and they read short on
   the output as on the reference; matching what is measured on both cancels that bias
   instead of applying it twice.
4. **Ambience** (unless ``ambience=False``): the reference's own background, looped from
   its pauses when they add up to a few seconds, otherwise noise shaped to its spectrum
   (:func:`soundstage.sources.ambience.resynthesize`), as long
   as the output, mixed so that the output's speech-to-ambience ratio, measured the same
   way as the reference's, equals the reference's (a few multiplicative corrections of
   the ambience gain).
5. **Loudness**: the mix is scaled to the reference's integrated loudness, and down
   further only if its peak would pass :data:`PEAK` (``gain_db`` then says so).

The learned method (``method="diffusion"``, :func:`learned_stylize`) generates the
output's log-mel with the diffusion stylizer of :mod:`soundstage.models.stylization`
conditioned on the reference's sound (and, for a video, its middle frame), then a
waveform by Griffin-Lim; it applies no explicit response.

``visual_only=True`` takes the room from a picture instead (an image, or the middle frame
of a video): the scene layer's physics response, as in ``soundstage speak``; no ambience,
and the input's loudness is kept.

Channels: the input and the reference are mixed down to mono (speech is a mono source;
the room response and the ambience here are mono); the result says when it happened.
The output is as long as the input, or longer by the response's tail with ``tail=True``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.acoustics.blind import blind_profile, blind_t60
from soundstage.acoustics.from_profile import PROFILE_BANDS, T30_RANGE, synthesize_from_spec
from soundstage.dsp.convolve import fft_convolve
from soundstage.dsp.loudness import active_power, integrated_loudness
from soundstage.errors import InvalidAudioError, SoundstageError
from soundstage.io.audio import as_2d, read_audio, write_audio
from soundstage.io.image import IMAGE_SUFFIXES
from soundstage.io.video import VIDEO_SUFFIXES

METHODS = ("dsp", "diffusion")
#: The learned method: DDIM steps, classifier-free guidance, reference length used (s), silence added by ``tail`` (s).
SAMPLE_STEPS: int = 25
GUIDANCE: float = 2.0
MAX_REFERENCE_S: float = 10.0
TAIL_S: float = 1.5
DEREVERB = ("auto", "on", "off")
#: An input whose blind T60 is above this (s) is dereverberated under ``dereverb="auto"``
#: (dry close-talk speech reads 0.10 to 0.21 s on the shared clean recordings).
DRY_T60_S: float = 0.3
#: Largest output peak; the mix is scaled down to it if needed.
PEAK: float = 0.99
#: Clipping: samples at or above this fraction of full scale in runs of at least CLIP_RUN equal samples...
CLIP_LEVEL: float = 0.98
CLIP_RUN: int = 3
#: ...making up more than this fraction of the input.
CLIP_FRACTION: float = 1e-3
#: WPE: prediction taps, delay (STFT frames), iterations, STFT size and shift at 16 kHz (scaled with the rate).
WPE_TAPS, WPE_DELAY, WPE_ITERATIONS = 40, 2, 3
WPE_STFT, WPE_SHIFT = 1024, 256
#: Multiplicative corrections of the ambience gain towards the reference's speech-to-ambience ratio.
AMBIENCE_STEPS: int = 4
#: Multiplicative corrections of the synthesized room's T60 per band towards the reference's blind T60;
#: the corrected T60 stays within a factor DECAY_LIMIT of the reference's reading either way.
DECAY_STEPS: int = 2
DECAY_LIMIT: float = 2.0


def clipped_fraction(x: np.ndarray) -> float:
    """Fraction of samples in flat runs (>= :data:`CLIP_RUN` equal samples) at >= :data:`CLIP_LEVEL` of full scale."""
    a = np.asarray(x, dtype=np.float64).ravel()
    hot = np.abs(a) >= CLIP_LEVEL
    if not hot.any():
        return 0.0
    same = np.concatenate([[False], a[1:] == a[:-1]])
    starts = hot & ~(same & np.concatenate([[False], hot[:-1]]))  # a new run begins where the value changes
    run_id = np.cumsum(starts)
    ids, counts = np.unique(run_id[hot], return_counts=True)
    return float(counts[counts >= CLIP_RUN].sum() / a.size)


def dereverberate(x: np.ndarray, sr: int) -> np.ndarray:
    """Single-channel WPE dereverberation of mono ``x`` (same length)."""
    from nara_wpe.utils import istft, stft
    from nara_wpe.wpe import wpe

    scale = max(1, int(round(sr / 16000)))
    size, shift = WPE_STFT * scale, WPE_SHIFT * scale
    a = np.asarray(x, dtype=np.float64)
    spec = stft(a[None], size=size, shift=shift)  # (1, frames, bins)
    out = wpe(spec.transpose(2, 0, 1), taps=WPE_TAPS, delay=WPE_DELAY, iterations=WPE_ITERATIONS, statistics_mode="full")
    y = istft(out.transpose(1, 2, 0), size=size, shift=shift)[0]
    return np.pad(y, (0, max(0, a.size - y.size)))[: a.size]


def _fill_bands(t60: dict[str, float]) -> dict[str, float]:
    """Per-band T60 with NaN bands filled from the nearest measured band (ties: the lower one)."""
    known = [(i, t60[str(fc)]) for i, fc in enumerate(PROFILE_BANDS) if math.isfinite(t60.get(str(fc), math.nan))]
    if not known:
        return {}
    return {str(fc): min(known, key=lambda k: (abs(k[0] - i), k[0]))[1] for i, fc in enumerate(PROFILE_BANDS)}


def reference_profile(x: np.ndarray, sr: int) -> dict[str, Any]:
    """Blind profile of a mono reference plus the ``spec`` the room is synthesized from and its ``loudness_lufs``.

    Raises :class:`InvalidAudioError` for a reference shorter than 1 s, silent, or with no
    measurable reverberant decay in any band.
    """
    profile = blind_profile(x, sr)
    t60 = {fc: (math.nan if b["t30"] is None else b["t30"]) for fc, b in profile["bands"].items()}
    bands = _fill_bands(t60)
    drr = profile["broadband"]["drr_db"]
    if not bands or drr is None:
        raise InvalidAudioError("the reference shows no free decay of sound in any band (no pauses between words, "
                                "or no speech); expected a recording of speech in the room with some pauses")
    profile["spec"] = {"t30": bands, "drr_db": float(drr), "direct_delay_s": 0.0}
    profile["loudness_lufs"] = _json_float(integrated_loudness(x, sr))
    return profile


def _json_float(v: float) -> float | None:
    return round(float(v), 2) if math.isfinite(v) else None


def _ambience_ratio(mix: np.ndarray, sr: int) -> float:
    from soundstage.acoustics.blind import ambience

    return ambience(mix, sr).speech_to_ambience_db


def add_ambience(wet: np.ndarray, noise: np.ndarray, sr: int, ratio_db: float) -> tuple[np.ndarray, float]:
    """``wet + g * noise`` with ``g`` set so that the mix's measured speech-to-ambience ratio is ``ratio_db``; and ``g``.

    The ratio is measured by :func:`soundstage.acoustics.blind.ambience`, as for the
    reference; ``g`` starts from the powers of the parts and is corrected
    :data:`AMBIENCE_STEPS` times by the measured error.
    """
    p_noise = float(np.mean(noise**2))
    if p_noise <= 0:
        raise InvalidAudioError("the ambience is digital silence")
    gain = math.sqrt(active_power(wet, sr) / 10 ** (ratio_db / 10) / p_noise)
    for _ in range(AMBIENCE_STEPS):
        got = _ambience_ratio(wet + gain * noise, sr)
        if not math.isfinite(got):
            break
        gain *= 10 ** (np.clip(got - ratio_db, -20, 20) / 20)
    return wet + gain * noise, gain


@dataclass
class Stylized:
    """The output signal of :func:`stylize_signal` and how it was made."""

    audio: np.ndarray
    sr: int
    #: The room response applied (None for the learned method, which has none).
    response: np.ndarray | None
    reference: dict[str, Any]
    dereverberated: bool
    input_t60_s: float
    ambience_gain: float | None
    gain_db: float
    notes: list[str] = field(default_factory=list)


def _mono(x: np.ndarray, what: str, notes: list[str]) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2:
        if a.shape[0] > 1:
            notes.append(f"{what} has {a.shape[0]} channels: mixed down to mono")
        a = a.mean(axis=0)
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
        raise InvalidAudioError(f"{what} must be finite mono (samples,) or (channels, samples) audio, got shape {np.shape(x)}")
    return a


def _check_input(x: np.ndarray, allow_clipped: bool) -> None:
    if not np.any(x):
        raise InvalidAudioError("the input is digital silence; expected speech to stylize")
    frac = clipped_fraction(x)
    if frac > CLIP_FRACTION and not allow_clipped:
        raise InvalidAudioError(
            f"the input is clipped: {100 * frac:.2f} % of its samples sit in flat runs at full scale "
            f"(more than {100 * CLIP_FRACTION:.1f} %); reverberation would smear the distortion. "
            "Give allow_clipped (--allow-clipped) to go on anyway")


def _prepare_input(x: np.ndarray, sr: int, dereverb: str, allow_clipped: bool, notes: list[str]
                   ) -> tuple[np.ndarray, bool, float]:
    if dereverb not in DEREVERB:
        raise SoundstageError(f"dereverb must be one of {DEREVERB}, got {dereverb!r}")
    _check_input(x, allow_clipped)
    t60 = blind_t60(x, sr)["broadband"] if x.size >= sr else math.nan
    wet = dereverb == "on" or (dereverb == "auto" and math.isfinite(t60) and t60 > DRY_T60_S)
    if wet:
        x = dereverberate(x, sr)
        notes.append(f"input dereverberated (WPE; its blind T60 was {t60:.2f} s)")
    return x, wet, t60


def _finish(y: np.ndarray, sr: int, target_lufs: float | None) -> tuple[np.ndarray, float]:
    """Scale to ``target_lufs`` (None: keep the level), then down to :data:`PEAK` if needed; and the gain (dB)."""
    gain_db = 0.0
    if target_lufs is not None:
        current = integrated_loudness(y, sr)
        if math.isfinite(current):
            gain_db = target_lufs - current
    peak = float(np.max(np.abs(y))) * 10 ** (gain_db / 20)
    if peak > PEAK:
        gain_db -= 20 * math.log10(peak / PEAK)
    return y * 10 ** (gain_db / 20), gain_db


def stylize_signal(x: np.ndarray, sr: int, reference: np.ndarray, *, ambience: bool = True, tail: bool = False,
                   dereverb: str = "auto", seed: int = 0, allow_clipped: bool = False,
                   response: np.ndarray | None = None, profile: dict[str, Any] | None = None) -> Stylized:
    """The DSP method on arrays: ``x`` re-recorded in the room and background of ``reference`` (both at ``sr``).

    Parameters
    ----------
    x : input speech, ``(samples,)`` or ``(channels, samples)`` (mixed down to mono).
    sr : sample rate of both signals (Hz, >= 8000).
    reference : a recording from the target scene, at least 1 s, with speech and pauses.
    ambience : add the reference's background.
    tail : keep the reverberation tail after the input's end (output longer than the input).
    dereverb : ``"auto"``, ``"on"`` or ``"off"`` (see the module doc).
    seed : seed of the response's noise and of the ambience loop.
    allow_clipped : go on with a clipped input instead of refusing it.
    response : a mono impulse response to use instead of the one synthesized from the
        reference's profile (e.g. a measured one); ambience and loudness still come from
        the reference.
    profile : the reference's :func:`reference_profile`, when already computed.
    """
    notes: list[str] = []
    a = _mono(x, "input", notes)
    ref = _mono(reference, "reference", notes)
    profile = reference_profile(ref, sr) if profile is None else profile
    a, wet_input, t60 = _prepare_input(a, sr, dereverb, allow_clipped, notes)
    if response is None:
        return _render_matched(a, sr, ref if ambience else None, profile, tail, seed, wet_input, t60, notes)
    h = _mono(response, "response", notes)
    return _render(a, sr, h, ref if ambience else None, profile, tail, seed, wet_input, t60, notes)


def _render_matched(a: np.ndarray, sr: int, ambience_from: np.ndarray | None, profile: dict[str, Any], tail: bool,
                   seed: int, wet_input: bool, t60: float, notes: list[str]) -> Stylized:
    """:func:`_render` with the room synthesized from ``profile["spec"]``, each band's T60 then scaled by
    (the reference's blind T60 / the output's blind T60), :data:`DECAY_STEPS` times, staying within a factor
    :data:`DECAY_LIMIT` of the reference's reading and in :data:`~soundstage.acoustics.from_profile.T30_RANGE`;
    bands that either side cannot measure keep their value. The output is measured whole (with its ambience),
    as the reference was."""
    spec = {**profile["spec"], "t30": dict(profile["spec"]["t30"])}
    target = {fc: b["t30"] for fc, b in profile["bands"].items()}
    for step in range(DECAY_STEPS + 1):
        h = synthesize_from_spec(spec, sr=sr, seed=seed).astype(np.float64)
        out = _render(a, sr, h, ambience_from, profile, tail, seed, wet_input, t60, list(notes))
        if step == DECAY_STEPS:
            break
        got = blind_t60(out.audio[: a.size], sr)
        ratios = {fc: target[fc] / got[fc] for fc in spec["t30"]
                  if target.get(fc) is not None and math.isfinite(got.get(fc, math.nan)) and got[fc] > 0}
        if not ratios:
            break
        for fc, r in ratios.items():
            start = profile["spec"]["t30"][fc]
            t = np.clip(spec["t30"][fc] * r, start / DECAY_LIMIT, start * DECAY_LIMIT)
            spec["t30"][fc] = float(np.clip(t, *T30_RANGE))
    out.notes.append("room T60 per band after matching the output's blind T60 to the reference's: "
                     + ", ".join(f"{fc} Hz {t:.2f} s" for fc, t in spec["t30"].items()))
    return out


def _render(a: np.ndarray, sr: int, h: np.ndarray, ambience_from: np.ndarray | None, profile: dict[str, Any],
            tail: bool, seed: int, wet_input: bool, t60: float, notes: list[str]) -> Stylized:
    y = fft_convolve(a[None], h[None])[0].astype(np.float64)
    if not tail:
        y = y[: a.size]
    gain = None
    if ambience_from is not None:
        from soundstage.sources.ambience import resynthesize

        noise, amb, how = resynthesize(ambience_from, sr, y.size, seed=seed)
        if math.isfinite(amb.speech_to_ambience_db):
            y, gain = add_ambience(y, noise, sr, amb.speech_to_ambience_db)
            notes.append(f"ambience: {how} from the reference's {amb.source} ({amb.seconds:.1f} s of ambience only)")
        else:
            notes.append("the reference's speech-to-ambience ratio could not be measured: no ambience added")
    target = profile.get("loudness_lufs")
    y, gain_db = _finish(y, sr, target)
    return Stylized(y.astype(np.float32), sr, h, profile, wet_input, t60, gain, gain_db, notes)


@lru_cache(maxsize=2)
def _stylizer(checkpoint: str) -> tuple[Any, dict[str, Any]]:
    from soundstage.models.stylization import load_stylizer

    return load_stylizer(checkpoint)


def learned_stylize(x: np.ndarray, sr: int, reference: np.ndarray, *, checkpoint: str | Path,
                    image: np.ndarray | None = None, tail: bool = False, dereverb: str = "auto", seed: int = 0,
                    allow_clipped: bool = False, steps: int = SAMPLE_STEPS, guidance: float = GUIDANCE,
                    profile: dict[str, Any] | None = None) -> Stylized:
    """The learned method: the diffusion stylizer of ``checkpoint`` (:mod:`soundstage.models.stylization`).

    Input and reference are taken to 16 kHz and to the model's speech level; the model
    generates the input's log-mel as heard in the reference's scene (``image``, a uint8
    RGB frame of it, when there is one), DDIM with ``steps`` steps and guidance
    ``guidance``; the waveform comes from that log-mel (non-negative least-squares
    magnitude, then Griffin-Lim started from the input's phase), back at ``sr`` and at the
    reference's loudness. ``tail`` appends :data:`TAIL_S` of silence to the input first.
    """
    import torch

    from soundstage.dsp.resample import resample
    from soundstage.dsp.spectral import stft
    from soundstage.models.stylization import SPEECH_LEVEL, prepare_image, sample
    from soundstage.speech.features import HOP, N_FFT, SR, griffin_lim, log_mel, mel_to_magnitude

    notes: list[str] = []
    a = _mono(x, "input", notes)
    ref = _mono(reference, "reference", notes)
    profile = reference_profile(ref, sr) if profile is None else profile
    a, wet_input, t60 = _prepare_input(a, sr, dereverb, allow_clipped, notes)
    n_out = a.size + (int(round(TAIL_S * sr)) if tail else 0)
    a16, ref16 = ((v if sr == SR else resample(v, sr_in=sr, sr_out=SR)) for v in (np.pad(a, (0, n_out - a.size)), ref))
    ref16 = ref16[: int(MAX_REFERENCE_S * SR)]
    a16, ref16 = (v * SPEECH_LEVEL / math.sqrt(max(active_power(v, SR), 1e-20)) for v in (a16, ref16))
    model, doc = _stylizer(str(checkpoint))
    mean, std = doc["stats"]["mean"], doc["stats"]["std"]
    dry = torch.from_numpy((log_mel(a16) - mean) / std)[None]
    clip = torch.from_numpy((log_mel(ref16) - mean) / std)[None]
    frame = prepare_image(image) if image is not None and model.config.image else None
    out = sample(model, dry, clip, image=frame, steps=steps, guidance=guidance, seed=seed)[0].numpy() * std + mean
    phase = np.angle(stft(a16, n_fft=N_FFT, hop=HOP)).T
    y = griffin_lim(mel_to_magnitude(out), init_phase=phase, length=a16.size, rng=seed)
    y = (y if sr == SR else resample(y, sr_in=SR, sr_out=sr))[:n_out]
    y = np.pad(y, (0, n_out - y.size))
    y, gain_db = _finish(y, sr, profile.get("loudness_lufs"))
    notes.append(f"learned stylizer ({steps} DDIM steps, guidance {guidance:g}" + (", with the scene's picture)"
                                                                                  if frame is not None else ")"))
    return Stylized(y.astype(np.float32), sr, None, profile, wet_input, t60, None, gain_db, notes)


def reference_kind(path: str | Path) -> str:
    """``"image"``, ``"video"`` or ``"audio"`` from a reference file's suffix."""
    suffix = Path(path).suffix.lower()
    return "image" if suffix in IMAGE_SUFFIXES else "video" if suffix in VIDEO_SUFFIXES else "audio"


def _reference_audio(path: Path, kind: str, sr: int) -> np.ndarray:
    if kind == "image":
        raise InvalidAudioError(f"reference '{path}' is a picture: it has no sound to analyse; "
                                "use visual_only (--visual-only) to take the room from the picture")
    if kind == "video":
        from soundstage.errors import FileFormatError
        from soundstage.io.video import read_video_audio

        try:
            track, track_sr = read_video_audio(path)
        except FileFormatError as exc:
            raise InvalidAudioError(f"reference video '{path}' has no usable audio track ({exc}); "
                                    "use visual_only (--visual-only) to take the room from its frames") from exc
        from soundstage.dsp.resample import resample

        mono = as_2d(track).astype(np.float64).mean(axis=0)
        return resample(mono, sr_in=track_sr, sr_out=sr) if track_sr != sr else mono
    signal, _ = read_audio(path, sr=sr)
    return as_2d(signal).astype(np.float64).mean(axis=0)


def _picture(path: Path, kind: str) -> np.ndarray:
    if kind == "image":
        from soundstage.io.image import read_image

        return read_image(path)
    from soundstage.io.video import read_video

    video = read_video(path, with_audio=False)
    if len(video.frames) == 0:
        raise SoundstageError(f"reference video '{path}' has no frames")
    return np.asarray(video.frames[len(video.frames) // 2])


def _visual_response(rgb: np.ndarray, sr: int, depth: str | Path | None, intrinsics: str | None,
                     depth_scale: float | None, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
    """The scene layer's mono physics response for a picture, and a profile dict describing it."""
    from soundstage.acoustics.analysis import analyze
    from soundstage.acoustics.rir import synthesize_rir
    from soundstage.io.depth import read_depth
    from soundstage.scene.camera import parse_intrinsics
    from soundstage.scene.scene import analyze_scene

    depth_m = None if depth is None else read_depth(depth, depth_scale=depth_scale, image_shape=rgb.shape)
    intr = parse_intrinsics(intrinsics, rgb.shape[1], rgb.shape[0]) if isinstance(intrinsics, str) else intrinsics
    scene = analyze_scene(rgb, depth_m, intr, seed=seed)
    h = synthesize_rir(scene.room(), scene.speaker, scene.listener, sr=sr, seed=seed).data[0].astype(np.float64)
    measured = analyze(h, sr)
    profile = {"sr": sr, "method": "visual", "caption": scene.summary()["caption"],
               "broadband": {k: _json_float(measured.broadband[k]) for k in ("t30", "drr_db")},
               "bands": {str(fc): {"t30": _json_float(measured.bands[fc]["t30"])} for fc in PROFILE_BANDS}}
    return h, profile


@dataclass
class StylizeResult:
    """What :func:`stylize` wrote and the reference profile it used."""

    path: Path
    sr: int
    duration: float
    method: str
    reference_kind: str
    stylized: Stylized
    files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        s = self.stylized
        return {"path": str(self.path), "sr": self.sr, "duration_s": round(self.duration, 3), "method": self.method,
                "reference_kind": self.reference_kind, "reference": s.reference,
                "input_blind_t60_s": _json_float(s.input_t60_s), "dereverberated": s.dereverberated,
                "ambience_gain": None if s.ambience_gain is None else float(s.ambience_gain),
                "gain_db": round(s.gain_db, 2), "notes": s.notes, "files": self.files}


def stylize(
    input: str | Path,
    reference: str | Path,
    output: str | Path,
    *,
    method: str = "dsp",
    ambience: bool = True,
    tail: bool = False,
    dereverb: str = "auto",
    visual_only: bool = False,
    depth: str | Path | None = None,
    intrinsics: str | None = None,
    depth_scale: float | None = None,
    allow_clipped: bool = False,
    seed: int = 0,
    plot: str | Path | None = None,
    checkpoint: str | Path | None = None,
) -> StylizeResult:
    """Re-record the speech in ``input`` in the scene of ``reference`` and write ``output`` (see the module doc).

    ``reference`` is an audio file, a video (its audio track; its middle frame with
    ``visual_only``, and for the learned method) or a picture (needs ``visual_only``;
    ``depth``, ``intrinsics`` and ``depth_scale`` as in ``speak``). ``method="diffusion"``
    runs the learned stylizer of ``checkpoint`` (none is shipped yet: train one with
    ``recipes/stylize/train.py``). ``plot`` gets spectrograms of the reference, the input
    and the output. The output has the input's sample rate.
    """
    from soundstage.pipelines.room import check_plot_path

    if method not in METHODS:
        raise SoundstageError(f"unknown method {method!r}; expected one of {METHODS}")
    if method == "diffusion" and (checkpoint is None or visual_only):
        raise SoundstageError("the diffusion method needs a stylizer checkpoint (--checkpoint; none is shipped yet: "
                              "train one with recipes/stylize/train.py) and a reference with sound (not --visual-only)")
    check_plot_path(plot)
    kind = reference_kind(reference)
    signal, sr = read_audio(input)
    notes: list[str] = []
    x = _mono(signal, "input", notes)
    if visual_only:
        if kind == "audio":
            raise SoundstageError(f"visual_only needs a picture or a video as the reference, got '{reference}'")
        h, profile = _visual_response(_picture(Path(reference), kind), sr, depth, intrinsics, depth_scale, seed)
        x, wet_input, t60 = _prepare_input(x, sr, dereverb, allow_clipped, notes)
        profile["loudness_lufs"] = None
        result = _render(x, sr, h, None, profile, tail, seed, wet_input, t60, notes)
        ref_audio = None
    else:
        ref_audio = _reference_audio(Path(reference), kind, sr)
        if method == "diffusion":
            frame = _picture(Path(reference), kind) if kind == "video" else None
            result = learned_stylize(x, sr, ref_audio, checkpoint=checkpoint, image=frame, tail=tail,
                                     dereverb=dereverb, seed=seed, allow_clipped=allow_clipped)
        else:
            result = stylize_signal(x, sr, ref_audio, ambience=ambience, tail=tail, dereverb=dereverb, seed=seed,
                                    allow_clipped=allow_clipped)
        result.notes[:0] = notes
    inputs = [input, reference] + ([depth] if depth is not None else [])
    path = write_audio(output, result.audio, sr, inputs=inputs)
    files = [str(path)]
    if plot is not None:
        from soundstage.plots import plot_spectrograms

        signals = ([ref_audio] if ref_audio is not None else []) + [x, result.audio]
        titles = (["reference"] if ref_audio is not None else []) + ["input", "stylized output"]
        files.append(str(plot_spectrograms(signals, sr, plot, titles=titles, inputs=inputs)))
    return StylizeResult(Path(path), sr, result.audio.size / sr, method, kind, result, files)
