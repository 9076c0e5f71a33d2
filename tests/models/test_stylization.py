"""The learned stylizer: diffusion maths, conditioning through the scene clip, checkpoints, the recipe's backgrounds."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from soundstage.errors import FileFormatError, SoundstageError
from soundstage.models import stylization as sty

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(**kw) -> sty.Stylizer:
    torch.manual_seed(0)
    return sty.Stylizer(sty.StylizerConfig(n_mels=8, dim=32, blocks=2, heads=2, **kw))


def test_cosine_schedule_runs_from_signal_to_noise():
    ab = sty.cosine_alpha_bar(torch.linspace(0, 1, 11))
    assert ab[0] == pytest.approx(1.0, abs=1e-6) and ab[-1] < 1e-4
    assert torch.all(ab[1:] <= ab[:-1])


def test_shapes_and_a_fresh_model_predicts_zero():
    m = tiny()
    noisy, dry = torch.randn(3, 20, 8), torch.randn(3, 20, 8)
    tokens, pad = m.scene_tokens(torch.randn(3, 30, 8), torch.tensor([30, 17, 5]), torch.zeros(3, 3, 64, 64))
    assert tokens.shape == (3, 8 + 64, 32) and pad.shape == (3, 72)
    assert pad[1, :5].sum() == 0 and pad[1, 5:8].all() and not pad[:, 8:].any()  # ceil(17 / 4) = 5 clip tokens
    v = m(noisy, dry, torch.rand(3), tokens, pad)
    assert v.shape == (3, 20, 8) and torch.count_nonzero(v) == 0  # zero-initialised head


def test_v_prediction_identities():
    # x_t = sqrt(ab) x0 + sqrt(1-ab) eps and v = sqrt(ab) eps - sqrt(1-ab) x0 give back x0 and eps
    x0, eps = torch.randn(4, 10, 8), torch.randn(4, 10, 8)
    ab = sty.cosine_alpha_bar(torch.tensor(0.37))
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    v = ab.sqrt() * eps - (1 - ab).sqrt() * x0
    torch.testing.assert_close(ab.sqrt() * xt - (1 - ab).sqrt() * v, x0)
    torch.testing.assert_close((1 - ab).sqrt() * xt + ab.sqrt() * v, eps)


def _toy_batch(gen: torch.Generator, n: int = 16, frames: int = 12):
    """Target = dry + c, where the scene clip is the constant c (+1 or -1) in every frame."""
    c = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    dry = 0.3 * torch.randn(n, frames, 8, generator=gen)
    clip = c[:, None, None].expand(n, 16, 8).clone()
    return dry + c[:, None, None], dry, clip


def test_the_model_learns_to_follow_the_scene_clip():
    m = tiny(image=False, p_uncond=0.2)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(1)
    first = None
    for step in range(250):
        target, dry, clip = _toy_batch(gen)
        loss = sty.diffusion_loss(m, target, dry, clip, generator=gen)
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * first
    m.eval()
    dry = 0.3 * torch.randn(2, 12, 8, generator=gen)
    clip = torch.stack([torch.ones(16, 8), -torch.ones(16, 8)])
    out = sty.sample(m, dry, clip, steps=20, guidance=2.0)
    shift = (out - dry).mean(dim=(1, 2))
    assert shift[0] > 0.5 and shift[1] < -0.5  # each output moved towards its own scene
    again = sty.sample(m, dry, clip, steps=20, guidance=2.0)
    torch.testing.assert_close(out, again)  # deterministic for a seed
    assert not torch.allclose(out, sty.sample(m, dry, clip, steps=20, guidance=2.0, seed=1))


def test_checkpoint_round_trip_and_bad_files(tmp_path):
    m = tiny()
    for p in m.parameters():
        p.data.normal_()
    sty.save_stylizer(m, tmp_path / "s", {"mean": -5.0, "std": 3.0}, {"steps": 1})
    back, doc = sty.load_stylizer(tmp_path / "s.safetensors")
    assert doc["stats"] == {"mean": -5.0, "std": 3.0} and doc["trained_on"] == {"steps": 1}
    for (k, a), (_, b) in zip(m.state_dict().items(), back.state_dict().items()):
        torch.testing.assert_close(a, b, msg=k)
    with pytest.raises(FileFormatError, match="recipes/stylize/train.py"):
        sty.load_stylizer(tmp_path / "missing")
    (tmp_path / "s.json").write_text('{"format": "other"}')
    with pytest.raises(FileFormatError, match="format"):
        sty.load_stylizer(tmp_path / "s")
    with pytest.raises(SoundstageError, match="mean and std"):
        sty.save_stylizer(m, tmp_path / "t", {"mean": 0.0}, {})


def test_prepare_image():
    x = sty.prepare_image(np.full((120, 90, 3), 255, np.uint8))
    assert x.shape == (1, 3, sty.IMAGE_SIZE, sty.IMAGE_SIZE) and torch.allclose(x, torch.ones_like(x))
    with pytest.raises(SoundstageError, match="uint8 RGB"):
        sty.prepare_image(np.zeros((10, 10), np.uint8))


def test_recipe_backgrounds_have_their_tilt_and_unit_level():
    spec = importlib.util.spec_from_file_location("stylize_train_recipe", ROOT / "recipes" / "stylize" / "train.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    rng = np.random.default_rng(0)
    n = 4 * 16000
    f = np.fft.rfftfreq(n, 1 / 16000)
    band = (f > 100) & (f < 6000)
    for tilt in (-2.0, 0.0, 0.5):
        x = recipe.background(n, rng, tilt, hum=0.0)
        assert np.mean(x**2) == pytest.approx(1.0, rel=1e-6)
        p = np.abs(np.fft.rfft(x)) ** 2
        slope = np.polyfit(np.log(f[band]), np.log(p[band]), 1)[0]
        assert slope == pytest.approx(tilt, abs=0.1)
    hum = recipe.background(n, rng, -1.0, hum=0.5)
    p = np.abs(np.fft.rfft(hum)) ** 2
    peak = f[np.argmax(p * (f < 200))]
    assert min(abs(peak - 50), abs(peak - 60)) < 1.0
    assert recipe.active_rms(np.zeros(1000)) == 0.0
    assert math.isclose(recipe.active_rms(np.ones(3200)), 1.0)
