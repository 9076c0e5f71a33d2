"""Model folders written by hub libraries, read locally (models/checkpoint.load_pretrained_folder)."""

from __future__ import annotations

import pytest

from soundstage.errors import FileFormatError
from soundstage.models.checkpoint import load_pretrained_folder


def test_a_folder_loads_only_with_its_marker_and_load_errors_name_it(tmp_path):
    with pytest.raises(FileFormatError, match=r"holds no toy model: no config\.json; expected a folder saved"):
        load_pretrained_folder(tmp_path, "config.json", "toy model", lambda p: p)
    (tmp_path / "config.json").write_text("{}")
    assert load_pretrained_folder(str(tmp_path), "config.json", "toy model", lambda p: ("loaded", p)) == ("loaded", tmp_path)

    def broken(path):
        raise OSError("weights file missing")

    with pytest.raises(FileFormatError, match="could not load the toy model in .*: weights file missing") as info:
        load_pretrained_folder(tmp_path, "config.json", "toy model", broken)
    assert isinstance(info.value.__cause__, OSError)
    with pytest.raises(ZeroDivisionError):  # only loading errors are translated; bugs are not hidden
        load_pretrained_folder(tmp_path, "config.json", "toy model", lambda p: 1 / 0)
