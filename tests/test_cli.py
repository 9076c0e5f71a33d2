"""The command line: real runs, JSON schema, exit code 2 and nothing written on bad input."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from soundstage.cli import main
from soundstage.constants import SPEED_OF_SOUND
from soundstage.io.audio import read_audio, write_audio

RIR_ARGS = ["rir", "--room", "8x6x3.5", "--material", "plaster", "--source", "2,3,1.6", "--listener", "6,2.5,1.5"]
KEYS = {"edt", "t20", "t30", "c50", "c80", "d50", "drr_db", "ts"}


def test_rir_then_analyze_json(tmp_path, capsys):
    wav, png = tmp_path / "rir.wav", tmp_path / "rir.png"
    assert main(RIR_ARGS + ["--sr", "16000", "-o", str(wav), "--plot", str(png)]) == 0
    h, sr = read_audio(wav)
    assert sr == 16000 and h.shape[0] == 1
    assert png.stat().st_size > 10_000
    distance = np.linalg.norm(np.subtract((2, 3, 1.6), (6, 2.5, 1.5)))
    expected = distance / SPEED_OF_SOUND * sr
    assert abs(int(np.argmax(np.abs(h[0, : int(expected) + 20]))) - expected) <= 1.0
    capsys.readouterr()
    assert main(["analyze", str(wav), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sr"] == 16000
    assert KEYS <= set(data["broadband"])
    assert set(data["bands"]) == {"125", "250", "500", "1000", "2000", "4000", "8000"}
    assert data["direct_delay"] == pytest.approx(distance / SPEED_OF_SOUND, abs=1 / sr)


def test_rt60_target_and_per_surface_materials(tmp_path, capsys):
    out = tmp_path / "a.flac"
    args = ["rir", "--room", "6x5x3", "--rt60", "0.7", "--no-air", "--source", "1,2,1.5", "--listener", "4,3,1.2",
            "-o", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["analyze", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["broadband"]["t30"] == pytest.approx(0.7, rel=0.05)
    spec = "walls=brick,north=curtains,floor=wood,ceiling=acoustic_panel"
    assert main(["rir", "--room", "6x5x3", "--material", spec, "--source", "1,2,1.5", "--listener", "4,3,1.2",
                 "-o", str(tmp_path / "b.wav")]) == 0


def test_multichannel_analyze_gives_a_list(tmp_path, capsys):
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    h = rng.standard_normal((2, t.size)) * np.exp(-6.9 * t / np.array([[0.5], [1.0]]))
    path = tmp_path / "stereo.wav"
    write_audio(path, (0.5 * h / np.abs(h).max()).astype(np.float32), 16000)
    assert main(["analyze", str(path), "--json", "--plot", str(tmp_path / "d.png")]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert isinstance(data, list) and len(data) == 2
    assert data[0]["broadband"]["t30"] < data[1]["broadband"]["t30"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["rir", "--room", "8x-6x3.5", "--source", "2,3,1.6", "--listener", "6,2.5,1.5"], "positive"),
        (["rir", "--room", "8x0x3.5", "--source", "2,3,1.6", "--listener", "6,2.5,1.5"], "positive"),
        (["rir", "--room", "8x6x3.5", "--source", "9,3,1.6", "--listener", "6,2.5,1.5"], "source"),
        (["rir", "--room", "8x6x3.5", "--source", "2,3,1.6", "--listener", "6,2.5,4"], "listener"),
        (["rir", "--room", "8x6x3.5", "--material", "plastr", "--source", "2,3,1.6", "--listener", "6,2.5,1.5"],
         "plaster"),
        (["rir", "--room", "8x6x3.5", "--material", "1.5", "--source", "2,3,1.6", "--listener", "6,2.5,1.5"], "1.5"),
        (["rir", "--room", "8x6", "--source", "2,3,1.6", "--listener", "6,2.5,1.5"], "--room"),
    ],
)
def test_bad_rir_input_exits_2_and_writes_nothing(tmp_path, capsys, args, message):
    out, png = tmp_path / "x.wav", tmp_path / "x.png"
    assert main(args + ["-o", str(out), "--plot", str(png)]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_bad_analyze_input_exits_2(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "missing.wav")]) == 2
    broken = tmp_path / "broken.wav"
    write_audio(broken, np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1, 16000)
    broken.write_bytes(broken.read_bytes()[:4000])
    assert main(["analyze", str(broken)]) == 2
    silent = tmp_path / "silent.wav"
    write_audio(silent, np.zeros(1000, dtype=np.float32), 16000)
    assert main(["analyze", str(silent)]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and err.count("soundstage: error") == 3


def test_analyze_blind_on_speech_in_a_room(tmp_path, capsys):
    """A recording made by the engine: blind T60 near the response's T30, the plot written, bad input refused."""
    from scipy.signal import fftconvolve

    rir = tmp_path / "rir.wav"
    assert main(["rir", "--room", "6x5x3", "--rt60", "0.6", "--no-air", "--source", "1,2,1.5", "--listener", "4,3,1.2",
                 "--sr", "16000", "-o", str(rir)]) == 0
    h, sr = read_audio(rir)
    rng = np.random.default_rng(0)
    src = np.zeros(10 * sr)
    t = 1000
    while t < src.size - 6000:  # noise bursts of 0.15-0.3 s with pauses, like words and phrases
        n = int(rng.uniform(0.15, 0.3) * sr)
        src[t : t + n] = rng.standard_normal(n)
        t += n + int(rng.uniform(0.2, 0.9) * sr)
    rec = fftconvolve(src, h[0])[: src.size]
    rec = (0.5 * rec / np.abs(rec).max() + 3e-3 * rng.standard_normal(src.size)).astype(np.float32)
    wav, png = tmp_path / "talk.wav", tmp_path / "blind.png"
    write_audio(wav, rec, sr)
    capsys.readouterr()
    assert main(["analyze", "--blind", str(wav), "--json", "--plot", str(png)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert main(["analyze", str(rir), "--json"]) == 0
    true = json.loads(capsys.readouterr().out)
    assert data["method"] == "blind" and set(data["bands"]) == {"125", "250", "500", "1000", "2000", "4000"}
    assert data["bands"]["1000"]["t30"] == pytest.approx(true["bands"]["1000"]["t30"], rel=0.15)
    assert data["ambience"]["level_dbfs"] == pytest.approx(10 * np.log10(9e-6 / 0.5), abs=2.0)
    assert png.stat().st_size > 10_000
    short = tmp_path / "short.wav"
    write_audio(short, rec[: sr // 2], sr)
    assert main(["analyze", "--blind", str(short)]) == 2
    assert "at least 1 s" in capsys.readouterr().err


def test_plot_may_not_overwrite_the_input(tmp_path):
    wav = tmp_path / "in.wav"
    write_audio(wav, np.random.default_rng(0).standard_normal(4000).astype(np.float32) * 0.1, 16000)
    before = wav.read_bytes()
    assert main(["analyze", str(wav), "--plot", str(wav)]) == 2
    assert wav.read_bytes() == before


def test_entry_points():
    for cmd in ([sys.executable, "-m", "soundstage", "--help"], [str(Path(sys.executable).parent / "soundstage"), "--help"]):
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert result.returncode == 0 and "analyze" in result.stdout and "rir" in result.stdout


@pytest.mark.skipif(__import__("shutil").which("espeak-ng") is None, reason="espeak-ng not installed")
def test_demo_writes_everything(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    names = {p.name for p in (tmp_path / "demo").iterdir()}
    assert {"rir.wav", "rir.png", "rir.json", "speech_dry.wav", "speech_room.wav", "speech_binaural.wav", "speech.png",
            "see2sound.wav", "see2sound.png"} <= names
    soundscape, sr48 = read_audio(tmp_path / "demo" / "see2sound.wav")
    assert soundscape.shape == (2, 6 * sr48) and "see2sound:" in capsys.readouterr().out
    ears, _ = read_audio(tmp_path / "demo" / "speech_binaural.wav")
    assert ears.shape[0] == 2 and np.corrcoef(ears)[0, 1] < 0.95  # two ears in a reverberant room differ
    wet, sr = read_audio(tmp_path / "demo" / "speech_room.wav", mono=True)
    dry, _ = read_audio(tmp_path / "demo" / "speech_dry.wav", mono=True)
    assert wet.size > dry.size and math.isfinite(float(np.sum(wet**2)))
    profile = json.loads((tmp_path / "demo" / "rir.json").read_text())
    assert 0.5 < profile["broadband"]["t30"] < 2.0


def test_data_roomsynth_writes_a_resumable_dataset(tmp_path, capsys):
    out = tmp_path / "rooms"
    args = ["data", "roomsynth", "--out", str(out), "--n", "2", "--size", "48", "--split", "test-unseen"]
    assert main(args) == 0
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["split"] == "test-unseen" for line in lines)
    before = sorted((p.name, p.read_bytes()) for p in (out / "items").iterdir())
    assert main(args) == 0  # resumes: nothing rewritten
    assert sorted((p.name, p.read_bytes()) for p in (out / "items").iterdir()) == before
    assert main(args[:-2] + ["--split", "train", "--seed", "3"]) == 2  # other settings in the same folder
