"""The ``speak`` job: text (or a dry recording) + a room picture -> speech as heard in that room.

Two models of the room (``model``):

* ``"physics"`` (default, zero-shot): image (+ depth) -> :class:`~soundstage.scene.scene.Scene`
  (room box, surface materials, talker, listener at the camera) -> impulse response of the
  shoebox (image sources + a diffuse tail, :func:`~soundstage.acoustics.rir.synthesize_rir`),
  mono or binaural (the listener facing the camera's direction) -> the dry speech
  convolved with it.
* ``"learned"``: the scene is still analysed (for the figure, the JSON and the caption), but
  the room's acoustic profile (T30 per band, DRR, direct delay) is predicted from the RGB(-D)
  picture and a RoomSynth-style caption by the visual-acoustics model
  (:mod:`soundstage.models.visual_acoustics`; a model with the Eyring head takes the
  size of the room from the same fitted box); the engine turns the profile into a mono
  response (:func:`~soundstage.acoustics.from_profile.synthesize_from_spec`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.acoustics.rir import ImpulseResponse, synthesize_rir
from soundstage.dsp.convolve import fft_convolve
from soundstage.errors import InvalidAudioError, InvalidImageError, SoundstageError
from soundstage.io.audio import write_audio
from soundstage.io.depth import read_depth
from soundstage.io.image import read_image
from soundstage.pipelines.room import check_plot_path
from soundstage.scene.camera import Intrinsics, parse_intrinsics
from soundstage.scene.scene import Scene, analyze_scene
from soundstage.spatial.binaural import Binaural
from soundstage.speech.tts import load_dry_speech, synthesize_speech

#: Largest peak written without scaling (the response's own level is kept below it).
PEAK = 0.99
MODELS = ("physics", "learned")
#: The shipped visual-acoustics checkpoint (``.safetensors`` + ``.json``), used by ``model="learned"``.
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "models" / "weights" / "visual_acoustics"


def learned_caption(scene: Scene) -> str:
    """The scene in the words of RoomSynth captions (the template the learned model was trained on).

    Size, shape, ceiling height and the surface materials (no measurements, no clutter
    figures) and how far the talker is; furniture is not named.
    """
    from soundstage.data.roomsynth.generator import room_caption

    distance = float(np.linalg.norm(np.asarray(scene.speaker) - np.asarray(scene.listener)))
    return room_caption(np.asarray(scene.layout.dims, float), scene.surfaces, [], distance)


def render_speech(dry: np.ndarray, scene: Scene, sr: int, *, binaural: bool = False, seed: int = 0
                  ) -> tuple[np.ndarray, ImpulseResponse]:
    """``dry`` convolved with the scene's response (talker -> listener): ``(channels, samples)`` and the response."""
    receiver = Binaural(yaw_deg=scene.listener_yaw()) if binaural else None
    response = synthesize_rir(scene.room(), scene.speaker, scene.listener, sr=sr, receiver=receiver, seed=seed)
    return fft_convolve(np.asarray(dry, np.float32)[None], response.data), response


@dataclass
class SpeakResult:
    """What :func:`speak` wrote, and the scene it heard."""

    path: Path
    scene: Scene
    sr: int
    channels: int
    duration: float
    gain_db: float
    files: list[str] = field(default_factory=list)
    model: str = "physics"
    #: The learned model's spec (``t30`` per band, ``drr_db``, ``direct_delay_s``) and the caption it read.
    predicted_profile: dict[str, Any] | None = None
    caption: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"path": str(self.path), "sr": self.sr, "channels": self.channels, "duration_s": round(self.duration, 3),
               "gain_db": round(self.gain_db, 2), "files": self.files, "model": self.model,
               "scene": self.scene.summary()}
        if self.predicted_profile is not None:
            out["predicted_profile"] = self.predicted_profile
            out["learned_caption"] = self.caption
        return out


def speak(
    text: str | None,
    *,
    image: str | Path,
    output: str | Path,
    depth: str | Path | None = None,
    intrinsics: str | Intrinsics | None = None,
    depth_scale: float | None = None,
    depth_encoding: str = "linear",
    speech: str | Path | None = None,
    backend: str = "espeak-ng",
    voice: str | None = None,
    speaker_pixel: tuple[float, float] | None = None,
    binaural: bool = False,
    sr: int = 16000,
    plot: str | Path | None = None,
    scene_json: str | Path | None = None,
    seed: int = 0,
    model: str = "physics",
    checkpoint: str | Path | None = None,
) -> SpeakResult:
    """Say ``text`` (or play the dry recording ``speech``) in the room pictured by ``image`` (+ ``depth``).

    ``intrinsics`` is ``"fx,fy,cx,cy"`` (pixels) or an :class:`Intrinsics`; without it a
    60 degree horizontal field of view is assumed. ``speaker_pixel`` ``(u, v)`` places the
    talker; by default they stand about 2 m in front of the camera. The output keeps
    the room's level relative to the dry speech unless it would clip (then it is scaled,
    and ``gain_db`` says by how much). Writes ``output`` and, when asked, the scene
    figure ``plot`` and the scene JSON ``scene_json``.

    ``model="learned"`` predicts the response from the picture with the visual-acoustics
    checkpoint ``checkpoint`` (default :data:`DEFAULT_CHECKPOINT`); it is mono, and it needs
    ``depth`` unless the checkpoint was trained RGB-only.
    """
    if (text is None) == (speech is None):
        raise InvalidAudioError("give either text to speak or a dry speech recording (--speech), not both or neither")
    if model not in MODELS:
        raise SoundstageError(f"unknown model {model!r}; expected one of {MODELS}")
    predictor = None
    if model == "learned":
        from soundstage.models.visual_acoustics import load_predictor

        if binaural:
            raise SoundstageError("the learned model predicts a mono response; use --model physics for --binaural")
        predictor = load_predictor(DEFAULT_CHECKPOINT if checkpoint is None else checkpoint)
        if depth is None and predictor.uses_depth:
            raise InvalidImageError("the learned model's checkpoint predicts from RGB + depth; give --depth, "
                                    "or a checkpoint trained RGB-only (recipes/speak/train.py --no-depth)")
    check_plot_path(plot)
    rgb = read_image(image)
    depth_m = None
    if depth is not None:
        depth_m = read_depth(depth, depth_scale=depth_scale, image_shape=rgb.shape, depth_encoding=depth_encoding)
    if isinstance(intrinsics, str):
        intrinsics = parse_intrinsics(intrinsics, rgb.shape[1], rgb.shape[0])
    if speech is not None:
        dry = load_dry_speech(speech, sr=sr)
    else:
        dry, _ = synthesize_speech(text, sr=sr, backend=backend, voice=voice)
    scene = analyze_scene(rgb, depth_m, intrinsics, speaker_pixel=speaker_pixel, seed=seed)
    spec, caption = None, None
    if predictor is None:
        wet, _ = render_speech(dry, scene, sr, binaural=binaural, seed=seed)
    else:
        from soundstage.acoustics.from_profile import synthesize_from_spec

        caption = learned_caption(scene)
        layout = scene.layout  # the fitted room's V/S for a geometry model: the same fit as the physics path
        ratio = [layout.volume / float(sum(layout.surface_areas().values()))]
        spec = predictor.predict(rgb[None], None if depth_m is None else depth_m[None], [caption], ratios=ratio)[0]
        wet = fft_convolve(np.asarray(dry, np.float32)[None], synthesize_from_spec(spec, sr=sr, seed=seed)[None])
    peak = float(np.max(np.abs(wet)))
    gain = min(1.0, PEAK / peak) if peak > 0 else 1.0
    inputs = [p for p in (image, depth, speech) if p is not None]
    path = write_audio(output, (wet * gain).astype(np.float32), sr, inputs=inputs)
    files = [str(path)]
    if plot is not None:
        from soundstage.plots import plot_scene

        files.append(str(plot_scene(scene, rgb, depth_m, plot, inputs=inputs)))
    if scene_json is not None:
        files.append(str(scene.save(scene_json)))
    return SpeakResult(Path(path), scene, sr, wet.shape[0], wet.shape[1] / sr, float(20 * np.log10(gain)), files,
                       model, spec, caption)
