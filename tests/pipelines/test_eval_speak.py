"""``soundstage eval speak``: RTE and MCD of the mean, physics and learned systems on RoomSynth."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.signal import fftconvolve

from soundstage.acoustics.from_profile import spec_from_profile, spec_to_vector, synthesize_from_spec, vector_to_spec
from soundstage.cli import main
from soundstage.data.roomsynth.manifest import generate, item_path, load_item, read_manifest
from soundstage.errors import FileFormatError, SoundstageError
from soundstage.io.audio import write_audio
from soundstage.metrics.room import broadband_t30, mel_cepstral_distortion
from soundstage.pipelines.eval_speak import DEFAULT_SENTENCE, dry_speech, evaluate
from soundstage.speech.tts import espeak_available

SR = 16000
KEYS = {"rte_s", "mcd_db", "n", "n_rte", "rte_median_s", "t30_bias_s", "mcd_median_db"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("roomsynth")
    generate(root, 6, "train", 0, width=64, height=64, progress=False)
    generate(root, 3, "test-unseen", 0, width=64, height=64, progress=False)
    return root


@pytest.fixture(scope="module")
def voice(tmp_path_factory):
    """A short dry voice-like recording (harmonics with a gliding pitch, in syllables)."""
    t = np.arange(int(0.8 * SR)) / SR
    phase = 2 * np.pi * np.cumsum(140.0 * (1 + 0.2 * np.sin(2 * np.pi * 1.5 * t))) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 20)) * np.clip(np.sin(2 * np.pi * 3 * t), 0, None)
    return write_audio(tmp_path_factory.mktemp("voice") / "dry.wav", (0.3 * x).astype(np.float32), SR)


def _true_specs(folder, split="test-unseen"):
    rows = sorted((r for r in read_manifest(folder) if r["split"] == split), key=lambda r: r["index"])
    return [spec_from_profile(r["profile"]) for r in rows]


class FakePredictor:
    """Returns given specs in item order and records what it was shown."""

    def __init__(self, specs):
        self.specs = list(specs)
        self.calls = []

    def predict(self, rgb, depth, captions):
        self.calls.append((rgb.shape, rgb.dtype, depth.shape, depth.dtype, list(captions)))
        out, self.specs = self.specs[: len(captions)], self.specs[len(captions):]
        return out


def test_keys_n_and_oracle_beats_mean(folder, voice):
    oracle = FakePredictor(_true_specs(folder))
    result = evaluate(folder, systems=["mean"], predictors={"oracle": oracle}, speech=voice, batch_size=2,
                      progress=False)
    assert list(result) == ["mean", "oracle"]
    for scores in result.values():
        assert set(scores) - {"by_shape"} == KEYS and scores["n"] == 3 and scores["n_rte"] == 3
        assert math.isfinite(scores["rte_s"]) and scores["mcd_db"] > 0
    assert result["oracle"]["rte_s"] < result["mean"]["rte_s"]
    # Batches of 2: the predictor saw the items' pictures, depth and captions in order.
    captions = [r["caption"] for r in sorted(read_manifest(folder), key=lambda r: r["index"])
                if r["split"] == "test-unseen"]
    assert [c[0] for c in oracle.calls] == [(2, 64, 64, 3), (1, 64, 64, 3)]
    assert all(c[1] == np.uint8 and c[3] == np.float32 and c[2] == c[0][:3] for c in oracle.calls)
    assert oracle.calls[0][4] + oracle.calls[1][4] == captions


def test_mean_system_matches_hand_computation(folder, voice):
    result = evaluate(folder, limit=1, systems=["mean"], speech=voice, progress=False)["mean"]
    train = [r for r in read_manifest(folder) if r["split"] == "train"]
    vectors = np.array([spec_to_vector(spec_from_profile(r["profile"])) for r in train])
    assert vectors.shape == (6, 8)
    spec = vector_to_spec(vectors.sum(axis=0) / 6)
    item = load_item(item_path(folder, "test-unseen", 0))
    h = synthesize_from_spec(spec, sr=SR, seed=0).astype(np.float64)
    true = item["rir"].astype(np.float64)
    dry = np.asarray(dry_speech(voice, SR), np.float64)
    assert result["n"] == 1
    assert result["rte_s"] == pytest.approx(abs(broadband_t30(h, SR) - broadband_t30(true, SR)), rel=1e-9)
    assert result["t30_bias_s"] == pytest.approx(broadband_t30(h, SR) - broadband_t30(true, SR), rel=1e-9)
    mcd = mel_cepstral_distortion(fftconvolve(dry, h), fftconvolve(dry, true), SR)
    assert result["mcd_db"] == pytest.approx(mcd, rel=1e-9)


def test_mean_from_separate_folder(folder, voice, tmp_path):
    generate(tmp_path, 1, "test-unseen", 0, width=64, height=64, progress=False)  # same item 0, no train rows
    with pytest.raises(FileFormatError, match="--mean-from"):
        evaluate(tmp_path, systems=["mean"], speech=voice, progress=False)
    separate = evaluate(tmp_path, systems=["mean"], speech=voice, mean_from=folder, progress=False)
    same = evaluate(folder, limit=1, systems=["mean"], speech=voice, progress=False)
    assert separate == same


def test_bad_predictor_output_and_arguments(folder, voice):
    with pytest.raises(SoundstageError, match="returned 1 specs for 3"):
        evaluate(folder, systems=[], predictors={"short": FakePredictor(_true_specs(folder)[:1])}, speech=voice,
                 progress=False)
    with pytest.raises(SoundstageError, match="taken by built-in"):
        evaluate(folder, predictors={"mean": FakePredictor([])}, speech=voice, progress=False)
    with pytest.raises(SoundstageError, match="unknown systems"):
        evaluate(folder, systems=["oracle"], speech=voice, progress=False)
    with pytest.raises(SoundstageError, match="unknown split"):
        evaluate(folder, split="val", speech=voice, progress=False)


def test_cli_json_physics_and_plot(folder, voice, tmp_path, capsys):
    plot = tmp_path / "scores.png"
    code = main(["eval", "speak", "--data", str(folder), "--limit", "1", "--speech", str(voice), "--json",
                 "--plot", str(plot)])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result) == ["mean", "physics"]
    assert all(set(r) == KEYS and r["n"] == 1 for r in result.values())
    assert math.isfinite(result["physics"]["rte_s"]) and result["physics"]["mcd_db"] > 0
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert main(["eval", "speak", "--data", str(folder), "--limit", "1", "--speech", str(voice),
                 "--systems", "mean"]) == 0
    table = capsys.readouterr().out
    assert "mean" in table and "RTE s" in table and "physics" not in table


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--split", "val"], "unknown split"),
        (["--model", "noequals"], "NAME=CHECKPOINT"),
        (["--model", "=ckpt"], "NAME=CHECKPOINT"),
        (["--model", "mean=ckpt"], "NAME=CHECKPOINT"),
        (["--limit", "0"], "--limit"),
    ],
)
def test_cli_errors_exit_2_and_write_nothing(folder, tmp_path, capsys, extra, message):
    plot = tmp_path / "scores.png"
    assert main(["eval", "speak", "--data", str(folder), "--plot", str(plot), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not plot.exists()


def test_cli_missing_folder_and_no_train_rows(tmp_path, capsys):
    plot = tmp_path / "scores.png"
    assert main(["eval", "speak", "--data", str(tmp_path / "nowhere"), "--plot", str(plot)]) == 2
    assert "not a RoomSynth folder" in capsys.readouterr().err
    generate(tmp_path / "tests", 1, "test-unseen", 0, width=64, height=64, progress=False)
    assert main(["eval", "speak", "--data", str(tmp_path / "tests"), "--plot", str(plot)]) == 2
    assert "no train items" in capsys.readouterr().err
    assert not plot.exists()


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
def test_default_dry_speech_is_a_short_cached_sentence():
    dry = dry_speech(None, SR)
    assert 2.0 <= dry.size / SR <= 3.5 and dry.dtype == np.float32
    assert dry_speech(None, SR) is dry
    assert DEFAULT_SENTENCE.endswith("?")
