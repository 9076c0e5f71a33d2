"""Atomic writes: temp file next to the target, clean failure, inputs never overwritten."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from soundstage.errors import FileFormatError, OverwriteInputError
from soundstage.io.atomic import atomic_write, check_not_input


def _writer(text: str, seen: list[Path] | None = None):
    def write(tmp: Path) -> None:
        if seen is not None:
            seen.append(tmp)
        tmp.write_text(text)

    return write


def test_writes_through_temp_with_same_suffix_and_creates_parent(tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "out.wav"
    seen: list[Path] = []
    result = atomic_write(target, _writer("hello", seen))
    assert result == target
    assert target.read_text() == "hello"
    assert len(seen) == 1
    assert seen[0].parent == target.parent
    assert seen[0].suffix == ".wav"
    assert seen[0] != target
    assert not seen[0].exists()
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.wav"]


def test_replaces_existing_target(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    atomic_write(target, _writer("new"))
    assert target.read_text() == "new"


def test_failing_writer_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "out.flac"
    seen: list[Path] = []

    def failing(tmp: Path) -> None:
        seen.append(tmp)
        tmp.write_text("partial")
        raise RuntimeError("encoder exploded")

    with pytest.raises(RuntimeError, match="encoder exploded"):
        atomic_write(target, failing)
    assert seen and not seen[0].exists()
    assert list(tmp_path.iterdir()) == []


def test_failing_writer_keeps_previous_target(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("previous")

    def failing(tmp: Path) -> None:
        tmp.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, failing)
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_writer_that_creates_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="did not create"):
        atomic_write(tmp_path / "out.txt", lambda tmp: None)
    assert list(tmp_path.iterdir()) == []


def test_folder_as_target_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    with pytest.raises(FileFormatError, match="folder"):
        atomic_write(folder, _writer("x"))
    assert list(folder.iterdir()) == []


def test_refuses_to_overwrite_input_and_names_both(tmp_path: Path) -> None:
    source = tmp_path / "in.wav"
    source.write_bytes(b"precious")
    with pytest.raises(OverwriteInputError) as info:
        atomic_write(source, _writer("clobbered"), inputs=[tmp_path / "other.wav", source])
    assert str(source) in str(info.value)
    assert source.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["in.wav"]


def test_sees_through_other_spellings_and_links(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "in.wav"
    source.write_bytes(b"precious")
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.wav"
    os.symlink(source, link)
    monkeypatch.chdir(tmp_path)
    for spelling in ["in.wav", "sub/../in.wav", str(link)]:
        with pytest.raises(OverwriteInputError):
            check_not_input(spelling, [source])
    hard = tmp_path / "hard.wav"
    os.link(source, hard)
    with pytest.raises(OverwriteInputError):
        atomic_write(hard, _writer("x"), inputs=[source])
    assert source.read_bytes() == b"precious"


def test_missing_input_compared_by_resolved_path(tmp_path: Path) -> None:
    ghost = tmp_path / "ghost.wav"
    with pytest.raises(OverwriteInputError):
        check_not_input(tmp_path / "." / "ghost.wav", [ghost])
    check_not_input(tmp_path / "other.wav", [ghost])


def test_distinct_files_pass(tmp_path: Path) -> None:
    a = tmp_path / "a.txt"
    b = tmp_path / "b.txt"
    a.write_text("a")
    b.write_text("b")
    check_not_input(b, [a])
    atomic_write(b, _writer("new b"), inputs=[a])
    assert a.read_text() == "a" and b.read_text() == "new b"
