"""Images and depth maps: real RGB-D frames, round trips, size checks, refused writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from soundstage.errors import FileFormatError, InvalidImageError, OverwriteInputError
from soundstage.io.image import read_depth, read_image, write_depth, write_image

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
NYU = DATA / "rgbd" / "nyu_metric3d"
OPEN3D = DATA / "rgbd" / "open3d"

needs_nyu = pytest.mark.skipif(not NYU.is_dir(), reason="shared RGB-D data absent")
needs_open3d = pytest.mark.skipif(not OPEN3D.is_dir(), reason="shared RGB-D data absent")


def _picture(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


# --- real RGB-D data -----------------------------------------------------------------------


@needs_nyu
@pytest.mark.parametrize("frame", ["00000", "00050", "00100"])
def test_nyu_depth_is_metric_indoor_range(frame: str) -> None:
    rgb = read_image(NYU / f"rgb_{frame}.jpg")
    depth_path = NYU / f"sync_depth_{frame}.png"
    depth = read_depth(depth_path, depth_scale=1000.0, image_shape=rgb.shape)
    assert rgb.shape == (480, 640, 3) and rgb.dtype == np.uint8
    assert depth.shape == rgb.shape[:2] and depth.dtype == np.float32
    raw = np.asarray(Image.open(depth_path)).astype(np.float64)
    missing = np.isnan(depth)
    np.testing.assert_array_equal(missing, raw == 0)
    assert 0.05 < missing.mean() < 0.5
    np.testing.assert_allclose(depth[~missing], raw[~missing] / 1000.0, rtol=1e-6)
    assert np.nanmin(depth) >= 0.3 and np.nanmax(depth) <= 10.0
    assert 1.5 < np.nanmedian(depth) < 5.0


@needs_open3d
def test_open3d_pairs_read_with_matching_sizes() -> None:
    nyu_rgb = read_image(OPEN3D / "NYU_color.ppm")
    assert nyu_rgb.shape == (480, 640, 3)
    nyu_depth = read_depth(OPEN3D / "NYU_depth.pgm", image_shape=nyu_rgb.shape)
    assert nyu_depth.shape == (480, 640)
    tum_rgb = read_image(OPEN3D / "TUM_color.png")
    tum = read_depth(OPEN3D / "TUM_depth.png", depth_scale=5000.0, image_shape=tum_rgb.shape)
    assert 0.3 <= np.nanmin(tum) and np.nanmax(tum) <= 10.0
    with pytest.raises(InvalidImageError, match="depth map"):
        read_image(OPEN3D / "TUM_depth.png")
    with pytest.raises(InvalidImageError, match="single-channel"):
        read_depth(OPEN3D / "TUM_color.png")


@needs_nyu
def test_depth_size_mismatch_names_both_sizes() -> None:
    with pytest.raises(InvalidImageError, match=r"480x640.*240x320"):
        read_depth(NYU / "sync_depth_00000.png", image_shape=(240, 320, 3))


def test_depth_size_mismatch_synthetic(tmp_path: Path) -> None:
    path = write_depth(tmp_path / "d.png", np.full((6, 8), 2.0))
    assert read_depth(path, image_shape=(6, 8)).shape == (6, 8)
    with pytest.raises(InvalidImageError, match=r"6x8.*8x6"):
        read_depth(path, image_shape=(8, 6, 3))


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


def test_depth_round_trip_within_resolution(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    depth = rng.uniform(0.3, 12.0, size=(30, 40))
    depth[0, :5] = np.nan
    depth[1, 0] = -1.0
    depth[1, 1] = 0.0
    depth[2, 0] = 80.0
    for scale in (1000.0, 5000.0 / 6):
        path = write_depth(tmp_path / "d.png", depth, depth_scale=scale)
        with Image.open(path) as stored:
            assert stored.mode.startswith("I;16")
        back = read_depth(path, depth_scale=scale)
        valid = np.isfinite(depth) & (depth > 0) & (depth < 65535 / scale)
        assert np.max(np.abs(back[valid] - depth[valid])) <= 0.5 / scale + 1e-6
        assert np.isnan(back[0, :5]).all() and np.isnan(back[1, :2]).all()
        assert back[2, 0] == pytest.approx(65535 / scale, rel=1e-6)


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
        read_depth(tmp_path / "text.png")


def test_bad_arrays_suffixes_and_scale(tmp_path: Path) -> None:
    with pytest.raises(InvalidImageError, match="uint8"):
        write_image(tmp_path / "f.png", _picture().astype(np.float32))
    with pytest.raises(InvalidImageError, match=r"\(H, W, 3\)"):
        write_image(tmp_path / "f.png", np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(FileFormatError, match=r"\.png"):
        write_image(tmp_path / "f.notanimage", _picture())
    with pytest.raises(FileFormatError, match="16-bit PNG"):
        write_depth(tmp_path / "d.jpg", np.ones((4, 4)))
    with pytest.raises(InvalidImageError, match=r"\(H, W\)"):
        write_depth(tmp_path / "d.png", np.ones((4, 4, 3)))
    with pytest.raises(InvalidImageError, match="depth_scale"):
        write_depth(tmp_path / "d.png", np.ones((4, 4)), depth_scale=0)
    assert list(tmp_path.iterdir()) == []


def test_writing_onto_input_refused_and_input_intact(tmp_path: Path) -> None:
    source = write_image(tmp_path / "in.png", _picture())
    before = source.read_bytes()
    with pytest.raises(OverwriteInputError, match="in.png"):
        write_image(source, 255 - read_image(source), inputs=[source])
    with pytest.raises(OverwriteInputError):
        write_depth(source, np.ones((24, 32)), inputs=[source])
    assert source.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["in.png"]
