"""Datasets: the GRID audio-visual corpus and its feature cache."""

from soundstage.speech.characters import BLANK, VOCAB, decode_ctc, encode_text
from soundstage.data.grid import (
    CacheReport,
    GridClip,
    build_feature_cache,
    clip_features,
    load_grid,
    read_align,
    split_clips,
    transcript,
)

__all__ = [
    "BLANK",
    "VOCAB",
    "CacheReport",
    "GridClip",
    "build_feature_cache",
    "clip_features",
    "decode_ctc",
    "encode_text",
    "load_grid",
    "read_align",
    "split_clips",
    "transcript",
]
