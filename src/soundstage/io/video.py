"""Read and write video files (frames plus audio track) with PyAV.

A :class:`Video` holds uint8 RGB frames shaped ``(T, H, W, 3)``, their presentation
times in seconds, the nominal frame rate and, when the file has one, the first audio
track as float32 ``(channels, samples)`` with its sample rate. Writing uses H.264
(libx264, or MPEG-4 part 2 where FFmpeg lacks it) with FLAC audio in ``.mkv`` and
AAC audio in ``.mp4``/``.mov``, through :func:`soundstage.io.atomic.atomic_write`.

FFmpeg decodes a file cut short without an error, so :func:`read_video` compares the
decoded length with the duration the container declares and reports truncation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from soundstage.dsp.resample import resample
from soundstage.errors import FileFormatError, InvalidAudioError, InvalidImageError
from soundstage.io.atomic import PathLike, atomic_write
from soundstage.io.audio import as_2d, validate_audio

#: Audio codec written into each container, by suffix.
VIDEO_CONTAINERS: dict[str, str] = {".mkv": "flac", ".mp4": "aac", ".mov": "aac"}
#: File endings read as videos by the jobs that take a picture or a video.
VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v")

#: Sample rates the AAC encoder accepts; other rates are resampled to 48 kHz.
AAC_RATES: frozenset[int] = frozenset(
    {7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000}
)

_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
_AUDIO_CHUNK = 1024


@dataclass
class Video:
    """Decoded video.

    Attributes
    ----------
    frames
        uint8 RGB frames, shape ``(T, H, W, 3)``.
    timestamps
        float64 presentation time of each frame (s), shape ``(T,)``.
    fps
        Nominal frame rate (frames per second).
    audio
        float32 audio ``(channels, samples)``, or None without an audio track.
    sr
        Sample rate of ``audio`` (Hz), or None.
    """

    frames: np.ndarray
    timestamps: np.ndarray
    fps: float
    audio: np.ndarray | None = None
    sr: int | None = None

    @property
    def n_frames(self) -> int:
        """Number of frames ``T``."""
        return int(self.frames.shape[0])

    @property
    def duration(self) -> float:
        """Length of the picture track (s): ``T / fps``."""
        return self.n_frames / self.fps


def _open(path: PathLike) -> av.container.InputContainer:
    """Open a media file for reading, mapping failures to FileFormatError."""
    source = Path(path)
    if not source.exists():
        raise FileFormatError(f"no such file: '{source}'")
    if not source.is_file():
        raise FileFormatError(f"'{source}' is not a file; expected a video file")
    try:
        return av.open(str(source), "r")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise FileFormatError(f"cannot read video file '{source}': {exc}") from exc


def _stream_fps(stream: av.video.stream.VideoStream) -> float | None:
    """Nominal frame rate of a video stream, or None when the file gives none."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and float(rate) > 0:
            return float(rate)
    return None


def _decode_frames(
    container: av.container.InputContainer, source: Path, max_frames: int | None
) -> tuple[np.ndarray, np.ndarray, float]:
    """Decode the first video stream: frames ``(T, H, W, 3)``, times ``(T,)``, fps."""
    if not container.streams.video:
        raise FileFormatError(f"'{source}' has no video stream; expected a video file")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    fps = _stream_fps(stream)
    frames: list[np.ndarray] = []
    times: list[float | None] = []
    try:
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(None if frame.time is None else float(frame.time))
            if max_frames is not None and len(frames) >= max_frames:
                break
    except (av.error.FFmpegError, ValueError) as exc:
        raise FileFormatError(f"cannot decode video in '{source}': {exc}") from exc
    if not frames:
        raise FileFormatError(f"'{source}' holds no decodable video frames")
    if fps is None:
        known = np.array([t for t in times if t is not None], dtype=np.float64)
        steps = np.diff(known)
        if steps.size == 0 or np.median(steps) <= 0:
            raise FileFormatError(f"'{source}' gives no frame rate and no frame times")
        fps = float(1.0 / np.median(steps))
    stamps = np.array(
        [i / fps if t is None else t for i, t in enumerate(times)], dtype=np.float64
    )
    return np.stack(frames), stamps, fps


def _decode_audio(container: av.container.InputContainer, source: Path) -> tuple[np.ndarray, int]:
    """Decode the first audio stream to float32 ``(channels, samples)`` and its rate."""
    stream = container.streams.audio[0]
    resampler = av.AudioResampler(format="fltp")
    chunks: list[np.ndarray] = []
    try:
        for frame in container.decode(stream):
            chunks.extend(out.to_ndarray() for out in resampler.resample(frame))
        chunks.extend(out.to_ndarray() for out in resampler.resample(None))
    except (av.error.FFmpegError, ValueError) as exc:
        raise FileFormatError(f"cannot decode audio in '{source}': {exc}") from exc
    sr = int(stream.rate)
    if not chunks:
        return np.zeros((stream.channels, 0), dtype=np.float32), sr
    return np.ascontiguousarray(np.concatenate(chunks, axis=1), dtype=np.float32), sr


def _declared_end(container: av.container.InputContainer) -> float | None:
    """End time (s) the container declares, or None when it gives no duration."""
    if container.duration is None or container.duration <= 0:
        return None
    start = (container.start_time or 0) / av.time_base
    return start + container.duration / av.time_base


def _check_complete(source: Path, start: float, end: float, declared: float | None) -> None:
    """Raise when the decoded streams end well before the declared container end."""
    if declared is not None and end < declared - max(0.2, 0.05 * (declared - start)):
        raise FileFormatError(
            f"'{source}' is truncated: its streams end at {end:.2f} s but the file "
            f"declares {declared:.2f} s"
        )


def read_video(
    path: PathLike, *, max_frames: int | None = None, with_audio: bool = True
) -> Video:
    """Read frames, their times and (optionally) the audio track of a video file.

    Parameters
    ----------
    path
        Any file FFmpeg reads (mp4, mkv, avi, mov, webm, ...).
    max_frames
        Decode at most this many frames; the audio is then cut to their duration.
    with_audio
        Decode the first audio track when there is one.

    Returns
    -------
    Video
        Frames uint8 ``(T, H, W, 3)``, timestamps ``(T,)`` (s), fps, and audio
        float32 ``(channels, samples)`` with ``sr`` (or None for both).

    Raises
    ------
    FileFormatError
        When the file is missing, unreadable, has no video stream or is truncated.
    InvalidImageError
        When ``max_frames`` is not a positive int.
    """
    if max_frames is not None and (isinstance(max_frames, bool) or int(max_frames) < 1):
        raise InvalidImageError(f"max_frames must be a positive int, found {max_frames!r}")
    source = Path(path)
    with _open(source) as container:
        frames, stamps, fps = _decode_frames(container, source, max_frames)
        has_audio = bool(container.streams.audio)
        declared = _declared_end(container)
    video_end = float(stamps[-1]) + 1.0 / fps
    audio, sr = None, None
    if has_audio and (with_audio or max_frames is None):
        with _open(source) as container:
            audio, sr = _decode_audio(container, source)
    if max_frames is None:
        audio_end = 0.0 if audio is None else audio.shape[1] / sr
        _check_complete(source, float(stamps[0]), max(video_end, audio_end), declared)
    elif audio is not None:
        audio = audio[:, : int(round((video_end - float(stamps[0])) * sr))]
    if not with_audio:
        audio, sr = None, None
    return Video(frames=frames, timestamps=stamps, fps=fps, audio=audio, sr=sr)


def read_video_audio(path: PathLike) -> tuple[np.ndarray, int]:
    """Read only the first audio track of a video file.

    Returns
    -------
    signal : np.ndarray
        float32, ``(channels, samples)``.
    sr : int
        Sample rate (Hz).

    Raises
    ------
    FileFormatError
        When the file is missing, unreadable or has no audio stream.
    InvalidAudioError
        When the audio track holds no samples.
    """
    source = Path(path)
    with _open(source) as container:
        if not container.streams.audio:
            raise FileFormatError(f"'{source}' has no audio stream; expected a file with sound")
        signal, sr = _decode_audio(container, source)
    if signal.shape[1] == 0:
        raise InvalidAudioError(f"the audio track of '{source}' holds no samples")
    return signal, sr


def _check_frames(frames: np.ndarray) -> np.ndarray:
    """Validate frames for encoding: uint8 ``(T, H, W, 3)`` with even, non-zero H and W."""
    arr = np.asarray(frames)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[3] != 3:
        raise InvalidImageError(
            f"frames must be uint8 shaped (T, H, W, 3), found dtype {arr.dtype} shape {arr.shape}"
        )
    t, h, w, _ = arr.shape
    if t == 0 or h == 0 or w == 0:
        raise InvalidImageError(f"frames are empty (shape {arr.shape}); expected T, H, W >= 1")
    if h % 2 or w % 2:
        raise InvalidImageError(
            f"frames are {h}x{w} (H x W); expected even sizes, which 4:2:0 video needs"
        )
    return arr


def _check_track(
    audio: np.ndarray | None, sr: int | None, codec: str
) -> tuple[np.ndarray | None, int | None]:
    """Validate the audio track; resample it when the codec cannot take its rate."""
    if audio is None and sr is None:
        return None, None
    if audio is None or sr is None:
        raise InvalidAudioError("audio and sr must be given together; found only one of them")
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise InvalidAudioError(f"sr must be a positive int (Hz), found {sr!r}")
    track = as_2d(validate_audio(audio, name="video audio"))
    if track.shape[0] not in _LAYOUTS:
        raise InvalidAudioError(
            f"video audio has {track.shape[0]} channels; expected (channels, samples) "
            f"with 1 to {max(_LAYOUTS)} channels"
        )
    if codec == "aac" and int(sr) not in AAC_RATES:
        return resample(track, sr_in=int(sr), sr_out=48000), 48000
    return np.ascontiguousarray(track, dtype=np.float32), int(sr)


def _video_codec() -> tuple[str, dict[str, str]]:
    """The H.264 encoder when FFmpeg has one, else MPEG-4 part 2, with its options."""
    if "libx264" in av.codecs_available:
        return "libx264", {"crf": "18", "preset": "veryfast"}
    return "mpeg4", {"qscale": "3"}


def _audio_frames(track: np.ndarray, sr: int, layout: str) -> list[av.AudioFrame]:
    """Cut ``(channels, samples)`` audio into planar float frames with sample-count pts."""
    frames = []
    for start in range(0, track.shape[1], _AUDIO_CHUNK):
        chunk = np.ascontiguousarray(track[:, start : start + _AUDIO_CHUNK])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate = sr
        frame.pts = start
        frame.time_base = Fraction(1, sr)
        frames.append(frame)
    return frames


def _encode(
    tmp: Path, frames: np.ndarray, rate: Fraction, track: np.ndarray | None, sr: int | None
) -> None:
    """Encode frames (and audio, interleaved by time) into ``tmp``."""
    codec, options = _video_codec()
    with av.open(str(tmp), "w") as container:
        vstream = container.add_stream(codec, rate=rate, options=options)
        vstream.width, vstream.height = frames.shape[2], frames.shape[1]
        vstream.pix_fmt = "yuv420p"
        astream = None
        pending: deque[av.AudioFrame] = deque()
        if track is not None and sr is not None:
            layout = _LAYOUTS[track.shape[0]]
            audio_codec = VIDEO_CONTAINERS[tmp.suffix.lower()]
            astream = container.add_stream(audio_codec, rate=sr, layout=layout)
            pending = deque(_audio_frames(track, sr, layout))
        for index, image in enumerate(frames):
            while astream is not None and pending and pending[0].pts / sr <= index / rate:
                container.mux(astream.encode(pending.popleft()))
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = index, 1 / rate
            container.mux(vstream.encode(frame))
        if astream is not None:
            for audio_frame in pending:
                container.mux(astream.encode(audio_frame))
            container.mux(astream.encode(None))
        container.mux(vstream.encode(None))


def write_video(
    path: PathLike,
    frames: np.ndarray,
    fps: float,
    *,
    audio: np.ndarray | None = None,
    sr: int | None = None,
    inputs: Iterable[PathLike] = (),
) -> Path:
    """Write frames (and an audio track) to ``.mkv``, ``.mp4`` or ``.mov`` atomically.

    Parameters
    ----------
    path
        Target file; ``.mkv`` stores FLAC audio, ``.mp4``/``.mov`` AAC audio.
    frames
        uint8 RGB frames shaped ``(T, H, W, 3)`` with even ``H`` and ``W``.
    fps
        Frame rate (frames per second); frame ``i`` is shown at ``i / fps`` s.
    audio
        Optional finite audio ``(samples,)`` or ``(channels, samples)``, 1 to 8
        channels, starting with the first frame. AAC cannot take every rate: such
        audio is resampled to 48 kHz.
    sr
        Sample rate of ``audio`` (Hz); given exactly when ``audio`` is.
    inputs
        Files the video was computed from; ``path`` may not be one of them.

    Returns
    -------
    Path
        The written path.

    Raises
    ------
    InvalidImageError
        For frames of the wrong dtype or shape, odd sizes, or a non-positive fps.
    InvalidAudioError
        For bad audio, or only one of ``audio`` and ``sr``.
    FileFormatError
        For an unknown suffix or an encoder failure.
    OverwriteInputError
        When ``path`` is one of ``inputs``.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in VIDEO_CONTAINERS:
        raise FileFormatError(
            f"cannot write video to '{target}': unknown suffix '{target.suffix}'; "
            f"expected one of {', '.join(VIDEO_CONTAINERS)}"
        )
    if isinstance(fps, bool) or not np.isfinite(float(fps)) or float(fps) <= 0:
        raise InvalidImageError(f"fps must be a positive number, found {fps!r}")
    rate = Fraction(float(fps)).limit_denominator(1001)
    arr = _check_frames(frames)
    track, track_sr = _check_track(audio, sr, VIDEO_CONTAINERS[suffix])

    def _write(tmp: Path) -> None:
        try:
            _encode(tmp, arr, rate, track, track_sr)
        except av.error.FFmpegError as exc:
            raise FileFormatError(f"FFmpeg could not encode '{target}': {exc}") from exc

    return atomic_write(target, _write, inputs=inputs)
