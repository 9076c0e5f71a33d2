"""Binaural room impulse responses: every image from its own direction, a diffuse tail with the head's coherence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import csd, welch

from soundstage.acoustics import Room, synthesize_rir
from soundstage.constants import SPEED_OF_SOUND
from soundstage.metrics.spatial import iacc, itd
from soundstage.spatial.binaural import Binaural
from soundstage.spatial.hrtf import DEFAULT_SOFA, load_sofa, spherical_head_hrtf

SR = 16000
HEADS = [pytest.param("sphere", id="spherical-head"),
         pytest.param("kemar", id="kemar", marks=pytest.mark.skipif(not Path(DEFAULT_SOFA).exists(), reason="no KEMAR SOFA file"))]


def head(name: str) -> Binaural:
    return Binaural(spherical_head_hrtf(sr=SR) if name == "sphere" else load_sofa(DEFAULT_SOFA))


def window(ir: np.ndarray, path_m: float, before: float = 0.3e-3, after: float = 1.5e-3) -> np.ndarray:
    t = path_m / SPEED_OF_SOUND
    return ir[:, int((t - before) * SR) : int((t + after) * SR) + 32]


@pytest.mark.parametrize("name", HEADS)
def test_each_reflection_arrives_from_its_own_side(name: str) -> None:
    # Source 3.5 m to the left; the first reflection, off the east wall (5.5 m), comes from the right.
    room = Room.for_rt60([6.0, 10.0, 6.0], 0.4)
    brir = synthesize_rir(room, [1.5, 5.0, 3.0], [5.0, 5.0, 3.0], sr=SR, receiver=head(name)).data
    assert brir.shape[0] == 2
    assert itd(window(brir, 3.5), SR) > 3e-4  # direct sound: left ear first
    assert itd(window(brir, 5.5), SR) < -3e-4  # east-wall reflection: right ear first


@pytest.mark.parametrize("name", HEADS)
def test_diffuse_tail_has_the_interaural_coherence_of_a_diffuse_field(name: str) -> None:
    receiver = head(name)
    room = Room.for_rt60([7.0, 5.0, 3.0], 5.0)
    brir = synthesize_rir(room, [2, 2, 1.5], [5, 3, 1.6], sr=SR, receiver=receiver, seed=3, duration=3.0).data
    tail = brir[:, int(0.15 * SR) : int(2.5 * SR)].astype(float)
    tail = tail * np.exp(np.log(1e6) / 2 * np.arange(tail.shape[1]) / SR / 5.0)  # undo the decay
    f, cross = csd(tail[0], tail[1], fs=SR, nperseg=512)
    _, p0 = welch(tail[0], fs=SR, nperseg=512)
    _, p1 = welch(tail[1], fs=SR, nperseg=512)
    measured = cross.real / np.sqrt(p0 * p1)
    mixing = receiver.diffuse_mixing(SR, 512)
    target_matrix = mixing @ np.swapaxes(mixing.conj(), -1, -2)
    target = target_matrix[:, 0, 1].real / np.sqrt(target_matrix[:, 0, 0].real * target_matrix[:, 1, 1].real)
    band = (f > 80) & (f < 6000)
    assert np.sqrt(np.mean((measured[band] - target[band]) ** 2)) < 0.1
    assert target[(f > 50) & (f < 200)].min() > 0.8  # a head is small at low frequencies: the ears agree
    assert np.abs(target[(f > 2000) & (f < 6000)]).mean() < 0.2  # and far apart at high ones
    assert 0.9 < p0[band].sum() / p1[band].sum() < 1.1  # a diffuse field is heard equally by both ears
    assert iacc(tail, SR) < 0.5
