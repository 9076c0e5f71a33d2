"""Offline text to speech: espeak-ng (default), flite and piper behind one interface.

:func:`synthesize_speech` speaks text with a back-end chosen by name (:func:`get_backend`,
:func:`available_backends`) or given as a :class:`TTSBackend` instance; the engines
themselves (:class:`EspeakNG`, :class:`Flite`, :class:`Piper`) live in
:mod:`soundstage.speech.engines` and are re-exported here. :func:`load_dry_speech` reads
recorded speech instead. Nothing is ever downloaded.
"""

from __future__ import annotations

import numpy as np

from soundstage.errors import InvalidAudioError, SoundstageError
from soundstage.io.atomic import PathLike
from soundstage.io.audio import read_audio
from soundstage.speech.engines import SILENCE_PEAK, EspeakNG, Flite, Piper, TTSBackend, _check_sr

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

#: Back-end names accepted by :func:`get_backend`, default first.
TTS_BACKENDS: tuple[str, ...] = ("espeak-ng", "flite", "piper")

_BACKEND_CLASSES: dict[str, type[TTSBackend]] = {
    "espeak-ng": EspeakNG,
    "flite": Flite,
    "piper": Piper,
}


def get_backend(
    name: str, voice: str | PathLike | None = None, *, words_per_minute: int | None = None
) -> TTSBackend:
    """Build a back-end by name.

    Parameters
    ----------
    name
        ``"espeak-ng"``, ``"flite"`` or ``"piper"``.
    voice
        espeak-ng voice name, flite voice name or ``.flitevox`` path, or the piper
        ``.onnx`` model path (required for piper); ``None`` for the engine's default.
    words_per_minute
        Speaking rate; an espeak-ng setting only (``None``: 150).

    Raises
    ------
    SoundstageError
        For an unknown name (the message lists the known ones), a rate given to a
        back-end other than espeak-ng, or piper without a voice.
    FileFormatError
        For a voice file that does not exist.
    """
    key = name.strip().lower() if isinstance(name, str) else ""
    if key not in _BACKEND_CLASSES:
        raise SoundstageError(
            f"unknown TTS back-end {name!r}; expected one of {', '.join(TTS_BACKENDS)}"
        )
    if key == "espeak-ng":
        wpm = 150 if words_per_minute is None else words_per_minute
        return EspeakNG(voice="en-us" if voice is None else str(voice), words_per_minute=wpm)
    if words_per_minute is not None:
        raise SoundstageError(
            f"words_per_minute is an espeak-ng setting; {key} speaks at its voice's own rate "
            "(leave words_per_minute as None)"
        )
    if key == "flite":
        return Flite(voice=None if voice is None else str(voice))
    return Piper(model=voice)


def available_backends() -> list[str]:
    """Names of the back-ends whose engine is installed, in :data:`TTS_BACKENDS` order.

    piper is listed when its engine is installed; it still needs a voice file.
    """
    return [name for name in TTS_BACKENDS if _BACKEND_CLASSES[name].available()]


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` program is on the PATH."""
    return EspeakNG.available()


def synthesize_speech(
    text: str,
    *,
    sr: int = 16000,
    backend: str | TTSBackend = "espeak-ng",
    voice: str | PathLike | None = None,
    words_per_minute: int | None = None,
) -> tuple[np.ndarray, int]:
    """Speak ``text`` with one of the back-ends.

    Parameters
    ----------
    text
        What to say.
    sr
        Output sample rate (Hz).
    backend
        A name from :data:`TTS_BACKENDS` or a :class:`TTSBackend` instance.
    voice, words_per_minute
        Passed to :func:`get_backend` (defaults: ``"en-us"`` at 150 wpm for espeak-ng).

    Returns
    -------
    signal : np.ndarray
        float32 mono speech, shape ``(samples,)``.
    sr : int
        ``sr``.

    Raises
    ------
    SoundstageError, DependencyError, FileFormatError, InvalidAudioError
        See :func:`get_backend` and :meth:`TTSBackend.synthesize`.
    """
    if isinstance(backend, TTSBackend):
        if voice is not None or words_per_minute is not None:
            raise SoundstageError(
                "voice and words_per_minute belong to the back-end instance; pass them to its "
                "constructor, not to synthesize_speech"
            )
        engine = backend
    else:
        engine = get_backend(backend, voice, words_per_minute=words_per_minute)
    rate = _check_sr(sr)
    return engine.synthesize(text, rate), rate


def load_dry_speech(path: PathLike, sr: int = 16000) -> np.ndarray:
    """Read recorded dry speech as float32 mono at ``sr``.

    Parameters
    ----------
    path
        Any audio file :func:`soundstage.io.audio.read_audio` reads (WAV, FLAC, Ogg).
    sr
        Output sample rate (Hz); the file is resampled with soxr when it differs.

    Returns
    -------
    np.ndarray
        float32, shape ``(samples,)``; channels are averaged.

    Raises
    ------
    FileFormatError
        When the file is missing, unreadable or truncated.
    InvalidAudioError
        When it holds no samples, is silent (peak below -80 dBFS) or ``sr`` is bad.
    """
    rate = _check_sr(sr)
    signal, _ = read_audio(path, sr=rate, mono=True)
    peak = float(np.max(np.abs(signal)))
    if peak < SILENCE_PEAK:
        raise InvalidAudioError(
            f"'{path}' is silent (peak {peak:.2g}, below -80 dBFS); expected recorded speech"
        )
    return signal
