"""Visual features of talking faces: lip landmarks and lip motion."""

from soundstage.vision.lips import (
    FEATURE_VERSION,
    LIP_INDICES,
    LipFeatures,
    interpolate_missing,
    lip_features,
    motion_vectors,
    mouth_opening,
    normalise_lips,
    video_lip_features,
)

__all__ = [
    "FEATURE_VERSION",
    "LIP_INDICES",
    "LipFeatures",
    "interpolate_missing",
    "lip_features",
    "motion_vectors",
    "mouth_opening",
    "normalise_lips",
    "video_lip_features",
]
