"""Text-to-speech engines: espeak-ng, flite and piper, and their base :class:`TTSBackend`.

Every engine runs locally and nothing is ever downloaded. espeak-ng and flite are
programs (``apt-get install espeak-ng`` / ``flite``); piper is the ``piper-tts`` package
(its Python module, else its ``piper`` program) and needs a voice the user supplies:
a ``.onnx`` model with its ``.onnx.json`` config. Output is float32 mono at the
requested rate (each engine's native rate is resampled with soxr). Pick an engine by
name with :func:`soundstage.speech.tts.get_backend`.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import tempfile
import wave
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from soundstage.errors import DependencyError, FileFormatError, InvalidAudioError, SoundstageError
from soundstage.io.atomic import PathLike
from soundstage.io.audio import read_audio

#: How to install each back-end's engine.
INSTALL_HINTS: dict[str, str] = {
    "espeak-ng": "apt-get install espeak-ng",
    "flite": "apt-get install flite",
    "piper": "pip install piper-tts",
}

#: espeak-ng's accepted speaking rates (words per minute).
ESPEAK_WPM_RANGE: tuple[int, int] = (80, 450)

#: Peak level (linear, -80 dBFS) under which audio counts as silent.
SILENCE_PEAK = 1e-4

_TIMEOUT_S = 300


def _check_text(text: str) -> str:
    """``text`` stripped, after checking it is a non-empty string."""
    if not isinstance(text, str) or not text.strip():
        raise SoundstageError(f"text to speak is empty ({text!r}); expected at least one word")
    return text.strip()


def _check_sr(sr: int) -> int:
    """``sr`` as an int after checking it is a positive whole number of Hz."""
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise InvalidAudioError(f"sr must be a positive whole number of Hz, found {sr!r}")
    return int(sr)


def _not_installed(name: str) -> DependencyError:
    """The error for a back-end whose engine is missing, with how to install it."""
    return DependencyError(f"{name} is not installed; install it with '{INSTALL_HINTS[name]}'")


def _run(cmd: list[str], name: str, *, stdin: str | None = None) -> None:
    """Run an engine's program, turning failures into clear errors."""
    try:
        result = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, check=False, timeout=_TIMEOUT_S
        )
    except FileNotFoundError as exc:
        raise _not_installed(name) from exc
    except subprocess.TimeoutExpired as exc:
        raise SoundstageError(f"{name} did not finish within {_TIMEOUT_S} s") from exc
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip() or f"exit status {result.returncode}"
        raise SoundstageError(f"{name} failed: {detail}")


class TTSBackend(ABC):
    """A text-to-speech engine: ``available()`` and ``synthesize(text, sr)``."""

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def available(cls) -> bool:
        """Whether the engine is installed (voice files are not checked here)."""

    @abstractmethod
    def _render(self, text: str, wav: Path, workdir: Path) -> None:
        """Write ``text`` spoken as a WAV file at ``wav``."""

    def synthesize(self, text: str, sr: int = 16000) -> np.ndarray:
        """Speak ``text``.

        Parameters
        ----------
        text
            What to say (UTF-8 text, at least one word).
        sr
            Output sample rate (Hz).

        Returns
        -------
        np.ndarray
            float32 mono speech, shape ``(samples,)``, at ``sr``.

        Raises
        ------
        SoundstageError
            For empty text, when the engine fails or produces only silence.
        DependencyError
            When the engine is not installed.
        InvalidAudioError
            For a bad ``sr``.
        """
        text = _check_text(text)
        rate = _check_sr(sr)
        if not self.available():
            raise _not_installed(self.name)
        with tempfile.TemporaryDirectory(prefix="soundstage-tts-") as tmp:
            wav = Path(tmp) / "speech.wav"
            self._render(text, wav, Path(tmp))
            if not wav.is_file() or wav.stat().st_size == 0:
                raise SoundstageError(f"{self.name} wrote no audio for {text[:60]!r}")
            signal, _ = read_audio(wav, sr=rate, mono=True)
        if float(np.max(np.abs(signal))) < SILENCE_PEAK:
            raise SoundstageError(
                f"{self.name} produced only silence for {text[:60]!r}; "
                "expected text with words it can pronounce"
            )
        return signal


@dataclass(frozen=True)
class EspeakNG(TTSBackend):
    """espeak-ng formant synthesis (22.05 kHz, robotic but intelligible, many languages).

    Parameters
    ----------
    voice
        An espeak-ng voice, e.g. ``"en-us"``, ``"en-gb"``, ``"en-us+f3"`` (a female
        variant); list them with ``espeak-ng --voices``.
    words_per_minute
        Speaking rate, within :data:`ESPEAK_WPM_RANGE`.
    """

    voice: str = "en-us"
    words_per_minute: int = 150
    name: ClassVar[str] = "espeak-ng"

    def __post_init__(self) -> None:
        if not isinstance(self.voice, str) or not self.voice.strip():
            raise SoundstageError(
                f"espeak-ng voice must be a name such as 'en-us', found {self.voice!r}"
            )
        low, high = ESPEAK_WPM_RANGE
        wpm = self.words_per_minute
        whole = isinstance(wpm, (int, np.integer)) and not isinstance(wpm, bool)
        if not whole or not low <= wpm <= high:
            raise SoundstageError(
                f"words_per_minute must be a whole number from {low} to {high}, found {wpm!r}"
            )

    @classmethod
    def available(cls) -> bool:
        return shutil.which("espeak-ng") is not None

    def _render(self, text: str, wav: Path, workdir: Path) -> None:
        source = workdir / "text.txt"
        source.write_text(text, encoding="utf-8")
        cmd = ["espeak-ng", "-v", self.voice, "-s", str(int(self.words_per_minute)), "-b", "1"]
        try:
            _run([*cmd, "-f", str(source), "-w", str(wav)], self.name)
        except DependencyError:
            raise
        except SoundstageError as exc:
            raise SoundstageError(
                f"{exc} (voice {self.voice!r}; list voices with 'espeak-ng --voices')"
            ) from exc


@dataclass(frozen=True)
class Flite(TTSBackend):
    """CMU Flite (16 kHz diphone/cluster-unit voices).

    Parameters
    ----------
    voice
        ``None`` for flite's default voice, a built-in name (``"kal"``, ``"slt"``,
        ``"awb"``, ``"rms"``; list them with ``flite -lv``) or a ``.flitevox`` file.
    """

    voice: str | None = None
    name: ClassVar[str] = "flite"

    def __post_init__(self) -> None:
        if self.voice is not None:
            if not isinstance(self.voice, str) or not self.voice.strip():
                raise SoundstageError(
                    f"flite voice must be a name or a .flitevox path, found {self.voice!r}"
                )
            if self.voice.endswith(".flitevox") and not Path(self.voice).is_file():
                raise FileFormatError(f"no such flite voice file: '{self.voice}'")

    @classmethod
    def available(cls) -> bool:
        return shutil.which("flite") is not None

    def _render(self, text: str, wav: Path, workdir: Path) -> None:
        source = workdir / "text.txt"
        source.write_text(text, encoding="utf-8")
        voice = [] if self.voice is None else ["-voice", self.voice]
        _run(["flite", *voice, "-f", str(source), "-o", str(wav)], self.name)


def _piper_module_installed() -> bool:
    """Whether the ``piper`` Python module (package piper-tts) can be imported."""
    return importlib.util.find_spec("piper") is not None


@dataclass(frozen=True)
class Piper(TTSBackend):
    """Piper neural TTS (VITS voices exported to ONNX); the voice files are never downloaded.

    Parameters
    ----------
    model
        The voice's ``.onnx`` file.
    config
        Its ``.onnx.json`` config; ``None`` means ``model`` with ``.json`` appended.

    Raises
    ------
    SoundstageError
        When no model is given.
    FileFormatError
        When the model or config file does not exist.
    """

    model: PathLike | None = None
    config: PathLike | None = None
    name: ClassVar[str] = "piper"

    def __post_init__(self) -> None:
        if self.model is None:
            raise SoundstageError(
                "piper needs a voice: pass the path of a .onnx voice model (with its .onnx.json "
                "config beside it); soundstage never downloads voices"
            )
        model = Path(self.model)
        config = Path(self.config) if self.config is not None else Path(f"{model}.json")
        if not model.is_file():
            raise FileFormatError(f"no such piper voice file: '{model}'; expected a .onnx model")
        if not config.is_file():
            raise FileFormatError(
                f"no such piper voice config: '{config}'; "
                f"expected the .onnx.json file of '{model.name}'"
            )
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "config", config)

    @classmethod
    def available(cls) -> bool:
        return _piper_module_installed() or shutil.which("piper") is not None

    def _render(self, text: str, wav: Path, workdir: Path) -> None:
        if not _piper_module_installed():
            cmd = ["piper", "--model", str(self.model), "--config", str(self.config)]
            _run([*cmd, "--output_file", str(wav)], self.name, stdin=text)
            return
        from piper import PiperVoice  # optional dependency, imported only when used

        try:
            voice = PiperVoice.load(str(self.model), config_path=str(self.config))
            with wave.open(str(wav), "wb") as handle:
                if hasattr(voice, "synthesize_wav"):  # piper-tts >= 1.3
                    voice.synthesize_wav(text, handle)
                else:  # piper-tts 1.2
                    voice.synthesize(text, handle)
        except (OSError, RuntimeError, ValueError, KeyError, wave.Error) as exc:
            raise SoundstageError(f"piper failed with voice '{self.model}': {exc}") from exc

