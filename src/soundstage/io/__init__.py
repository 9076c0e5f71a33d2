"""File input and output: audio, images, depth maps and video, all written atomically."""

from soundstage.io.atomic import atomic_write, check_not_input
from soundstage.io.audio import (
    AUDIO_FORMATS,
    as_2d,
    audio_duration,
    read_audio,
    read_channel_mask,
    validate_audio,
    write_audio,
)
from soundstage.io.depth import DEPTH_ENCODINGS, decode_depth, read_depth, write_depth
from soundstage.io.image import read_image, write_image
from soundstage.io.video import Video, read_video, read_video_audio, write_video

__all__ = [
    "AUDIO_FORMATS",
    "DEPTH_ENCODINGS",
    "Video",
    "as_2d",
    "atomic_write",
    "audio_duration",
    "check_not_input",
    "decode_depth",
    "read_audio",
    "read_channel_mask",
    "read_depth",
    "read_image",
    "read_video",
    "read_video_audio",
    "validate_audio",
    "write_audio",
    "write_depth",
    "write_image",
    "write_video",
]
