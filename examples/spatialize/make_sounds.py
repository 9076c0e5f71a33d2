"""Regenerate the example's sounds: a spoken sentence (espeak-ng) and a passing car engine.

    .venv/bin/python examples/spatialize/make_sounds.py
"""

from pathlib import Path

import numpy as np
from scipy.signal import butter, sosfilt

from soundstage.io import write_audio
from soundstage.speech.tts import synthesize_speech

SR = 24000
HERE = Path(__file__).parent


def engine(duration: float, sr: int, seed: int = 0) -> np.ndarray:
    """A four-stroke engine: firing pulses at a slowly varying rate through a muffler-like band-pass, plus road noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration * sr)) / sr
    rate = 38.0 + 4.0 * np.sin(2 * np.pi * 0.3 * t)  # firings per second
    phase = np.cumsum(rate) / sr
    pulses = np.maximum(np.cos(2 * np.pi * phase), 0.0) ** 12 * (1 + 0.2 * rng.standard_normal(t.size))
    body = sosfilt(butter(2, [40, 900], btype="bandpass", fs=sr, output="sos"), pulses)
    road = sosfilt(butter(2, [300, 3000], btype="bandpass", fs=sr, output="sos"), rng.standard_normal(t.size))
    signal = body / np.abs(body).max() + 0.15 * road / np.abs(road).max()
    fade = np.minimum(1.0, np.minimum(t, duration - t) / 0.2)
    return (0.5 * signal * fade).astype(np.float32)


if __name__ == "__main__":
    voice, _ = synthesize_speech("The car passes by on the street outside. Can you hear where I am?", sr=SR)
    write_audio(HERE / "voice.flac", 0.5 * voice / np.abs(voice).max(), SR)
    write_audio(HERE / "car.flac", engine(4.0, SR), SR)
