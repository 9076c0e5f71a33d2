"""Speech synthesis back-ends."""

from soundstage.speech.tts import espeak_available, synthesize_speech

__all__ = ["espeak_available", "synthesize_speech"]
