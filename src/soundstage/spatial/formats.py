"""Output formats by name: which receiver renders them and what their channels are."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundstage.acoustics.receiver import Receiver
from soundstage.errors import InvalidAudioError


@dataclass(frozen=True)
class Format:
    """A named output format: ``kind`` is ``binaural``, ``ambisonics`` or ``loudspeakers``."""

    name: str
    kind: str
    order: int = 0
    layout: str = ""
    description: str = ""

    @property
    def labels(self) -> tuple[str, ...]:
        """Channel names in file order."""
        if self.kind == "binaural":
            return ("L", "R")
        if self.kind == "ambisonics":
            return tuple(f"ACN{k}" for k in range((self.order + 1) ** 2))
        from soundstage.spatial.panning import get_layout

        return tuple(get_layout(self.layout).labels)

    @property
    def channel_mask(self) -> int | None:
        """WAVE_FORMAT_EXTENSIBLE speaker mask, for loudspeaker layouts only."""
        if self.kind != "loudspeakers":
            return None
        from soundstage.spatial.panning import get_layout

        return get_layout(self.layout).channel_mask


FORMATS: dict[str, Format] = {
    "binaural": Format("binaural", "binaural", description="two ears, measured HRTF (headphones)"),
    "foa": Format("foa", "ambisonics", order=1, description="first-order ambisonics, AmbiX (ACN/SN3D), 4 channels"),
    "hoa2": Format("hoa2", "ambisonics", order=2, description="second-order ambisonics, AmbiX, 9 channels"),
    "hoa3": Format("hoa3", "ambisonics", order=3, description="third-order ambisonics, AmbiX, 16 channels"),
    "stereo": Format("stereo", "loudspeakers", layout="stereo", description="two loudspeakers at +-30 deg, VBAP"),
    "5.1": Format("5.1", "loudspeakers", layout="5.1", description="ITU-R BS.775 5.1, VBAP, low-passed LFE"),
    "7.1": Format("7.1", "loudspeakers", layout="7.1", description="7.1 surround, VBAP, low-passed LFE"),
}


def get_format(name: str) -> Format:
    """The format called ``name``; an unknown name lists the known ones."""
    if name not in FORMATS:
        raise InvalidAudioError(f"unknown format {name!r}; expected one of {', '.join(FORMATS)}")
    return FORMATS[name]


def make_receiver(
    name: str,
    *,
    yaw_deg: float = 0.0,
    pitch_deg: float = 0.0,
    hrtf: str | Path | None = None,
    sr: int | None = None,
) -> Receiver:
    """The receiver rendering format ``name`` for a listener with this orientation.

    ``hrtf`` is a SOFA file for binaural output (default :func:`~soundstage.spatial.hrtf.default_hrtf`).
    """
    fmt = get_format(name)
    if fmt.kind == "binaural":
        from soundstage.spatial.binaural import Binaural
        from soundstage.spatial.hrtf import load_sofa

        return Binaural(None if hrtf is None else load_sofa(hrtf), yaw_deg=yaw_deg, pitch_deg=pitch_deg)
    if fmt.kind == "ambisonics":
        from soundstage.spatial.ambisonics import Ambisonics

        return Ambisonics(fmt.order, yaw_deg=yaw_deg, pitch_deg=pitch_deg)
    from soundstage.spatial.panning import Loudspeakers

    return Loudspeakers(fmt.layout, yaw_deg=yaw_deg, pitch_deg=pitch_deg)


def finish(audio: np.ndarray, name: str, sr: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Format-specific last step (the LFE feed of loudspeaker layouts) and the channel labels."""
    fmt = get_format(name)
    if fmt.kind == "loudspeakers":
        from soundstage.spatial.panning import add_lfe

        audio = add_lfe(audio, fmt.layout, sr).astype(np.float32, copy=False)
    return audio, fmt.labels
