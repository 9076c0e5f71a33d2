"""Speech in-painting models: fill masked log-mel frames from their context and the lips.

Three learned models share one architecture, built from an :class:`InpainterConfig`:

- ``av-mtl`` (:class:`AVMTLS2S`): a visual encoder (BLSTM over lip motion vectors,
  25 fps) feeds a decoder; a linear CTC head on the visual encoder also reads the
  transcript (multi-task learning, weight ``ctc_weight``).
- ``av`` (:class:`AVS2S`): the same without the CTC head.
- ``audio`` (:class:`ASI`): the decoder alone.

The decoder is a BLSTM over ``[normalised masked log-mel, mask flag, visual features
repeated x4 in time]`` (four 10 ms audio frames per 40 ms video frame) followed by a
linear layer; it predicts normalised log-mel, which is mapped back with the config's
per-band mean and std. Masked input frames are replaced by the band means (zero after
normalisation), so the model never sees what a gap held. Outside the mask the output
is the input, exactly. :class:`ClassicalInpainter` interpolates each band linearly
across a gap and shares the ``predict`` interface.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from soundstage.errors import FileFormatError, InvalidAudioError, InvalidImageError, SoundstageError
from soundstage.speech.characters import encode_text
from soundstage.speech.features import HOP, LOGMEL_FLOOR, N_MELS, SR
from soundstage.speech.gaps import frame_mask, sample_gaps

KINDS = ("av-mtl", "av", "audio")
#: Audio feature frames (10 ms) per video frame (40 ms at 25 fps).
AUDIO_PER_VIDEO = 4


@dataclass
class InpainterConfig:
    """Architecture, feature statistics and training record of an in-painter (stored as JSON).

    ``mean``/``std`` are per-band log-mel statistics of the training set (80 values
    each); ``motion_std`` scales lip motion vectors to unit spread.
    """

    kind: str = "av-mtl"
    n_mels: int = N_MELS
    visual_dim: int = 80
    hidden: int = 192
    layers: int = 2
    vocab: int = 29
    ctc_weight: float = 0.001
    dropout: float = 0.1
    mean: list[float] = field(default_factory=lambda: [0.0] * N_MELS)
    std: list[float] = field(default_factory=lambda: [1.0] * N_MELS)
    motion_std: float = 1.0
    training: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidAudioError(f"in-painter kind {self.kind!r} is unknown; expected one of {KINDS}")
        self.mean = [float(v) for v in np.asarray(self.mean, np.float64).ravel()]
        self.std = [float(v) for v in np.asarray(self.std, np.float64).ravel()]
        if len(self.mean) != self.n_mels or len(self.std) != self.n_mels or min(self.std) <= 0 or self.motion_std <= 0:
            raise InvalidAudioError(f"config needs {self.n_mels} means and positive stds (and motion_std > 0), got "
                                  f"{len(self.mean)} means, {len(self.std)} stds, min std {min(self.std, default=0)}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InpainterConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidAudioError(f"in-painter config has unknown keys {unknown}; expected a subset of {sorted(known)}")
        return cls(**data)


def _lstm(cfg: InpainterConfig, n_in: int) -> nn.LSTM:
    return nn.LSTM(n_in, cfg.hidden, cfg.layers, batch_first=True, bidirectional=True,
                   dropout=cfg.dropout if cfg.layers > 1 else 0.0)


def _run(lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """BLSTM outputs ``(B, T, 2 hidden)``; padded steps (beyond ``lengths``) are zero and unseen."""
    if lengths is None or bool((lengths == x.shape[1]).all()):
        return lstm(x)[0]
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    return nn.utils.rnn.pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=x.shape[1])[0]


class Inpainter(nn.Module):
    """The in-painter family; :func:`build_inpainter` picks the class for ``config.kind``."""

    kind = ""

    def __init__(self, config: InpainterConfig | None = None) -> None:
        super().__init__()
        config = config or InpainterConfig(kind=self.kind)
        if self.kind and config.kind != self.kind:
            raise InvalidAudioError(f"{type(self).__name__} needs kind {self.kind!r}, config says {config.kind!r}")
        self.config = config
        self.register_buffer("mean", torch.tensor(config.mean, dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.tensor(config.std, dtype=torch.float32), persistent=False)
        width = 2 * config.hidden
        self.visual = _lstm(config, config.visual_dim) if self.uses_video else None
        self.ctc_head = nn.Linear(width, config.vocab) if config.kind == "av-mtl" else None
        self.decoder = _lstm(config, config.n_mels + 1 + (width if self.uses_video else 0))
        self.out = nn.Linear(width, config.n_mels)

    @property
    def uses_video(self) -> bool:
        return self.config.kind != "audio"

    def forward(
        self,
        logmel_masked: torch.Tensor,
        mask: torch.Tensor,
        motion: torch.Tensor | None = None,
        *,
        lengths: torch.Tensor | None = None,
        motion_lengths: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Predict log-mel inside the mask.

        Parameters
        ----------
        logmel_masked : tensor ``(B, T, 80)``
            Log-mel; values at masked frames are ignored.
        mask : bool tensor ``(B, T)``
            True for frames to fill.
        motion : tensor ``(B, Tv, 80)`` or None
            Lip motion at 25 fps (needed unless the kind is ``audio``). Audio frame
            ``t`` sees the visual features of video frame ``t // 4`` (the last video
            frame where the video is shorter).
        lengths, motion_lengths : long tensors ``(B,)``, optional
            Valid frames per example in a padded batch (all frames by default).

        Returns
        -------
        pred : tensor ``(B, T, 80)``
            Log-mel: the prediction at masked frames, the input elsewhere.
        ctc_logprobs : tensor ``(Tv, B, vocab)`` or None
            Log-probabilities of the CTC head (``av-mtl`` only).
        """
        b, t, _ = logmel_masked.shape
        norm = torch.where(mask[..., None], 0.0, (logmel_masked - self.mean) / self.std)
        parts = [norm, mask[..., None].to(norm.dtype)]
        ctc = None
        if self.uses_video:
            if motion is None:
                raise InvalidImageError(f"the {self.config.kind} in-painter needs lip motion (B, Tv, 80); got None")
            vis = _run(self.visual, motion / self.config.motion_std, motion_lengths)
            if self.ctc_head is not None:
                ctc = F.log_softmax(self.ctc_head(vis), dim=-1).transpose(0, 1)
            n_vid = motion_lengths if motion_lengths is not None else torch.full((b,), motion.shape[1], device=motion.device)
            frame = torch.arange(t, device=norm.device) // AUDIO_PER_VIDEO
            index = torch.minimum(frame[None, :], (n_vid.to(norm.device) - 1)[:, None])
            parts.append(torch.gather(vis, 1, index[..., None].expand(-1, -1, vis.shape[-1])))
        hidden = _run(self.decoder, torch.cat(parts, dim=-1), lengths)
        pred = self.out(hidden) * self.std + self.mean
        return torch.where(mask[..., None], pred, logmel_masked), ctc

    @torch.no_grad()
    def predict(self, logmel: np.ndarray, mask: np.ndarray, motion: np.ndarray | None = None) -> np.ndarray:
        """Fill the masked frames of one clip: ``(T, 80)`` log-mel in and out (see module doc)."""
        logmel, mask = _check_predict(logmel, mask)
        if self.uses_video:
            motion = np.asarray(motion) if motion is not None else None
            if motion is None or motion.ndim != 2 or motion.shape[1] != self.config.visual_dim or motion.shape[0] == 0:
                raise InvalidImageError(f"the {self.config.kind} in-painter needs motion shaped (Tv >= 1, "
                                        f"{self.config.visual_dim}), got {None if motion is None else motion.shape}")
            motion = torch.from_numpy(np.ascontiguousarray(motion, np.float32))[None]
        was_training = self.training
        self.eval()
        pred, _ = self(torch.from_numpy(logmel.astype(np.float32))[None], torch.from_numpy(mask)[None], motion)
        self.train(was_training)
        out = logmel.copy()
        out[mask] = pred[0].numpy()[mask]
        return out


class AVMTLS2S(Inpainter):
    """Audio-visual in-painter with a CTC lip-reading head (multi-task)."""

    kind = "av-mtl"


class AVS2S(Inpainter):
    """Audio-visual in-painter without the CTC head."""

    kind = "av"


class ASI(Inpainter):
    """Audio-only in-painter."""

    kind = "audio"


MODEL_CLASSES = {cls.kind: cls for cls in (AVMTLS2S, AVS2S, ASI)}


def build_inpainter(config: InpainterConfig) -> Inpainter:
    """The in-painter class of ``config.kind``, freshly initialised."""
    return MODEL_CLASSES[config.kind](config)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _check_predict(logmel: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    logmel, mask = np.asarray(logmel), np.asarray(mask)
    if logmel.ndim != 2 or logmel.shape[1] != N_MELS or logmel.dtype.kind != "f" or not np.all(np.isfinite(logmel)):
        raise InvalidAudioError(f"logmel must be finite floats shaped (T, {N_MELS}), got {logmel.dtype} {logmel.shape}")
    if mask.dtype != bool or mask.shape != logmel.shape[:1]:
        raise InvalidAudioError(f"mask must be bool shaped ({logmel.shape[0]},), got {mask.dtype} {mask.shape}")
    return logmel, mask


class ClassicalInpainter:
    """Per-band linear interpolation of log-mel across each gap, between the frames bordering it.

    Gaps touching the start or end hold the one bordering frame.
    """

    kind = "classical"

    def predict(self, logmel: np.ndarray, mask: np.ndarray, motion: np.ndarray | None = None) -> np.ndarray:
        """Fill the masked frames of ``logmel (T, 80)``; ``motion`` is ignored."""
        logmel, mask = _check_predict(logmel, mask)
        if mask.all():
            raise InvalidAudioError("every frame is masked; interpolation needs at least one unmasked frame")
        t = np.arange(mask.size)
        left = np.maximum.accumulate(np.where(mask, -1, t))
        right = np.minimum.accumulate(np.where(mask, mask.size, t)[::-1])[::-1]
        left = np.where(left < 0, right, left)
        right = np.where(right >= mask.size, left, right)
        w = np.where(right > left, (t - left) / np.maximum(right - left, 1), 0.0)[:, None]
        filled = (1.0 - w) * logmel[left] + w * logmel[right]
        return np.where(mask[:, None], filled, logmel).astype(logmel.dtype)


def inpainting_loss(model: Inpainter, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
    """Masked MSE (normalised log-mel) plus ``ctc_weight`` x CTC for a :func:`collate` batch.

    Returns
    -------
    total : scalar tensor
        The loss to minimise.
    parts : dict
        ``{"mse", "ctc", "total"}`` as floats (``ctc`` 0 for models without the head).
    """
    pred, ctc_logprobs = model(batch["logmel_masked"], batch["mask"], batch["motion"],
                               lengths=batch["lengths"], motion_lengths=batch["motion_lengths"])
    err = ((pred - batch["logmel"]) / model.std) ** 2
    mask = batch["mask"][..., None].to(err.dtype)
    mse = (err * mask).sum() / (mask.sum() * err.shape[-1]).clamp(min=1.0)
    total, ctc = mse, torch.zeros(())
    if ctc_logprobs is not None:
        ctc = F.ctc_loss(ctc_logprobs, batch["targets"], batch["motion_lengths"], batch["target_lengths"],
                         blank=0, reduction="mean", zero_infinity=True)
        total = mse + model.config.ctc_weight * ctc
    return total, {"mse": mse.item(), "ctc": ctc.item(), "total": total.item()}


def _encode(text: Any) -> np.ndarray:
    if isinstance(text, str) or (isinstance(text, np.ndarray) and text.dtype.kind == "U"):
        return encode_text(str(text))
    return np.asarray(text, dtype=np.int64).ravel()


def collate(
    examples: Sequence[dict[str, Any]],
    rng: np.random.Generator | int | None,
    *,
    max_gaps: int = 2,
    min_s: float = 0.3,
    max_s: float = 1.5,
    margin_s: float = 0.1,
) -> dict[str, Any]:
    """Padded training batch with 1 to ``max_gaps`` random gaps per clip.

    Parameters
    ----------
    examples : sequence of dict
        Cached clips: ``logmel (T, 80)``, ``motion (Tv, 80)``, ``text`` (a transcript
        string or CTC codes).
    rng : numpy Generator, int seed or None
        Draws the gap count and gaps (:func:`soundstage.speech.gaps.sample_gaps`).
    max_gaps, min_s, max_s, margin_s
        Gap count range ``1..max_gaps`` and gap lengths/margins in seconds.

    Returns
    -------
    dict
        ``logmel`` float32 ``(B, T, 80)`` (clean targets, zero-padded),
        ``logmel_masked`` (the same with masked frames at the log-mel floor), ``mask``
        bool ``(B, T)``, ``lengths`` long ``(B,)``, ``motion`` float32 ``(B, Tv, 80)``,
        ``motion_lengths`` long ``(B,)``, ``targets`` long (concatenated codes),
        ``target_lengths`` long ``(B,)`` and ``gaps`` (one list of Gap per clip).
    """
    if not examples:
        raise InvalidAudioError("collate needs at least one example")
    rng = np.random.default_rng(rng)
    lengths = [int(np.shape(e["logmel"])[0]) for e in examples]
    v_lengths = [int(np.shape(e["motion"])[0]) for e in examples]
    b, t, tv = len(examples), max(lengths), max(v_lengths)
    logmel = np.zeros((b, t, N_MELS), np.float32)
    motion = np.zeros((b, tv, np.shape(examples[0]["motion"])[1]), np.float32)
    mask = np.zeros((b, t), bool)
    gaps, codes = [], []
    for i, e in enumerate(examples):
        logmel[i, : lengths[i]] = e["logmel"]
        motion[i, : v_lengths[i]] = e["motion"]
        clip_gaps = sample_gaps((lengths[i] - 1) * HOP / SR, rng, count=int(rng.integers(1, max_gaps + 1)),
                                min_s=min_s, max_s=max_s, margin_s=margin_s)
        mask[i, : lengths[i]] = frame_mask(clip_gaps, lengths[i], hop=HOP, sr=SR)
        gaps.append(clip_gaps)
        codes.append(_encode(e["text"]))
    return {
        "logmel": torch.from_numpy(logmel),
        "logmel_masked": torch.from_numpy(np.where(mask[..., None], np.float32(LOGMEL_FLOOR), logmel)),
        "mask": torch.from_numpy(mask),
        "lengths": torch.tensor(lengths),
        "motion": torch.from_numpy(motion),
        "motion_lengths": torch.tensor(v_lengths),
        "targets": torch.from_numpy(np.concatenate(codes).astype(np.int64)),
        "target_lengths": torch.tensor([c.size for c in codes]),
        "gaps": gaps,
    }


def feature_stats(examples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per-band log-mel ``mean``/``std`` (lists of 80) and the scalar ``motion_std`` over all frames."""
    frames = np.concatenate([np.asarray(e["logmel"], np.float64) for e in examples])
    motion = np.concatenate([np.asarray(e["motion"], np.float64) for e in examples])
    return {"mean": frames.mean(0).tolist(), "std": np.maximum(frames.std(0), 1e-3).tolist(),
            "motion_std": float(max(motion.std(), 1e-6))}


def _paths(path: str | Path) -> tuple[Path, Path]:
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        path = path.with_suffix("")
    elif path.is_file():
        raise FileFormatError(f"'{path}' is not an in-painter checkpoint; only <name>.safetensors + <name>.json are loaded")
    return Path(f"{path}.safetensors"), Path(f"{path}.json")


def save_inpainter(model: Inpainter, path: str | Path) -> tuple[Path, Path]:
    """Write ``path.safetensors`` (weights) and ``path.json`` (config); returns both paths."""
    weights, config = _paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(weights))
    config.write_text(model.config.to_json())
    return weights, config


def load_inpainter(path: str | Path) -> Inpainter:
    """Load an in-painter saved by :func:`save_inpainter` (safetensors + JSON only, never pickle)."""
    weights, config = _paths(path)
    for p in (weights, config):
        if not p.is_file():
            raise FileFormatError(f"in-painter file '{p}' is missing; expected {weights.name} and {config.name}")
    try:
        cfg = InpainterConfig.from_dict(json.loads(config.read_text()))
        state = load_file(str(weights))
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, SoundstageError, SafetensorError) as exc:
        raise FileFormatError(f"cannot read in-painter '{weights.with_suffix('')}': {exc}; expected safetensors + JSON") from exc
    model = build_inpainter(cfg)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise FileFormatError(f"weights in '{weights}' do not fit a {cfg.kind} in-painter: {exc}") from exc
    return model.eval()
