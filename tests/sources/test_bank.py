"""Sound banks (sources/bank.py): the user's recordings by label, excerpted or looped to length."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.errors import FileFormatError, SoundstageError
from soundstage.io.audio import write_audio
from soundstage.sources.ambience import CROSSFADE_S
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
    fade = int(CROSSFADE_S * SR)  # the start is crossfaded with what follows the excerpt's end
    start = int(np.argmin([np.abs(source[i : i + 50] - short[fade : fade + 50]).sum() for i in range(source.size - 50)]))
    start -= fade
    assert np.allclose(source[start + fade : start + short.size], short[fade:], atol=1e-4)  # an excerpt of the file
    after = source[start + short.size : start + short.size + fade]
    assert np.allclose(short[:fade] ** 2, (source[start : start + fade] * np.sin(np.pi / 2 * (np.arange(fade) + 0.5) / fade)
                                          + after * np.cos(np.pi / 2 * (np.arange(fade) + 0.5) / fade)) ** 2, atol=1e-6)
    long, _ = bank.render("birds", 5.0, SR, seed=3)
    assert long.shape == (5 * SR,) and np.sqrt(np.mean(long**2)) == pytest.approx(0.1, rel=0.1)
    a, pa = bank.render("rain", 1.0, SR, seed=1)
    b, pb = bank.render("rain", 1.0, SR, seed=1)
    assert pa == pb and np.array_equal(a, b)


@pytest.mark.parametrize("duration", [0.7, 3.1])
def test_excerpts_and_loops_join_without_a_click(tmp_path, duration):
    """A 50.3 Hz tone cut anywhere clicks when repeated; the bank's sounds, excerpt or loop, do not."""
    (tmp_path / "hum").mkdir()
    tone = 0.5 * np.sin(2 * np.pi * 50.3 * np.arange(2 * SR) / SR)
    write_audio(tmp_path / "hum" / "tone.wav", tone[None].astype(np.float32), SR)
    for seed in range(3):
        x, _ = SoundBank(tmp_path).render("hum", duration, SR, seed=seed)
        steps = np.abs(np.diff(np.concatenate([x, x])))
        assert steps[x.size - 1] <= np.quantile(steps, 0.999), f"seed {seed}: the loop point clicks"
    cut = np.abs(np.diff(np.tile(np.sin(2 * np.pi * 50.3 * np.arange(int(duration * SR)) / SR), 2)))  # has teeth
    assert cut[int(duration * SR) - 1] > np.quantile(cut, 0.999)


def test_refusals(bank, tmp_path):
    with pytest.raises(SoundstageError, match="no audio files for 'wind'; it has: birds, rain"):
        bank.render("wind", 1.0, SR)
    with pytest.raises(FileFormatError, match="not a folder"):
        SoundBank(tmp_path / "nowhere")
    with pytest.raises(SoundstageError, match="positive number of seconds"):
        bank.render("rain", 0.0, SR)
