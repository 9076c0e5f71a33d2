"""Sound sources: ambience resynthesized from a recording, and procedural categories."""

from soundstage.sources.ambience import loop_ambience, noise_from_psd, resynthesize, segments_from_mask, set_level
from soundstage.sources.procedural import CATEGORIES, Category, synthesize

__all__ = [
    "CATEGORIES",
    "Category",
    "loop_ambience",
    "noise_from_psd",
    "resynthesize",
    "segments_from_mask",
    "set_level",
    "synthesize",
]
