"""The spatialize job: YAML scenes into binaural, ambisonic and loudspeaker files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from soundstage.cli import main
from soundstage.errors import FileFormatError, InvalidGeometryError, SoundstageError
from soundstage.io import read_audio, read_channel_mask, write_audio
from soundstage.metrics.spatial import itd
from soundstage.pipelines.spatialize import load_scene, spatialize

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "spatialize" / "scene.yaml"
SR = 16000


@pytest.fixture()
def scene_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    write_audio(tmp_path / "noise.wav", 0.1 * rng.standard_normal(int(0.5 * SR)).astype(np.float32), SR)
    return tmp_path


def write_scene(folder: Path, **changes) -> Path:
    spec = {
        "sr": SR,
        "listener": {"position": [3.0, 2.0, 1.5], "yaw_deg": 0},
        "sources": [{"audio": "noise.wav", "position": [3.0 - 1.732, 3.0, 1.5]}],  # 2 m away, azimuth +60 (left)
    }
    spec.update(changes)
    path = folder / "scene.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_binaural_free_field_source_on_the_left_leads_at_the_left_ear(scene_dir: Path) -> None:
    result = spatialize(write_scene(scene_dir), scene_dir / "out.wav", fmt="binaural")
    audio, sr = read_audio(scene_dir / "out.wav")
    assert audio.shape[0] == 2 and sr == SR and result.layout == ("L", "R")
    assert itd(audio, sr) > 2e-4
    assert result.sources[0]["azimuth_deg"] == pytest.approx(60.0, abs=0.1)


def test_loudspeaker_files_carry_their_channel_mask_and_a_low_passed_lfe(scene_dir: Path) -> None:
    room = {"dims": [6, 5, 3], "material": "plaster"}
    spatialize(write_scene(scene_dir, room=room), scene_dir / "surround.wav", fmt="5.1")
    audio, _ = read_audio(scene_dir / "surround.wav")
    assert audio.shape[0] == 6 and read_channel_mask(scene_dir / "surround.wav") == 0x60F
    spectrum = np.abs(np.fft.rfft(audio[3]))
    freqs = np.fft.rfftfreq(audio.shape[1], 1 / SR)
    assert spectrum[freqs > 1000].sum() < 1e-2 * spectrum[freqs < 120].sum()


def test_ambisonic_output_has_order_squared_channels(scene_dir: Path) -> None:
    spatialize(write_scene(scene_dir), scene_dir / "hoa.wav", fmt="hoa3")
    audio, _ = read_audio(scene_dir / "hoa.wav")
    assert audio.shape[0] == 16
    # AmbiX: ACN1 (Y) is positive for a source on the left, ACN3 (X) for one in front.
    w, y, x = audio[0], audio[1], audio[3]
    np.testing.assert_allclose(np.dot(y, w) / np.dot(w, w), np.sin(np.radians(60)), atol=0.02)
    np.testing.assert_allclose(np.dot(x, w) / np.dot(w, w), np.cos(np.radians(60)), atol=0.02)


def test_moving_source_trajectory_in_scene_time(scene_dir: Path) -> None:
    spec = [{"audio": "noise.wav", "trajectory": [[0.0, [1.0, 4.0, 1.5]], [0.5, [5.0, 4.0, 1.5]]]}]
    result = spatialize(write_scene(scene_dir, sources=spec, doppler=False), scene_dir / "move.wav", fmt="stereo")
    audio, _ = read_audio(scene_dir / "move.wav")
    first, last = audio[:, : SR // 8], audio[:, -SR // 4 :]
    assert (first[0] ** 2).sum() > (first[1] ** 2).sum()  # starts on the left
    assert (last[1] ** 2).sum() > (last[0] ** 2).sum()  # ends on the right
    assert result.sources[0]["moving"]


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"sources": [{"audio": "missing.wav", "position": [1, 1, 1]}]}, FileFormatError, r"sources\[0\]\.audio: no such file"),
        ({"sources": [{"audio": "noise.wav", "position": [3.0, 2.0, 1.5]}]}, InvalidGeometryError, "listener's position"),
        ({"sources": [{"audio": "noise.wav", "trajectory": [[0.0, [1, 1, 1]], [0.0, [2, 2, 2]]]}]}, InvalidGeometryError, "increasing"),
        ({"sources": [{"audio": "noise.wav", "position": [1, 1]}]}, FileFormatError, r"'sources\[0\]\.position' must be \[x, y, z\]"),
        ({"room": {"dims": [6, 5, 3], "material": "plaster"}, "listener": {"position": [9, 2, 1.5]}}, InvalidGeometryError, "outside the room"),
        ({"colour": "red"}, FileFormatError, "unknown scene keys"),
    ],
)
def test_bad_scenes_fail_clearly_and_write_nothing(scene_dir: Path, changes, error, message) -> None:
    target = scene_dir / "out.wav"
    with pytest.raises(error, match=message):
        spatialize(write_scene(scene_dir, **changes), target)
    assert not target.exists()


def test_sofa_file_of_the_wrong_convention_is_rejected(scene_dir: Path) -> None:
    with h5py.File(scene_dir / "room.sofa", "w") as f:
        f.attrs["Conventions"] = "SOFA"
        f.attrs["SOFAConventions"] = "GeneralFIR"
        f.create_dataset("Data.IR", data=np.zeros((2, 2, 8)))
    with pytest.raises(FileFormatError, match="SimpleFreeFieldHRIR"):
        spatialize(write_scene(scene_dir, hrtf="room.sofa"), scene_dir / "out.wav")
    assert not (scene_dir / "out.wav").exists()


def test_cli_rejects_an_unknown_format_and_writes_nothing(scene_dir: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["spatialize", str(write_scene(scene_dir)), "-o", str(scene_dir / "x.wav"), "--format", "9.1"])
    assert exit_info.value.code == 2 and "invalid choice" in capsys.readouterr().err
    assert not (scene_dir / "x.wav").exists()


def test_the_scene_file_is_never_overwritten(scene_dir: Path) -> None:
    scene = write_scene(scene_dir)
    with pytest.raises(SoundstageError):
        spatialize(scene, scene_dir / "noise.wav")
    assert load_scene(scene).sources[0].signal.size == SR // 2


def test_shipped_example_renders_from_the_command_line(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE.parent, folder)
    spec = yaml.safe_load((folder / "scene.yaml").read_text())
    spec["sr"] = SR  # the example at 16 kHz keeps the test quick
    (folder / "scene.yaml").write_text(yaml.safe_dump(spec))
    code = main(["spatialize", str(folder / "scene.yaml"), "-o", str(tmp_path / "scene.wav"),
                 "--plot", str(tmp_path / "scene.png"), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["channels"] == ["L", "R"] and report["duration_s"] > 4.0
    assert (tmp_path / "scene.png").stat().st_size > 10_000
    audio, _ = read_audio(tmp_path / "scene.wav")
    assert np.all(np.isfinite(audio)) and np.abs(audio).max() <= 1.0
