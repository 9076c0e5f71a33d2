"""``soundstage eval see2sound`` on one real RGB-D picture of ../shared/data (skipped when absent)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from soundstage.cli import main
from soundstage.errors import FileFormatError
from soundstage.pipelines.eval_see2sound import SYSTEMS, evaluate, find_pictures

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
NYU = DATA / "rgbd" / "nyu_metric3d"
KITCHEN = DATA / "ambient" / "speechcommands_doing_the_dishes.wav"
STREET = DATA / "ambient" / "dcase_acoustic_scene.wav"

pytestmark = pytest.mark.skipif(not (NYU.is_dir() and KITCHEN.is_file() and STREET.is_file()),
                                reason="shared RGB-D and ambient data absent")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """One NYU picture, the kitchen, the street scene, and the street scene 20 dB quieter under another name."""
    root = tmp_path_factory.mktemp("data")
    (root / "rgbd" / "nyu_metric3d").mkdir(parents=True)
    meta = json.loads((NYU / "test_annotations.json").read_text())
    meta["files"] = meta["files"][1:2]
    (root / "rgbd" / "nyu_metric3d" / "test_annotations.json").write_text(json.dumps(meta))
    for key in ("rgb", "depth"):
        shutil.copy(NYU / meta["files"][0][key].split("/")[-1], root / "rgbd" / "nyu_metric3d")
    (root / "ambient").mkdir()
    shutil.copy(KITCHEN, root / "ambient")
    shutil.copy(STREET, root / "ambient")
    x, sr = sf.read(STREET)
    sf.write(root / "ambient" / "street_quiet.wav", 0.1 * x, sr, subtype="FLOAT")
    return root


def test_scores_are_level_free_and_the_room_changes_them(data, tmp_path):
    result = evaluate(data, out=tmp_path)
    assert list(result["pictures"]) == ["nyu_rgb_00050"]
    row = result["pictures"]["nyu_rgb_00050"]
    assert len(row["labels"]) == 3
    assert result["references"] == {"dcase_acoustic_scene.wav": "outdoor",
                                    "speechcommands_doing_the_dishes.wav": "indoor", "street_quiet.wav": "unlabelled"}
    for system in SYSTEMS:
        scores = row[system]
        assert all(0 < v < 1 for v in scores.values())
        # every signal is compared at -23 LUFS: a recording's gain does not change its score
        assert scores["street_quiet.wav"] == pytest.approx(scores["dcase_acoustic_scene.wav"], rel=1e-3)
    assert row["see2sound"] != row["free-field"]  # the room is heard
    summary = result["summary"]["see2sound"]
    assert summary["indoor"] == pytest.approx(row["see2sound"]["speechcommands_doing_the_dishes.wav"], abs=1e-6)
    assert summary["nearest_indoor"] in (0.0, 1.0)
    assert (tmp_path / "nyu_rgb_00050.png").stat().st_size > 10_000
    y, sr = sf.read(tmp_path / "nyu_rgb_00050.wav")
    assert y.shape[0] == 8 * sr and np.abs(y).max() < 1


def test_cli_json_and_refusal(data, tmp_path, capsys):
    assert main(["eval", "see2sound", "--data", str(data), "--json", "--plot", str(tmp_path / "s.png")]) == 0
    assert set(json.loads(capsys.readouterr().out)["summary"]) == set(SYSTEMS)
    assert (tmp_path / "s.png").is_file()
    with pytest.raises(FileFormatError, match="no RGB-D pictures"):
        find_pictures(tmp_path)
