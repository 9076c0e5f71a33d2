"""Characters of transcripts for CTC: the vocabulary, encoding and greedy decoding.

Transcripts are lower-case letters, space and apostrophe (:data:`VOCAB`); CTC class 0
is the blank and character ``c`` is class ``1 + VOCAB.index(c)``.
"""

from __future__ import annotations

import numpy as np

from soundstage.errors import SoundstageError

#: Characters of transcripts; CTC index ``1 + VOCAB.index(c)``, 0 is the blank.
VOCAB = " abcdefghijklmnopqrstuvwxyz'"
BLANK = 0


def encode_text(text: str) -> np.ndarray:
    """CTC targets of ``text``: int64 ``(len(text),)`` with ``c -> 1 + VOCAB.index(c)``.

    Raises
    ------
    SoundstageError
        When ``text`` holds a character outside :data:`VOCAB` (lower case, space, ').
    """
    bad = sorted(set(text) - set(VOCAB))
    if bad:
        raise SoundstageError(
            f"text {text!r} holds characters {bad} outside the vocabulary {VOCAB!r}"
        )
    codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    table = np.zeros(256, dtype=np.int64)
    table[np.frombuffer(VOCAB.encode("ascii"), dtype=np.uint8)] = np.arange(1, len(VOCAB) + 1)
    return table[codes]


def decode_ctc(scores: np.ndarray) -> str:
    """Greedy CTC decoding: best class per frame, repeats collapsed, blanks dropped.

    Parameters
    ----------
    scores
        ``(T, 1 + len(VOCAB))`` per-frame scores (log-probabilities or logits), or an
        int ``(T,)`` sequence of class indices.

    Returns
    -------
    str
        The decoded text.
    """
    arr = np.asarray(scores)
    if arr.ndim == 2 and arr.shape[1] == len(VOCAB) + 1:
        best = arr.argmax(axis=1)
    elif arr.ndim == 1 and arr.dtype.kind in "iu":
        best = arr.astype(np.int64)
        if best.size and (best.min() < 0 or best.max() > len(VOCAB)):
            raise SoundstageError(
                f"CTC indices must lie in [0, {len(VOCAB)}], found {best.min()}..{best.max()}"
            )
    else:
        raise SoundstageError(
            f"decode_ctc expects scores (T, {len(VOCAB) + 1}) or int indices (T,), "
            f"found shape {arr.shape} dtype {arr.dtype}"
        )
    keep = (best != BLANK) & np.diff(best, prepend=-1).astype(bool)
    return "".join(VOCAB[i - 1] for i in best[keep])
