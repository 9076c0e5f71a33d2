"""A sound bank: the user's own recordings, one folder per label.

Layout::

    bank/
      birds/      dawn_chorus.wav  sparrows.flac ...
      traffic/    street.ogg ...

:meth:`SoundBank.render` picks one file of a label (seeded), reads it as mono at the rate
asked for, and makes it as long as asked and loopable without a click
(:func:`soundstage.sources.ambience.seamless`): shorter than the file, a seeded excerpt;
longer, the file looped with equal-power crossfades.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soundstage.errors import FileFormatError, SoundstageError
from soundstage.io.audio import read_audio

__all__ = ["AUDIO_SUFFIXES", "SoundBank"]

#: File endings a bank folder is searched for.
AUDIO_SUFFIXES: tuple[str, ...] = (".wav", ".flac", ".ogg", ".mp3")


class SoundBank:
    """Recordings under ``root/<label>/``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileFormatError(f"sound bank '{self.root}' is not a folder; expected one sub-folder of audio files per label")

    def files(self, label: str) -> list[Path]:
        """The audio files of ``label``, sorted (empty when the bank has no such folder)."""
        folder = self.root / label
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)

    def labels(self) -> list[str]:
        """Labels with at least one audio file."""
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.files(p.name))

    def __contains__(self, label: str) -> bool:
        return bool(self.files(label))

    def render(self, label: str, duration: float, sr: int, *, seed: int = 0) -> tuple[np.ndarray, Path]:
        """``duration`` seconds of ``label`` at ``sr`` (float64 mono) and the file it came from."""
        from soundstage.sources.ambience import seamless

        files = self.files(label)
        if not files:
            raise SoundstageError(f"sound bank '{self.root}' has no audio files for {label!r}; "
                                  f"it has: {', '.join(self.labels()) or 'none'}")
        rng = np.random.default_rng([int(seed), len(label)])
        path = files[int(rng.integers(len(files)))]
        x, _ = read_audio(path, sr=sr, mono=True)
        x = np.asarray(x, dtype=np.float64)
        n = int(round(duration * sr))
        if n < 1:
            raise SoundstageError(f"duration must be a positive number of seconds, got {duration!r}")
        if not np.any(x):
            raise SoundstageError(f"'{path}' is digital silence; expected a recording of {label!r}")
        return seamless(x, n, sr, seed=int(rng.integers(2**31))), path
