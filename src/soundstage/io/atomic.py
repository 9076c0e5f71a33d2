"""Atomic file writes that never clobber an input.

Every writer in :mod:`soundstage.io` goes through :func:`atomic_write`: the data is
written to a hidden temporary file in the target's folder, which carries the same
suffix as the target (so libraries that infer the format from the suffix, such as
soundfile, Pillow and FFmpeg, pick the right one), and is then moved onto the target
with :func:`os.replace`. A reader never sees a half-written file, a failing writer
leaves nothing behind, and an output path that names one of the inputs is refused
before anything is written.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

from soundstage.errors import FileFormatError, OverwriteInputError

PathLike = str | os.PathLike[str]


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name the same file (same inode when both exist)."""
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def check_not_input(path: PathLike, inputs: Iterable[PathLike]) -> None:
    """Refuse an output path that is one of the inputs.

    Parameters
    ----------
    path
        The output path about to be written.
    inputs
        Paths the output was computed from. Links and relative spellings are seen
        through: two paths that reach the same file count as the same.

    Raises
    ------
    OverwriteInputError
        When ``path`` is the same file as any of ``inputs``; the message names both.
    """
    target = Path(path)
    for source in inputs:
        source_path = Path(source)
        if _same_file(target, source_path):
            raise OverwriteInputError(
                f"output path '{target}' is the same file as input '{source_path}'; "
                "expected an output path different from every input"
            )


def _temp_path(target: Path) -> Path:
    """A fresh hidden path next to ``target`` with the same suffix."""
    for _ in range(100):
        candidate = target.with_name(f".{target.stem}.{secrets.token_hex(6)}.tmp{target.suffix}")
        if not candidate.exists():
            return candidate
    raise FileFormatError(f"could not find a free temporary name next to '{target}'")


def _remove_quietly(path: Path) -> None:
    """Delete ``path`` if it exists, ignoring a file that is already gone."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def atomic_write(
    path: PathLike,
    write: Callable[[Path], None],
    *,
    inputs: Iterable[PathLike] = (),
) -> Path:
    """Write a file through a temporary file and move it into place.

    Parameters
    ----------
    path
        Target file. Its parent folder is created when missing.
    write
        Called once with the temporary path (same folder and suffix as ``path``);
        it must create that file. Whatever it raises is re-raised after the
        temporary file is removed, and the target is left as it was.
    inputs
        Paths the output was computed from; writing onto any of them is refused.

    Returns
    -------
    Path
        The target path.

    Raises
    ------
    OverwriteInputError
        When ``path`` is one of ``inputs``.
    FileFormatError
        When ``path`` is an existing folder, or ``write`` returned without
        creating the temporary file.
    """
    target = Path(path)
    check_not_input(target, inputs)
    if target.is_dir():
        raise FileFormatError(f"output path '{target}' is a folder; expected a file path")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(target)
    try:
        write(tmp)
        if not tmp.is_file():
            raise FileFormatError(
                f"the writer for '{target}' did not create its temporary file '{tmp}'"
            )
        os.replace(tmp, target)
    except BaseException:
        _remove_quietly(tmp)
        raise
    return target
