"""Generated sound sources: text-to-audio diffusion (AudioLDM, through ``diffusers``), from a local checkpoint.

AudioLDM (Liu et al., ICML 2023) turns a text prompt into audio with a latent diffusion
model over mel spectrograms (CLAP text encoder, VAE, UNet, HiFi-GAN vocoder). SEE-2-SOUND
generates each region's sound with a model of this kind; here it is an optional back-end
beside the user's sound bank and the procedural sources.

The checkpoint is a folder written by ``diffusers`` (``AudioLDMPipeline.save_pretrained``,
or a downloaded copy of a published one such as ``cvssp/audioldm-s-full-v2``). It is only
ever read from that folder (``local_files_only``): nothing is fetched at run time.

Each label becomes a prompt: a category of :data:`~soundstage.sources.procedural.CATEGORIES`
by its description (``"birds"`` -> ``"birdsong"``), any other label as written, so that a
generator also voices what no procedural category covers (``"church bells"``). The model
writes at most ``clip_s`` seconds (AudioLDM was trained on 10 s clips); a longer source is
that clip looped with crossfades. Every source is made loopable without a click
(:func:`~soundstage.sources.ambience.seamless`) and set to the category's nominal level
(:data:`DEFAULT_LEVEL_DBFS` for other labels), as the procedural sources are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soundstage.errors import DependencyError, SoundstageError
from soundstage.models.checkpoint import load_pretrained_folder
from soundstage.sources.ambience import seamless, set_level
from soundstage.sources.procedural import CATEGORIES

__all__ = ["DEFAULT_LEVEL_DBFS", "NEGATIVE_PROMPT", "TextToAudio", "prompt_for"]

#: Nominal level at 1 m (dBFS mean power) of a label that is no procedural category.
DEFAULT_LEVEL_DBFS = -26.0
#: What classifier-free guidance steers away from.
NEGATIVE_PROMPT = "low quality, average quality"


def prompt_for(label: str) -> str:
    """The text prompt of a label: a procedural category's description, else the label itself."""
    label = label.strip()
    if not label:
        raise SoundstageError("a sound label must not be empty")
    return CATEGORIES[label].description if label in CATEGORIES else label


class TextToAudio:
    """An AudioLDM pipeline loaded from a local folder, making seeded, loopable sources of any length.

    Parameters
    ----------
    path : str or Path
        Folder of a ``diffusers`` AudioLDM pipeline (with ``model_index.json``).
    steps : int
        Denoising steps per clip.
    guidance : float
        Classifier-free guidance scale.
    clip_s : float
        Longest clip generated at once; longer sources loop it.
    device : str
        Torch device the pipeline runs on.

    Raises
    ------
    DependencyError
        ``diffusers`` or ``transformers`` is not installed.
    FileFormatError
        ``path`` holds no AudioLDM pipeline.
    """

    name = "audioldm"

    def __init__(self, path: str | Path, *, steps: int = 25, guidance: float = 2.5, clip_s: float = 10.0,
                 device: str = "cpu"):
        try:
            from diffusers import AudioLDMPipeline
        except ImportError as exc:
            raise DependencyError("the generative back-end needs diffusers and transformers: "
                                  "pip install 'soundstage[generate]'") from exc
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise SoundstageError(f"steps must be a whole number >= 1, got {steps!r}")
        if not clip_s > 0:
            raise SoundstageError(f"clip_s must be a positive number of seconds, got {clip_s!r}")
        self.path = Path(path)
        self.pipeline = load_pretrained_folder(self.path, "model_index.json", "AudioLDM pipeline", lambda p: (
            AudioLDMPipeline.from_pretrained(p, local_files_only=True, low_cpu_mem_usage=False).to(device)))
        self.pipeline.set_progress_bar_config(disable=True)
        self.steps, self.guidance, self.clip_s, self.device = int(steps), float(guidance), float(clip_s), device

    @property
    def sr(self) -> int:
        """Sample rate the model writes (its vocoder's)."""
        return int(self.pipeline.vocoder.config.sampling_rate)

    def clip(self, prompt: str, seconds: float, *, seed: int = 0) -> np.ndarray:
        """One generated clip of about ``seconds`` at :attr:`sr` (float64 mono), the same for the same seed."""
        import torch

        generator = torch.Generator(device="cpu").manual_seed(int(seed))
        with torch.inference_mode():
            out = self.pipeline(prompt, audio_length_in_s=float(seconds), num_inference_steps=self.steps,
                                guidance_scale=self.guidance, negative_prompt=NEGATIVE_PROMPT, generator=generator)
        x = np.asarray(out.audios[0], dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(x)) or not np.any(x):
            raise SoundstageError(f"the AudioLDM pipeline in '{self.path}' gave no sound for {prompt!r}")
        return x

    def render(self, label: str, duration: float, sr: int, *, seed: int = 0) -> tuple[np.ndarray, str]:
        """``duration`` seconds of ``label`` at ``sr`` (float64 mono, loopable, nominal level) and its prompt."""
        from soundstage.dsp.resample import resample

        n = int(round(float(duration) * sr)) if np.isfinite(duration) else 0
        if n < 1:
            raise SoundstageError(f"duration must be a positive number of seconds, got {duration!r}")
        prompt = prompt_for(label)
        x = self.clip(prompt, min(float(duration) + 0.1, self.clip_s), seed=seed)  # 0.1 s for the loop crossfade
        if sr != self.sr:
            x = resample(x, sr_in=self.sr, sr_out=sr)
        level = CATEGORIES[label].level_dbfs if label in CATEGORIES else DEFAULT_LEVEL_DBFS
        return set_level(seamless(x, n, sr, seed=seed), level), prompt
