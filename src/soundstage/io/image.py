"""Read and write colour images (Pillow).

Images are uint8 arrays shaped ``(H, W, 3)``. Depth maps are read, decoded and written
by :mod:`soundstage.io.depth`, which uses this module's file opening and
:data:`DEPTH_MODES`; its public names stay importable from here for older callers.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from soundstage.errors import FileFormatError, InvalidImageError
from soundstage.io.atomic import PathLike, atomic_write

#: Pillow modes that hold one channel of depth values.
DEPTH_MODES: frozenset[str] = frozenset({"L", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


#: File endings read as pictures by the jobs that take a picture or a video.
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".ppm", ".tif", ".tiff")

def _open(path: PathLike, what: str) -> Image.Image:
    """Open and fully decode an image file, mapping failures to FileFormatError."""
    source = Path(path)
    if not source.exists():
        raise FileFormatError(f"no such file: '{source}'")
    if not source.is_file():
        raise FileFormatError(f"'{source}' is not a file; expected {what}")
    image: Image.Image | None = None
    try:
        image = Image.open(source)
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        if image is not None:
            image.close()
        raise FileFormatError(f"cannot read {what} '{source}': {exc}") from exc
    return image


def read_image(path: PathLike) -> np.ndarray:
    """Read a colour image as uint8 RGB.

    The EXIF orientation tag is applied, so the array is upright as a viewer shows
    it. Grey-scale and palette images are expanded to three channels; alpha is dropped.

    Parameters
    ----------
    path
        Any image Pillow reads (PNG, JPEG, PPM, ...).

    Returns
    -------
    np.ndarray
        uint8, shape ``(H, W, 3)``.

    Raises
    ------
    FileFormatError
        When the file is missing, unreadable or truncated.
    InvalidImageError
        When the file is a 16- or 32-bit single-channel image (a depth map).
    """
    image = _open(path, "an image")
    if image.mode in DEPTH_MODES - {"L"}:
        raise InvalidImageError(
            f"'{path}' is a single-channel {image.mode} image, which looks like a depth map; "
            "expected a colour image (use read_depth for depth maps)"
        )
    image = ImageOps.exif_transpose(image)
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def _check_rgb(image: np.ndarray) -> np.ndarray:
    """Validate an image for writing: uint8, ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)``."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise InvalidImageError(f"image must be uint8, found dtype {arr.dtype}")
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise InvalidImageError(
            f"image must be shaped (H, W), (H, W, 3) or (H, W, 4), found {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidImageError(f"image is empty (shape {arr.shape}); expected H, W >= 1")
    return np.ascontiguousarray(arr)


def _check_image_suffix(target: Path) -> None:
    """Raise unless Pillow can write the format named by ``target``'s suffix."""
    extensions = Image.registered_extensions()
    file_format = extensions.get(target.suffix.lower())
    if file_format is None or file_format not in Image.SAVE:
        writable = sorted(ext for ext, fmt in extensions.items() if fmt in Image.SAVE)
        raise FileFormatError(
            f"cannot write an image to '{target}': unknown suffix '{target.suffix}'; "
            f"expected one of {', '.join(writable)}"
        )


def write_image(path: PathLike, image: np.ndarray, *, inputs: Iterable[PathLike] = ()) -> Path:
    """Write a uint8 image atomically; the format follows the suffix.

    Parameters
    ----------
    path
        Target file, e.g. ``.png`` (lossless) or ``.jpg``.
    image
        uint8 array shaped ``(H, W, 3)`` (RGB), ``(H, W, 4)`` (RGBA) or ``(H, W)``.
    inputs
        Files the image was computed from; ``path`` may not be one of them.

    Returns
    -------
    Path
        The written path.

    Raises
    ------
    InvalidImageError
        For a wrong dtype or shape.
    FileFormatError
        For a suffix Pillow cannot write.
    OverwriteInputError
        When ``path`` is one of ``inputs``.
    """
    target = Path(path)
    _check_image_suffix(target)
    arr = _check_rgb(image)
    if arr.ndim == 3 and arr.shape[2] == 4 and target.suffix.lower() in (".jpg", ".jpeg"):
        arr = np.ascontiguousarray(arr[:, :, :3])
    pil = Image.fromarray(arr)
    return atomic_write(target, lambda tmp: pil.save(tmp), inputs=inputs)

