"""The see2sound job: regions of a picture become sources where they are, in the room's acoustics.

Synthetic pictures (a grey field with a coloured disc at a known pixel) check the geometry
and the binaural cues; real RGB-D rooms of ../shared/data (skipped when absent) check the
indoor path end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from soundstage.cli import main
from soundstage.constants import SPEED_OF_SOUND
from soundstage.dsp.loudness import integrated_loudness
from soundstage.errors import FileFormatError, InvalidImageError, SoundstageError
from soundstage.io.audio import read_audio, read_channel_mask
from soundstage.metrics.spatial import estimate_direction
from soundstage.pipelines.see2sound import (EYE_HEIGHT, TARGET_LUFS, analyze_sound_scene, ground_image, load_labels,
                                            parse_labels, render_sound_scene, see2sound)
from soundstage.scene.camera import Intrinsics
from soundstage.spatial.formats import get_format

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "rgbd" / "nyu_metric3d"
W, H = 160, 120
SR = 48000


def disc_picture(u: float, v: float, radius: float = 9.0, colour=(220, 40, 40)) -> np.ndarray:
    """A grey field with mild texture and one coloured disc centred at pixel (u, v)."""
    rng = np.random.default_rng(0)
    rgb = np.clip(128 + rng.normal(0, 2, (H, W, 3)), 0, 255)
    rows, cols = np.indices((H, W))
    rgb[(cols - u) ** 2 + (rows - v) ** 2 <= radius**2] = colour
    return rgb.astype(np.uint8)


def wide_camera(hfov_deg: float = 120.0) -> Intrinsics:
    f = (W / 2) / np.tan(np.radians(hfov_deg / 2))
    return Intrinsics(f, f, (W - 1) / 2, (H - 1) / 2, W, H)


def pixel_azimuth(u: float, cam: Intrinsics) -> float:
    return float(np.degrees(np.arctan2(-(u - cam.cx), cam.fx)))  # positive to the left


def test_a_disc_is_placed_on_its_pixel_ray():
    cam = wide_camera()
    for u, v in ((30.0, 60.0), (80.0, 40.0), (130.0, 90.0)):
        scene = analyze_sound_scene(disc_picture(u, v), None, cam, sources=1, space="outdoor", labels={1: "rain"})
        (region,) = scene.regions
        assert region.label == "rain" and region.label_from == "user"
        box = region.box
        assert box[0] <= u < box[2] and box[1] <= v < box[3]  # the disc, not the background
        assert region.azimuth_deg == pytest.approx(pixel_azimuth(u, cam), abs=2.0)
        below = np.degrees(np.arctan2(v - cam.cy, cam.fy))
        if below > 1:  # on the ground prior: the ray meets flat ground EYE_HEIGHT below
            assert region.position[2] == pytest.approx(-EYE_HEIGHT, abs=0.05)
        else:
            assert region.elevation_deg == pytest.approx(-below, abs=2.0)


def test_binaural_direction_follows_the_pixel_over_the_front():
    cam = wide_camera()
    errors = []
    for u in np.linspace(8, W - 8, 20):
        scene = analyze_sound_scene(disc_picture(u, H / 2 - 25), None, cam, sources=1, space="outdoor",
                                    labels={1: "rain"})
        audio, _ = render_sound_scene(scene, "binaural", 0.5, SR)
        azimuth, _ = estimate_direction(audio, SR)
        errors.append(abs((azimuth - pixel_azimuth(u, cam) + 180) % 360 - 180))
    assert np.median(errors) <= 10.0, np.round(errors, 1)


def test_a_region_on_the_left_is_louder_in_the_left_ear():
    cam = wide_camera(90.0)
    level = {}
    for side, u in (("left", 25.0), ("right", 135.0)):
        scene = analyze_sound_scene(disc_picture(u, 40.0), None, cam, sources=1, space="outdoor", labels={1: "hum"})
        audio, channels = render_sound_scene(scene, "binaural", 1.0, SR)
        assert channels == ("L", "R")
        level[side] = 10 * np.log10(np.mean(audio[0] ** 2) / np.mean(audio[1] ** 2))
    assert level["left"] > 3.0 and level["right"] < -3.0


def test_ground_reflection_is_the_mirror_image():
    p = np.array([1.0, 6.0, -0.4])
    image = ground_image(p)
    # same horizontal place; as far below the ground as the source is above it
    assert image[:2] == pytest.approx(p[:2]) and (p[2] + EYE_HEIGHT) == pytest.approx(-(image[2] + EYE_HEIGHT))
    delay = (np.linalg.norm(image) - np.linalg.norm(p)) / SPEED_OF_SOUND
    path = np.hypot(np.hypot(*p[:2]), EYE_HEIGHT + (p[2] + EYE_HEIGHT))  # unfolded reflected path
    assert delay == pytest.approx((path - np.linalg.norm(p)) / SPEED_OF_SOUND)


def test_soundscape_loops_and_sky_makes_it_outdoor(tmp_path):
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[: H // 3] = (110, 160, 230)  # sky
    rgb[H // 3 :] = (60, 130, 50)  # grass
    rgb[70:90, 60:90] = (200, 30, 30)  # something red
    image = tmp_path / "field.png"
    Image.fromarray(rgb).save(image)
    result = see2sound(image, tmp_path / "field.wav", duration=2.0, sources=3)
    scene = result.scene
    assert scene.outdoor and scene.room is None
    assert "wind" in [r.label for r in scene.regions]
    audio, sr = read_audio(result.path)
    assert audio.shape == (2, 2 * sr)
    assert integrated_loudness(audio.astype(np.float64), sr) == pytest.approx(TARGET_LUFS, abs=0.1)
    steps = np.abs(np.diff(np.concatenate([audio, audio], axis=1), axis=1)).max(axis=0)
    assert steps[audio.shape[1] - 1] <= np.quantile(steps, 0.999)  # the reverberant result loops too


@pytest.mark.skipif(not DATA.is_dir(), reason="shared RGB-D data not present")
def test_real_room_indoors_in_5_1_with_json(tmp_path, capsys):
    out = tmp_path / "room.wav"
    code = main(["see2sound", str(DATA / "rgb_00050.jpg"), "--depth", str(DATA / "sync_depth_00050.png"),
                 "--intrinsics", "518.8579,519.46961,325.58245,253.73617", "-o", str(out), "--format", "5.1",
                 "--duration", "2", "--label", "2=clock", "--plot", str(tmp_path / "overlay.png"), "--json"])
    assert code == 0
    info = json.loads(capsys.readouterr().out)
    assert info["space"] == "indoor" and len(info["regions"]) == 3
    dims = np.array(info["room_dims_m"])
    for k, region in enumerate(info["regions"], start=1):
        assert region["rank"] == k and set(region) >= {"box", "position", "azimuth_deg", "elevation_deg", "distance_m",
                                                      "label", "generator"}
        assert np.all(np.array(region["position"]) > 0) and np.all(np.array(region["position"]) < dims)
    assert info["regions"][1]["label"] == "clock" and info["regions"][1]["generator"] == "procedural:clock"
    audio, sr = read_audio(out)
    assert audio.shape == (6, 2 * sr) and read_channel_mask(out) == get_format("5.1").channel_mask
    stereo, _ = read_audio(tmp_path / "room.stereo.wav")
    assert stereo.shape == (2, 2 * sr)
    assert (tmp_path / "overlay.png").stat().st_size > 10_000


def test_sound_bank_recordings_come_before_procedural_sounds(tmp_path):
    (tmp_path / "bank" / "gong").mkdir(parents=True)
    t = np.arange(SR // 2) / SR
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) * np.exp(-t)
    from soundstage.io.audio import write_audio

    write_audio(tmp_path / "bank" / "gong" / "gong.wav", tone[None].astype(np.float32), SR)
    image = tmp_path / "disc.png"
    Image.fromarray(disc_picture(60, 50)).save(image)
    result = see2sound(image, tmp_path / "out.wav", bank=tmp_path / "bank", labels={1: "gong"}, sources=1,
                       duration=1.5, space="outdoor")
    assert result.scene.regions[0].generator.startswith("bank:") and result.scene.regions[0].generator.endswith("gong.wav")
    audio, sr = read_audio(result.path)
    spectrum = np.abs(np.fft.rfft(audio[0]))
    assert abs(np.argmax(spectrum) * sr / audio.shape[1] - 440) < 2


def test_bad_requests_are_refused_before_writing(tmp_path):
    flat = tmp_path / "flat.png"
    Image.fromarray(np.full((H, W, 3), 128, np.uint8)).save(flat)
    with pytest.raises(InvalidImageError, match="no usable region"):
        see2sound(flat, tmp_path / "a.wav", space="outdoor")
    image = tmp_path / "disc.png"
    Image.fromarray(disc_picture(60, 50)).save(image)
    with pytest.raises(SoundstageError, match="unknown sound category 'dragon'"):
        see2sound(image, tmp_path / "b.wav", labels={1: "dragon"})
    with pytest.raises(SoundstageError, match=r"label for region 9, but the picture gives [1-3] region\(s\)"):
        see2sound(image, tmp_path / "c.wav", labels={9: "rain"}, space="outdoor")
    with pytest.raises(SoundstageError, match="N=CATEGORY"):
        parse_labels(["birds"])
    assert parse_labels(["1=birds", " 3 = rain"]) == {1: "birds", 3: "rain"}
    (tmp_path / "labels.yaml").write_text("1: birds\n3: rain\n")
    assert load_labels(tmp_path / "labels.yaml") == {1: "birds", 3: "rain"}
    (tmp_path / "bad.yaml").write_text("- birds\n")
    with pytest.raises(FileFormatError, match="must map region numbers"):
        load_labels(tmp_path / "bad.yaml")
    assert main(["see2sound", str(image), "-o", str(image)]) == 2  # never over an input
    assert not any(tmp_path.glob("*.wav"))


def test_a_moving_region_is_followed_and_the_video_gets_its_soundtrack(tmp_path):
    from soundstage.io.video import read_video, write_video

    fps, n = 10, 30
    us = np.linspace(20, 140, n)  # left to right, 20 px per half second: faster than the disc's size
    write_video(tmp_path / "move.mkv", np.stack([disc_picture(u, 40.0) for u in us]), fps)
    cam = wide_camera()
    result = see2sound(tmp_path / "move.mkv", tmp_path / "move.wav", intrinsics=f"{cam.fx},{cam.fy},{cam.cx},{cam.cy}",
                       labels={1: "rain"}, sources=1, space="outdoor", mux=tmp_path / "with_sound.mp4")
    region = result.scene.regions[0]
    assert len(region.path_times) == 7 and region.path_times[-1] == pytest.approx(2.9)
    azimuths = [np.degrees(np.arctan2(-p[0], p[1])) for p in region.path_positions]
    truth = [pixel_azimuth(us[int(round(t * fps))], cam) for t in region.path_times]
    assert np.max(np.abs(np.subtract(azimuths, truth))) < 3.0  # the source follows the disc's pixel
    audio, sr = read_audio(result.path)
    assert audio.shape == (2, 3 * sr) and result.duration == pytest.approx(3.0)
    quarter = audio.shape[1] // 4
    ild = [10 * np.log10(np.mean(audio[0, k * quarter:(k + 1) * quarter] ** 2) /
                         np.mean(audio[1, k * quarter:(k + 1) * quarter] ** 2)) for k in range(4)]
    assert ild[0] > 6 and ild[-1] < -6 and np.all(np.diff(ild) < 0)  # it crosses from left to right
    muxed = read_video(tmp_path / "with_sound.mp4")
    assert len(muxed.frames) == n and muxed.audio is not None and muxed.audio.shape[0] == 2
    assert muxed.audio.shape[1] / muxed.sr == pytest.approx(3.0, abs=0.05)


def test_videos_without_frames_and_misused_options_are_refused(tmp_path):
    from soundstage.pipelines.see2sound import analyze_sound_video

    with pytest.raises(InvalidImageError, match="video has no frames"):
        analyze_sound_video(np.zeros((0, H, W, 3), np.uint8), np.zeros(0))
    image = tmp_path / "disc.png"
    Image.fromarray(disc_picture(60, 50)).save(image)
    with pytest.raises(SoundstageError, match="needs a video input"):
        see2sound(image, tmp_path / "a.wav", mux=tmp_path / "a.mp4")
    assert not any(tmp_path.glob("a.*"))
