"""Where a label's sound comes from: the user's bank, then a generator, then the procedural sources.

:class:`SoundLibrary` answers every request for ``duration`` seconds of a label, in this
order of precedence:

1. the user's :class:`~soundstage.sources.bank.SoundBank` when it has a folder for the label;
2. a :class:`~soundstage.sources.generative.TextToAudio` generator when one is given (it
   takes any label as a prompt);
3. the procedural category of that name (:func:`~soundstage.sources.procedural.synthesize`).

Results are kept, so rendering one scene in two formats generates each sound once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soundstage.errors import SoundstageError
from soundstage.sources.bank import SoundBank
from soundstage.sources.procedural import CATEGORIES, synthesize

__all__ = ["SoundLibrary"]


class SoundLibrary:
    """The sounds a scene may use (see the module doc)."""

    def __init__(self, bank: SoundBank | str | Path | None = None, generator=None):
        self.bank = SoundBank(bank) if isinstance(bank, (str, Path)) else bank
        self.generator = generator
        self._made: dict[tuple[str, int, int, int], tuple[np.ndarray, str]] = {}

    def labels(self) -> list[str]:
        """Labels with a sound (a generator takes any label besides these)."""
        return list(CATEGORIES) + [b for b in (self.bank.labels() if self.bank is not None else []) if b not in CATEGORIES]

    def check(self, label: str, where: str) -> None:
        """Raise a :class:`SoundstageError` naming ``where`` unless ``label`` has a sound."""
        if not isinstance(label, str) or not label.strip():
            raise SoundstageError(f"{where}: empty sound label; expected a category or a prompt")
        if self.generator is None and label not in self.labels():
            raise SoundstageError(f"{where}: unknown sound category {label!r}; expected one of {', '.join(self.labels())} "
                                  "(or give a generator, which takes any label as a prompt)")

    def render(self, label: str, duration: float, sr: int, *, seed: int = 0) -> tuple[np.ndarray, str]:
        """``duration`` seconds of ``label`` at ``sr`` (float64 mono) and where it came from
        (``bank:<file>``, ``audioldm:<prompt>`` or ``procedural:<category>``)."""
        self.check(label, "sound")
        key = (label, int(round(float(duration) * sr)), int(sr), int(seed))
        if key not in self._made:
            if self.bank is not None and label in self.bank:
                x, path = self.bank.render(label, duration, sr, seed=seed)
                self._made[key] = x, f"bank:{path}"
            elif self.generator is not None:
                x, prompt = self.generator.render(label, duration, sr, seed=seed)
                self._made[key] = x, f"{self.generator.name}:{prompt}"
            else:
                self._made[key] = synthesize(label, duration, sr, seed=seed), f"procedural:{label}"
        x, origin = self._made[key]
        return x.copy(), origin
