"""Physical constants and conventions shared by every layer."""

from __future__ import annotations

import numpy as np

#: Speed of sound in air, m/s (20 °C), used everywhere in the package.
SPEED_OF_SOUND: float = 343.0

#: Octave-band centre frequencies (Hz) used for materials, filtering and analysis.
OCTAVE_BANDS: tuple[int, ...] = (125, 250, 500, 1000, 2000, 4000, 8000)

#: Default sample rate for synthesis (Hz).
DEFAULT_SR: int = 16000

#: Natural-log factor between an energy decay of 60 dB and its time constant: ln(10**6).
DECAY_60DB: float = float(np.log(1e6))
