"""Learned models: speech in-painting from context audio and lip motion."""

from soundstage.models.inpainting import (
    ASI,
    AVMTLS2S,
    AVS2S,
    KINDS,
    ClassicalInpainter,
    Inpainter,
    InpainterConfig,
    build_inpainter,
    collate,
    count_parameters,
    feature_stats,
    inpainting_loss,
    load_inpainter,
    save_inpainter,
)

__all__ = [
    "ASI",
    "AVMTLS2S",
    "AVS2S",
    "KINDS",
    "ClassicalInpainter",
    "Inpainter",
    "InpainterConfig",
    "build_inpainter",
    "collate",
    "count_parameters",
    "feature_stats",
    "inpainting_loss",
    "load_inpainter",
    "save_inpainter",
]
