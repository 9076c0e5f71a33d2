import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from soundstage.errors import FileFormatError, InvalidAudioError, InvalidImageError
from soundstage.models.inpainting import (
    KINDS,
    ClassicalInpainter,
    InpainterConfig,
    build_inpainter,
    collate,
    count_parameters,
    feature_stats,
    inpainting_loss,
    load_inpainter,
    save_inpainter,
)
from soundstage.speech.features import LOGMEL_FLOOR

torch.set_num_threads(1)
CACHE = Path(__file__).resolve().parents[3] / "cache" / "grid_s1"


def _synthetic_clips(n, seed=0, frames=301):
    """Log-mel with a clip level, a spectral tilt and slow per-band motion; lip motion tracking the level."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] / 100.0
    bands = np.arange(80)[None, :] / 80.0
    clips = []
    for _ in range(n):
        level, tilt, rate = rng.uniform(-8, -2), rng.uniform(-4, 0), rng.uniform(1, 3)
        logmel = level + tilt * bands + 2 * np.sin(2 * np.pi * rate * t + 6 * bands)
        logmel += 0.1 * rng.standard_normal(logmel.shape)
        motion = 0.01 * np.cos(2 * np.pi * rate * np.arange((frames + 3) // 4)[:, None] / 25.0) * np.ones(80)
        clips.append({"logmel": logmel.astype(np.float32), "motion": motion.astype(np.float32), "text": "bin blue at f two now"})
    return clips


def _small(kind, examples=None, **extra):
    stats = feature_stats(examples) if examples else {}
    return build_inpainter(InpainterConfig(kind=kind, hidden=32, layers=1, dropout=0.0, **stats, **extra))


@pytest.mark.parametrize("kind", KINDS)
def test_forward_shapes_masking_and_ctc_head(kind):
    torch.manual_seed(0)
    model = build_inpainter(InpainterConfig(kind=kind))
    batch = collate(_synthetic_clips(2), 0)
    pred, ctc = model(batch["logmel_masked"], batch["mask"], batch["motion"])
    assert pred.shape == (2, 301, 80)
    keep = ~batch["mask"]
    assert torch.equal(pred[keep], batch["logmel_masked"][keep])
    assert not torch.equal(pred[batch["mask"]], batch["logmel_masked"][batch["mask"]])
    if kind == "av-mtl":
        assert ctc.shape == (76, 2, 29)
        torch.testing.assert_close(ctc.exp().sum(-1), torch.ones(76, 2))
        assert any(k.startswith("ctc_head") for k in model.state_dict())
    else:
        assert ctc is None and not any(k.startswith("ctc_head") for k in model.state_dict())
    assert (kind == "audio") == (model.visual is None)


@pytest.mark.parametrize("kind", KINDS)
def test_predict_keeps_unmasked_frames_exactly_and_checks_input(kind):
    clip = _synthetic_clips(1, seed=3)[0]
    model = _small(kind, [clip])
    mask = np.zeros(301, bool)
    mask[100:180] = True
    for dtype in (np.float32, np.float64):
        out = model.predict(clip["logmel"].astype(dtype), mask, clip["motion"])
        assert out.shape == (301, 80) and out.dtype == dtype
        np.testing.assert_array_equal(out[~mask], clip["logmel"].astype(dtype)[~mask])
        assert np.abs(out[mask] - clip["logmel"][mask]).max() > 0
    with pytest.raises(InvalidAudioError, match="mask"):
        model.predict(clip["logmel"], mask[:-1], clip["motion"])
    if kind != "audio":
        with pytest.raises(InvalidImageError, match="motion"):
            model.predict(clip["logmel"], mask, None)


def test_padded_batch_matches_single_clip_prediction():
    clips = _synthetic_clips(2, seed=5)
    clips[1] = {k: (v[:250] if k == "logmel" else v[:63] if k == "motion" else v) for k, v in clips[1].items()}
    model = _small("av-mtl", clips)
    batch = collate(clips, 1)
    with torch.no_grad():
        pred, ctc = model(batch["logmel_masked"], batch["mask"], batch["motion"],
                          lengths=batch["lengths"], motion_lengths=batch["motion_lengths"])
    assert batch["lengths"].tolist() == [301, 250] and batch["motion_lengths"].tolist() == [76, 63]
    alone = model.predict(clips[1]["logmel"], batch["mask"][1, :250].numpy(), clips[1]["motion"])
    np.testing.assert_allclose(pred[1, :250].numpy(), alone, atol=1e-5)


def test_collate_draws_one_or_two_gaps_per_clip():
    clips = _synthetic_clips(8)
    clips[0]["text"] = np.array([3, 10, 15])
    batch = collate(clips, 11)
    assert batch["logmel"].shape == (8, 301, 80) and batch["motion"].shape == (8, 76, 80)
    counts = {len(g) for g in batch["gaps"]}
    assert counts <= {1, 2} and len(collate(clips * 4, 12)["gaps"]) == 32
    for gaps, mask in zip(batch["gaps"], batch["mask"].numpy()):
        assert all(0.3 - 1e-9 <= g.duration <= 1.5 + 1e-9 for g in gaps)
        assert abs(mask.sum() - sum(g.duration for g in gaps) * 100) <= 2 * len(gaps)
    assert torch.all(batch["logmel_masked"][batch["mask"]] == np.float32(LOGMEL_FLOOR))
    assert batch["target_lengths"].tolist() == [3] + [21] * 7
    assert batch["targets"][:3].tolist() == [3, 10, 15] and batch["targets"][3:6].tolist() == [3, 10, 15]
    again = collate(clips, 11)
    assert torch.equal(again["mask"], batch["mask"]) and again["gaps"] == batch["gaps"]


def _training_clips():
    files = sorted(CACHE.glob("*.npz"))[:8] if CACHE.is_dir() else []
    if len(files) == 8:
        return [{k: (str(v) if k == "text" else v) for k, v in np.load(f).items()} for f in files]
    return _synthetic_clips(8)


def test_twenty_training_steps_lower_the_loss():
    torch.manual_seed(0)
    clips = _training_clips()
    model = _small("av-mtl", clips, ctc_weight=0.01)
    fixed = collate(clips, 100)
    with torch.no_grad():
        before, _ = inpainting_loss(model.eval(), fixed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    model.train()
    for _ in range(20):
        loss, parts = inpainting_loss(model, collate(clips, rng))
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert parts["ctc"] > 0 and parts["total"] == pytest.approx(parts["mse"] + 0.01 * parts["ctc"], rel=1e-5)
    with torch.no_grad():
        after, _ = inpainting_loss(model.eval(), fixed)
    assert float(after) < 0.8 * float(before)


def test_save_load_round_trip_is_exact_and_safetensors_only(tmp_path):
    clip = _synthetic_clips(1)[0]
    mask = np.zeros(301, bool)
    mask[50:150] = True
    for kind in KINDS:
        model = _small(kind, [clip], training={"steps": 20, "val_loss": 0.5})
        weights, config = save_inpainter(model, tmp_path / f"inpaint_{kind}")
        assert weights.name == f"inpaint_{kind}.safetensors" and config.name == f"inpaint_{kind}.json"
        header = weights.read_bytes()
        (size,) = struct.unpack("<Q", header[:8])
        assert "out.weight" in json.loads(header[8 : 8 + size])
        assert json.loads(config.read_text())["kind"] == kind
        loaded = load_inpainter(tmp_path / f"inpaint_{kind}")
        assert type(loaded) is type(model) and loaded.config == model.config
        np.testing.assert_array_equal(loaded.predict(clip["logmel"], mask, clip["motion"]),
                                      model.predict(clip["logmel"], mask, clip["motion"]))
    torch.save(model.state_dict(), tmp_path / "model.pt")
    with pytest.raises(FileFormatError, match="safetensors"):
        load_inpainter(tmp_path / "model.pt")
    (tmp_path / "bad.safetensors").write_bytes((tmp_path / "model.pt").read_bytes())
    (tmp_path / "bad.json").write_text(model.config.to_json())
    with pytest.raises(FileFormatError, match="safetensors"):
        load_inpainter(tmp_path / "bad")
    with pytest.raises(FileFormatError, match="missing"):
        load_inpainter(tmp_path / "absent")


def test_default_models_fit_the_size_budget(tmp_path):
    counts = {kind: count_parameters(build_inpainter(InpainterConfig(kind=kind))) for kind in KINDS}
    assert counts["av-mtl"] - counts["av"] == 384 * 29 + 29
    assert all(4 * n < 20e6 for n in counts.values())
    weights, _ = save_inpainter(build_inpainter(InpainterConfig(kind="av-mtl")), tmp_path / "big")
    assert weights.stat().st_size < 20e6


def test_classical_matches_naive_per_band_interpolation():
    rng = np.random.default_rng(9)
    logmel = rng.normal(-6, 2, (301, 80)).astype(np.float32)
    for spans in ([(40, 90)], [(0, 20), (100, 160), (290, 301)], [(10, 11), (12, 14)]):
        mask = np.zeros(301, bool)
        for a, b in spans:
            mask[a:b] = True
        out = ClassicalInpainter().predict(logmel, mask)
        known = np.flatnonzero(~mask)
        naive = np.stack([np.interp(np.arange(301), known, logmel[known, k]) for k in range(80)], axis=1)
        np.testing.assert_allclose(out, naive, rtol=1e-6, atol=1e-5)
        np.testing.assert_array_equal(out[~mask], logmel[~mask])
    with pytest.raises(InvalidAudioError, match="every frame"):
        ClassicalInpainter().predict(logmel, np.ones(301, bool))
