"""Depth maps: real RGB-D frames in each dataset's encoding, decoding, round trips, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from soundstage.errors import FileFormatError, InvalidImageError, OverwriteInputError
from soundstage.io.depth import (
    DEPTH_ENCODINGS,
    KINECT_MAX_DEPTH_M,
    decode_depth,
    read_depth,
    write_depth,
)
from soundstage.io.image import read_image

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
NYU = DATA / "rgbd" / "nyu_metric3d"
OPEN3D = DATA / "rgbd" / "open3d"

needs_nyu = pytest.mark.skipif(not NYU.is_dir(), reason="shared RGB-D data absent")
needs_open3d = pytest.mark.skipif(not OPEN3D.is_dir(), reason="shared RGB-D data absent")


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
    nyu_depth = read_depth(
        OPEN3D / "NYU_depth.pgm", image_shape=nyu_rgb.shape, depth_encoding="kinect-disparity"
    )
    assert nyu_depth.shape == (480, 640)
    tum_rgb = read_image(OPEN3D / "TUM_color.png")
    tum = read_depth(OPEN3D / "TUM_depth.png", depth_scale=5000.0, image_shape=tum_rgb.shape)
    assert 0.3 <= np.nanmin(tum) and np.nanmax(tum) <= 10.0
    with pytest.raises(InvalidImageError, match="depth map"):
        read_image(OPEN3D / "TUM_depth.png")
    with pytest.raises(InvalidImageError, match="single-channel"):
        read_depth(OPEN3D / "TUM_color.png")


# Open3D's samples: each dataset's own encoding (verified against the Open3D, NYU toolbox,
# SUN3D and TUM sources); (file, read_depth keywords, expected median depth in metres).
OPEN3D_DEPTH = [
    ("NYU_depth.pgm", {"depth_encoding": "kinect-disparity"}, 3.27),
    ("SUN_depth.png", {"depth_encoding": "sunrgbd"}, 2.72),
    ("TUM_depth.png", {"depth_scale": 5000.0}, 2.42),
]


@needs_open3d
@pytest.mark.parametrize(("name", "kwargs", "median"), OPEN3D_DEPTH)
def test_open3d_depth_encodings_give_indoor_depths(name: str, kwargs: dict, median: float) -> None:
    depth = read_depth(OPEN3D / name, **kwargs)
    assert depth.shape == (480, 640) and depth.dtype == np.float32
    assert 0.75 < np.isfinite(depth).mean() < 0.98
    assert 0.5 <= np.nanmin(depth) and np.nanmax(depth) <= 10.0
    assert np.nanmedian(depth) == pytest.approx(median, abs=0.01)
    wrong = read_depth(OPEN3D / name, depth_scale=1000.0)  # as if it were plain millimetres
    assert np.nanmedian(wrong) > 10.0


@needs_open3d
def test_open3d_raw_values_decode_as_the_datasets_define() -> None:
    data = (OPEN3D / "NYU_depth.pgm").read_bytes()
    little = np.frombuffer(data[-480 * 640 * 2 :], dtype="<u2").reshape(480, 640).astype(float)
    nyu = read_depth(OPEN3D / "NYU_depth.pgm", depth_encoding="kinect-disparity")
    valid = little < 1092.5
    assert np.all(little[~valid] == 2047) and np.isnan(nyu[~valid]).all()
    np.testing.assert_allclose(nyu[valid], 351.3 / (1092.5 - little[valid]), rtol=1e-6)
    raw = np.asarray(Image.open(OPEN3D / "SUN_depth.png")).astype(np.int64)
    sun = read_depth(OPEN3D / "SUN_depth.png", depth_encoding="sunrgbd")
    rotated = (raw * 2**13) % 0xFFFF / 1000.0  # a 16-bit right rotation by 3 is x * 2^13 mod 2^16-1
    np.testing.assert_allclose(sun[raw > 0], rotated[raw > 0], rtol=1e-6)
    assert np.isnan(sun[raw == 0]).all()


def test_sunrgbd_rotation_round_trip(tmp_path: Path) -> None:
    mm = np.array([[0, 500, 1234], [8191, 8192, 9870], [30000, 65535, 2047]], dtype=np.int64)
    stored = ((mm << 3) | (mm >> 13)) & 0xFFFF
    Image.fromarray(stored.astype(np.uint16)).save(tmp_path / "sun.png")
    depth = read_depth(tmp_path / "sun.png", depth_encoding="sunrgbd")
    assert np.isnan(depth[0, 0])
    np.testing.assert_allclose(depth.ravel()[1:], mm.ravel()[1:] / 1000.0, rtol=1e-6)
    half = read_depth(tmp_path / "sun.png", depth_encoding="sunrgbd", depth_scale=2000.0)
    np.testing.assert_allclose(half.ravel()[1:], mm.ravel()[1:] / 2000.0, rtol=1e-6)


@pytest.mark.parametrize("byteorder", [">u2", "<u2"])
def test_kinect_disparity_model_either_byte_order(tmp_path: Path, byteorder: str) -> None:
    raw = np.array([[0, 500, 742], [1000, 1040, 1060], [1092, 1093, 2047]])
    path = tmp_path / "raw.pgm"
    path.write_bytes(b"P5\n3 3\n65535\n" + raw.astype(byteorder).tobytes())
    depth = read_depth(path, depth_encoding="kinect-disparity", image_shape=(3, 3))
    expected = 351.3 / (1092.5 - raw[:2].astype(float))
    np.testing.assert_allclose(depth[0, 1:], expected[0, 1:], rtol=1e-6)
    np.testing.assert_allclose(depth[1, :2], expected[1, :2], rtol=1e-6)
    assert depth[0, 2] == pytest.approx(1.00228, abs=1e-5)
    assert expected[1, 2] > KINECT_MAX_DEPTH_M and np.isnan(depth[1, 2])
    assert np.isnan(depth[0, 0]) and np.isnan(depth[2]).all()  # no data, behind, 2047


def test_kinect_disparity_rejects_non_11_bit_values(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.fromarray(np.full((4, 4), 3000, np.uint16)).save(path)  # 0x0BB8 / swapped 0xB80B
    with pytest.raises(InvalidImageError, match="11-bit"):
        read_depth(path, depth_encoding="kinect-disparity")
    with pytest.raises(InvalidImageError, match="depth_scale.*kinect-disparity"):
        read_depth(path, depth_encoding="kinect-disparity", depth_scale=1000.0)


def test_implausible_scale_and_bad_encodings_refused(tmp_path: Path) -> None:
    path = write_depth(tmp_path / "mm.png", np.full((6, 8), 3.0))
    with pytest.raises(InvalidImageError, match=r"3000 m with depth_scale=1 .*100 m"):
        read_depth(path, depth_scale=1.0)
    assert read_depth(path, depth_scale=100.0)[0, 0] == pytest.approx(30.0)
    with pytest.raises(InvalidImageError, match="linear, sunrgbd, kinect-disparity"):
        read_depth(path, depth_encoding="tum")
    assert DEPTH_ENCODINGS == ("linear", "sunrgbd", "kinect-disparity")
    with pytest.raises(InvalidImageError, match="16-bit integer"):
        decode_depth(np.full((2, 2), 1.5), depth_encoding="sunrgbd")
    with pytest.raises(InvalidImageError, match=r"\(H, W\)"):
        decode_depth(np.ones((2, 2, 3)))
    with pytest.raises(InvalidImageError, match="depth_scale"):
        decode_depth(np.ones((2, 2)), depth_scale=-5)
    np.testing.assert_array_equal(decode_depth(np.zeros((2, 2))), np.full((2, 2), np.nan))


@needs_nyu
def test_depth_size_mismatch_names_both_sizes() -> None:
    with pytest.raises(InvalidImageError, match=r"480x640.*240x320"):
        read_depth(NYU / "sync_depth_00000.png", image_shape=(240, 320, 3))


def test_depth_size_mismatch_synthetic(tmp_path: Path) -> None:
    path = write_depth(tmp_path / "d.png", np.full((6, 8), 2.0))
    assert read_depth(path, image_shape=(6, 8)).shape == (6, 8)
    with pytest.raises(InvalidImageError, match=r"6x8.*8x6"):
        read_depth(path, image_shape=(8, 6, 3))


# --- round trip ----------------------------------------------------------------------------


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


def test_non_image_file_refused(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="no such file"):
        read_depth(tmp_path / "nope.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(FileFormatError, match="text.png"):
        read_depth(tmp_path / "text.png")


def test_bad_arrays_suffixes_and_scale(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="16-bit PNG"):
        write_depth(tmp_path / "d.jpg", np.ones((4, 4)))
    with pytest.raises(InvalidImageError, match=r"\(H, W\)"):
        write_depth(tmp_path / "d.png", np.ones((4, 4, 3)))
    with pytest.raises(InvalidImageError, match="depth_scale"):
        write_depth(tmp_path / "d.png", np.ones((4, 4)), depth_scale=0)
    assert list(tmp_path.iterdir()) == []


def test_writing_onto_input_refused_and_input_intact(tmp_path: Path) -> None:
    source = write_depth(tmp_path / "in.png", np.full((24, 32), 2.0))
    before = source.read_bytes()
    with pytest.raises(OverwriteInputError, match="in.png"):
        write_depth(source, np.ones((24, 32)), inputs=[source])
    assert source.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["in.png"]

