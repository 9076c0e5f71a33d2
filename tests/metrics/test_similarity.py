"""MFCC-DTW similarity (metrics/similarity.py): 1 for identical signals, DTW absorbs timing,
and it falls as the content differs."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.errors import InvalidAudioError
from soundstage.metrics.similarity import mfcc, mfcc_dtw_similarity

SR = 22050


def tones(freqs, seconds=0.4, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return np.concatenate([np.sin(2 * np.pi * f * t) * np.hanning(t.size) for f in freqs])


def test_identical_is_one_and_content_lowers_it():
    rng = np.random.default_rng(0)
    x = tones([300, 600, 1200, 2400])
    bed = lambda: 0.01 * rng.standard_normal(x.size)  # noqa: E731  a quiet background under everything
    a, again, other = x + bed(), x + bed(), tones([2400, 300, 4000, 150]) + bed()
    assert mfcc_dtw_similarity(a, a, SR) == pytest.approx(1.0)
    assert mfcc_dtw_similarity(a, other, SR) < 0.5 * mfcc_dtw_similarity(a, again, SR) < 0.5


def test_dtw_absorbs_a_change_of_pace():
    x = tones([300, 600, 1200, 2400], seconds=0.4)
    slow = tones([300, 600, 1200, 2400], seconds=0.6)  # same notes, 50 % slower
    shuffled = tones([2400, 1200, 600, 300], seconds=0.6)  # same notes, other order
    assert mfcc_dtw_similarity(x, slow, SR) > 2 * mfcc_dtw_similarity(x, shuffled, SR)


def test_thirteen_coefficients_at_any_rate_and_refusals():
    x = tones([500], seconds=1.0, sr=16000)
    c = mfcc(x, 16000)
    assert c.shape[1] == 13 and abs(c.shape[0] - (SR // 512 + 1)) <= 2  # resampled to 22.05 kHz, hop 512
    with pytest.raises(InvalidAudioError, match="non-silent mono"):
        mfcc(np.zeros(1000), SR)
