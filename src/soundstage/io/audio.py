"""Read, write and validate audio files (WAV, FLAC, Ogg Vorbis).

Audio in soundstage is a float32 array shaped ``(channels, samples)`` (or
``(samples,)`` for mono) plus an int sample rate in Hz. Files are read and written
with soundfile (libsndfile); writes are atomic and refuse to overwrite an input.

libsndfile reads a WAV whose data chunk was cut short without complaint, and reports
zero frames for an Ogg file missing its last page, so both containers are checked
here before decoding: a truncated file is an error, never a silently shorter signal.

Multichannel WAV files can carry a WAVE_FORMAT_EXTENSIBLE channel mask naming the
loudspeaker of each channel; libsndfile cannot set one, so :func:`write_audio` writes
the mask into the format chunk of its temporary file before moving it into place.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from soundstage.dsp.resample import resample
from soundstage.errors import FileFormatError, InvalidAudioError
from soundstage.io.atomic import PathLike, atomic_write

#: Output formats by suffix: (libsndfile format, default subtype).
AUDIO_FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("WAV", "FLOAT"),
    ".flac": ("FLAC", "PCM_24"),
    ".ogg": ("OGG", "VORBIS"),
}

#: Most channels a ``(channels, samples)`` array may have; more means the axes are swapped.
MAX_CHANNELS = 64

_OGG_TAIL_BYTES = 70_000
_WAV_STREAMING_SIZES = (0, 0xFFFFFFFF)
_RIFF_HEADERS = (b"RIFF", b"RF64", b"BW64")
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
#: Byte offset of ``dwChannelMask`` inside a WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk body.
_CHANNEL_MASK_OFFSET = 20


def validate_audio(signal: np.ndarray, *, name: str = "audio") -> np.ndarray:
    """Check that ``signal`` is usable audio and return it as float32.

    Parameters
    ----------
    signal
        Audio shaped ``(samples,)`` or ``(channels, samples)``, real-valued.
    name
        What to call the signal in error messages.

    Returns
    -------
    np.ndarray
        ``signal`` as float32, same shape (no copy when it already is float32).

    Raises
    ------
    InvalidAudioError
        For a non-numeric or complex dtype, a shape other than 1-D or 2-D, no
        samples or channels, or any NaN or infinite value.
    """
    x = np.asarray(signal)
    if x.dtype.kind not in "biuf":
        raise InvalidAudioError(f"{name} must be real numbers, found dtype {x.dtype}")
    if x.ndim not in (1, 2):
        raise InvalidAudioError(
            f"{name} must be shaped (samples,) or (channels, samples), found shape {x.shape}"
        )
    if x.size == 0:
        raise InvalidAudioError(f"{name} is empty (shape {x.shape}); expected at least one sample")
    x = x.astype(np.float32, copy=False)
    finite = np.isfinite(x)
    if not finite.all():
        bad = int(x.size - np.count_nonzero(finite))
        raise InvalidAudioError(
            f"{name} holds {bad} NaN or infinite values; expected finite samples"
        )
    return x


def as_2d(signal: np.ndarray) -> np.ndarray:
    """View audio as ``(channels, samples)``: ``(samples,)`` becomes ``(1, samples)``.

    Raises
    ------
    InvalidAudioError
        When ``signal`` is neither 1-D nor 2-D.
    """
    x = np.asarray(signal)
    if x.ndim == 1:
        return x[np.newaxis, :]
    if x.ndim == 2:
        return x
    raise InvalidAudioError(
        f"audio must be shaped (samples,) or (channels, samples), found shape {x.shape}"
    )


def _check_wav_length(path: Path) -> None:
    """Raise when a RIFF/WAVE file's data chunk claims more bytes than the file holds."""
    size = path.stat().st_size
    offset = 12
    with path.open("rb") as fh:
        while offset + 8 <= size:
            fh.seek(offset)
            chunk_id, chunk_size = struct.unpack("<4sI", fh.read(8))
            if chunk_id == b"data":
                available = size - offset - 8
                if chunk_size not in _WAV_STREAMING_SIZES and chunk_size > available:
                    raise FileFormatError(
                        f"'{path}' is truncated: its WAV header declares {chunk_size} bytes "
                        f"of audio but the file holds {available}"
                    )
                return
            offset += 8 + chunk_size + (chunk_size & 1)
    raise FileFormatError(f"'{path}' is corrupt: its WAV header has no complete data chunk")


def _check_ogg_ending(path: Path) -> None:
    """Raise unless an Ogg file ends with one complete page flagged end-of-stream."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - _OGG_TAIL_BYTES))
        tail = fh.read()
    start = tail.rfind(b"OggS")
    while start >= 0:
        header = tail[start : start + 27]
        if len(header) == 27:
            n_segments = header[26]
            lacing = tail[start + 27 : start + 27 + n_segments]
            if len(lacing) == n_segments and start + 27 + n_segments + sum(lacing) == len(tail):
                if not header[5] & 0x04:
                    break
                return
        start = tail.rfind(b"OggS", 0, start)
    raise FileFormatError(
        f"'{path}' is truncated: its last Ogg page is incomplete or not marked end-of-stream"
    )


def _check_container(path: Path) -> None:
    """Catch truncation that libsndfile would read as a shorter, valid signal."""
    with path.open("rb") as fh:
        head = fh.read(12)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        _check_wav_length(path)
    elif head[:4] == b"OggS":
        _check_ogg_ending(path)


def _decode(path: Path) -> tuple[np.ndarray, int]:
    """Decode a whole file to float32 ``(channels, samples)`` and its rate."""
    _check_container(path)
    try:
        with sf.SoundFile(path) as fh:
            declared = fh.frames
            data = fh.read(dtype="float32", always_2d=True)
            sr = int(fh.samplerate)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        supported = ", ".join(AUDIO_FORMATS)
        raise FileFormatError(
            f"cannot read audio file '{path}': {exc}; expected an intact {supported} file"
        ) from exc
    if declared > 0 and data.shape[0] < declared:
        raise FileFormatError(
            f"'{path}' is truncated: its header declares {declared} frames "
            f"but only {data.shape[0]} could be decoded"
        )
    return np.ascontiguousarray(data.T), sr


def read_audio(
    path: PathLike,
    *,
    sr: int | None = None,
    mono: bool = False,
) -> tuple[np.ndarray, int]:
    """Read an audio file as float32.

    Parameters
    ----------
    path
        A WAV, FLAC or Ogg Vorbis file (any format libsndfile reads is accepted).
    sr
        Sample rate (Hz) to resample to with soxr; ``None`` keeps the file's rate.
    mono
        Average the channels and return ``(samples,)``.

    Returns
    -------
    signal : np.ndarray
        float32, ``(channels, samples)``, or ``(samples,)`` when ``mono``.
    sr : int
        Sample rate of ``signal`` (Hz).

    Raises
    ------
    FileFormatError
        When the file is missing, unreadable, truncated or corrupt.
    InvalidAudioError
        When the file holds no samples or non-finite samples.
    """
    source = Path(path)
    if not source.exists():
        raise FileFormatError(f"no such file: '{source}'")
    if not source.is_file():
        raise FileFormatError(f"'{source}' is not a file; expected an audio file")
    signal, file_sr = _decode(source)
    if signal.shape[1] == 0:
        raise InvalidAudioError(f"'{source}' holds no audio samples; expected at least one")
    signal = validate_audio(signal, name=f"audio in '{source}'")
    if mono:
        signal = signal.mean(axis=0, dtype=np.float64).astype(np.float32)
    if sr is not None and int(sr) != file_sr:
        signal = resample(signal, sr_in=file_sr, sr_out=int(sr))
        file_sr = int(sr)
    return signal, file_sr


def _output_format(target: Path, subtype: str | None) -> tuple[str, str]:
    """libsndfile (format, subtype) for ``target``'s suffix."""
    suffix = target.suffix.lower()
    if suffix not in AUDIO_FORMATS:
        supported = ", ".join(AUDIO_FORMATS)
        raise FileFormatError(
            f"cannot write audio to '{target}': unknown suffix '{target.suffix}'; "
            f"expected one of {supported}"
        )
    file_format, default_subtype = AUDIO_FORMATS[suffix]
    chosen = default_subtype if subtype is None else subtype.upper()
    if not sf.check_format(file_format, chosen):
        valid = ", ".join(sorted(sf.available_subtypes(file_format)))
        raise FileFormatError(
            f"subtype '{subtype}' cannot be stored in a {suffix} file; expected one of {valid}"
        )
    return file_format, chosen


def _fmt_chunk(path: Path) -> tuple[int, bytes] | None:
    """File offset and bytes of the 'fmt ' chunk body of a WAV file; None for other files.

    Raises
    ------
    FileFormatError
        For a RIFF/WAVE file without a complete 'fmt ' chunk.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(12)
        if head[:4] not in _RIFF_HEADERS or head[8:12] != b"WAVE":
            return None
        offset = 12
        while offset + 8 <= size:
            fh.seek(offset)
            chunk_id, chunk_size = struct.unpack("<4sI", fh.read(8))
            if chunk_id == b"fmt ":
                body = fh.read(min(chunk_size, 40))
                if chunk_size < 16 or len(body) < min(chunk_size, 40):
                    break
                return offset + 8, body
            offset += 8 + chunk_size + (chunk_size & 1)
    raise FileFormatError(f"'{path}' is corrupt: its WAV header has no complete 'fmt ' chunk")


def _extensible_mask_offset(path: Path) -> int | None:
    """File offset of ``dwChannelMask``; None unless the file is WAVE_FORMAT_EXTENSIBLE."""
    found = _fmt_chunk(path)
    if found is None:
        return None
    start, body = found
    (tag,) = struct.unpack_from("<H", body)
    if tag != _WAVE_FORMAT_EXTENSIBLE:
        return None
    if len(body) < _CHANNEL_MASK_OFFSET + 4:
        raise FileFormatError(
            f"'{path}' is corrupt: its WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk holds {len(body)} bytes; "
            f"expected at least {_CHANNEL_MASK_OFFSET + 4}"
        )
    return start + _CHANNEL_MASK_OFFSET


def read_channel_mask(path: PathLike) -> int | None:
    """The speaker channel mask (``dwChannelMask``) of a WAVE_FORMAT_EXTENSIBLE file.

    Parameters
    ----------
    path
        An audio file.

    Returns
    -------
    int or None
        The mask (bit ``0x1`` front left, ``0x2`` front right, ``0x4`` front centre,
        ``0x8`` LFE ...; channels are stored in bit order), or ``None`` when the file
        is not a WAVE_FORMAT_EXTENSIBLE WAV (a plain WAV, FLAC, Ogg ...).

    Raises
    ------
    FileFormatError
        When the file is missing, or is a WAV whose format chunk is incomplete.
    """
    source = Path(path)
    if not source.is_file():
        raise FileFormatError(f"no such file: '{source}'")
    offset = _extensible_mask_offset(source)
    if offset is None:
        return None
    with source.open("rb") as fh:
        fh.seek(offset)
        return struct.unpack("<I", fh.read(4))[0]


def _check_channel_mask(channel_mask: int, channels: int, target: Path, subtype: str) -> int:
    """Validate a WAVE_FORMAT_EXTENSIBLE channel mask for ``channels`` channels."""
    if target.suffix.lower() != ".wav":
        raise FileFormatError(
            f"a channel mask can only be stored in a .wav file, not '{target}'; expected a .wav path"
        )
    if not sf.check_format("WAVEX", subtype):
        raise FileFormatError(
            f"subtype '{subtype}' cannot be stored in a WAVE_FORMAT_EXTENSIBLE file"
        )
    if isinstance(channel_mask, bool) or not isinstance(channel_mask, (int, np.integer)):
        raise InvalidAudioError(f"channel_mask must be an int, found {channel_mask!r}")
    mask = int(channel_mask)
    if not 0 <= mask < 2**32:
        raise InvalidAudioError(
            f"channel mask {mask} is outside 0 .. 0xFFFFFFFF; expected a 32-bit speaker mask"
        )
    bits = bin(mask).count("1")
    if bits != channels:
        raise InvalidAudioError(
            f"channel mask {mask:#x} has {bits} speaker bits but the audio has {channels} channels; "
            f"expected exactly one bit per channel"
        )
    return mask


def _check_writable(x: np.ndarray, sr: int, subtype: str) -> np.ndarray:
    """Validate audio for writing; returns it as float32 ``(channels, samples)``."""
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise InvalidAudioError(f"sample rate must be a positive int (Hz), found {sr!r}")
    x = as_2d(validate_audio(x))
    if x.shape[0] > MAX_CHANNELS:
        raise InvalidAudioError(
            f"audio shaped {x.shape} has {x.shape[0]} channels; expected (channels, samples) "
            f"with at most {MAX_CHANNELS} channels (transpose a (samples, channels) array)"
        )
    peak = float(np.max(np.abs(x)))
    if subtype.startswith("PCM") and peak > 1.0:
        raise InvalidAudioError(
            f"audio peak {peak:.3f} exceeds 1.0, which subtype {subtype} cannot store; "
            "expected samples in [-1, 1] (scale the signal or write a float .wav)"
        )
    return x


def write_audio(
    path: PathLike,
    signal: np.ndarray,
    sr: int,
    *,
    inputs: Iterable[PathLike] = (),
    subtype: str | None = None,
    channel_mask: int | None = None,
) -> Path:
    """Write audio atomically; the format follows the suffix.

    Parameters
    ----------
    path
        Target ``.wav`` (32-bit float by default), ``.flac`` (24-bit PCM) or
        ``.ogg`` (Vorbis) file.
    signal
        Finite audio shaped ``(samples,)`` or ``(channels, samples)`` with at most
        :data:`MAX_CHANNELS` channels. PCM subtypes need samples in ``[-1, 1]``.
    sr
        Sample rate (Hz).
    inputs
        Files the audio was computed from; ``path`` may not be one of them.
    subtype
        libsndfile subtype (e.g. ``"PCM_16"``) overriding the suffix's default.
    channel_mask
        Speaker positions of the channels (``dwChannelMask``, e.g. ``0x60F`` for
        FL FR FC LFE SL SR): the file is then written as WAVE_FORMAT_EXTENSIBLE with
        this mask. Needs a ``.wav`` path and one mask bit per channel; channels must
        be in mask-bit order. See :func:`read_channel_mask`.

    Returns
    -------
    Path
        The written path.

    Raises
    ------
    InvalidAudioError
        For audio that fails :func:`validate_audio`, too many channels, a peak
        above 1 with a PCM subtype, a bad sample rate, or a channel mask whose
        number of bits differs from the number of channels. Nothing is written.
    FileFormatError
        For an unknown suffix, a subtype the format cannot hold, or a channel
        mask for a file that is not ``.wav``.
    OverwriteInputError
        When ``path`` is one of ``inputs``.
    """
    target = Path(path)
    file_format, chosen = _output_format(target, subtype)
    data = _check_writable(signal, sr, chosen)
    mask = None
    if channel_mask is not None:
        mask = _check_channel_mask(channel_mask, data.shape[0], target, chosen)
        file_format = "WAVEX"

    def _write(tmp: Path) -> None:
        sf.write(tmp, data.T, int(sr), format=file_format, subtype=chosen)
        if mask is not None:
            offset = _extensible_mask_offset(tmp)
            if offset is None:
                raise FileFormatError(f"'{tmp}' was not written as WAVE_FORMAT_EXTENSIBLE")
            with tmp.open("r+b") as fh:
                fh.seek(offset)
                fh.write(struct.pack("<I", mask))

    return atomic_write(target, _write, inputs=inputs)


def audio_duration(path: PathLike) -> float:
    """Duration of an audio file in seconds, read from its header.

    Raises
    ------
    FileFormatError
        When the file is missing or not a readable audio file.
    """
    source = Path(path)
    if not os.path.isfile(source):
        raise FileFormatError(f"no such file: '{source}'")
    try:
        info = sf.info(source)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise FileFormatError(f"cannot read audio file '{source}': {exc}") from exc
    return float(info.frames) / float(info.samplerate)
