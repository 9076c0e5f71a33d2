"""``soundstage demo``: the main job on built-in inputs, written to one folder with pictures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from soundstage.acoustics.rir import synthesize_rir
from soundstage.dsp.convolve import fft_convolve
from soundstage.io.atomic import atomic_write
from soundstage.io.audio import write_audio
from soundstage.pipelines.room import make_room, render_room_response
from soundstage.plots import plot_spectrograms
from soundstage.spatial.binaural import Binaural
from soundstage.speech.tts import synthesize_speech

DEMO_TEXT = "Welcome to soundstage. This sentence was spoken in a room with brick walls, a wooden floor and curtains."
DEMO_ROOM = {
    "dims": (8.0, 6.0, 3.5),
    "materials": {"walls": "brick", "north": "curtains", "floor": "wood", "ceiling": "plaster"},
}
#: The built-in picture for ``speak``: a rendered 6 x 7 x 2.8 m room with brick walls, a
#: wooden floor, a carpet-covered sofa and a cabinet, seen from 1.5 m high near the south wall.
DEMO_PICTURE = {
    "dims": (6.0, 7.0, 2.8),
    "camera": (3.2, 1.0, 1.5),
    "yaw_deg": 8.0,
    "pitch_deg": -6.0,
    "colours": {"west": (168, 84, 62), "north": (168, 84, 62), "east": (168, 84, 62)},
    "textures": {"west": "brick", "north": "brick", "east": "brick"},
    "boxes": [((1.0, 4.6, 0.0), (3.4, 5.6, 0.8), (70, 90, 140), "carpet"), ((4.4, 6.3, 0.0), (5.6, 6.9, 1.8), (120, 80, 50), "wood")],
}
DEMO_SOURCE = (2.0, 3.0, 1.6)
DEMO_LISTENER = (6.0, 2.5, 1.5)


def run_demo(out_dir: str | Path = "soundstage-demo", *, sr: int = 16000, text: str = DEMO_TEXT) -> dict:
    """Synthesize a room response and reverberant speech into ``out_dir``.

    Writes ``rir.wav``, ``rir.png`` (waveform, energy, decay curves), ``rir.json``
    (ISO 3382-1 parameters), ``speech_dry.wav``, ``speech_room.wav``,
    ``speech_binaural.wav`` (the listener's two ears, facing +y, the talker at their
    left front), ``speech.png`` (spectrograms) and the ``speak`` job on a built-in
    rendered RGB-D picture (:data:`DEMO_PICTURE`): ``room.png``, ``room_depth.png``,
    ``speak.wav``, ``speak_scene.png`` and ``speak_scene.json``; and the ``see2sound`` job
    on the same picture: ``see2sound.wav`` (binaural, 48 kHz) and ``see2sound.png``.
    Returns a summary dict.
    """
    out = Path(out_dir)
    room = make_room(DEMO_ROOM["dims"], materials=DEMO_ROOM["materials"])
    result = render_room_response(
        room, DEMO_SOURCE, DEMO_LISTENER, output=out / "rir.wav", sr=sr, plot=out / "rir.png"
    )
    profile = result.profile.to_dict()
    atomic_write(out / "rir.json", lambda tmp: tmp.write_text(json.dumps(profile, indent=2)))
    dry, _ = synthesize_speech(text, sr=sr)
    wet = fft_convolve(dry, result.response.data[0])
    # Same loudness for listening; the room's level change is in rir.wav itself.
    dry = 0.5 * dry / np.max(np.abs(dry))
    wet = 0.5 * wet / np.max(np.abs(wet))
    brir = synthesize_rir(room, DEMO_SOURCE, DEMO_LISTENER, sr=sr, receiver=Binaural())
    ears = fft_convolve(dry, brir.data)
    write_audio(out / "speech_dry.wav", dry, sr)
    write_audio(out / "speech_room.wav", wet, sr)
    write_audio(out / "speech_binaural.wav", 0.5 * ears / np.max(np.abs(ears)), sr)
    plot_spectrograms([dry, wet], sr, out / "speech.png", titles=["dry speech (espeak-ng)", "speech in the room"])
    scene, intrinsics = _speak_demo(out, sr)
    soundscape = _see2sound_demo(out, intrinsics)
    return {
        "out_dir": str(out),
        "room": list(room.dims),
        "materials": dict(DEMO_ROOM["materials"]),
        "rt60_eyring": dict(zip(map(str, profile["bands"]), room.rt60().round(3).tolist())),
        "profile": profile,
        "speak": scene,
        "see2sound": soundscape,
        "files": sorted(p.name for p in out.iterdir()),
    }


def _speak_demo(out: Path, sr: int) -> tuple[dict, str]:
    """``speak`` on the built-in rendered picture: writes room.png, room_depth.png, speak.wav, speak_scene.png/json.

    Returns the scene summary and the picture's intrinsics (``fx,fy,cx,cy``)."""
    from soundstage.io.depth import write_depth
    from soundstage.io.image import write_image
    from soundstage.pipelines.speak import speak
    from soundstage.scene.synthetic import render_room

    pic = DEMO_PICTURE
    rgb, depth, k = render_room(pic["dims"], pic["camera"], pic["yaw_deg"], pic["pitch_deg"], colours=pic["colours"],
                                textures=pic["textures"], boxes=pic["boxes"], noise_m=0.005)
    image = write_image(out / "room.png", rgb)
    depth_png = write_depth(out / "room_depth.png", depth, depth_scale=1000)
    intrinsics = f"{k.fx},{k.fy},{k.cx},{k.cy}"
    result = speak("Hello there. This is how I sound in the room of the picture.", image=image, depth=depth_png,
                   intrinsics=intrinsics, depth_scale=1000, output=out / "speak.wav",
                   plot=out / "speak_scene.png", scene_json=out / "speak_scene.json", sr=sr)
    return result.scene.summary(), intrinsics


def _see2sound_demo(out: Path, intrinsics: str) -> dict:
    """``see2sound`` on the picture written by :func:`_speak_demo`: see2sound.wav and see2sound.png."""
    from soundstage.pipelines.see2sound import see2sound

    result = see2sound(out / "room.png", out / "see2sound.wav", depth=out / "room_depth.png", depth_scale=1000,
                       intrinsics=intrinsics, duration=6.0, plot=out / "see2sound.png")
    return result.scene.summary()
