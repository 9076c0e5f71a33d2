"""One exception family for bad input.

Every message says what was found and what was expected, so a user can fix the call
without reading the source. The CLI maps any :class:`SoundstageError` to exit code 2.
"""

from __future__ import annotations


class SoundstageError(Exception):
    """Base class for every error soundstage raises on bad input."""


class InvalidGeometryError(SoundstageError, ValueError):
    """Room sizes, positions or planes that do not describe a valid scene."""


class InvalidMaterialError(SoundstageError, ValueError):
    """Unknown material names or absorption/scattering values outside [0, 1]."""


class InvalidAudioError(SoundstageError, ValueError):
    """Empty, non-finite or wrongly shaped audio."""


class InvalidImageError(SoundstageError, ValueError):
    """Images or depth maps that cannot be used (size mismatch, wrong dtype)."""


class FileFormatError(SoundstageError, OSError):
    """A file that is missing, unreadable, truncated or of an unsupported format."""


class OverwriteInputError(SoundstageError, OSError):
    """An output path that points at one of the inputs."""


class DependencyError(SoundstageError, RuntimeError):
    """A required external program or optional package is missing."""


class NoFaceError(InvalidImageError):
    """Video frames in which a face (and so the lips) could not be found often enough."""
