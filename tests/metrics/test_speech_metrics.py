"""Speech metrics: PESQ, STOI, LSD, log-mel L1 and word error rate (metrics/speech.py)."""

import numpy as np
import pytest

from soundstage.errors import InvalidAudioError
from soundstage.metrics.speech import (
    inpainting_scores,
    log_spectral_distance,
    logmel_l1,
    pesq_wb,
    stoi,
    word_error_rate,
)
from soundstage.speech.features import SR, log_mel
from soundstage.speech.gaps import Gap, mask_waveform


def _voiced(seconds=3.0, seed=0):
    t = np.arange(int(seconds * SR)) / SR
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.7 * t)
    x = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / SR) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None)  # syllables with pauses
    return 0.1 * x * envelope + 1e-4 * np.random.default_rng(seed).standard_normal(t.size)


@pytest.mark.parametrize("ref, hyp, expected", [
    ("bin blue at f two now", "bin blue at f two now", 0.0),
    ("bin blue at f two now", "bin red at f two now", 1 / 6),      # one substitution
    ("bin blue at f two now", "bin blue f two now", 1 / 6),        # one deletion
    ("bin blue at f two now", "bin blue at at f two now", 1 / 6),  # one insertion
    ("bin blue", "", 1.0),
    ("a b", "c d e f", 2.0),                                       # 2 substitutions + 2 insertions
])
def test_word_error_rate_counts_edits(ref, hyp, expected):
    assert word_error_rate(ref, hyp) == pytest.approx(expected)


def test_word_error_rate_needs_a_reference():
    with pytest.raises(InvalidAudioError, match="at least one word"):
        word_error_rate("  ", "bin")


def test_lsd_is_zero_for_identical_and_the_gain_for_a_scaled_copy():
    x = _voiced()
    assert log_spectral_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    # a gain g moves every bin's level by 20 log10 g dB (above the floor)
    assert log_spectral_distance(x, 0.5 * x) == pytest.approx(20 * np.log10(2), rel=0.02)


def test_logmel_l1_is_the_mean_absolute_difference():
    a = log_mel(_voiced(), SR)
    assert logmel_l1(a, a) == 0.0
    assert logmel_l1(a, a + 0.25) == pytest.approx(0.25)


def test_pesq_and_stoi_rank_a_silenced_stretch_below_the_original():
    x = _voiced()
    damaged = mask_waveform(x.astype(np.float32), [Gap(1.0, 1.8)], SR)
    assert pesq_wb(x, x) > 4.0 and stoi(x, x) == pytest.approx(1.0, abs=1e-6)
    assert pesq_wb(x, damaged) < pesq_wb(x, x) - 1.0
    assert stoi(x, damaged) < 0.9
    scores = inpainting_scores(x, damaged, [Gap(1.0, 1.8)])
    assert set(scores) == {"pesq", "stoi", "lsd", "l1"} and scores["lsd"] > 20
