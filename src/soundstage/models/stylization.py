"""Learned stylization: a log-mel diffusion model conditioned on a clip of the target scene.

After "Self-Supervised Audio-Visual Soundscape Stylization" (Li et al. 2024), small enough
to train on a CPU:

* **What it generates**: the log-mel spectrogram (the in-painting front-end of
  :mod:`soundstage.speech.features`: 16 kHz, 40 ms window, 10 ms hop, 80 mels) of the
  input speech as heard in the scene: its reverberation and its background.
  The model works on normalized features (a global mean and standard deviation stored in
  the checkpoint).
* **Conditioning**: the dry input's log-mel, frame-aligned, concatenated to the noisy
  target (the model changes the sound of the words, not the words); and the **scene
  clip**: an audio encoder (two strided convolutions over the clip's log-mel, one token
  per 40 ms) and, when a frame of the scene is given, an image encoder (three strided
  convolutions over a 64 x 64 RGB frame, 64 tokens). The denoiser cross-attends to
  those tokens in every block.
* **Denoiser**: a stack of dilated 1-D convolutions over time (dilations 1, 2, 4, ...:
  the receptive field spans the longest reverberation tails), each block modulated by
  the diffusion time (FiLM) and followed by cross-attention to the scene tokens.
* **Diffusion**: v-prediction (Salimans & Ho 2022) with the cosine noise schedule
  (Nichol & Dhariwal 2021) over :data:`TRAIN_STEPS` steps; sampling with DDIM (Song et
  al. 2021, deterministic) in a few steps. **Classifier-free guidance** (Ho & Salimans
  2022): in training the scene tokens are replaced by a learned null token with
  probability ``p_uncond``; sampling mixes ``v = v_null + w (v_scene - v_null)``.

Checkpoints are safetensors + JSON (:func:`save_stylizer`, :func:`load_stylizer`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from soundstage.errors import FileFormatError, SoundstageError
from soundstage.models.checkpoint import read_checkpoint, write_checkpoint
from soundstage.speech.features import N_MELS

FORMAT = "soundstage-stylizer"
#: Diffusion steps of the training schedule.
TRAIN_STEPS: int = 1000
#: Active-speech RMS (:func:`soundstage.dsp.loudness.active_power`) every signal is scaled to
#: before its features are taken: the model learns the scene's sound, not levels.
SPEECH_LEVEL: float = 0.05
#: Side of the scene frame the image encoder reads.
IMAGE_SIZE: int = 64


@dataclass
class StylizerConfig:
    """Architecture and conditioning of a :class:`Stylizer`."""

    n_mels: int = N_MELS
    dim: int = 128
    blocks: int = 8
    heads: int = 4
    image: bool = True
    p_uncond: float = 0.1


def cosine_alpha_bar(t: torch.Tensor) -> torch.Tensor:
    """Signal fraction ``alpha_bar(t)`` of the cosine schedule, ``t`` in [0, 1]."""
    s = 0.008
    return (torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2 / math.cos(s / (1 + s) * math.pi / 2) ** 2).clamp(1e-5, 1.0)


def _time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    angles = 1000.0 * t[:, None].float() * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, dilation: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(8, dim)
        self.conv = nn.Conv1d(dim, dim, 3, padding=dilation, dilation=dilation)
        self.film = nn.Linear(dim, 2 * dim)
        self.out = nn.Conv1d(dim, dim, 1)
        self.attn_norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, h: torch.Tensor, temb: torch.Tensor, tokens: torch.Tensor,
                pad: torch.Tensor | None) -> torch.Tensor:
        scale, shift = self.film(temb)[:, :, None].chunk(2, dim=1)
        h = h + self.out(F.gelu(self.conv(self.norm(h) * (1 + scale) + shift)))
        q = self.attn_norm(h.transpose(1, 2))
        a, _ = self.attn(q, tokens, tokens, key_padding_mask=pad, need_weights=False)
        return h + a.transpose(1, 2)


class Stylizer(nn.Module):
    """The denoiser and the scene encoders (see the module doc)."""

    def __init__(self, config: StylizerConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or StylizerConfig()
        if c.dim % c.heads or c.dim % 8:
            raise SoundstageError(f"dim {c.dim} must be a multiple of heads ({c.heads}) and of 8")
        self.audio_encoder = nn.Sequential(
            nn.Conv1d(c.n_mels, c.dim, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv1d(c.dim, c.dim, 5, stride=2, padding=2), nn.GELU())
        self.image_encoder = nn.Sequential(
            nn.Conv2d(3, 32, 4, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(64, c.dim, 4, stride=2, padding=1), nn.GELU()) if c.image else None
        self.null_token = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.kind = nn.Parameter(torch.zeros(2, c.dim))  # marks audio and image tokens
        self.time = nn.Sequential(nn.Linear(c.dim, c.dim), nn.GELU(), nn.Linear(c.dim, c.dim))
        self.inp = nn.Conv1d(2 * c.n_mels, c.dim, 1)
        self.blocks = nn.ModuleList(_Block(c.dim, c.heads, 2 ** (i % 6)) for i in range(c.blocks))
        self.head = nn.Sequential(nn.GroupNorm(8, c.dim), nn.GELU(), nn.Conv1d(c.dim, c.n_mels, 1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def scene_tokens(self, clip: torch.Tensor, clip_lengths: torch.Tensor | None = None,
                     image: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens ``(B, N, dim)`` of a scene clip (normalized log-mel ``(B, T, mels)``) and frame, and their padding mask."""
        a = self.audio_encoder(clip.transpose(1, 2)).transpose(1, 2) + self.kind[0]
        n = a.shape[1]
        if clip_lengths is None:
            pad = torch.zeros(a.shape[:2], dtype=torch.bool)
        else:
            pad = torch.arange(n)[None] >= ((clip_lengths + 3) // 4)[:, None]
        if self.image_encoder is not None and image is not None:
            v = self.image_encoder(image).flatten(2).transpose(1, 2) + self.kind[1]
            a = torch.cat([a, v], 1)
            pad = torch.cat([pad, torch.zeros(v.shape[:2], dtype=torch.bool)], 1)
        return a, pad

    def null_tokens(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The unconditional (scene-free) token set."""
        return self.null_token.expand(batch, 1, -1), torch.zeros(batch, 1, dtype=torch.bool)

    def forward(self, noisy: torch.Tensor, dry: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor,
                pad: torch.Tensor | None = None) -> torch.Tensor:
        """Predicted v ``(B, T, mels)`` for noisy target and dry input ``(B, T, mels)`` at diffusion times ``t`` in [0, 1]."""
        h = self.inp(torch.cat([noisy, dry], 2).transpose(1, 2))
        temb = self.time(_time_embedding(t, self.config.dim))
        for block in self.blocks:
            h = block(h, temb, tokens, pad)
        return self.head(h).transpose(1, 2)


def diffusion_loss(model: Stylizer, target: torch.Tensor, dry: torch.Tensor, clip: torch.Tensor,
                   clip_lengths: torch.Tensor | None = None, image: torch.Tensor | None = None,
                   mask: torch.Tensor | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """v-prediction MSE at random diffusion times; scene dropped with probability ``p_uncond``.

    ``target``, ``dry`` ``(B, T, mels)`` and ``clip`` ``(B, Tc, mels)`` are normalized
    log-mels; ``mask`` ``(B, T)`` marks the valid frames.
    """
    b = target.shape[0]
    t = torch.rand(b, generator=generator)
    ab = cosine_alpha_bar(t)[:, None, None]
    eps = torch.randn(target.shape, generator=generator)
    noisy = ab.sqrt() * target + (1 - ab).sqrt() * eps
    v = ab.sqrt() * eps - (1 - ab).sqrt() * target
    tokens, pad = model.scene_tokens(clip, clip_lengths, image)
    drop = torch.rand(b, generator=generator) < model.config.p_uncond
    if drop.any():
        null, null_pad = model.null_tokens(b)
        width = tokens.shape[1]
        null = F.pad(null, (0, 0, 0, width - 1))
        null_pad = F.pad(null_pad, (0, width - 1), value=True)
        tokens = torch.where(drop[:, None, None], null, tokens)
        pad = torch.where(drop[:, None], null_pad, pad)
    err = (model(noisy, dry, t, tokens, pad) - v) ** 2
    if mask is None:
        return err.mean()
    m = mask[:, :, None].float()
    return (err * m).sum() / (m.sum() * err.shape[2]).clamp(min=1.0)


@torch.inference_mode()
def sample(model: Stylizer, dry: torch.Tensor, clip: torch.Tensor, clip_lengths: torch.Tensor | None = None,
           image: torch.Tensor | None = None, *, steps: int = 25, guidance: float = 2.0, seed: int = 0) -> torch.Tensor:
    """DDIM sampling (deterministic) of normalized target log-mels ``(B, T, mels)`` with classifier-free guidance."""
    if steps < 1:
        raise SoundstageError(f"sampling needs at least one step, got {steps}")
    b = dry.shape[0]
    gen = torch.Generator().manual_seed(int(seed))
    x = torch.randn(dry.shape, generator=gen)
    tokens, pad = model.scene_tokens(clip, clip_lengths, image)
    null, null_pad = model.null_tokens(b)
    times = torch.linspace(1.0, 0.0, steps + 1)
    for t_now, t_next in zip(times[:-1], times[1:]):
        t = torch.full((b,), float(t_now))
        v = model(x, dry, t, tokens, pad)
        if guidance != 1.0:
            v_null = model(x, dry, t, null, null_pad)
            v = v_null + guidance * (v - v_null)
        ab, ab_next = cosine_alpha_bar(t_now), cosine_alpha_bar(t_next)
        x0 = ab.sqrt() * x - (1 - ab).sqrt() * v
        eps = (1 - ab).sqrt() * x + ab.sqrt() * v
        x = ab_next.sqrt() * x0 + (1 - ab_next).sqrt() * eps if t_next > 0 else x0
    return x


def prepare_image(rgb: np.ndarray) -> torch.Tensor:
    """A uint8 RGB frame ``(H, W, 3)`` (or a batch ``(B, H, W, 3)``) as the encoder's ``(B, 3, 64, 64)`` in [-1, 1]."""
    a = np.asarray(rgb)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != 3 or a.dtype != np.uint8:
        raise SoundstageError(f"scene frame must be uint8 RGB (H, W, 3), got {a.dtype} {a.shape}")
    x = torch.from_numpy(a).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return F.interpolate(x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="area")


def save_stylizer(model: Stylizer, path: str | Path, stats: dict[str, float], record: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``path.safetensors`` and ``path.json`` (config, feature ``stats`` {"mean", "std"}, ``trained_on``)."""
    if not {"mean", "std"} <= set(stats):
        raise SoundstageError(f"stats must hold mean and std, got {sorted(stats)}")
    return write_checkpoint(model, path, {"format": FORMAT, "version": 1, "model": asdict(model.config),
                                          "stats": {k: float(stats[k]) for k in ("mean", "std")}, "trained_on": record})


def load_stylizer(path: str | Path) -> tuple[Stylizer, dict[str, Any]]:
    """The model (eval mode) and its JSON from :func:`save_stylizer` files."""
    state, doc = read_checkpoint(path, FORMAT, "stylizer", "train one with recipes/stylize/train.py")
    try:
        model = Stylizer(StylizerConfig(**doc["model"]))
        model.load_state_dict(state)
        if not all(math.isfinite(float(doc["stats"][k])) for k in ("mean", "std")) or doc["stats"]["std"] <= 0:
            raise ValueError("stats must hold a finite mean and a positive std")
    except (ValueError, KeyError, TypeError, RuntimeError, SoundstageError) as exc:
        raise FileFormatError(f"cannot read stylizer checkpoint '{path}': {exc}") from exc
    return model.eval(), doc
