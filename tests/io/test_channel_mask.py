"""WAVE_FORMAT_EXTENSIBLE channel masks: writing, reading back, and what FFmpeg makes of them."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from soundstage.errors import FileFormatError, InvalidAudioError
from soundstage.io import read_audio, read_channel_mask, write_audio


def _noise(channels: int, n: int = 2000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.9, 0.9, size=(channels, n)).astype(np.float32)


def _fmt_body(path: Path) -> tuple[int, bytes]:
    """Offset and body of the 'fmt ' chunk, walking the RIFF chunks independently."""
    data = path.read_bytes()
    offset = 12
    while offset + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, offset)
        if chunk_id == b"fmt ":
            return offset + 8, data[offset + 8 : offset + 8 + size]
        offset += 8 + size + (size & 1)
    raise AssertionError("no fmt chunk")


@pytest.mark.parametrize(
    ("mask", "subtype"),
    [(0x3, None), (0x60F, None), (0x63F, "PCM_16"), (0x2D63F, "PCM_24"), (0x4, "FLOAT")],
)
def test_mask_round_trip_keeps_samples(tmp_path: Path, mask: int, subtype: str | None) -> None:
    channels = bin(mask).count("1")
    x = _noise(channels)
    path = write_audio(tmp_path / "rig.wav", x, 48000, subtype=subtype, channel_mask=mask)
    assert read_channel_mask(path) == mask
    info = sf.info(path)
    assert info.format == "WAVEX" and info.channels == channels and info.subtype == (subtype or "FLOAT")
    y, sr = read_audio(path)
    assert sr == 48000 and y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=0 if subtype in (None, "FLOAT") else 2.0**-15)
    _, body = _fmt_body(path)
    tag, n_channels = struct.unpack_from("<HH", body)
    assert tag == 0xFFFE and n_channels == channels
    assert struct.unpack_from("<I", body, 20)[0] == mask


def test_only_the_mask_bytes_differ_from_libsndfile_output(tmp_path: Path) -> None:
    x = _noise(6)
    ours = write_audio(tmp_path / "ours.wav", x, 44100, channel_mask=0x60F)
    plain = tmp_path / "plain.wav"
    sf.write(plain, x.T, 44100, format="WAVEX", subtype="FLOAT")
    a, b = np.frombuffer(ours.read_bytes(), np.uint8), np.frombuffer(plain.read_bytes(), np.uint8)
    assert a.size == b.size
    start, _ = _fmt_body(ours)
    differing = np.flatnonzero(a != b)
    assert differing.size > 0 and np.all((differing >= start + 20) & (differing < start + 24))


def test_files_without_a_mask_read_as_none(tmp_path: Path) -> None:
    x = _noise(2)
    assert read_channel_mask(write_audio(tmp_path / "plain.wav", x, 16000)) is None
    assert read_channel_mask(write_audio(tmp_path / "a.flac", x, 16000)) is None
    with pytest.raises(FileFormatError, match="no such file"):
        read_channel_mask(tmp_path / "missing.wav")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF" + struct.pack("<I", 40) + b"WAVE" + b"fmt " + struct.pack("<I", 40) + bytes(10))
    with pytest.raises(FileFormatError, match="fmt"):
        read_channel_mask(broken)


@pytest.mark.parametrize(
    ("mask", "match"),
    [
        (0x3F, "6 speaker bits"),
        (0x7, "3 speaker bits"),
        (-1, "32-bit"),
        (2**32 + 0xF, "32-bit"),
        (True, "int"),
        (15.0, "int"),
    ],
)
def test_bad_masks_are_refused_before_writing(tmp_path: Path, mask, match: str) -> None:
    with pytest.raises(InvalidAudioError, match=match):
        write_audio(tmp_path / "x.wav", _noise(4), 48000, channel_mask=mask)
    assert list(tmp_path.iterdir()) == []


def test_mask_needs_a_wav_target(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match=r"\.wav"):
        write_audio(tmp_path / "x.flac", _noise(2), 48000, channel_mask=0x3)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not installed")
@pytest.mark.parametrize(("mask", "layout"), [(0x60F, "5.1(side)"), (0x3F, "5.1"), (0x63F, "7.1"), (0x3, "stereo")])
def test_ffprobe_sees_the_layout(tmp_path: Path, mask: int, layout: str) -> None:
    path = write_audio(tmp_path / "rig.wav", _noise(bin(mask).count("1"), n=480), 48000, channel_mask=mask)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=channel_layout", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    assert probe.stdout.strip() == layout
