"""Sound banks (sources/bank.py): the user's recordings by label, excerpted or looped to length."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.errors import FileFormatError, SoundstageError
from soundstage.io.audio import write_audio
from soundstage.sources.bank import SoundBank

SR = 16000


@pytest.fixture()
def bank(tmp_path):
    rng = np.random.default_rng(0)
    for label, files in (("rain", 2), ("birds", 1)):
        (tmp_path / label).mkdir()
        for k in range(files):
            write_audio(tmp_path / label / f"{label}{k}.wav", 0.1 * rng.standard_normal((1, 2 * SR)).astype(np.float32), SR)
    (tmp_path / "empty").mkdir()
    (tmp_path / "rain" / "notes.txt").write_text("not audio")
    return SoundBank(tmp_path)


def test_labels_and_files(bank):
    assert bank.labels() == ["birds", "rain"]
    assert "rain" in bank and "empty" not in bank and "wind" not in bank
    assert [p.name for p in bank.files("rain")] == ["rain0.wav", "rain1.wav"]


def test_excerpt_when_shorter_loop_when_longer(bank):
    short, path = bank.render("birds", 0.5, SR, seed=3)
    source = np.asarray(__import__("soundfile").read(path)[0], float)
    assert short.shape == (SR // 2,)
    start = int(np.argmin([np.abs(source[i : i + 50] - short[:50]).sum() for i in range(source.size - 50)]))
    assert np.allclose(source[start : start + short.size], short, atol=1e-4)  # an excerpt of the file
    long, _ = bank.render("birds", 5.0, SR, seed=3)
    assert long.shape == (5 * SR,) and np.sqrt(np.mean(long**2)) == pytest.approx(0.1, rel=0.1)
    a, pa = bank.render("rain", 1.0, SR, seed=1)
    b, pb = bank.render("rain", 1.0, SR, seed=1)
    assert pa == pb and np.array_equal(a, b)


def test_refusals(bank, tmp_path):
    with pytest.raises(SoundstageError, match="no audio files for 'wind'; it has: birds, rain"):
        bank.render("wind", 1.0, SR)
    with pytest.raises(FileFormatError, match="not a folder"):
        SoundBank(tmp_path / "nowhere")
    with pytest.raises(SoundstageError, match="positive number of seconds"):
        bank.render("rain", 0.0, SR)
