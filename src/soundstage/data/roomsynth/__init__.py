"""RoomSynth: procedural audio-visual shoebox rooms (image, depth, impulse response, caption).

Item ``i`` of a split is a pure function of ``(seed, split, i)`` (:func:`make_item`);
:func:`generate` writes a resumable dataset folder (see :mod:`.manifest`). Splits and
their held-out families are documented in :mod:`.generator`. L-shaped rooms are not
generated yet: every room is a shoebox.
"""

from soundstage.data.roomsynth.generator import (
    HELD_OUT_FAMILIES,
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
