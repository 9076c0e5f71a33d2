"""The inpaint job: untouched samples outside gaps, real GRID runs, shipped checkpoints, bad input."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from soundstage.cli import main
from soundstage.data.grid import load_grid, split_clips, transcript
from soundstage.errors import InvalidAudioError, InvalidImageError, NoFaceError
from soundstage.io.audio import read_audio, write_audio
from soundstage.io.video import read_video, read_video_audio, write_video
from soundstage.metrics.speech import word_error_rate
from soundstage.models.inpainting import AVMTLS2S, ClassicalInpainter, InpainterConfig
from soundstage.pipelines.inpaint import WEIGHTS, inpaint, load_model, parse_gaps, restore
from soundstage.speech.characters import decode_ctc, encode_text
from soundstage.speech.features import SR, log_mel
from soundstage.speech.gaps import Gap, mask_waveform
from soundstage.vision.lips import video_lip_features

GRID = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "grid_s1"
needs_grid = pytest.mark.skipif(not GRID.is_dir(), reason="GRID data folder is absent")
shipped = pytest.mark.skipif(not (WEIGHTS / "inpaint_av-mtl.safetensors").exists(), reason="no shipped weights")
torch.set_num_threads(1)


def _voiced(seconds=2.0, seed=0):
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.7 * t)
    x = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / SR) / k for k in range(1, 12))
    return (0.1 * x * (1 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 1e-3 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.mark.parametrize("model", [ClassicalInpainter(), AVMTLS2S(InpainterConfig(hidden=16, layers=1))])
def test_restore_leaves_every_sample_outside_the_gaps(model):
    x = _voiced()
    gaps = [Gap(0.4, 0.8), Gap(1.2, 1.5)]
    motion = np.random.default_rng(1).normal(0, 0.01, (51, 80)).astype(np.float32)
    out = restore(mask_waveform(x, gaps, SR), gaps, model, motion)
    assert out.shape == x.shape and out.dtype == np.float32
    inside = np.zeros(x.size, bool)
    for g in gaps:
        inside[int(np.ceil(g.start * SR)) : int(np.ceil(g.end * SR))] = True
    np.testing.assert_array_equal(out[~inside], x[~inside])
    assert np.sqrt(np.mean(out[inside] ** 2)) > 1e-3  # the gap is filled, not left silent


def test_classical_restore_of_a_steady_tone_is_close_to_the_original():
    t = np.arange(SR) / SR
    x = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    gaps = [Gap(0.4, 0.7)]
    out = restore(mask_waveform(x, gaps, SR), gaps, ClassicalInpainter())
    seg = slice(int(0.45 * SR), int(0.65 * SR))
    ratio = np.sqrt(np.mean(out[seg] ** 2) / np.mean(x[seg] ** 2))
    assert 0.7 < ratio < 1.3
    spectrum = np.abs(np.fft.rfft(out[seg]))
    assert abs(np.argmax(spectrum) * SR / (seg.stop - seg.start) - 220) < 10


def test_parse_gaps():
    assert parse_gaps("1.20-2.00, 2.4-2.7") == [Gap(1.2, 2.0), Gap(2.4, 2.7)]
    for bad in ("1.2", "a-b", "1.2-"):
        with pytest.raises(InvalidAudioError, match="START-END"):
            parse_gaps(bad)


@pytest.fixture
def talking_face(tmp_path):
    """A real GRID clip and its audio with a 600 ms dropout (digital silence)."""
    video = GRID / "bbaf2n.mkv"
    clean, sr = read_video_audio(video)
    clean = clean.mean(axis=0)
    damaged = mask_waveform(clean, [Gap(1.0, 1.6)], sr)
    wav = write_audio(tmp_path / "damaged.wav", damaged, sr)
    return video, wav, clean, damaged


@needs_grid
def test_cli_inpaint_detects_the_dropout_and_fills_it(talking_face, tmp_path, capsys):
    video, wav, clean, damaged = talking_face
    out = tmp_path / "restored.wav"
    assert main(["inpaint", "--video", str(video), "--audio", str(wav), "--model", "classical", "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (start, end), = report["gaps"]
    assert abs(start - 1.0) < 0.01 and abs(end - 1.6) < 0.01
    restored, sr = read_audio(out)
    assert sr == SR and restored.shape[-1] == damaged.size
    outside = np.ones(damaged.size, bool)
    outside[int(start * SR) - 1 : int(end * SR) + 1] = False
    np.testing.assert_allclose(restored[0, outside], damaged[outside], atol=1e-4)  # 16-bit WAV rounding
    assert np.std(restored[0, int(1.1 * SR) : int(1.5 * SR)]) > 1e-3


@needs_grid
@shipped
def test_audio_visual_inpaint_of_a_real_clip_beats_the_silent_gap(talking_face, tmp_path):
    video, wav, clean, damaged = talking_face
    result = inpaint(video, tmp_path / "av.wav", audio=wav, gaps=[Gap(1.0, 1.6)], model="av-mtl")
    assert result.model == "av-mtl" and result.missing_frames == 0
    restored, _ = read_audio(result.path, mono=True)
    frames = slice(105, 155)
    err_restored = np.abs(log_mel(restored)[frames] - log_mel(clean)[frames]).mean()
    err_silent = np.abs(log_mel(damaged)[frames] - log_mel(clean)[frames]).mean()
    assert err_restored < 0.5 * err_silent


@needs_grid
@shipped
def test_trained_lip_reader_head_has_learned_the_training_transcripts():
    """The CTC head reads training clips far better than the same network with a fresh head,
    and its greedy decoding recovers most of their words (word error rate below 0.5)."""
    model = load_model("av-mtl").eval()
    fresh = load_model("av-mtl").eval()
    torch.manual_seed(0)
    fresh.ctc_head.reset_parameters()
    grid = {c.id: c for c in load_grid(GRID)}
    losses = {"trained": 0.0, "fresh": 0.0}
    errors = []
    for clip_id in split_clips(list(grid.values()))["train"][:4]:
        lips = video_lip_features(grid[clip_id].video)
        motion = torch.from_numpy(lips.motion)[None]
        target = torch.from_numpy(encode_text(transcript(grid[clip_id])))[None]
        for name, net in (("fresh", fresh), ("trained", model)):  # decoded below: the trained head
            with torch.no_grad():
                _, ctc = net(torch.zeros(1, 300, 80), torch.ones(1, 300, dtype=torch.bool), motion)
                loss = torch.nn.functional.ctc_loss(ctc, target, [ctc.shape[0]], [target.shape[1]], blank=0)
                losses[name] += loss.item()
        text = decode_ctc(ctc[:, 0].detach().numpy())
        assert set(text) <= set(" abcdefghijklmnopqrstuvwxyz'")
        errors.append(word_error_rate(transcript(grid[clip_id]), text))
    assert losses["trained"] < 0.6 * losses["fresh"]
    assert np.mean(errors) < 0.5


@needs_grid
def test_bad_gaps_and_no_gap(talking_face, tmp_path):
    video, wav, clean, _ = talking_face
    out = tmp_path / "o.wav"
    with pytest.raises(InvalidAudioError, match="ends after the signal"):
        inpaint(video, out, audio=wav, gaps=[Gap(2.5, 3.5)], model="classical")
    with pytest.raises(InvalidAudioError, match="overlap"):
        inpaint(video, out, audio=wav, gaps=[Gap(0.5, 1.0), Gap(0.9, 1.4)], model="classical")
    clean_wav = write_audio(tmp_path / "clean.wav", clean, SR)
    with pytest.raises(InvalidAudioError, match="no gap found"):
        inpaint(video, out, audio=clean_wav, model="classical")
    assert not out.exists()


@needs_grid
@shipped
def test_video_shorter_than_audio(talking_face, tmp_path):
    video, _, clean, _ = talking_face
    longer = write_audio(tmp_path / "long.wav", np.concatenate([clean, clean]), SR)
    with pytest.raises(InvalidAudioError, match="shorter than the audio"):
        inpaint(video, tmp_path / "o.wav", audio=longer, gaps=[Gap(1.0, 1.5)], model="av-mtl")
    assert not (tmp_path / "o.wav").exists()


@needs_grid
@shipped
def test_no_face_is_an_error_unless_audio_only_is_allowed(tmp_path, talking_face):
    _, wav, _, _ = talking_face
    frames = np.full((75, 96, 96, 3), 128, np.uint8)
    blank = write_video(tmp_path / "blank.mkv", frames, 25.0)
    with pytest.raises(NoFaceError, match="allow-audio-only"):
        inpaint(blank, tmp_path / "o.wav", audio=wav, model="av-mtl")
    result = inpaint(blank, tmp_path / "o.wav", audio=wav, model="av-mtl", allow_audio_only=True)
    assert result.model == "audio" and result.notes and result.path.exists()


@needs_grid
@shipped
def test_rates_the_models_cannot_take(talking_face, tmp_path):
    video, _, clean, _ = talking_face
    narrow = write_audio(tmp_path / "8k.wav", clean[::2], 8000)
    with pytest.raises(InvalidAudioError, match="at least 16000 Hz"):
        inpaint(video, tmp_path / "o.wav", audio=narrow, gaps=[Gap(1.0, 1.5)], model="classical")
    frames = read_video(video, with_audio=False).frames[::5]
    slow = write_video(tmp_path / "slow.mkv", frames, 5.0)
    with pytest.raises(InvalidImageError, match="at least 20 fps"):
        inpaint(slow, tmp_path / "o.wav", audio=talking_face[1], gaps=[Gap(1.0, 1.5)], model="av-mtl")
    assert not (tmp_path / "o.wav").exists()


@needs_grid
@shipped
def test_eval_inpaint_on_real_clips_with_the_control(tmp_path, capsys):
    """Scores per model and bin; the control fills the gap with real speech (in-gap LSD far below zeros')."""
    from soundstage.pipelines.inpaint import CONTROL, evaluate

    folder = tmp_path / "grid"
    folder.mkdir()
    for clip_id in ("bbaf2n", "bbaf3s"):
        for ext in (".mkv", ".align"):
            (folder / f"{clip_id}{ext}").symlink_to(GRID / f"{clip_id}{ext}")
    result = evaluate(folder, models=("audio", "classical"), bins_ms=(300, 1500), split="all")
    assert set(result) == {"audio", "classical", "unprocessed", CONTROL}
    for per_bin in result.values():
        assert set(per_bin) == {"300", "1500"}
        assert all(cell["clips"] == 2 and set(cell) == {"pesq", "stoi", "lsd", "l1", "clips"} for cell in per_bin.values())
    for b in ("300", "1500"):
        assert result[CONTROL][b]["lsd"] < result["unprocessed"][b]["lsd"] - 10
        assert result["classical"][b]["stoi"] > result["unprocessed"][b]["stoi"]
    assert main(["eval", "inpaint", "--data", str(folder), "--split", "all", "--models", "classical", "--no-control",
                 "--limit", "1", "--json", "--plot", str(tmp_path / "scores.png")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"classical", "unprocessed"} and set(out["classical"]) == {"300", "600", "900", "1200", "1500"}
    assert (tmp_path / "scores.png").stat().st_size > 10_000
