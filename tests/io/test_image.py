"""Colour images: round trips, grey and RGBA input, EXIF orientation, refused files and writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from soundstage.errors import FileFormatError, InvalidImageError, OverwriteInputError
from soundstage.io.image import read_image, write_image


def _picture(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


# --- round trips ---------------------------------------------------------------------------


def test_png_round_trip_exact_and_jpeg_close(tmp_path: Path) -> None:
    image = _picture()
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "a.png", image)), image)
    smooth = np.repeat(np.linspace(0, 255, 32, dtype=np.uint8)[None, :, None], 24, 0)
    smooth = np.repeat(smooth, 3, axis=2)
    back = read_image(write_image(tmp_path / "a.jpg", smooth)).astype(float)
    assert back.shape == smooth.shape
    assert np.mean(np.abs(back - smooth)) < 3.0


def test_grey_and_rgba_become_rgb(tmp_path: Path) -> None:
    grey = _picture()[:, :, 0]
    rgb = read_image(write_image(tmp_path / "g.png", grey))
    assert rgb.shape == grey.shape + (3,)
    for c in range(3):
        np.testing.assert_array_equal(rgb[:, :, c], grey)
    rgba = np.concatenate([_picture(), np.full((24, 32, 1), 255, np.uint8)], axis=2)
    np.testing.assert_array_equal(read_image(write_image(tmp_path / "a.png", rgba)), rgba[..., :3])


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = _picture(h=10, w=20)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(image).save(tmp_path / "rot.jpg", exif=exif, quality=95)
    assert read_image(tmp_path / "rot.jpg").shape == (20, 10, 3)


# --- errors --------------------------------------------------------------------------------


def test_missing_truncated_and_non_image_files(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="no such file"):
        read_image(tmp_path / "nope.png")
    good = write_image(tmp_path / "good.png", _picture(h=64, w=64))
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(FileFormatError, match="cut.png"):
        read_image(cut)
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(FileFormatError, match="text.png"):
        read_image(tmp_path / "text.png")


def test_bad_arrays_and_suffixes(tmp_path: Path) -> None:
    with pytest.raises(InvalidImageError, match="uint8"):
        write_image(tmp_path / "f.png", _picture().astype(np.float32))
    with pytest.raises(InvalidImageError, match=r"\(H, W, 3\)"):
        write_image(tmp_path / "f.png", np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(FileFormatError, match=r"\.png"):
        write_image(tmp_path / "f.notanimage", _picture())
    assert list(tmp_path.iterdir()) == []


def test_writing_onto_input_refused_and_input_intact(tmp_path: Path) -> None:
    source = write_image(tmp_path / "in.png", _picture())
    before = source.read_bytes()
    with pytest.raises(OverwriteInputError, match="in.png"):
        write_image(source, 255 - read_image(source), inputs=[source])
    assert source.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["in.png"]
