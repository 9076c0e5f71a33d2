"""GRID corpus: alignments, transcripts, CTC characters, splits and the feature cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from soundstage.data import grid
from soundstage.data.grid import (
    GridClip,
    build_feature_cache,
    load_grid,
    read_align,
    split_clips,
    transcript,
)
from soundstage.errors import FileFormatError, SoundstageError
from soundstage.speech.characters import BLANK, VOCAB, decode_ctc, encode_text

GRID = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "grid_s1"
needs_grid = pytest.mark.skipif(not GRID.is_dir(), reason="GRID data folder is absent")


@pytest.fixture(scope="module")
def clips():
    return load_grid(GRID)


def test_read_align_gives_seconds(tmp_path):
    path = tmp_path / "x.align"
    path.write_text("0 23750 sil\n23750 29500 bin\n29500 34000 blue\n")
    words = read_align(path)
    assert [w for w, _, _ in words] == ["sil", "bin", "blue"]
    assert words[0][2] == pytest.approx(0.95) and words[1] == ("bin", 0.95, 1.18)
    path.write_text("0 23750 sil\n23750 oops bin\n")
    with pytest.raises(FileFormatError, match="line 2"):
        read_align(path)


def test_load_grid_rejects_folder_without_clips(tmp_path):
    with pytest.raises(FileFormatError, match="no .mkv"):
        load_grid(tmp_path)
    (tmp_path / "a.mkv").write_bytes(b"")
    with pytest.raises(FileFormatError, match="no .align"):
        load_grid(tmp_path)


@needs_grid
def test_load_grid_and_transcript(clips):
    assert len(clips) == 900
    assert [c.id for c in clips] == sorted(c.id for c in clips)
    first = clips[0]
    assert first.id == "bbaf2n" and first.video.name == "bbaf2n.mkv"
    assert first.words[0] == ("sil", 0.0, 0.95)
    assert transcript(first) == "bin blue at f two now"
    assert all(len(transcript(c).split()) == 6 for c in clips)


def test_encode_decode_round_trip():
    text = "bin blue at f two now"
    codes = encode_text(text)
    assert codes.dtype == np.int64 and codes.shape == (len(text),)
    assert codes[0] == 1 + VOCAB.index("b") and codes[3] == 1 and BLANK not in codes
    assert decode_ctc(codes) == text
    doubled = encode_text("green")
    assert decode_ctc(doubled) == "gren"  # repeats merge unless a blank separates them
    assert decode_ctc(np.insert(doubled, np.arange(1, 5), BLANK)) == "green"
    with pytest.raises(SoundstageError, match="outside the vocabulary"):
        encode_text("Bin!")


def test_greedy_ctc_collapses_repeats_and_drops_blanks():
    a, b = 1 + VOCAB.index("a"), 1 + VOCAB.index("b")
    path = [BLANK, a, a, BLANK, a, b, b, BLANK, BLANK, b]
    scores = np.full((len(path), len(VOCAB) + 1), -5.0)
    scores[np.arange(len(path)), path] = 0.0
    assert decode_ctc(scores) == "aabb"
    assert decode_ctc(np.array(path)) == "aabb"
    assert decode_ctc(np.zeros(4, dtype=int)) == ""
    with pytest.raises(SoundstageError):
        decode_ctc(np.zeros((3, 5)))


def test_split_sizes_disjoint_deterministic():
    ids = [f"c{i:03d}" for i in range(900)]
    split = split_clips(ids[::-1])
    assert [len(split[k]) for k in ("train", "val", "test")] == [800, 50, 50]
    assert sorted(split["train"] + split["val"] + split["test"]) == ids
    assert split == split_clips(ids) and split != split_clips(ids, seed=1)
    with pytest.raises(SoundstageError):
        split_clips(ids[:100], n_val=50, n_test=50)


@needs_grid
def test_feature_cache_round_trip_resume_and_failure(clips, tmp_path):
    cache = tmp_path / "cache"
    broken = tmp_path / "broken.mkv"
    broken.write_bytes(b"not a video")
    bad = GridClip(id="broken", video=broken, align=clips[0].align, words=clips[0].words)
    report = build_feature_cache([clips[0], bad], cache, progress=False)
    assert report.written == ["bbaf2n"] and list(report.failed) == ["broken"]
    assert "FileFormatError" in report.failed["broken"]
    assert json.loads((cache / grid.FAILURES_FILE).read_text()) == report.failed
    with np.load(cache / "bbaf2n.npz", allow_pickle=False) as data:
        assert data["logmel"].shape[1] == 80 and data["logmel"].dtype == np.float32
        assert abs(data["logmel"].shape[0] - 4 * 75) <= 4
        assert data["motion"].shape == (75, 80) and data["points"].shape == (75, 40, 2)
        assert str(data["text"]) == "bin blue at f two now" and int(data["missing"]) == 0
        motion = data["motion"][1:].reshape(74, 40, 2)
        np.testing.assert_allclose(motion, np.diff(data["points"], axis=0), atol=1e-7)
    again = build_feature_cache([clips[0], bad], cache, progress=False)
    assert again.reused == ["bbaf2n"] and again.written == [] and list(again.failed) == ["broken"]
    assert again.missing == {"bbaf2n": 0}
    assert sorted(p.name for p in cache.iterdir()) == ["bbaf2n.npz", grid.FAILURES_FILE]


@needs_grid
def test_feature_cache_with_worker_processes_matches_serial(clips, tmp_path):
    serial = build_feature_cache(clips[1:3], tmp_path / "serial", progress=False)
    pooled = build_feature_cache(clips[1:3], tmp_path / "pooled", workers=2, progress=False)
    assert pooled.written == serial.written == [c.id for c in clips[1:3]]
    for clip in clips[1:3]:
        with np.load(tmp_path / "serial" / f"{clip.id}.npz") as one:
            with np.load(tmp_path / "pooled" / f"{clip.id}.npz") as other:
                assert one.files == other.files
                for key in one.files:
                    np.testing.assert_array_equal(one[key], other[key])
