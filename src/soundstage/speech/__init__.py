"""Speech synthesis back-ends."""

from soundstage.speech.engines import EspeakNG, Flite, Piper, TTSBackend
from soundstage.speech.tts import (
    TTS_BACKENDS,
    available_backends,
    espeak_available,
    get_backend,
    load_dry_speech,
    synthesize_speech,
)

__all__ = [
    "TTS_BACKENDS",
    "EspeakNG",
    "Flite",
    "Piper",
    "TTSBackend",
    "available_backends",
    "espeak_available",
    "get_backend",
    "load_dry_speech",
    "synthesize_speech",
]
