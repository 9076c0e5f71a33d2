"""RoomSynth: procedural audio-visual rooms, shoebox and L-shaped (image, depth, impulse response, caption).

Item ``i`` of a split is a pure function of ``(seed, split, i)`` (:func:`make_item`);
:func:`generate` writes a resumable dataset folder (see :mod:`.manifest`). Splits and
their held-out families are documented in :mod:`.generator`.
"""

from soundstage.data.roomsynth.generator import (
    HELD_OUT_FAMILIES,
    L_SHAPES,
    SHAPE_FAMILIES,
    SPLIT_SHAPES,
    SPLITS,
    TALKER_LABEL,
    RoomSynthItem,
    item_rng,
    make_item,
)
from soundstage.data.roomsynth.manifest import generate, generate_one, item_path, load_item, read_manifest, save_item
from soundstage.data.roomsynth.textures import FAMILIES, PATTERNS, TextureFamily

__all__ = [
    "FAMILIES",
    "HELD_OUT_FAMILIES",
    "L_SHAPES",
    "PATTERNS",
    "SHAPE_FAMILIES",
    "SPLITS",
    "SPLIT_SHAPES",
    "TALKER_LABEL",
    "RoomSynthItem",
    "TextureFamily",
    "generate",
    "generate_one",
    "item_path",
    "item_rng",
    "load_item",
    "make_item",
    "read_manifest",
    "save_item",
]
