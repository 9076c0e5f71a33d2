"""BS.1770-4 loudness: the standard's 48 kHz filter, EBU Tech 3341 test signals, matching (dsp/loudness.py)."""

import math

import numpy as np
import pytest

from soundstage.dsp.loudness import integrated_loudness, k_weighting, match_loudness
from soundstage.errors import InvalidAudioError


def tone(dbfs: float, seconds: float, sr: int = 48000, f: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return 10 ** (dbfs / 20) * np.sin(2 * np.pi * f * t)


def stereo(*parts: np.ndarray) -> np.ndarray:
    x = np.concatenate(parts)
    return np.stack([x, x])


def test_k_weighting_at_48k_is_the_standards_table():
    (b1, a1), (b2, a2) = k_weighting(48000)
    # ITU-R BS.1770-4, tables 1 and 2
    assert np.allclose(b1, [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-8)
    assert np.allclose(a1, [1.0, -1.69065929318241, 0.73248077421585], atol=1e-8)
    assert np.allclose(b2, [1.0, -2.0, 1.0]) and np.allclose(a2, [1.0, -1.99004745483398, 0.99007225036621], atol=1e-8)


@pytest.mark.parametrize("level", [-23.0, -33.0])
def test_ebu_3341_steady_tones(level):
    # EBU Tech 3341 cases 1 and 2: stereo 1 kHz sine at L dBFS reads L LUFS (+-0.1)
    assert integrated_loudness(stereo(tone(level, 20)), 48000) == pytest.approx(level, abs=0.1)


def test_ebu_3341_relative_gate():
    # case 3: -36, -23, -36 dBFS for 10, 60, 10 s reads -23 LUFS: the quiet parts fall under the relative gate
    x = stereo(tone(-36, 10), tone(-23, 60), tone(-36, 10))
    assert integrated_loudness(x, 48000) == pytest.approx(-23.0, abs=0.1)


def test_ebu_3341_absolute_gate():
    # case 4: -72, -36, -23, -36, -72 dBFS for 10, 10, 60, 10, 10 s reads -23 LUFS
    x = stereo(tone(-72, 10), tone(-36, 10), tone(-23, 60), tone(-36, 10), tone(-72, 10))
    assert integrated_loudness(x, 48000) == pytest.approx(-23.0, abs=0.1)


def test_the_same_at_any_rate_and_minus_3_for_a_full_scale_mono_sine():
    at48 = integrated_loudness(tone(0, 5, 48000, 997), 48000)
    at16 = integrated_loudness(tone(0, 5, 16000, 997), 16000)
    assert at48 == pytest.approx(10 * math.log10(0.5), abs=0.05)  # the K filter is 0 dB near 1 kHz
    assert at16 == pytest.approx(at48, abs=0.05)


def test_match_loudness_and_silence():
    x = tone(-40, 3, 16000) + 0.001 * np.random.default_rng(0).standard_normal(3 * 16000)
    y, gain = match_loudness(x, 16000, -20.0)
    assert integrated_loudness(y, 16000) == pytest.approx(-20.0, abs=1e-6)
    assert gain == pytest.approx(-20.0 - (-40.0 + 10 * math.log10(0.5)), abs=0.3)  # a mono sine at -40 dBFS is -43 LUFS
    assert integrated_loudness(np.zeros(16000), 16000) == -math.inf
    with pytest.raises(InvalidAudioError, match="silence"):
        match_loudness(np.zeros(16000), 16000, -20.0)
    with pytest.raises(InvalidAudioError, match="at least 0.4 s"):
        integrated_loudness(np.ones(100), 16000)


def test_active_power_leaves_the_pauses_out():
    from soundstage.dsp.loudness import active_power

    sr = 16000
    t = np.arange(sr) / sr
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    talk = np.concatenate([tone, np.zeros(sr), tone, 1e-5 * np.ones(sr)])  # pauses: silence and a 80 dB lower hum
    assert active_power(talk, sr) == pytest.approx(0.125, rel=1e-3)  # the tone's power, pauses ignored
    assert active_power(np.zeros(sr), sr) == 0.0
