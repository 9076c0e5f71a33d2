"""Sound sources: ambience resynthesized from a recording, procedural categories, the user's sound banks,
text-to-audio generation, and the library that picks among them (see each module)."""

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
