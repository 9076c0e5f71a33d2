"""Checkpoint files: weights in ``<name>.safetensors``, everything else in ``<name>.json`` (never pickles).

The JSON document carries a ``"format"`` name that says which model the files hold;
:func:`read_checkpoint` refuses files of another format. Both files are written
atomically (a temporary file, then a rename).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from soundstage.errors import FileFormatError
from soundstage.io.atomic import atomic_write


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """``(<name>.safetensors, <name>.json)`` for ``path`` given with or without either suffix."""
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return Path(f"{p}.safetensors"), Path(f"{p}.json")


def write_checkpoint(model: torch.nn.Module, path: str | Path, doc: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``model``'s weights and the JSON ``doc`` (which names its ``format``); returns both paths."""
    weights, meta = checkpoint_paths(path)
    text = json.dumps(doc, indent=1, default=float)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write(weights, lambda tmp: save_file(state, str(tmp), metadata={"format": str(doc["format"])}))
    atomic_write(meta, lambda tmp: tmp.write_text(text))
    return weights, meta


def read_checkpoint(path: str | Path, fmt: str, what: str, hint: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The weights and JSON document of a ``fmt`` checkpoint; :class:`FileFormatError` naming ``what`` otherwise.

    ``hint`` (how to get such a checkpoint) ends the message when the files are missing.
    """
    weights, meta = checkpoint_paths(path)
    if not (weights.is_file() and meta.is_file()):
        raise FileFormatError(f"no {what} checkpoint at '{weights.with_suffix('')}' (expected {weights.name} and "
                              f"{meta.name}); {hint}")
    try:
        doc = json.loads(meta.read_text())
        if not isinstance(doc, dict) or doc.get("format") != fmt:
            raise ValueError(f"format is {doc.get('format') if isinstance(doc, dict) else doc!r}, not {fmt!r}")
        state = load_file(str(weights))
    except (OSError, UnicodeDecodeError, ValueError, SafetensorError) as exc:
        raise FileFormatError(f"cannot read {what} checkpoint '{weights.with_suffix('')}': {exc}; "
                              "expected safetensors + JSON files written by soundstage") from exc
    return state, doc


def load_pretrained_folder(path: str | Path, marker: str, what: str, load):
    """``load(path)`` for a model folder written by a hub library (``save_pretrained``), read locally only.

    ``marker`` is the file such a folder always has (``model_index.json``, ``config.json``);
    ``what`` names the model in errors. A missing marker or a failed load is a
    :class:`FileFormatError` naming the folder.
    """
    path = Path(path)
    if not (path / marker).is_file():
        raise FileFormatError(f"'{path}' holds no {what}: no {marker}; expected a folder saved with save_pretrained")
    try:
        return load(path)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise FileFormatError(f"could not load the {what} in '{path}': {exc}") from exc
