"""The generative back-end (sources/generative.py) on a tiny randomly initialized AudioLDM pipeline.

The pipeline is built here (UNet, VAE, CLAP text encoder, HiFi-GAN vocoder and a byte-level
tokenizer, all a few MB, random weights), saved with ``save_pretrained`` and loaded back the
way a user's downloaded checkpoint is: from the folder only. Its sounds are noise, but the
plumbing is the real one: prompts, seeds, steps, sample rate, length, level and loop.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

import torch  # noqa: E402

from soundstage.cli import main  # noqa: E402
from soundstage.dsp.resample import resample  # noqa: E402
from soundstage.errors import DependencyError, FileFormatError, SoundstageError  # noqa: E402
from soundstage.sources.ambience import seamless, set_level  # noqa: E402
from soundstage.sources.generative import DEFAULT_LEVEL_DBFS, NEGATIVE_PROMPT, TextToAudio, prompt_for  # noqa: E402
from soundstage.sources.library import SoundLibrary  # noqa: E402
from soundstage.sources.procedural import CATEGORIES  # noqa: E402

MODEL_SR = 16000


def _byte_alphabet() -> list[str]:
    """The 256 printable characters byte-level BPE uses for the bytes (GPT-2's table)."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = [b for b in range(256) if b not in keep]
    return [chr(c) for c in keep] + [chr(256 + k) for k in range(len(extra))]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny random AudioLDM pipeline saved to a folder (16 kHz vocoder, 64x upsampling)."""
    from diffusers import AudioLDMPipeline, AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import (ClapTextConfig, ClapTextModelWithProjection, RobertaTokenizer, SpeechT5HifiGan,
                              SpeechT5HifiGanConfig)

    vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>", *_byte_alphabet()])}
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=2, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=(32, 64), class_embed_type="simple_projection", projection_class_embeddings_input_dim=32,
        class_embeddings_concat=True)
    vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=1, out_channels=1, latent_channels=4,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2)
    text = ClapTextModelWithProjection(ClapTextConfig(
        bos_token_id=0, eos_token_id=2, pad_token_id=1, hidden_size=32, intermediate_size=37, num_attention_heads=4,
        num_hidden_layers=2, vocab_size=len(vocab), projection_dim=32))
    vocoder = SpeechT5HifiGan(SpeechT5HifiGanConfig(
        model_in_dim=8, sampling_rate=MODEL_SR, upsample_initial_channel=16, upsample_rates=[8, 8],
        upsample_kernel_sizes=[16, 16], resblock_kernel_sizes=[3, 7], resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5]],
        normalize_before=False))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False)
    tokenizer = RobertaTokenizer(vocab=vocab, merges=[], model_max_length=77)
    pipe = AudioLDMPipeline(vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                            vocoder=vocoder)
    folder = tmp_path_factory.mktemp("audioldm")
    pipe.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def generator(checkpoint):
    return TextToAudio(checkpoint, steps=2)


def test_prompts_are_category_descriptions_or_the_label_itself():
    assert prompt_for("birds") == CATEGORIES["birds"].description == "birdsong"
    assert prompt_for("  church bells ") == "church bells"
    with pytest.raises(SoundstageError, match="empty"):
        prompt_for(" ")


def test_a_sound_is_the_pipelines_clip_made_loopable_at_the_rate_and_level_asked(generator):
    sr, duration = 48000, 0.6
    x, prompt = generator.render("birds", duration, sr, seed=4)
    assert prompt == "birdsong" and x.shape == (int(duration * sr),)
    # naive reference: the pipeline called directly with the same prompt, seed and steps
    out = generator.pipeline("birdsong", audio_length_in_s=duration + 0.1, num_inference_steps=2, guidance_scale=2.5,
                             negative_prompt=NEGATIVE_PROMPT, generator=torch.Generator().manual_seed(4))
    raw = np.asarray(out.audios[0], float)
    expected = set_level(seamless(resample(raw, sr_in=MODEL_SR, sr_out=sr), x.size, sr, seed=4),
                         CATEGORIES["birds"].level_dbfs)
    assert np.allclose(x, expected, atol=1e-6 * np.abs(expected).max())
    level = 10 * np.log10(np.mean(x**2) / 0.5)
    assert level == pytest.approx(CATEGORIES["birds"].level_dbfs, abs=1e-6)
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / sr)
    assert spectrum[freqs > 8500].sum() < 1e-3 * spectrum.sum()  # resampled from the model's 16 kHz, not relabelled


def test_seeded_and_prompted(generator):
    a, _ = generator.render("church bells", 0.4, MODEL_SR, seed=1)
    assert np.array_equal(a, generator.render("church bells", 0.4, MODEL_SR, seed=1)[0])
    assert not np.allclose(a, generator.render("church bells", 0.4, MODEL_SR, seed=2)[0])
    assert not np.array_equal(a, generator.render("a ticking clock", 0.4, MODEL_SR, seed=1)[0])
    assert 10 * np.log10(np.mean(a**2) / 0.5) == pytest.approx(DEFAULT_LEVEL_DBFS, abs=1e-6)


def test_longer_than_a_clip_loops_it_and_joins_without_a_click(checkpoint):
    short = TextToAudio(checkpoint, steps=1, clip_s=0.5)
    x, _ = short.render("rain", 1.7, MODEL_SR, seed=0)
    assert x.shape == (int(1.7 * MODEL_SR),)
    steps = np.abs(np.diff(np.concatenate([x, x])))
    assert steps[x.size - 1] <= np.quantile(steps, 0.999)


def test_the_library_prefers_the_bank_then_the_generator(generator, tmp_path):
    from soundstage.io.audio import write_audio

    (tmp_path / "rain").mkdir()
    write_audio(tmp_path / "rain" / "r.wav", 0.1 * np.ones((1, MODEL_SR), np.float32)
                * np.sin(np.arange(MODEL_SR) / 5.0).astype(np.float32), MODEL_SR)
    library = SoundLibrary(tmp_path, generator)
    assert library.render("rain", 0.3, MODEL_SR)[1].startswith("bank:")
    x, origin = library.render("wind", 0.3, MODEL_SR)
    assert origin == "audioldm:gusting wind"
    assert library.render("wind", 0.3, MODEL_SR)[0] is not x  # kept, handed out as copies
    assert np.array_equal(library.render("wind", 0.3, MODEL_SR)[0], x)
    library.check("a distant foghorn", "label")  # a generator takes any prompt
    with pytest.raises(SoundstageError, match="unknown sound category 'a distant foghorn'"):
        SoundLibrary(tmp_path).check("a distant foghorn", "label")


def test_see2sound_voices_a_free_text_label_with_the_generator(checkpoint, tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    rgb = np.clip(128 + rng.normal(0, 2, (90, 120, 3)), 0, 255)
    rows, cols = np.indices((90, 120))
    rgb[(cols - 30) ** 2 + (rows - 45) ** 2 <= 100] = (220, 40, 40)
    Image.fromarray(rgb.astype(np.uint8)).save(tmp_path / "disc.png")
    code = main(["see2sound", str(tmp_path / "disc.png"), "-o", str(tmp_path / "out.wav"), "--space", "outdoor",
                 "--sources", "1", "--label", "1=church bells", "--generator", str(checkpoint),
                 "--generator-steps", "1", "--duration", "0.5", "--sr", "16000", "--json"])
    assert code == 0
    region = json.loads(capsys.readouterr().out)["regions"][0]
    assert region["label"] == "church bells" and region["generator"] == "audioldm:church bells"
    assert (tmp_path / "out.wav").is_file()


def test_refusals(checkpoint, tmp_path, monkeypatch):
    with pytest.raises(FileFormatError, match="holds no AudioLDM pipeline: no model_index.json"):
        TextToAudio(tmp_path)
    (tmp_path / "model_index.json").write_text("{}")
    with pytest.raises(FileFormatError, match="could not load the AudioLDM pipeline"):
        TextToAudio(tmp_path)
    with pytest.raises(SoundstageError, match="steps must be"):
        TextToAudio(checkpoint, steps=0)
    monkeypatch.setitem(sys.modules, "diffusers", None)
    with pytest.raises(DependencyError, match=r"soundstage\[generate\]"):
        TextToAudio(checkpoint)
