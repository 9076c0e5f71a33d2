"""Text to speech with espeak-ng (offline, formant synthesis)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from soundstage.errors import DependencyError, SoundstageError
from soundstage.io.audio import read_audio


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` program is on the PATH."""
    return shutil.which("espeak-ng") is not None


def synthesize_speech(
    text: str,
    *,
    sr: int = 16000,
    voice: str = "en-us",
    words_per_minute: int = 150,
) -> tuple[np.ndarray, int]:
    """Speak ``text`` with espeak-ng.

    Returns
    -------
    signal : float32 array, shape ``(samples,)``
    sr : int
        ``sr`` (espeak-ng's 22.05 kHz output is resampled).
    """
    if not text or not text.strip():
        raise SoundstageError("text to speak is empty; expected at least one word")
    if not espeak_available():
        raise DependencyError("espeak-ng is not installed; install it with 'apt-get install espeak-ng'")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        cmd = ["espeak-ng", "-v", voice, "-s", str(int(words_per_minute)), "-w", str(wav), "--", text]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not wav.exists():
            raise SoundstageError(f"espeak-ng failed for voice {voice!r}: {result.stderr.strip() or 'no output'}")
        signal, rate = read_audio(wav, sr=sr, mono=True)
    return signal, rate
