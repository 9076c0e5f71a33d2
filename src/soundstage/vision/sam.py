"""Object masks from Segment Anything (Kirillov et al., ICCV 2023) through ``transformers``, from a local checkpoint.

SEE-2-SOUND finds its regions with SAM. Here SAM is an optional back-end of the regions of
interest (:func:`soundstage.scene.interest.regions_of_interest` joins the superpixel
regions that one mask covers into one object). :class:`SamSegmenter` makes masks for a
whole picture the way SAM's automatic mask generator does, in its simplest form:

1. the image is embedded once;
2. a grid of ``points_per_side`` x ``points_per_side`` single-point prompts is decoded, each
   into SAM's three candidate masks, of which the one with the highest predicted IoU is kept;
3. masks whose predicted IoU is below ``min_iou``, or that cover less than
   :data:`~soundstage.scene.interest.MIN_SHARE` of the picture, are dropped;
4. non-maximum suppression: from the highest predicted IoU down, a mask overlapping a kept
   one by more than ``nms_iou`` (mask IoU) is dropped.

The checkpoint is a folder written by ``transformers`` (``SamModel.save_pretrained`` and
``SamProcessor.save_pretrained``, or a downloaded copy of a published one such as
``facebook/sam-vit-base``); it is only read from that folder (``local_files_only``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soundstage.errors import DependencyError, InvalidImageError, SoundstageError
from soundstage.models.checkpoint import load_pretrained_folder

__all__ = ["SamSegmenter"]

_CHUNK = 64  # prompts decoded at once


class SamSegmenter:
    """A SAM model and processor loaded from a local folder (see the module doc).

    Raises
    ------
    DependencyError
        ``transformers`` is not installed.
    FileFormatError
        ``path`` holds no SAM model and processor.
    """

    name = "sam"

    def __init__(self, path: str | Path, *, points_per_side: int = 16, min_iou: float = 0.86, nms_iou: float = 0.7,
                 device: str = "cpu"):
        try:
            from transformers import SamModel, SamProcessor
        except ImportError as exc:
            raise DependencyError("the SAM back-end needs transformers: pip install 'soundstage[generate]'") from exc
        if isinstance(points_per_side, bool) or not isinstance(points_per_side, (int, np.integer)) or points_per_side < 1:
            raise SoundstageError(f"points_per_side must be a whole number >= 1, got {points_per_side!r}")
        self.path = Path(path)
        self.model, self.processor = load_pretrained_folder(self.path, "config.json", "SAM model and processor",
                                                            lambda p: (
            SamModel.from_pretrained(p, local_files_only=True).to(device).eval(),
            SamProcessor.from_pretrained(p, local_files_only=True)))
        self.points_per_side, self.min_iou, self.nms_iou, self.device = int(points_per_side), min_iou, nms_iou, device

    def grid(self, width: int, height: int) -> np.ndarray:
        """The prompt points ``(n, 2)`` as ``(x, y)`` pixels: cell centres of a regular grid over the picture."""
        k = self.points_per_side
        xs, ys = (np.arange(k) + 0.5) * width / k, (np.arange(k) + 0.5) * height / k
        return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)

    def candidates(self, rgb: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """For every grid point, SAM's best mask (bool ``(H, W)``) and its predicted IoU."""
        import torch

        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise InvalidImageError(f"image must be uint8 (H, W, 3); got {rgb.dtype} {rgb.shape}")
        h, w = rgb.shape[:2]
        points = self.grid(w, h)
        masks, scores = [], []
        with torch.inference_mode():
            inputs = self.processor(images=rgb, return_tensors="pt")
            embeddings = self.model.get_image_embeddings(inputs["pixel_values"].to(self.device))
            for start in range(0, len(points), _CHUNK):
                prompts = [[[float(x), float(y)]] for x, y in points[start : start + _CHUNK]]
                enc = self.processor(images=rgb, input_points=[prompts], return_tensors="pt")
                out = self.model(image_embeddings=embeddings, input_points=enc["input_points"].to(self.device),
                                 multimask_output=True)
                iou = out.iou_scores[0].cpu()  # (prompts, 3)
                full = self.processor.image_processor.post_process_masks(
                    out.pred_masks.cpu(), enc["original_sizes"], enc["reshaped_input_sizes"])[0]  # (prompts, 3, H, W)
                best = iou.argmax(dim=1)
                for p in range(len(prompts)):
                    masks.append(full[p, best[p]].numpy().astype(bool))
                    scores.append(float(iou[p, best[p]]))
        return masks, np.asarray(scores)

    def masks(self, rgb: np.ndarray) -> list[np.ndarray]:
        """The picture's object masks (bool ``(H, W)``), best predicted IoU first (see the module doc)."""
        from soundstage.scene.interest import MIN_SHARE

        candidates, scores = self.candidates(rgb)
        kept: list[np.ndarray] = []
        for i in np.argsort(-scores, kind="stable"):
            mask = candidates[i]
            if scores[i] < self.min_iou or mask.mean() < MIN_SHARE:
                continue
            if all(np.count_nonzero(mask & k) / np.count_nonzero(mask | k) <= self.nms_iou for k in kept):
                kept.append(mask)
        return kept
