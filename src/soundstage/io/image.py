"""Read and write RGB images and depth maps (Pillow).

Images are uint8 arrays shaped ``(H, W, 3)``. Depth maps are float32 arrays shaped
``(H, W)`` in metres, with NaN where the sensor gave no depth. On disk, depth is a
single-channel integer image holding ``depth_m * depth_scale`` (NYU Depth v2 and most
Kinect/RealSense datasets store millimetres: ``depth_scale=1000``; TUM RGB-D uses 5000)
and 0 for missing depth.
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

_UINT16_MAX = np.iinfo(np.uint16).max


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


def _shape_hw(image_shape: tuple[int, ...]) -> tuple[int, int]:
    """``(H, W)`` from an ``(H, W)`` or ``(H, W, C)`` shape."""
    if len(image_shape) not in (2, 3):
        raise InvalidImageError(
            f"image_shape must be (H, W) or (H, W, channels), found {tuple(image_shape)}"
        )
    return int(image_shape[0]), int(image_shape[1])


def _check_scale(depth_scale: float) -> float:
    """Return ``depth_scale`` as a float after checking it is finite and positive."""
    scale = float(depth_scale)
    if not np.isfinite(scale) or scale <= 0:
        raise InvalidImageError(
            f"depth_scale must be a positive number of units per metre, found {depth_scale!r}"
        )
    return scale


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


def read_depth(
    path: PathLike,
    *,
    depth_scale: float = 1000.0,
    image_shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Read a depth map and convert it to metres.

    Parameters
    ----------
    path
        A single-channel 8-, 16- or 32-bit image (PNG, PGM, TIFF).
    depth_scale
        Stored units per metre: ``metres = value / depth_scale``.
    image_shape
        Shape ``(H, W)`` or ``(H, W, 3)`` of the colour image the depth belongs to.

    Returns
    -------
    np.ndarray
        float32 depth in metres, shape ``(H, W)``; NaN where the stored value is
        0 (no measurement), negative or not finite.

    Raises
    ------
    FileFormatError
        When the file is missing or unreadable.
    InvalidImageError
        When the image has more than one channel, ``depth_scale`` is not
        positive, or its size differs from ``image_shape``.
    """
    scale = _check_scale(depth_scale)
    image = _open(path, "a depth map")
    if image.mode not in DEPTH_MODES:
        raise InvalidImageError(
            f"'{path}' is a {image.mode} image; expected a single-channel depth map "
            f"(one of the modes {sorted(DEPTH_MODES)})"
        )
    values = np.asarray(image).astype(np.float64)
    if image_shape is not None:
        expected = _shape_hw(image_shape)
        if values.shape != expected:
            raise InvalidImageError(
                f"depth map '{path}' is {values.shape[0]}x{values.shape[1]} (H x W) but the "
                f"image is {expected[0]}x{expected[1]}; expected matching sizes"
            )
    missing = ~np.isfinite(values) | (values <= 0)
    depth = values / scale
    depth[missing] = np.nan
    return depth.astype(np.float32)


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


def write_depth(
    path: PathLike,
    depth_m: np.ndarray,
    *,
    depth_scale: float = 1000.0,
    inputs: Iterable[PathLike] = (),
) -> Path:
    """Write a depth map in metres as a 16-bit PNG.

    Stored values are ``round(depth_m * depth_scale)`` clipped to ``[1, 65535]``;
    NaN, zero and negative depths are stored as 0 (missing). Reading back with the
    same ``depth_scale`` gives the depth within ``0.5 / depth_scale`` metres inside
    the representable range (up to 65.535 m at ``depth_scale=1000``).

    Parameters
    ----------
    path
        Target ``.png`` file.
    depth_m
        Real array shaped ``(H, W)``, metres.
    depth_scale
        Stored units per metre.
    inputs
        Files the depth was computed from; ``path`` may not be one of them.

    Returns
    -------
    Path
        The written path.

    Raises
    ------
    InvalidImageError
        For a shape other than ``(H, W)``, an empty or non-real array, or a
        non-positive ``depth_scale``.
    FileFormatError
        When the suffix is not ``.png``.
    OverwriteInputError
        When ``path`` is one of ``inputs``.
    """
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise FileFormatError(
            f"cannot write a depth map to '{target}': expected a .png path (16-bit PNG)"
        )
    scale = _check_scale(depth_scale)
    depth = np.asarray(depth_m)
    if depth.dtype.kind not in "biuf" or depth.ndim != 2 or depth.size == 0:
        raise InvalidImageError(
            f"depth must be a non-empty real array shaped (H, W), "
            f"found dtype {depth.dtype} and shape {depth.shape}"
        )
    scaled = depth.astype(np.float64) * scale
    valid = np.isfinite(scaled) & (scaled > 0)
    stored = np.zeros(depth.shape, dtype=np.uint16)
    stored[valid] = np.clip(np.rint(scaled[valid]), 1, _UINT16_MAX).astype(np.uint16)
    stored[np.isposinf(scaled)] = _UINT16_MAX
    pil = Image.fromarray(stored)
    return atomic_write(target, lambda tmp: pil.save(tmp, format="PNG"), inputs=inputs)
