"""Video files: the GRID talking-face clips, synthetic round trips, corruption, refusals."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from soundstage.errors import (
    FileFormatError,
    InvalidAudioError,
    InvalidImageError,
    OverwriteInputError,
)
from soundstage.io import video as video_module
from soundstage.io.video import read_video, read_video_audio, write_video

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
GRID = DATA / "grid_s1" / "bbaf2n.mkv"

needs_grid = pytest.mark.skipif(not GRID.exists(), reason="shared GRID clip absent")


def _clip(t: int = 12, h: int = 48, w: int = 64) -> np.ndarray:
    ramp = np.linspace(0, 180, w)[None, None, :, None] + 5.0 * np.arange(t)[:, None, None, None]
    return np.broadcast_to(ramp, (t, h, w, 3)).astype(np.uint8).copy()


def _tone(freq: float, sr: int, seconds: float) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(int(sr * seconds)) / sr)).astype(np.float32)


# --- GRID ----------------------------------------------------------------------------------


@needs_grid
def test_grid_clip_frames_times_and_audio() -> None:
    clip = read_video(GRID)
    assert 74 <= clip.n_frames <= 76
    assert clip.frames.shape[1:] == (288, 360, 3) and clip.frames.dtype == np.uint8
    assert clip.fps == pytest.approx(25.0)
    np.testing.assert_allclose(np.diff(clip.timestamps), 0.04, atol=1e-6)
    assert clip.timestamps[0] == pytest.approx(0.0, abs=1e-6)
    assert clip.sr == 16000 and clip.audio is not None and clip.audio.dtype == np.float32
    assert clip.audio.shape[0] == 1 and 47000 <= clip.audio.shape[1] <= 48500
    rms = float(np.sqrt(np.mean(clip.audio**2)))
    assert 1e-3 < rms < 0.5
    assert 40 < clip.frames.mean() < 220
    signal, sr = read_video_audio(GRID)
    assert sr == 16000
    np.testing.assert_array_equal(signal, clip.audio)


@needs_grid
def test_grid_max_frames_cuts_audio_and_without_audio() -> None:
    clip = read_video(GRID, max_frames=10)
    assert clip.n_frames == 10
    assert clip.audio is not None and clip.audio.shape[1] == round(10 / 25 * 16000)
    full = read_video(GRID)
    np.testing.assert_array_equal(clip.frames, full.frames[:10])
    silent = read_video(GRID, with_audio=False)
    assert silent.audio is None and silent.sr is None and silent.n_frames == full.n_frames


@needs_grid
def test_truncated_grid_copy_is_an_error(tmp_path: Path) -> None:
    data = GRID.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="truncated"):
        read_video(cut)


def test_missing_and_junk_files(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="no such file"):
        read_video(tmp_path / "nope.mkv")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00garbage" * 64)
    with pytest.raises(FileFormatError, match="junk.mp4"):
        read_video(junk)
    silent = write_video(tmp_path / "silent.mkv", _clip(t=4), 10)
    with pytest.raises(FileFormatError, match="no audio stream"):
        read_video_audio(silent)


# --- round trips ---------------------------------------------------------------------------


def test_mkv_round_trip_with_flac_audio(tmp_path: Path) -> None:
    frames = _clip()
    audio = np.stack([_tone(440.0, 16000, 1.2), _tone(660.0, 16000, 1.2)])
    path = write_video(tmp_path / "out.mkv", frames, 10.0, audio=audio, sr=16000)
    clip = read_video(path)
    assert clip.n_frames == frames.shape[0]
    assert clip.fps == pytest.approx(10.0)
    np.testing.assert_allclose(clip.timestamps, np.arange(12) / 10.0, atol=1e-3)
    np.testing.assert_allclose(
        clip.frames.mean(axis=(1, 2, 3)), frames.mean(axis=(1, 2, 3)), atol=2.0
    )
    assert clip.sr == 16000 and clip.audio.shape == audio.shape
    np.testing.assert_allclose(clip.audio, audio, atol=2.0**-14)
    assert [p.name for p in tmp_path.iterdir()] == ["out.mkv"]


def test_mp4_round_trip_with_aac_audio(tmp_path: Path) -> None:
    frames = _clip(t=10)
    audio = _tone(523.0, 16000, 1.0)
    clip = read_video(write_video(tmp_path / "out.mp4", frames, 10, audio=audio, sr=16000))
    assert clip.n_frames == 10 and clip.fps == pytest.approx(10.0)
    assert clip.audio.shape[0] == 1
    assert audio.size <= clip.audio.shape[1] <= audio.size + 2048
    assert np.corrcoef(clip.audio[0, : audio.size], audio)[0, 1] > 0.99


def test_aac_resamples_unsupported_rate(tmp_path: Path) -> None:
    audio = _tone(300.0, 15000, 0.8)
    signal, sr = read_video_audio(
        write_video(tmp_path / "o.mp4", _clip(t=8), 10, audio=audio, sr=15000)
    )
    assert sr == 48000
    assert abs(signal.shape[1] - 0.8 * 48000) <= 2048


def test_mpeg4_fallback_without_libx264(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(video_module.av, "codecs_available", av.codecs_available - {"libx264"})
    frames = _clip(t=6)
    path = write_video(tmp_path / "o.mp4", frames, 25)
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "mpeg4"
    clip = read_video(path)
    assert clip.n_frames == 6 and clip.audio is None
    assert abs(clip.frames.mean() - frames.mean()) < 3.0


# --- refused writes ------------------------------------------------------------------------


def test_bad_frames_audio_and_suffix_write_nothing(tmp_path: Path) -> None:
    with pytest.raises(InvalidImageError, match="even"):
        write_video(tmp_path / "o.mkv", _clip(h=47), 10)
    with pytest.raises(InvalidImageError, match="uint8"):
        write_video(tmp_path / "o.mkv", _clip().astype(np.float32), 10)
    with pytest.raises(InvalidImageError, match="fps"):
        write_video(tmp_path / "o.mkv", _clip(), 0)
    with pytest.raises(InvalidAudioError, match="together"):
        write_video(tmp_path / "o.mkv", _clip(), 10, audio=np.zeros(100, np.float32))
    nan_audio = np.full(1000, np.nan, np.float32)
    with pytest.raises(InvalidAudioError, match="NaN"):
        write_video(tmp_path / "o.mkv", _clip(), 10, audio=nan_audio, sr=16000)
    with pytest.raises(FileFormatError, match=r"\.mkv"):
        write_video(tmp_path / "o.gif", _clip(), 10)
    assert list(tmp_path.iterdir()) == []


def test_writing_onto_input_refused_and_input_intact(tmp_path: Path) -> None:
    source = write_video(tmp_path / "in.mkv", _clip(t=4), 10)
    before = source.read_bytes()
    clip = read_video(source)
    with pytest.raises(OverwriteInputError, match="in.mkv"):
        write_video(source, 255 - clip.frames, clip.fps, inputs=[source])
    assert source.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["in.mkv"]
