"""Read, decode and write depth maps (Pillow).

Depth maps are float32 arrays shaped ``(H, W)`` in metres, with NaN where the sensor gave
no depth. On disk, depth is a single-channel integer image in one of three encodings
(:data:`DEPTH_ENCODINGS`):

``"linear"``
    ``depth_m * depth_scale``, 0 for missing: NYU Depth v2 ``sync_depth`` PNGs and most
    Kinect/RealSense datasets store millimetres (``depth_scale=1000``); TUM RGB-D uses 5000.
``"sunrgbd"``
    SUN3D / SUN RGB-D: millimetres with the 16 bits rotated left by 3, so
    ``metres = (((v >> 3) | (v << 13)) & 0xFFFF) / 1000`` (SUN3D ``depthRead.m``, SUN RGB-D
    ``read3dPoints.m``, Open3D ``CreateFromSUNFormat``).
``"kinect-disparity"``
    Raw 11-bit Kinect v1 disparity as in the NYU Depth v2 raw dumps (Open3D's
    ``NYU_depth.pgm``): ``metres = 351.3 / (1092.5 - v)`` (NYU toolbox ``camera_params.m``
    and ``depth_rel2depth_abs.m``, Open3D ``CreateFromNYUFormat``). Those PGMs hold
    little-endian bytes although PGM is big-endian (the toolbox calls ``swapbytes``), so
    values above the 11-bit range are byte-swapped when that brings them into range.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from soundstage.errors import FileFormatError, InvalidImageError
from soundstage.io.atomic import PathLike, atomic_write
from soundstage.io.image import DEPTH_MODES, _open

#: Depth encodings understood by :func:`read_depth` and :func:`decode_depth`.
DEPTH_ENCODINGS: tuple[str, ...] = ("linear", "sunrgbd", "kinect-disparity")

#: ``(a, b)`` of the Kinect v1 disparity model ``metres = a / (b - raw)`` (NYU toolbox).
KINECT_DISPARITY_PARAMS: tuple[float, float] = (351.3, 1092.5)

#: Farthest Kinect v1 depth kept (m); the NYU toolbox clamps at this ``maxDepth``, here
#: farther readings become NaN instead of an invented surface at 10 m.
KINECT_MAX_DEPTH_M = 10.0

#: Largest plausible decoded depth (m); anything farther means a wrong depth scale.
MAX_DEPTH_M = 100.0

_UINT16_MAX = np.iinfo(np.uint16).max
_KINECT_RAW_MAX = 2047


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


def _check_encoding(depth_encoding: str, depth_scale: float | None) -> float | None:
    """Validate the encoding and its scale; return the scale (None for disparity)."""
    if depth_encoding not in DEPTH_ENCODINGS:
        raise InvalidImageError(
            f"unknown depth_encoding {depth_encoding!r}; "
            f"expected one of {', '.join(DEPTH_ENCODINGS)}"
        )
    if depth_encoding == "kinect-disparity":
        if depth_scale is not None:
            raise InvalidImageError(
                f"depth_scale={depth_scale!r} does not apply to kinect-disparity depth, which "
                "is converted with the Kinect model 351.3 / (1092.5 - raw); expected None"
            )
        return None
    return _check_scale(1000.0 if depth_scale is None else depth_scale)


def _integer_values(values: np.ndarray, name: str, encoding: str) -> np.ndarray:
    """``values`` as int64 after checking they are integers in ``[0, 65535]``."""
    if (
        not np.isfinite(values).all()
        or (values < 0).any()
        or (values > _UINT16_MAX).any()
        or (values != np.round(values)).any()
    ):
        raise InvalidImageError(
            f"{name} is not a 16-bit integer image; {encoding} depth expects integers 0-65535"
        )
    return values.astype(np.int64)


def _kinect_raw(values: np.ndarray, name: str) -> np.ndarray:
    """11-bit raw Kinect disparity, byte-swapped when the file held the other byte order."""
    raw = _integer_values(values, name, "kinect-disparity")
    if raw.max() <= _KINECT_RAW_MAX:
        return raw
    swapped = raw.astype(np.uint16).byteswap().astype(np.int64)
    if swapped.max() <= _KINECT_RAW_MAX:
        return swapped
    raise InvalidImageError(
        f"{name} holds values up to {raw.max()} (and {swapped.max()} with its bytes swapped); "
        f"kinect-disparity expects raw 11-bit Kinect values 0-{_KINECT_RAW_MAX}"
    )


def decode_depth(
    raw: np.ndarray,
    *,
    depth_encoding: str = "linear",
    depth_scale: float | None = None,
    name: str = "depth map",
) -> np.ndarray:
    """Convert stored depth values to metres.

    Parameters
    ----------
    raw
        Real array shaped ``(H, W)``: the values of a depth image as stored.
    depth_encoding
        One of :data:`DEPTH_ENCODINGS` (see the module docstring).
    depth_scale
        Stored units per metre for ``"linear"`` and ``"sunrgbd"``; ``None`` means 1000
        (millimetres). Must be ``None`` for ``"kinect-disparity"``.
    name
        What to call the data in error messages.

    Returns
    -------
    np.ndarray
        float32 metres, shape ``(H, W)``; NaN where nothing was measured: stored 0,
        negative or non-finite values, and for Kinect disparity also 2047 (no return)
        and anything at or beyond 1092.5 or farther than :data:`KINECT_MAX_DEPTH_M`.

    Raises
    ------
    InvalidImageError
        For an unknown encoding, a scale that is not positive (or given for disparity),
        values the encoding cannot hold, or decoded depths beyond :data:`MAX_DEPTH_M`.
    """
    scale = _check_encoding(depth_encoding, depth_scale)
    values = np.asarray(raw)
    if values.dtype.kind not in "biuf" or values.ndim != 2 or values.size == 0:
        raise InvalidImageError(
            f"{name} must be a non-empty real array shaped (H, W), "
            f"found dtype {values.dtype} and shape {values.shape}"
        )
    values = values.astype(np.float64)
    if scale is None:
        disparity = _kinect_raw(values, name).astype(np.float64)
        a, b = KINECT_DISPARITY_PARAMS
        valid = (disparity > 0) & (disparity < b)
        depth = np.full(values.shape, np.nan)
        depth[valid] = a / (b - disparity[valid])
        depth[depth > KINECT_MAX_DEPTH_M] = np.nan
        return depth.astype(np.float32)
    missing = ~np.isfinite(values) | (values <= 0)
    if depth_encoding == "sunrgbd":
        stored = _integer_values(values, name, depth_encoding)
        values = (((stored >> 3) | (stored << 13)) & _UINT16_MAX).astype(np.float64)
    depth = values / scale
    depth[missing] = np.nan
    if (~missing).any() and np.nanmax(depth) > MAX_DEPTH_M:
        raise InvalidImageError(
            f"{name} decodes to depths up to {np.nanmax(depth):.4g} m with "
            f"depth_scale={scale:g} ({depth_encoding}); expected at most {MAX_DEPTH_M:g} m: "
            "check depth_scale (stored units per metre: 1000 for millimetres, 5000 for "
            "TUM RGB-D) and depth_encoding"
        )
    return depth.astype(np.float32)


def read_depth(
    path: PathLike,
    *,
    depth_scale: float | None = None,
    image_shape: tuple[int, ...] | None = None,
    depth_encoding: str = "linear",
) -> np.ndarray:
    """Read a depth map and convert it to metres.

    Parameters
    ----------
    path
        A single-channel 8-, 16- or 32-bit image (PNG, PGM, TIFF).
    depth_scale
        Stored units per metre for the ``"linear"`` (``metres = value / depth_scale``)
        and ``"sunrgbd"`` encodings; ``None`` means 1000 (millimetres). TUM RGB-D: 5000.
        Leave ``None`` for ``"kinect-disparity"``.
    image_shape
        Shape ``(H, W)`` or ``(H, W, 3)`` of the colour image the depth belongs to.
    depth_encoding
        ``"linear"``, ``"sunrgbd"`` or ``"kinect-disparity"`` (see the module docstring).

    Returns
    -------
    np.ndarray
        float32 depth in metres, shape ``(H, W)``; NaN where nothing was measured
        (see :func:`decode_depth`).

    Raises
    ------
    FileFormatError
        When the file is missing or unreadable.
    InvalidImageError
        When the image has more than one channel, its size differs from
        ``image_shape``, the encoding or scale is invalid, or the decoded depth
        exceeds :data:`MAX_DEPTH_M` (a wrong ``depth_scale``).
    """
    _check_encoding(depth_encoding, depth_scale)
    image = _open(path, "a depth map")
    if image.mode not in DEPTH_MODES:
        raise InvalidImageError(
            f"'{path}' is a {image.mode} image; expected a single-channel depth map "
            f"(one of the modes {sorted(DEPTH_MODES)})"
        )
    values = np.asarray(image)
    if image_shape is not None:
        expected = _shape_hw(image_shape)
        if values.shape != expected:
            raise InvalidImageError(
                f"depth map '{path}' is {values.shape[0]}x{values.shape[1]} (H x W) but the "
                f"image is {expected[0]}x{expected[1]}; expected matching sizes"
            )
    return decode_depth(
        values, depth_encoding=depth_encoding, depth_scale=depth_scale, name=f"depth map '{path}'"
    )


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
