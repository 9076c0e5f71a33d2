"""Sound sources: ambience resynthesized from a recording."""

from soundstage.sources.ambience import loop_ambience, noise_from_psd, resynthesize, segments_from_mask, set_level

__all__ = ["loop_ambience", "noise_from_psd", "resynthesize", "segments_from_mask", "set_level"]
