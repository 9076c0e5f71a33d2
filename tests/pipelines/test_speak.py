"""The speak job: scene -> response -> speech, JSON round trip, real RGB-D rooms, bad input."""

import json
from pathlib import Path

import numpy as np
import pytest

from soundstage.acoustics.rir import synthesize_rir
from soundstage.cli import main
from soundstage.constants import SPEED_OF_SOUND
from soundstage.io.audio import read_audio, write_audio
from soundstage.io.depth import write_depth
from soundstage.io.image import write_image
from soundstage.pipelines.speak import render_speech
from soundstage.scene.scene import Scene, analyze_scene
from soundstage.scene.synthetic import render_room

RGBD = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "rgbd"
NYU = RGBD / "nyu_metric3d"
needs_rgbd = pytest.mark.skipif(not NYU.is_dir(), reason="RGB-D data folder is absent")
DIMS = (5.0, 6.0, 2.7)


@pytest.fixture(scope="module")
def rendered():
    rgb, depth, intrinsics = render_room(DIMS, (2.2, 1.2, 1.4), yaw_deg=10.0, pitch_deg=-5.0)
    return rgb, depth, intrinsics


@pytest.fixture(scope="module")
def scene(rendered):
    rgb, depth, intrinsics = rendered
    return analyze_scene(rgb, depth, intrinsics)


def test_scene_of_a_rendered_room(scene):
    dims, cam = np.asarray(scene.layout.dims), scene.layout.camera_position
    seen = {s for s, fit in scene.layout.surfaces.items() if fit.observed}
    assert {"north", "floor", "ceiling", "west"} <= seen
    assert abs(dims[2] - DIMS[2]) < 0.1 * DIMS[2]
    assert abs((dims[1] - cam[1]) - (DIMS[1] - 1.2)) < 0.1 * (DIMS[1] - 1.2)  # camera to the wall ahead
    assert abs(cam[0] - 2.2) < 0.1 * 2.2  # camera to the west wall
    assert np.all((scene.listener > 0) & (scene.listener < dims))
    assert np.all((scene.speaker > 0) & (scene.speaker < dims))
    # the default talker stands in front of the camera, about 2 m away, mouth 1.6 m up
    assert 1.0 < np.linalg.norm((scene.speaker - scene.listener)[:2]) <= 2.05
    assert abs(scene.speaker[2] - 1.6) < 0.05
    t30 = scene.predicted_t30()
    assert set(t30) == {"125", "250", "500", "1000", "2000", "4000", "8000"} and all(v > 0 for v in t30.values())


def test_output_is_the_dry_signal_convolved_with_the_scene_response(scene):
    dry = np.random.default_rng(0).standard_normal(300).astype(np.float32)
    wet, response = render_speech(dry, scene, 16000)
    reference = synthesize_rir(scene.room(), scene.speaker, scene.listener, sr=16000, seed=0).data[0]
    np.testing.assert_allclose(response.data[0], reference)
    naive = np.convolve(dry.astype(np.float64), reference.astype(np.float64))
    np.testing.assert_allclose(wet[0], naive, atol=1e-5 * np.abs(naive).max())
    # the first arrival is the direct path: distance / c
    delay = np.linalg.norm(scene.speaker - scene.listener) / SPEED_OF_SOUND * 16000
    assert abs(np.argmax(np.abs(reference) > 0.5 * np.abs(reference).max()) - delay) <= 2


def test_binaural_speech_has_two_ears(scene):
    wet, response = render_speech(np.ones(10, np.float32), scene, 16000, binaural=True)
    assert wet.shape[0] == 2 and response.data.shape[0] == 2
    assert not np.allclose(wet[0], wet[1])


def test_scene_json_round_trip(scene, tmp_path):
    path = scene.save(tmp_path / "scene.json")
    loaded = Scene.load(path)
    assert loaded.summary() == scene.summary()
    assert loaded.room().dims == scene.room().dims
    assert [r.to_dict() for r in loaded.regions] == [r.to_dict() for r in scene.regions]


def test_cli_speak_on_a_rendered_room(rendered, tmp_path, capsys):
    rgb, depth, k = rendered
    image = write_image(tmp_path / "room.png", rgb)
    depth_png = write_depth(tmp_path / "room_depth.png", depth, depth_scale=1000)
    dry = write_audio(tmp_path / "dry.wav", 0.3 * np.random.default_rng(1).standard_normal(8000), 16000)
    out, png, js = tmp_path / "out.wav", tmp_path / "scene.png", tmp_path / "scene.json"
    args = ["speak", "--speech", str(dry), "--image", str(image), "--depth", str(depth_png), "--depth-scale", "1000",
            "--intrinsics", f"{k.fx},{k.fy},{k.cx},{k.cy}", "-o", str(out), "--plot", str(png),
            "--scene-json", str(js), "--json", "--binaural"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["channels"] == 2 and report["scene"]["volume_m3"] > 40
    assert png.stat().st_size > 20_000 and Scene.load(js).summary() == report["scene"] | {}
    audio, sr = read_audio(out)
    assert sr == 16000 and audio.shape[0] == 2 and audio.shape[1] > 8000


def test_text_is_spoken(rendered, tmp_path):
    rgb, depth, k = rendered
    image = write_image(tmp_path / "room.png", rgb)
    with pytest.warns(UserWarning, match="no depth map"):
        assert main(["speak", "Hello there", "--image", str(image), "-o", str(tmp_path / "h.wav")]) == 0
    audio, _ = read_audio(tmp_path / "h.wav")
    assert audio.shape[1] > 8000 and np.abs(audio).max() > 0.01


@pytest.mark.parametrize("case, message", [
    ("empty", "empty"),
    ("size", "expected matching sizes"),
    ("invalid", "valid"),
    ("not-image", "image"),
    ("pixel", "outside the"),
    ("scale", "100 m"),
])
def test_bad_input_exits_2_and_writes_nothing(rendered, tmp_path, capsys, case, message):
    rgb, depth, _ = rendered
    image = write_image(tmp_path / "room.png", rgb)
    depth_png = write_depth(tmp_path / "d.png", depth, depth_scale=1000)
    out = tmp_path / "out.wav"
    args = ["speak", "Hello", "--image", str(image), "--depth", str(depth_png), "-o", str(out)]
    if case == "empty":
        args[1] = "  "
    elif case == "size":
        args[5] = str(write_depth(tmp_path / "small.png", depth[::2, ::2], depth_scale=1000))
    elif case == "invalid":
        args[5] = str(write_depth(tmp_path / "zero.png", np.full_like(depth, np.nan), depth_scale=1000))
    elif case == "not-image":
        (tmp_path / "notes.txt").write_text("not a picture")
        args[3] = str(tmp_path / "notes.txt")
    elif case == "pixel":
        args += ["--speaker-pixel", "5000,10"]
    elif case == "scale":
        args += ["--depth-scale", "0.01"]
    capsys.readouterr()
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


@needs_rgbd
@pytest.mark.parametrize("frame", ["00000", "00050", "00100"])
def test_real_nyu_rooms_are_plausible(frame, tmp_path, capsys):
    fx, fy, cx, cy = json.loads((NYU / "test_annotations.json").read_text())["files"][0]["cam_in"]
    args = ["speak", "--speech", str(write_audio(tmp_path / "d.wav", np.eye(1, 4000)[0], 16000)),
            "--image", str(NYU / f"rgb_{frame}.jpg"), "--depth", str(NYU / f"sync_depth_{frame}.png"),
            "--depth-scale", "1000", "--intrinsics", f"{fx},{fy},{cx},{cy}", "-o", str(tmp_path / "o.wav"), "--json"]
    assert main(args) == 0
    s = json.loads(capsys.readouterr().out)["scene"]
    dims = np.asarray(s["room_dims_m"])
    assert np.all((dims >= 1.5) & (dims <= 15)), dims
    assert np.all((np.asarray(s["listener_m"]) > 0) & (np.asarray(s["listener_m"]) < dims))
    assert 0.1 < s["predicted_t30_s"]["1000"] < 3.0


def test_hard_room_rings_longer_than_the_same_room_made_soft():
    """Same geometry, a wooden floor vs a carpet: the fitted materials change the predicted T30."""
    pose = dict(dims=DIMS, camera_position=(2.5, 1.0, 1.5), yaw_deg=0.0, pitch_deg=-20.0)
    t30 = {}
    for floor, colour in (("wood", (150, 104, 64)), ("carpet", (120, 40, 45))):
        rgb, depth, k = render_room(**pose, colours={"floor": colour}, textures={"floor": floor})
        scene = analyze_scene(rgb, depth, k)
        t30[floor] = (scene.surfaces["floor"]["material"], scene.predicted_t30())
    assert "carpet" in t30["carpet"][0] and "carpet" not in t30["wood"][0]
    for band in ("1000", "2000", "4000"):
        assert t30["wood"][1][band] > 1.1 * t30["carpet"][1][band]


def test_captioner_and_depth_estimator_hooks(rendered):
    rgb, depth, k = rendered
    seen = {}

    def captioner(image, facts):
        seen["facts"] = facts
        return "a test caption"

    with pytest.warns(UserWarning, match="estimated"):
        scene = analyze_scene(rgb, None, k, captioner=captioner, depth_estimator=lambda image: depth)
    assert scene.caption == "a test caption" and seen["facts"]["dims_m"] == [round(d, 2) for d in scene.layout.dims]
    assert scene.monocular
    measured = analyze_scene(rgb, depth, k)
    assert scene.layout.dims == pytest.approx(measured.layout.dims)


OPEN3D = [("NYU_color.ppm", "NYU_depth.pgm", "582.62448,582.69103,313.04476,238.44390", [], "kinect-disparity"),
          ("SUN_color.jpg", "SUN_depth.png", "525,525,319.5,239.5", ["--depth-scale", "1000"], "sunrgbd"),
          ("TUM_color.png", "TUM_depth.png", "525,525,319.5,239.5", ["--depth-scale", "5000"], "linear")]


@pytest.mark.skipif(not (RGBD / "open3d").is_dir(), reason="RGB-D data folder is absent")
@pytest.mark.parametrize("image, depth, intrinsics, scale, encoding", OPEN3D)
def test_real_open3d_rooms_are_plausible(image, depth, intrinsics, scale, encoding, tmp_path, capsys):
    args = ["speak", "--speech", str(write_audio(tmp_path / "d.wav", np.eye(1, 4000)[0], 16000)),
            "--image", str(RGBD / "open3d" / image), "--depth", str(RGBD / "open3d" / depth), *scale,
            "--depth-encoding", encoding, "--intrinsics", intrinsics, "-o", str(tmp_path / "o.wav"), "--json"]
    assert main(args) == 0
    s = json.loads(capsys.readouterr().out)["scene"]
    dims = np.asarray(s["room_dims_m"])
    assert np.all((dims >= 1.5) & (dims <= 15)), dims
    assert np.all((np.asarray(s["listener_m"]) > 0) & (np.asarray(s["listener_m"]) < dims))
