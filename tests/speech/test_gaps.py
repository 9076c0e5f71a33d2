import numpy as np
import pytest

from soundstage.errors import InvalidAudioError
from soundstage.speech.gaps import (
    Gap,
    check_gaps,
    detect_dropouts,
    frame_mask,
    mask_waveform,
    sample_gaps,
    splice,
)

SR = 16000


def test_gap_rejects_reversed_or_negative_times():
    with pytest.raises(InvalidAudioError, match="start < end"):
        Gap(1.0, 0.5)
    with pytest.raises(InvalidAudioError, match="0 <= start"):
        Gap(-0.1, 0.5)
    assert Gap(0.5, 1.25).duration == pytest.approx(0.75)


def test_check_gaps_names_the_bad_gap():
    good = [Gap(0.2, 0.6), Gap(0.6, 1.0), Gap(2.0, 2.9)]
    assert check_gaps(good, 3.0) == good
    with pytest.raises(InvalidAudioError, match=r"gap 1 .*ends after"):
        check_gaps([Gap(0.2, 0.6), Gap(2.5, 3.2)], 3.0)
    with pytest.raises(InvalidAudioError, match=r"gap 1 .*overlaps gap 0"):
        check_gaps([Gap(0.2, 1.0), Gap(0.8, 1.5)], 3.0)
    with pytest.raises(InvalidAudioError, match=r"gap 1 .*sorted"):
        check_gaps([Gap(1.0, 1.5), Gap(0.2, 0.5)], 3.0)
    with pytest.raises(InvalidAudioError, match="Gap"):
        check_gaps([(0.2, 0.5)], 3.0)


def test_frame_mask_matches_a_naive_loop():
    rng = np.random.default_rng(4)
    for _ in range(20):
        gaps = sample_gaps(3.0, rng, count=int(rng.integers(1, 3)))
        gaps.append(Gap(2.95, 3.0))
        for hop in (160, 100):
            got = frame_mask(gaps, 301, hop=hop)
            want = [any(g.start <= t * hop / SR < g.end for g in gaps) for t in range(301)]
            np.testing.assert_array_equal(got, want)
    exact = frame_mask([Gap(1.2, 1.5)], 301)
    assert exact[120] and exact[149] and not exact[119] and not exact[150]


def test_sample_gaps_bounds_and_reproducibility():
    for seed in range(200):
        count = 1 + seed % 2
        gaps = sample_gaps(3.0, seed, count=count)
        assert len(gaps) == count
        check_gaps(gaps, 3.0)
        assert gaps[0].start >= 0.1 - 1e-12 and gaps[-1].end <= 2.9 + 1e-12
        assert all(0.3 - 1e-12 <= g.duration <= 1.5 + 1e-12 for g in gaps)
        assert all(b.start - a.end >= 0.1 - 1e-12 for a, b in zip(gaps, gaps[1:]))
    assert sample_gaps(3.0, 7, count=2) == sample_gaps(3.0, np.random.default_rng(7), count=2)
    assert sample_gaps(3.0, 7, count=2) != sample_gaps(3.0, 8, count=2)
    starts = np.array([sample_gaps(3.0, s)[0].start for s in range(300)])
    assert starts.min() < 0.3 and starts.max() > 2.0
    with pytest.raises(InvalidAudioError, match="need"):
        sample_gaps(0.5, 0, count=2)


def test_mask_waveform_zeroes_exactly_the_gap_samples():
    x = np.random.default_rng(0).uniform(0.1, 1.0, SR).astype(np.float32)
    y = mask_waveform(x, [Gap(0.25, 0.5), Gap(0.75, 0.8)], SR)
    zero = np.zeros(SR, bool)
    zero[4000:8000] = zero[12000:12800] = True
    np.testing.assert_array_equal(y == 0, zero)
    np.testing.assert_array_equal(y[~zero], x[~zero])
    assert np.all(x > 0) and y.dtype == np.float32
    centres = frame_mask([Gap(0.25, 0.5)], 100)
    np.testing.assert_array_equal(centres, mask_waveform(np.ones(SR), [Gap(0.25, 0.5)], SR)[::160] == 0)


def _speech_like(seconds=3.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    envelope = 0.05 + 0.5 * np.sin(2 * np.pi * 2 * t) ** 2
    return (envelope * (np.sin(2 * np.pi * 140 * t) + 0.3 * rng.standard_normal(t.size))).astype(np.float32)


def test_detect_dropouts_finds_long_silence_only():
    x = _speech_like()
    assert detect_dropouts(x, SR) == []
    x[16000:19200] = 0.0
    x[32000:32800] = 0.0
    found = detect_dropouts(x, SR)
    assert len(found) == 1
    assert found[0].start == pytest.approx(1.0, abs=1e-3) and found[0].end == pytest.approx(1.2, abs=1e-3)
    x[40000:42400] = 1e-5 * np.sign(np.sin(np.arange(2400)))
    assert [round(g.start, 2) for g in detect_dropouts(x, SR)] == [1.0, 2.5]


def test_splice_keeps_samples_outside_gaps_bit_identical():
    rng = np.random.default_rng(2)
    damaged = rng.standard_normal(3 * SR).astype(np.float32)
    synth = rng.standard_normal(3 * SR).astype(np.float32)
    gaps = [Gap(0.5, 1.1), Gap(2.0, 2.004)]
    out = splice(damaged, synth, gaps, SR, crossfade_s=0.01)
    inside = np.zeros(3 * SR, bool)
    inside[8000:17600] = inside[32000:32064] = True
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[~inside], damaged[~inside])
    np.testing.assert_allclose(out[8160:17440], synth[8160:17440], atol=1e-6)
    ones = splice(np.zeros(SR), np.ones(SR), [Gap(0.5, 0.6)], SR, crossfade_s=0.01)
    ramp = ones[8000:8160]
    assert np.all(np.diff(ramp) > 0) and 0 < ramp[0] < 0.01 and 0.99 < ramp[-1] < 1
    np.testing.assert_allclose(ones[8000:9600], ones[8000:9600][::-1], atol=1e-12)
    np.testing.assert_allclose(ramp + ramp[::-1], 1.0, atol=1e-12)
    short = splice(np.zeros(SR), np.ones(SR), [Gap(0.5, 0.504)], SR)
    assert short[8000:8064].max() < 1 and short[8031] > 0.9
    hard = splice(damaged, synth, gaps, SR, crossfade_s=0.0)
    np.testing.assert_array_equal(hard[inside], synth[inside])
    with pytest.raises(InvalidAudioError, match="samples"):
        splice(damaged, synth[:-1], gaps, SR)
