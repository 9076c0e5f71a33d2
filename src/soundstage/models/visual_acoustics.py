"""Visual acoustics after M2SE-VTTS: RGB-D picture + caption -> the room's compact acoustic profile.

The model follows the paper's idea on a CPU budget:

1. RGB and depth are cut into ``patch x patch`` patches (14 x 14 = 196 at 112 px, patch 8);
   each modality has its own linear patch embedding, class token and learned positional
   embedding. One small ViT encoder (pre-norm transformer) trained from scratch encodes
   both: the same geometric cues (edges, planes, occlusions) are in both pictures, and
   sharing the weights halves the encoder's parameters, which suits ~20k training images.
2. The caption is encoded by a small learned text encoder: a word + word-bigram vocabulary
   built from the training captions (stored in the checkpoint JSON), an embedding-bag mean
   and an MLP. It stands in for a pretrained sentence encoder; RoomSynth captions are
   templated, and the bigrams keep "brick walls" apart from "brick floor".
3. Caption-guided selection: each RGB patch token is scored by its scaled cosine similarity
   with the caption embedding; the top-k patch indices are taken, and the SAME indices pick
   the RGB and the depth tokens. The selected tokens are multiplied by the sigmoid of their
   score, so the scoring is trained through the loss.
4. Local-aware global spatial understanding: the global tokens (the class token of each
   modality and the caption token) and the selected local tokens exchange information by
   cross-attention (global <- local, then local <- global, each with an MLP) for ``rounds``
   rounds.
5. A head maps the global tokens and the mean local token to 8 numbers: the normalized
   spec vector of :func:`soundstage.acoustics.from_profile.spec_to_vector` (ln T30 in six
   octave bands, DRR in dB, ln direct delay).
6. Depth-aware physics (``geometry=True``, the default): the picture tells what the
   surfaces are made of, the depth map tells how big the room is. The scene layer fits a
   shoebox to the depth (:func:`room_ratio`: volume over surface area, ``V/S`` in metres)
   and the head predicts, per band, the Eyring absorption exponent ``a = -ln(1 - mean
   alpha)`` instead of T30; T30 then follows from Eyring's formula with air absorption,
   ``T = 4 ln(10^6) V / (c (S a + 4 m V))``. A room twice as large with the same surfaces
   gets twice the T30 without having been seen in training, which is what lets the model
   carry over to room shapes and sizes outside its training families.
7. Material prior (``material_prior=True``, the default, with ``geometry``): the caption
   names the surface materials in words ("curtained", "marble", "melamine foam"), and the
   engine's material table knows their absorption. :func:`caption_absorption` turns the
   words into a mean absorption per band (floor and ceiling a quarter of the surface each,
   the walls half); the head sees it and predicts a correction factor on its absorption
   exponent rather than the exponent itself, so a material never seen in a training
   picture still counts through its name.

The engine turns the spec into a response
(:func:`~soundstage.acoustics.from_profile.synthesize_from_spec`), which replaces the
paper's diffusion decoder: it runs on a CPU, works with any voice, and its output is a
physically consistent room response.

Ablation switches: ``use_depth=False`` (RGB only), ``use_caption=False`` (a learned query
vector replaces the caption for the scoring and as global token), ``local_aware=False``
(no selection: the mean of all patch tokens and the global tokens go to the head),
``geometry=False`` (T30 regressed directly, as in the paper, with no room geometry),
``material_prior=False`` (the absorption from the picture and caption alone).

Checkpoints are ``<name>.safetensors`` (weights) + ``<name>.json`` (architecture, vocabulary,
target statistics, training record); nothing is ever unpickled.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from soundstage.acoustics.air import air_energy_coefficient
from soundstage.acoustics.from_profile import PROFILE_BANDS, T30_RANGE, vector_to_spec
from soundstage.constants import DECAY_60DB, OCTAVE_BANDS, SPEED_OF_SOUND
from soundstage.errors import FileFormatError, InvalidImageError, SoundstageError
from soundstage.models.checkpoint import read_checkpoint, write_checkpoint

__all__ = ["MAX_TOKENS", "Predictor", "VisualAcousticsNet", "build_vocab", "caption_terms", "encode_captions",
           "caption_absorption", "load_checkpoint", "load_predictor", "prepare_inputs", "room_ratio",
           "save_checkpoint"]

PAD = 0  # id 1 is "<unk>": unused now (unknown terms are dropped), kept so vocabularies keep their ids
#: Caption tokens (words + bigrams) kept per caption.
MAX_TOKENS = 96
FORMAT = "soundstage-visual-acoustics"
ARCH_KEYS = ("image_size", "patch", "dim", "layers", "heads", "top_k", "rounds", "vocab_size", "mlp_ratio",
             "use_depth", "use_caption", "local_aware", "geometry", "material_prior")
#: Architecture settings that older checkpoints lack, with the value they were trained with.
ARCH_DEFAULTS = {"geometry": False, "material_prior": False}
#: Shares of the surface area given to the floor, the walls and the ceiling by :func:`caption_absorption`.
SURFACE_SHARES = {"floor": 0.25, "walls": 0.5, "ceiling": 0.25}
#: Smallest volume-to-surface ratio (m) the Eyring head takes (a 0.3 m cube has 0.05 m).
MIN_RATIO = 0.05
#: Eyring absorption exponent at the start of training (mean alpha about 0.15).
_A0 = 0.16
TRAIN_HINT = "train one with: python recipes/speak/train.py --data ROOMSYNTH_DIR --out PATH (see recipes/README.md)"
_WORD = re.compile(r"[a-z]+")


def caption_terms(caption: str) -> list[str]:
    """Lower-case words of ``caption`` followed by its adjacent word pairs (``"brick_walls"``)."""
    words = _WORD.findall(caption.lower())
    return words + [f"{a}_{b}" for a, b in zip(words, words[1:])]


def build_vocab(captions: Iterable[str], max_size: int = 4096) -> list[str]:
    """``["<pad>", "<unk>", terms by falling count (ties alphabetical)]``, at most ``max_size`` long."""
    counts = Counter(t for c in captions for t in caption_terms(c))
    return ["<pad>", "<unk>", *sorted(counts, key=lambda t: (-counts[t], t))[: max(0, max_size - 2)]]


def encode_captions(captions: Sequence[str], vocab: Mapping[str, int], max_tokens: int = MAX_TOKENS) -> np.ndarray:
    """Token ids ``(N, max_tokens)`` int64, padded with 0.

    Terms outside ``vocab`` (term -> id) are left out: every training caption is made of
    vocabulary terms, so the model has never learned what an unknown one means (the
    materials such words name still reach a ``material_prior`` model through
    :func:`caption_absorption`)."""
    out = np.zeros((len(captions), max_tokens), np.int64)
    for row, caption in enumerate(captions):
        if not isinstance(caption, str):
            raise SoundstageError(f"caption {row} is {caption!r}; expected a string")
        ids = [vocab[t] for t in caption_terms(caption) if t in vocab][:max_tokens]
        out[row, : len(ids)] = ids
    return out


def prepare_inputs(rgb: Any, depth: Any, image_size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Resize a batch to ``image_size`` squared by area averaging (the whole view, aspect not kept).

    Parameters
    ----------
    rgb : uint8 array (N, H, W, 3)
    depth : float array (N, H, W) in metres, or None. Zero, negative and NaN pixels are
        invalid: they are left out of the averages, and output pixels without any valid
        input are 0.
    image_size : output side in pixels.

    Returns
    -------
    rgb uint8 (N, S, S, 3) and depth float32 (N, S, S) (None when ``depth`` is None).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 4 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8 or rgb.shape[0] == 0:
        raise InvalidImageError(f"rgb is {rgb.dtype} {rgb.shape}; expected uint8 (N, H, W, 3) with N >= 1")
    s = int(image_size)
    if rgb.shape[1:3] == (s, s):
        small = np.ascontiguousarray(rgb)
    else:
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(0, 3, 1, 2).float()
        small = F.adaptive_avg_pool2d(x, s).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    if depth is None:
        return small, None
    d = np.asarray(depth, np.float32)
    if d.shape != rgb.shape[:3]:
        raise InvalidImageError(f"depth has shape {d.shape}; expected {rgb.shape[:3]} to match the rgb batch")
    valid = np.isfinite(d) & (d > 0)
    d = np.where(valid, d, np.float32(0))
    if d.shape[1:] != (s, s):
        total = F.adaptive_avg_pool2d(torch.from_numpy(d)[:, None], s)[:, 0]
        share = F.adaptive_avg_pool2d(torch.from_numpy(valid.astype(np.float32))[:, None], s)[:, 0]
        d = torch.where(share > 0, total / share.clamp_min(1e-12), torch.zeros(())).numpy()
    return small, np.ascontiguousarray(d, np.float32)


@lru_cache(maxsize=1)
def _absorption_table() -> tuple[dict[str, np.ndarray], np.ndarray]:
    from soundstage.acoustics.materials import get_material, list_materials

    bands = [OCTAVE_BANDS.index(b) for b in PROFILE_BANDS]
    table = {n: np.asarray(get_material(n).absorption, np.float64)[bands] for n in list_materials()}
    return table, np.mean(list(table.values()), axis=0)


def caption_absorption(captions: Sequence[str]) -> np.ndarray:
    """Mean absorption per band ``(N, 6)`` of the materials each caption names (float64, in (0, 1)).

    The materials come from :func:`~soundstage.scene.caption.caption_materials`; a word
    standing for several table materials counts as their mean, the walls' words share the
    walls equally, and :data:`SURFACE_SHARES` weighs floor, walls and ceiling. Surfaces
    without a known word drop out (the others are reweighted); a caption naming no known
    material gets the mean of the whole material table.
    """
    from soundstage.scene.caption import caption_materials

    table, typical = _absorption_table()
    out = np.empty((len(captions), len(PROFILE_BANDS)))
    for row, caption in enumerate(captions):
        if not isinstance(caption, str):
            raise SoundstageError(f"caption {row} is {caption!r}; expected a string")
        named = caption_materials(caption) or {}
        total, weight = np.zeros(len(PROFILE_BANDS)), 0.0
        for surface, words in named.items():
            if words:
                alpha = np.mean([np.mean([table[n] for n in names], axis=0) for names in words], axis=0)
                total += SURFACE_SHARES[surface] * alpha
                weight += SURFACE_SHARES[surface]
        out[row] = total / weight if weight > 0 else typical
    return np.clip(out, 1e-3, 0.99)


def room_ratio(depth: Any, intrinsics: Any = None, *, seed: int = 0) -> np.ndarray:
    """Volume over surface area ``V/S`` (m) of the shoebox the scene layer fits to each depth map.

    Parameters
    ----------
    depth : ``(N, H, W)`` or ``(H, W)`` metres along the optical axis, at the camera's own
        resolution; 0 or NaN where unknown.
    intrinsics : the :class:`~soundstage.scene.camera.Intrinsics` of every map; default the
        scene layer's 60 degree horizontal field of view.
    seed : RANSAC seed of :func:`~soundstage.scene.layout.fit_room`.

    Returns
    -------
    float64 ``(N,)``. Raises the scene layer's errors for maps it cannot fit a room to.
    """
    from soundstage.scene.camera import Intrinsics, backproject
    from soundstage.scene.layout import fit_room

    d = np.asarray(depth, np.float32)
    d = d[None] if d.ndim == 2 else d
    if d.ndim != 3 or 0 in d.shape:
        raise InvalidImageError(f"depth is {np.shape(depth)}; expected (N, H, W) or (H, W) metres")
    intr = Intrinsics.from_fov(d.shape[2], d.shape[1]) if intrinsics is None else intrinsics
    out = np.empty(len(d))
    for n, one in enumerate(d):
        layout = fit_room(backproject(one, intr), rng=seed)
        out[n] = layout.volume / float(sum(layout.surface_areas().values()))
    return out


def _mlp(dim: int, ratio: int) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim * ratio), nn.GELU(), nn.Linear(dim * ratio, dim))


class _Round(nn.Module):
    """One round of local-aware global understanding: global <- local, then local <- global."""

    def __init__(self, dim: int, heads: int, ratio: int) -> None:
        super().__init__()
        self.gq, self.gkv, self.lq, self.lkv = (nn.LayerNorm(dim) for _ in range(4))
        self.g_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.l_attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.g_mlp, self.l_mlp = _mlp(dim, ratio), _mlp(dim, ratio)

    def forward(self, g: torch.Tensor, loc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        kv = self.gkv(loc)
        g = g + self.g_attn(self.gq(g), kv, kv, need_weights=False)[0]
        g = g + self.g_mlp(g)
        kv = self.lkv(g)
        loc = loc + self.l_attn(self.lq(loc), kv, kv, need_weights=False)[0]
        return g, loc + self.l_mlp(loc)


class VisualAcousticsNet(nn.Module):
    """RGB(-D) + caption tokens (+ room ratio) -> normalized spec vector (8,); see the module doc.

    ``forward(rgb, depth, tokens, ratio)`` takes rgb uint8 ``(B, S, S, 3)``, depth in metres
    ``(B, S, S)`` (any float dtype; None when ``use_depth`` is False), caption ids
    ``(B, L)`` (None when ``use_caption`` is False), as made by :func:`prepare_inputs` and
    :func:`encode_captions`, and the rooms' ``V/S`` in metres ``(B,)`` (:func:`room_ratio`;
    None when ``geometry`` is False). With ``details=True`` it also returns a dict with the
    patch tokens, the scores, the top-k ``indices`` (one tensor, used for both modalities),
    the selection ``weights``, the selected ``rgb_local`` / ``depth_local`` tokens and, with
    ``geometry``, the per-band ``absorption`` exponents. A ``material_prior`` model also
    takes ``prior``, the mean absorption per band ``(B, 6)`` named by each caption
    (:func:`caption_absorption`). A geometry model normalizes its output with the
    statistics given to :meth:`set_target_stats`.
    """

    def __init__(self, image_size: int = 112, patch: int = 8, dim: int = 96, layers: int = 3, heads: int = 4,
                 top_k: int = 80, rounds: int = 2, vocab_size: int = 2, mlp_ratio: int = 2, use_depth: bool = True,
                 use_caption: bool = True, local_aware: bool = True, geometry: bool = True,
                 material_prior: bool = True) -> None:
        super().__init__()
        n = (int(image_size) // int(patch)) ** 2 if int(patch) > 0 else 0
        checks = [
            (patch <= 0 or image_size <= 0 or image_size % patch != 0,
             f"image_size {image_size} must be a positive multiple of patch {patch}"),
            (heads <= 0 or dim % heads != 0, f"dim {dim} must be a positive multiple of heads {heads}"),
            (not 1 <= top_k <= n, f"top_k {top_k} must be in 1..{n} (the patch count)"),
            (min(layers, rounds, mlp_ratio) < 1, f"layers {layers}, rounds {rounds}, mlp_ratio {mlp_ratio} must be >= 1"),
            (use_caption and vocab_size < 2, f"vocab_size {vocab_size} must be >= 2"),
            (material_prior and not geometry, "material_prior needs geometry (the prior enters the Eyring head)"),
        ]
        problems = [message for bad, message in checks if bad]
        if problems:
            raise SoundstageError("bad VisualAcousticsNet settings: " + "; ".join(problems))
        self.arch = {"image_size": int(image_size), "patch": int(patch), "dim": int(dim), "layers": int(layers),
                     "heads": int(heads), "top_k": int(top_k), "rounds": int(rounds), "vocab_size": int(vocab_size),
                     "mlp_ratio": int(mlp_ratio), "use_depth": bool(use_depth), "use_caption": bool(use_caption),
                     "local_aware": bool(local_aware), "geometry": bool(geometry),
                     "material_prior": bool(material_prior)}
        self.patch, self.top_k, self.n_patches = int(patch), int(top_k), n
        self.use_depth, self.use_caption, self.local_aware = bool(use_depth), bool(use_caption), bool(local_aware)
        self.geometry, self.material_prior = bool(geometry), bool(material_prior)
        if self.geometry:  # the normalization of the spec vector, set by set_target_stats (saved with the weights)
            self.register_buffer("target_mean", torch.zeros(8))
            self.register_buffer("target_std", torch.ones(8))
            air = air_energy_coefficient(tuple(float(b) for b in PROFILE_BANDS))
            self.register_buffer("air", torch.tensor(air, dtype=torch.float32), persistent=False)
        modalities = {"rgb": 3, "depth": 2} if use_depth else {"rgb": 3}
        self.embed = nn.ModuleDict({m: nn.Linear(patch * patch * c, dim) for m, c in modalities.items()})
        self.cls = nn.ParameterDict({m: nn.Parameter(torch.randn(1, 1, dim) * 0.02) for m in modalities})
        self.pos = nn.ParameterDict({m: nn.Parameter(torch.randn(1, n + 1, dim) * 0.02) for m in modalities})
        layer = nn.TransformerEncoderLayer(dim, heads, dim * mlp_ratio, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        if use_caption:
            self.words = nn.EmbeddingBag(vocab_size, dim, mode="mean", padding_idx=PAD)
            self.text = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, dim))
        else:
            self.query = nn.Parameter(torch.randn(1, dim) * 0.02)
        self.log_scale = nn.Parameter(torch.tensor(math.log(10.0)))
        self.bias = nn.Parameter(torch.zeros(()))
        self.kind = nn.Parameter(torch.zeros(len(modalities), 1, dim))  # marks local rgb / depth tokens
        self.rounds = nn.ModuleList(_Round(dim, heads, mlp_ratio) for _ in range(rounds if local_aware else 0))
        width = dim * (len(modalities) + 2) + (len(PROFILE_BANDS) if material_prior else 0)
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, 2 * dim), nn.GELU(), nn.Linear(2 * dim, 8))

    def set_target_stats(self, mean: Any, std: Any) -> None:
        """The mean and std (8 each) that normalize the spec vector (needed by the Eyring head)."""
        if self.geometry:
            self.target_mean.copy_(torch.as_tensor(np.asarray(mean, np.float32)))
            self.target_std.copy_(torch.as_tensor(np.asarray(std, np.float32)))

    def eyring_t30(self, absorption: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
        """Eyring T30 (s, ``(B, 6)``) from the absorption exponents ``-ln(1 - alpha)`` ``(B, 6)`` and ``V/S`` (m, ``(B,)``)."""
        g = ratio.float().clamp_min(MIN_RATIO)[:, None]
        return 4.0 * DECAY_60DB * g / (SPEED_OF_SOUND * (absorption + 4.0 * self.air * g))

    def _patches(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _, c = x.shape
        g = s // self.patch
        return x.reshape(b, g, self.patch, g, self.patch, c).transpose(2, 3).reshape(b, g * g, -1)

    def _check(self, rgb: torch.Tensor, depth: torch.Tensor | None, tokens: torch.Tensor | None,
               ratio: torch.Tensor | None, prior: torch.Tensor | None) -> None:
        s = self.arch["image_size"]
        if rgb.ndim != 4 or tuple(rgb.shape[1:]) != (s, s, 3):
            raise InvalidImageError(f"rgb batch is {tuple(rgb.shape)}; expected (B, {s}, {s}, 3) (see prepare_inputs)")
        if self.use_depth and (depth is None or tuple(depth.shape) != tuple(rgb.shape[:3])):
            got = None if depth is None else tuple(depth.shape)
            raise InvalidImageError(f"depth batch is {got}; this model uses depth, expected {tuple(rgb.shape[:3])} metres")
        if self.use_caption and (tokens is None or tokens.ndim != 2 or tokens.shape[0] != rgb.shape[0]):
            raise SoundstageError(f"caption tokens are {None if tokens is None else tuple(tokens.shape)}; "
                                  f"expected ({rgb.shape[0]}, L) ids from encode_captions")
        if self.geometry and (ratio is None or tuple(ratio.shape) != (rgb.shape[0],)):
            raise SoundstageError(f"room ratios are {None if ratio is None else tuple(ratio.shape)}; this model uses the "
                                  f"room geometry, expected ({rgb.shape[0]},) volume / surface values (room_ratio)")
        bands = len(PROFILE_BANDS)
        if self.material_prior and (prior is None or tuple(prior.shape) != (rgb.shape[0], bands)):
            raise SoundstageError(f"material prior is {None if prior is None else tuple(prior.shape)}; this model uses "
                                  f"one, expected ({rgb.shape[0]}, {bands}) mean absorptions (caption_absorption)")

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor | None = None, tokens: torch.Tensor | None = None,
                ratio: torch.Tensor | None = None, prior: torch.Tensor | None = None, details: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        self._check(rgb, depth, tokens, ratio, prior)
        b = rgb.shape[0]
        inputs = {"rgb": (rgb.float() / 255.0 - 0.45) / 0.25}
        if self.use_depth:
            d = depth.float()
            inputs["depth"] = torch.stack([torch.log1p(d.clamp_min(0)) - 1.0, (d > 0).float()], -1)
        seqs = [torch.cat([self.cls[m].expand(b, -1, -1), self.embed[m](self._patches(x))], 1) + self.pos[m]
                for m, x in inputs.items()]
        encoded = self.norm(self.encoder(torch.cat(seqs, 0))).split(b, 0)  # one pass, modalities stacked
        cls = [e[:, 0] for e in encoded]
        patches = [e[:, 1:] for e in encoded]
        text = self.text(self.words(tokens)) if self.use_caption else self.query.expand(b, -1)
        g = torch.stack([*cls, text], 1)
        info: dict[str, torch.Tensor] = {"rgb_tokens": patches[0], "text": text}
        if self.use_depth:
            info["depth_tokens"] = patches[1]
        if self.local_aware:
            scores = self.log_scale.exp() * torch.einsum("bnd,bd->bn", F.normalize(patches[0], dim=-1),
                                                         F.normalize(text, dim=-1)) + self.bias
            indices = scores.topk(self.top_k, dim=1).indices
            weights = torch.sigmoid(scores.gather(1, indices))
            picked = [p.gather(1, indices[..., None].expand(-1, -1, p.shape[-1])) * weights[..., None] for p in patches]
            info.update(scores=scores, indices=indices, weights=weights, rgb_local=picked[0])
            if self.use_depth:
                info["depth_local"] = picked[1]
            loc = torch.cat([p + self.kind[i] for i, p in enumerate(picked)], 1)
            for block in self.rounds:
                g, loc = block(g, loc)
            local = loc.mean(1)
        else:
            local = torch.cat(patches, 1).mean(1)
        n = len(PROFILE_BANDS)
        features = [g.flatten(1), local]
        if self.material_prior:
            prior_exponent = -torch.log1p(-prior.float().clamp(1e-3, 0.99))  # Eyring's -ln(1 - alpha)
            features.append(prior_exponent.log() + 2.0)  # about zero-mean
        out = self.head(torch.cat(features, 1))
        if self.geometry:
            if self.material_prior:  # a correction factor on the named materials' exponent
                info["absorption"] = prior_exponent * torch.exp(out[:, :n])
            else:
                info["absorption"] = F.softplus(out[:, :n] + math.log(math.expm1(_A0)))
            t30 = self.eyring_t30(info["absorption"], ratio)
            out = torch.cat([(t30.log() - self.target_mean[:n]) / self.target_std[:n], out[:, n:]], 1)
        return (out, info) if details else out


def save_checkpoint(model: VisualAcousticsNet, path: str | Path, config: Mapping[str, Any],
                    record: Mapping[str, Any]) -> tuple[Path, Path]:
    """Write ``path.safetensors`` (weights) and ``path.json`` atomically; returns both paths.

    ``config`` must hold ``vocab`` (list of terms, id = position), ``target_mean`` and
    ``target_std`` (8 numbers each: the training targets' statistics) and may hold
    ``target_min`` / ``target_max`` (predictions are clipped to them) and ``max_tokens``.
    ``record`` is stored as ``trained_on`` (data folder, item counts, seed, steps, minutes,
    validation loss, ...). The architecture comes from ``model.arch``.
    """
    need = {"vocab", "target_mean", "target_std"} - set(config)
    if need:
        raise SoundstageError(f"checkpoint config lacks {sorted(need)}; expected vocab, target_mean and target_std")
    if model.use_caption and len(config["vocab"]) != model.arch["vocab_size"]:
        raise SoundstageError(f"vocab has {len(config['vocab'])} terms; the model expects {model.arch['vocab_size']}")
    return write_checkpoint(model, path, {"format": FORMAT, "version": 1, "model": model.arch, "max_tokens": MAX_TOKENS,
                                          **dict(config), "trained_on": dict(record)})


def load_checkpoint(path: str | Path) -> tuple[VisualAcousticsNet, dict[str, Any]]:
    """The model (eval mode) and JSON config saved by :func:`save_checkpoint` (safetensors + JSON only)."""
    state, config = read_checkpoint(path, FORMAT, "visual-acoustics", TRAIN_HINT)
    try:
        model = VisualAcousticsNet(**{k: config["model"][k] if k in config["model"] else ARCH_DEFAULTS[k]
                                      for k in ARCH_KEYS})
        model.load_state_dict(state)
        for key in ("target_mean", "target_std"):
            if np.shape(config[key]) != (8,):
                raise ValueError(f"{key} must hold 8 numbers")
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise FileFormatError(f"cannot read visual-acoustics checkpoint '{path}': {exc}; "
                              "expected files written by save_checkpoint") from exc
    return model.eval(), config


class Predictor:
    """A loaded checkpoint that turns pictures + captions into spec dicts (see :func:`load_predictor`)."""

    def __init__(self, model: VisualAcousticsNet, config: Mapping[str, Any]) -> None:
        self.model, self.config = model.eval(), dict(config)
        self.vocab = {t: i for i, t in enumerate(self.config["vocab"])}
        self.max_tokens = int(self.config.get("max_tokens", MAX_TOKENS))
        self.mean = np.asarray(self.config["target_mean"], np.float64)
        self.std = np.asarray(self.config["target_std"], np.float64)
        self.low = np.asarray(self.config.get("target_min", [-np.inf] * 8), np.float64)
        self.high = np.asarray(self.config.get("target_max", [np.inf] * 8), np.float64)

    @property
    def uses_depth(self) -> bool:
        """Whether the model needs a depth map (False for an RGB-only checkpoint)."""
        return self.model.use_depth

    @property
    def uses_geometry(self) -> bool:
        """Whether T30 comes from Eyring's formula with the room's ``V/S`` fitted to the depth map."""
        return self.model.geometry

    def predict_vectors(self, rgb: Any, depth: Any = None, captions: Sequence[str] | None = None, *,
                        intrinsics: Any = None, ratios: Any = None) -> np.ndarray:
        """Spec vectors ``(N, 8)`` (see :func:`~soundstage.acoustics.from_profile.spec_to_vector`)."""
        if (self.model.use_depth or (self.model.geometry and ratios is None)) and depth is None:
            raise InvalidImageError("this checkpoint predicts from RGB + depth; give a depth map "
                                    "(or use a checkpoint trained with --no-depth --no-geometry)")
        ratio, prior = None, None
        if self.model.material_prior:
            if captions is None or isinstance(captions, str) or len(captions) != len(rgb):
                raise SoundstageError(f"got captions {captions!r:.80}; expected a list of {len(rgb)} strings")
            prior = torch.from_numpy(caption_absorption(captions))
        if self.model.geometry:
            ratio = room_ratio(depth, intrinsics) if ratios is None else np.asarray(ratios, np.float64).reshape(-1)
            if len(ratio) != len(rgb) or not np.all(np.isfinite(ratio) & (ratio > 0)):
                raise SoundstageError(f"room ratios {ratio!r:.80}; expected {len(rgb)} positive V/S values in metres")
            ratio = torch.from_numpy(ratio)
        small, d = prepare_inputs(rgb, depth if self.model.use_depth else None, self.model.arch["image_size"])
        tokens = None
        if self.model.use_caption:
            if captions is None or isinstance(captions, str) or len(captions) != len(small):
                raise SoundstageError(f"got captions {captions!r:.80}; expected a list of {len(small)} strings")
            tokens = torch.from_numpy(encode_captions(captions, self.vocab, self.max_tokens))
        with torch.inference_mode():
            out = self.model(torch.from_numpy(small), None if d is None else torch.from_numpy(d), tokens, ratio, prior)
        v = np.clip(out.double().numpy() * self.std + self.mean, self.low, self.high)
        # the training bounds are stored rounded to float32: keep T30 inside the valid range
        n = len(PROFILE_BANDS)
        v[:, :n] = np.clip(v[:, :n], math.log(T30_RANGE[0]) + 1e-9, math.log(T30_RANGE[1]) - 1e-9)
        return v

    def predict(self, rgb: Any, depth: Any = None, captions: Sequence[str] | None = None, *,
                intrinsics: Any = None, ratios: Any = None) -> list[dict[str, Any]]:
        """One spec dict (``t30`` per band, ``drr_db``, ``direct_delay_s``) per picture.

        ``rgb`` uint8 ``(N, H, W, 3)``, ``depth`` metres ``(N, H, W)`` (invalid 0/NaN) or None
        for an RGB-only checkpoint, ``captions`` one string per picture (ignored by a model
        trained without captions). Pictures are area-resized to the model's size. A geometry
        model fits a room to each full-size depth map with ``intrinsics`` (default 60 degree
        field of view; :func:`room_ratio`) unless ``ratios`` (``V/S`` per picture) are given.
        """
        return [vector_to_spec(v) for v in
                self.predict_vectors(rgb, depth, captions, intrinsics=intrinsics, ratios=ratios)]


def load_predictor(path: str | Path) -> Predictor:
    """A :class:`Predictor` from ``path`` (with or without ``.safetensors`` / ``.json``)."""
    return Predictor(*load_checkpoint(path))
