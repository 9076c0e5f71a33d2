"""soundstage: make sound match a pictured scene."""

from soundstage.constants import OCTAVE_BANDS, SPEED_OF_SOUND
from soundstage.errors import SoundstageError

__version__ = "0.1.0"
__all__ = ["OCTAVE_BANDS", "SPEED_OF_SOUND", "SoundstageError", "__version__"]
