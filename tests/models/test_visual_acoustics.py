"""Visual-acoustics model: selection, ablations, training, checkpoints, predictor and `speak --model learned`."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from soundstage.acoustics.from_profile import PROFILE_BANDS, synthesize_from_spec, validate_spec
from soundstage.cli import main
from soundstage.constants import OCTAVE_BANDS
from soundstage.data.roomsynth.manifest import generate
from soundstage.errors import FileFormatError, InvalidImageError, SoundstageError
from soundstage.io.audio import read_audio, write_audio
from soundstage.io.depth import write_depth
from soundstage.io.image import write_image
from soundstage.models.visual_acoustics import (
    Predictor,
    VisualAcousticsNet,
    build_vocab,
    caption_absorption,
    encode_captions,
    load_predictor,
    prepare_inputs,
    save_checkpoint,
)
from soundstage.scene.synthetic import render_room

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(image_size=32, patch=8, dim=16, layers=1, heads=2, top_k=4, rounds=1, geometry=False, material_prior=False)
CAPTIONS = ["A small square room with a carpeted floor, brick walls and a plaster ceiling. A person speaks close to "
            "the camera.", "A large rectangular room with a wooden floor, glass walls and a concrete ceiling."]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _batch(n=3, size=32, seed=0):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    depth = rng.uniform(0.5, 8.0, (n, size, size)).astype(np.float32)
    return rgb, depth


def _tiny_predictor(seed=0, **kw):
    torch.manual_seed(seed)
    vocab = build_vocab(CAPTIONS)
    model = VisualAcousticsNet(vocab_size=len(vocab), **(TINY | kw)).eval()
    mean = [np.log(0.6)] * 6 + [3.0, np.log(0.006)]
    model.set_target_stats(mean, [0.3] * 6 + [4.0, 0.5])
    config = {"vocab": vocab, "target_mean": mean, "target_std": [0.3] * 6 + [4.0, 0.5],
              "target_min": [np.log(0.1)] * 6 + [-20.0, np.log(1e-3)], "target_max": [np.log(5.0)] * 6 + [20.0, -2.0]}
    return model, config


def test_prepare_inputs_area_averages_and_ignores_invalid_depth():
    rgb = np.zeros((1, 4, 4, 3), np.uint8)
    rgb[0, :2, :2] = [10, 20, 30]
    rgb[0, :2, 2:] = 200
    depth = np.array([[[1.0, 3.0, 0.0, 0.0], [np.nan, 2.0, np.nan, 0.0], [5, 5, 5, 5], [5, 5, 5, -1]]], np.float32)
    small, d = prepare_inputs(rgb, depth, 2)
    assert small.dtype == np.uint8 and small.shape == (1, 2, 2, 3)
    np.testing.assert_array_equal(small[0, 0, 0], [10, 20, 30])
    np.testing.assert_array_equal(small[0, 0, 1], [200, 200, 200])
    np.testing.assert_allclose(d[0], [[2.0, 0.0], [5.0, 5.0]])  # mean of valid pixels; none valid -> 0
    with pytest.raises(InvalidImageError, match="expected uint8"):
        prepare_inputs(rgb.astype(np.float32), depth, 2)
    with pytest.raises(InvalidImageError, match="match the rgb"):
        prepare_inputs(rgb, depth[:, :2], 2)


def test_caption_tokens_leave_unknown_terms_out():
    vocab = {t: i for i, t in enumerate(build_vocab(["brick walls"]))}
    ids = encode_captions(["Marble brick walls", "marble"], vocab)
    assert ids[0, :3].tolist() == [vocab["brick"], vocab["walls"], vocab["brick_walls"]] and not ids[0, 3:].any()
    assert not ids[1].any()  # nothing known: all padding


def test_rgb_and_depth_share_the_caption_guided_top_k_indices():
    model, config = _tiny_predictor()
    rgb, depth = _batch(2)
    tokens = torch.from_numpy(encode_captions(CAPTIONS, {t: i for i, t in enumerate(config["vocab"])}))
    out, info = model(torch.from_numpy(rgb), torch.from_numpy(depth), tokens, details=True)
    idx, w = info["indices"], info["weights"]
    assert out.shape == (2, 8) and idx.shape == (2, TINY["top_k"])
    np.testing.assert_array_equal(idx, info["scores"].topk(TINY["top_k"], dim=1).indices)
    assert len(set(idx[0].tolist())) == TINY["top_k"]
    for name in ("rgb", "depth"):  # one index tensor picks both modalities' tokens
        tokens_all = info[f"{name}_tokens"]
        picked = torch.stack([tokens_all[b, idx[b]] for b in range(2)]) * w[..., None]
        torch.testing.assert_close(info[f"{name}_local"], picked)
    # the caption changes the selection scores, and the selection is trained through the loss
    other = torch.from_numpy(encode_captions(CAPTIONS[::-1], {t: i for i, t in enumerate(config["vocab"])}))
    assert not torch.allclose(model(torch.from_numpy(rgb), torch.from_numpy(depth), other, details=True)[1]["scores"],
                              info["scores"])
    out.sum().backward()
    assert model.words.weight.grad.abs().sum() > 0 and model.log_scale.grad is not None


@pytest.mark.parametrize("kw", [dict(use_depth=False), dict(use_caption=False), dict(local_aware=False),
                                dict(geometry=True), dict(geometry=True, material_prior=True),
                                dict(use_depth=False, use_caption=False, geometry=True, material_prior=True),
                                *[dict(image_size=112, top_k=k) for k in (20, 40, 80, 140)]])
def test_ablation_configs_build_and_run(kw):
    model, config = _tiny_predictor(**kw)
    size = kw.get("image_size", TINY["image_size"])
    rgb, depth = _batch(2, size=size)
    predictor = Predictor(model, config)
    ratios = [1.2, 0.7] if model.geometry else None
    specs = predictor.predict(rgb, None if kw.get("use_depth") is False else depth, CAPTIONS, ratios=ratios)
    assert len(specs) == 2 and all(validate_spec(s) for s in specs)
    prior = torch.from_numpy(caption_absorption(CAPTIONS)) if model.material_prior else None
    _, info = model(torch.from_numpy(rgb), torch.from_numpy(depth),
                    torch.from_numpy(encode_captions(CAPTIONS, predictor.vocab)),
                    None if ratios is None else torch.tensor(ratios), prior, details=True)
    assert ("indices" in info) == model.local_aware and ("depth_tokens" in info) == model.use_depth
    if "indices" in info:
        assert info["indices"].shape == (2, kw.get("top_k", TINY["top_k"]))


def test_bad_settings_and_missing_depth_are_refused():
    with pytest.raises(SoundstageError, match="top_k 20 must be in 1..16"):
        VisualAcousticsNet(**(TINY | {"top_k": 20}))
    with pytest.raises(SoundstageError, match="multiple of patch"):
        VisualAcousticsNet(**(TINY | {"image_size": 30}))
    model, config = _tiny_predictor()
    rgb, _ = _batch(1)
    with pytest.raises(InvalidImageError, match="depth"):
        Predictor(model, config).predict(rgb, None, CAPTIONS[:1])
    with pytest.raises(SoundstageError, match="list of 1 strings"):
        Predictor(model, config).predict(rgb, _batch(1)[1], CAPTIONS)
    with pytest.raises(SoundstageError, match="material_prior needs geometry"):
        VisualAcousticsNet(**(TINY | {"material_prior": True}))
    model, config = _tiny_predictor(geometry=True, material_prior=True)
    rgb, depth = _batch(1)
    tokens = torch.zeros(1, 4, dtype=torch.long)
    with pytest.raises(SoundstageError, match="room geometry"):  # the Eyring head needs V/S
        model(torch.from_numpy(rgb), torch.from_numpy(depth), tokens)
    with pytest.raises(SoundstageError, match="material prior"):
        model(torch.from_numpy(rgb), torch.from_numpy(depth), tokens, torch.ones(1))
    with pytest.raises(SoundstageError, match="positive V/S"):
        Predictor(model, config).predict(rgb, depth, CAPTIONS[:1], ratios=[-1.0])


def test_eyring_head_gives_the_engines_eyring_t30_and_scales_with_the_room():
    """Absorption exponents -ln(1 - alpha) of a real material mix + the room's V/S -> the engine's
    Eyring T30 (with air absorption) per band; a room scaled up 2x (same surfaces) gets ~2x the T30."""
    from soundstage.acoustics.room import Room

    model, _ = _tiny_predictor(geometry=True)
    for dims in ((5.0, 4.0, 3.0), (20.0, 9.0, 7.5), (3.0, 2.5, 2.4)):
        room = Room.shoebox(dims, {"floor": "carpet", "ceiling": "plaster", "north": "glass", "south": "brick",
                                   "east": "wood", "west": "concrete"})
        volume, area = room.volume, room.surface_areas().sum()
        bands = [OCTAVE_BANDS.index(b) for b in PROFILE_BANDS]
        alpha = np.clip(room.mean_absorption(), 0, 1 - 1e-12)[bands]
        t30 = model.eyring_t30(torch.tensor(-np.log1p(-alpha))[None].float(), torch.tensor([volume / area]))
        np.testing.assert_allclose(t30[0].numpy(), room.rt60(formula="eyring")[bands], rtol=1e-4)
    a = torch.full((1, 6), 0.2)
    small, large = (model.eyring_t30(a, torch.tensor([g]))[0] for g in (0.5, 1.0))
    ratio = (large / small).numpy()
    assert ratio[0] > 1.99 and np.all(ratio <= 2.0) and np.all(np.diff(ratio) < 0)  # air shortens the highs most


def test_caption_absorption_weighs_the_named_materials_and_drives_the_eyring_head():
    from soundstage.acoustics.materials import get_material
    from soundstage.acoustics.room import Room
    from soundstage.scene.caption import caption_materials

    curtained = "A large square room with a carpeted floor, curtained and brick walls and an acoustic-tile ceiling."
    hard = "A large square room with a tiled floor, glass walls and a concrete ceiling."
    prior = caption_absorption([curtained, hard, "no template here"])
    bands = [OCTAVE_BANDS.index(b) for b in PROFILE_BANDS]
    named = caption_materials(curtained)
    assert [len(named[s]) for s in ("floor", "walls", "ceiling")] == [1, 2, 1]

    def mean_of(names):
        return np.mean([np.asarray(get_material(n).absorption)[bands] for n in names], axis=0)

    expected = (0.25 * mean_of(named["floor"][0]) + 0.25 * mean_of(named["ceiling"][0])
                + 0.5 * np.mean([mean_of(w) for w in named["walls"]], axis=0))
    np.testing.assert_allclose(prior[0], expected)
    assert np.all(prior[0, 2:] > 2 * prior[1, 2:])  # curtains, carpet and tiles absorb more than tiles and glass
    assert np.all((prior[2] > 0) & (prior[2] < 1))  # no materials named: the table's mean
    # with the correction head at zero the model is Eyring's formula over the named materials
    model, _ = _tiny_predictor(geometry=True, material_prior=True)
    torch.nn.init.zeros_(model.head[-1].weight), torch.nn.init.zeros_(model.head[-1].bias)
    rgb, depth = _batch(2)
    room = Room.shoebox((8.0, 6.0, 3.0), "concrete")
    ratio = room.volume / room.surface_areas().sum()
    with torch.no_grad():
        _, info = model(torch.from_numpy(rgb), torch.from_numpy(depth), torch.zeros(2, 4, dtype=torch.long),
                        torch.full((2,), ratio), torch.from_numpy(prior[:2]), details=True)
        t30 = model.eyring_t30(info["absorption"], torch.full((2,), ratio)).numpy()
    for row in range(2):
        alpha = np.append(prior[row], 0.0)  # 8 kHz is not predicted
        eyring = Room.shoebox((8.0, 6.0, 3.0), dict.fromkeys(("floor", "ceiling", "north", "south", "east", "west"),
                                                               _uniform(alpha))).rt60(formula="eyring")
        np.testing.assert_allclose(t30[row], eyring[bands], rtol=1e-4)


def _uniform(alpha):
    from soundstage.acoustics.materials import Material

    return Material("uniform", tuple(float(a) for a in np.append(alpha, alpha[-1])[:7]), (0.1,) * 7, "test")


def test_room_ratio_of_a_rendered_room_matches_its_true_volume_over_surface():
    from soundstage.models.visual_acoustics import room_ratio

    for dims, cam, yaw in (((6.0, 5.0, 2.8), (2.0, 1.5, 1.5), 20.0), ((4.0, 12.0, 6.0), (2.0, 4.0, 1.6), 0.0)):  # the wall behind at half the distance ahead, as the layout assumes
        _, depth, k = render_room(dims, cam, yaw_deg=yaw, pitch_deg=-5.0)
        true = np.prod(dims) / (2 * (dims[0] * dims[1] + dims[0] * dims[2] + dims[1] * dims[2]))
        got = room_ratio(depth, k)
        assert got.shape == (1,) and abs(got[0] / true - 1) < 0.15, (got, true)  # faces out of view are guessed
    with pytest.raises(InvalidImageError, match="expected"):
        room_ratio(np.zeros(5, np.float32))


def test_predictions_at_the_float32_training_bound_stay_valid_specs():
    """Training bounds are stored as float32 logs; exp(float32(ln 0.05)) < 0.05 must not make an invalid spec."""
    model, config = _tiny_predictor(geometry=True)
    low = float(np.float32(np.log(0.05)))
    config |= {"target_min": [low] * 6 + [-20.0, np.log(1e-3)], "target_max": [low] * 6 + [20.0, -2.0]}
    rgb, depth = _batch(2)
    specs = Predictor(model, config).predict(rgb, depth, CAPTIONS, ratios=[0.5, 1.0])
    assert all(validate_spec(s)["t30"]["500"] >= 0.05 for s in specs)


def test_twenty_training_steps_lower_the_loss():
    torch.manual_seed(0)
    model, config = _tiny_predictor()
    rgb, depth = _batch(16, seed=1)
    tokens = torch.from_numpy(encode_captions(CAPTIONS * 8, {t: i for i, t in enumerate(config["vocab"])}))
    # targets that depend on the picture: mean brightness and mean depth
    target = torch.from_numpy(np.stack([rgb.mean((1, 2, 3)) / 64 - 2, depth.mean((1, 2)) - 4.2] * 4, 1)).float()
    x, d = torch.from_numpy(rgb), torch.from_numpy(depth)
    optim = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    losses = []
    for _ in range(20):
        loss = ((model(x, d, tokens) - target) ** 2).mean()
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("geometry", [False, True])
def test_checkpoint_round_trip_and_predict_format(tmp_path, geometry):
    model, config = _tiny_predictor(seed=3, geometry=geometry, material_prior=geometry)
    rgb, depth = _batch(3, size=48)  # resized to the model's 32 px
    depth[0, :10] = np.nan
    ratios = [0.4, 1.0, 2.5] if geometry else None
    before = Predictor(model, config).predict(rgb, depth, CAPTIONS + ["unknown words only"], ratios=ratios)
    record = {"data": "tiny", "items": {"train": 0}, "seed": 0, "steps": 0, "minutes": 0.0, "val_loss": None}
    weights, meta = save_checkpoint(model, tmp_path / "va", config, record)
    assert weights.name == "va.safetensors" and json.loads(meta.read_text())["trained_on"] == record
    for path in (tmp_path / "va", weights, meta):
        after = load_predictor(path).predict(rgb, depth, CAPTIONS + ["unknown words only"], ratios=ratios)
        assert after == before
    for spec in before:
        assert set(spec) == {"t30", "drr_db", "direct_delay_s"} and list(spec["t30"]) == [str(b) for b in PROFILE_BANDS]
        assert all(0.1 <= t <= 5.0 for t in spec["t30"].values())  # clipped to the training range
        ir = synthesize_from_spec(spec, sr=16000, seed=0)
        assert ir.dtype == np.float32 and ir.ndim == 1 and np.all(np.isfinite(ir)) and np.abs(ir).max() > 0
    with pytest.raises(FileFormatError, match="train one"):
        load_predictor(tmp_path / "absent")
    meta.write_text("{}")
    with pytest.raises(FileFormatError, match="format"):
        load_predictor(tmp_path / "va")


def _recipe():
    spec = importlib.util.spec_from_file_location("speak_train_recipe", ROOT / "recipes" / "speak" / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recipe_trains_deterministically_on_a_tiny_roomsynth_folder(tmp_path):
    data = tmp_path / "rs"
    generate(data, 4, "train", 0, width=64, height=64, progress=False)
    recipe = _recipe()
    args = ["--data", str(data), "--cache", str(tmp_path / "cache"), "--steps", "3", "--batch", "4",
            "--image-size", "32", "--dim", "16", "--layers", "1", "--top-k", "8", "--val-every", "1", "--threads", "1"]
    assert recipe.main(args + ["--out", str(tmp_path / "a")]) == 0
    assert recipe.main(args + ["--out", str(tmp_path / "b")]) == 0  # reuses the cache
    a, b = (Path(f"{tmp_path / n}.safetensors").read_bytes() for n in "ab")
    assert a == b
    doc = json.loads((tmp_path / "a.json").read_text())
    assert doc["trained_on"]["items"] == {"train": 3, "val": 1, "val_rule": "index % 50 == 0"}
    assert doc["trained_on"]["data"] == "rs" and len(doc["vocab"]) == doc["model"]["vocab_size"]
    cached = np.load(tmp_path / "cache" / "rgb.npy")
    assert cached.shape == (4, 32, 32, 3) and cached.any()
    assert doc["model"]["geometry"] and doc["model"]["material_prior"]
    # the room ratio of every item is cached from its full-size depth; a cache without it is filled in
    from soundstage.data.roomsynth.manifest import item_path, load_item
    from soundstage.models.visual_acoustics import room_ratio
    from soundstage.scene.camera import Intrinsics

    ratios = np.load(tmp_path / "cache" / "ratio.npy")
    item = load_item(item_path(data, "train", 2))
    assert ratios[2] == room_ratio(item["depth"], Intrinsics.from_dict(item["meta"]["camera"]["intrinsics"]))[0]
    (tmp_path / "cache" / "ratio.npy").unlink()
    assert recipe.main(args + ["--out", str(tmp_path / "d")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "cache" / "ratio.npy"), ratios)
    with pytest.raises(SoundstageError, match="another --cache"):
        recipe.main([a if a != "32" else "48" for a in args] + ["--out", str(tmp_path / "c")])


def test_speak_with_the_learned_model_end_to_end(tmp_path, capsys):
    rgb, depth, k = render_room((5.0, 6.0, 2.7), (2.2, 1.2, 1.4), yaw_deg=10.0, pitch_deg=-5.0)
    image = write_image(tmp_path / "room.png", rgb)
    depth_png = write_depth(tmp_path / "room_depth.png", depth, depth_scale=1000)
    dry_signal = 0.3 * np.random.default_rng(1).standard_normal(4000).astype(np.float32)
    dry = write_audio(tmp_path / "dry.wav", dry_signal, 16000)
    model, config = _tiny_predictor(seed=5, geometry=True, material_prior=True)  # V/S from the fitted room
    ckpt = tmp_path / "tiny"
    save_checkpoint(model, ckpt, config, {"data": "none", "steps": 0})
    base = ["speak", "--speech", str(dry), "--image", str(image), "--intrinsics", f"{k.fx},{k.fy},{k.cx},{k.cy}",
            "--model", "learned", "--checkpoint", str(ckpt)]
    out = tmp_path / "out.wav"
    assert main(base + ["--depth", str(depth_png), "--depth-scale", "1000", "-o", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "learned" and report["channels"] == 1
    spec = report["predicted_profile"]
    assert "A person speaks" in report["learned_caption"] and "m^3" not in report["learned_caption"]
    audio, sr = read_audio(out)
    expected = np.convolve(dry_signal, synthesize_from_spec(spec, sr=16000, seed=0))
    gain = 10 ** (report["gain_db"] / 20)
    np.testing.assert_allclose(audio[0], gain * expected, atol=2e-3 * np.abs(expected).max())
    # a depth checkpoint without --depth, and a missing checkpoint: exit 2, a clear message, nothing written
    assert main(base + ["-o", str(tmp_path / "x.wav")]) == 2
    assert "give --depth" in capsys.readouterr().err
    missing = [a if a != str(ckpt) else str(tmp_path / "none") for a in base]
    assert main(missing + ["--depth", str(depth_png), "-o", str(tmp_path / "y.wav")]) == 2
    assert "recipes/speak/train.py" in capsys.readouterr().err
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "y.wav").exists()


def test_shipped_checkpoint_beats_the_training_mean_on_rooms_like_its_training_rooms():
    """The shipped weights (trained on RoomSynth seed 0 train) on fresh test-seen rooms of another seed:
    their ln T30 per band and DRR are closer to the truth than the training mean's."""
    from soundstage.acoustics.from_profile import spec_from_profile, spec_to_vector
    from soundstage.data.roomsynth import make_item
    from soundstage.models.visual_acoustics import load_predictor
    from soundstage.pipelines.speak import DEFAULT_CHECKPOINT
    from soundstage.scene.camera import Intrinsics

    predictor = load_predictor(DEFAULT_CHECKPOINT)
    assert predictor.config["trained_on"]["items"]["train"] >= 19000
    items = [make_item(7, "test-seen", i) for i in range(12)]
    specs = predictor.predict(np.stack([it.rgb for it in items]), np.stack([it.depth for it in items]),
                              [it.meta["caption"] for it in items],
                              intrinsics=Intrinsics.from_dict(items[0].meta["camera"]["intrinsics"]))
    truth = np.stack([spec_to_vector(spec_from_profile(it.meta["profile"])) for it in items])
    learned = np.stack([spec_to_vector(s) for s in specs])
    mean = np.asarray(predictor.config["target_mean"])[None, :]
    for cols in (slice(0, 6), slice(6, 7)):  # ln T30 per band; DRR
        assert np.abs(learned - truth)[:, cols].mean() < 0.7 * np.abs(mean - truth)[:, cols].mean()
