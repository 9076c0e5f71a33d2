"""Procedural sound sources: sixteen categories, seeded, any length, seamless loops.

:func:`synthesize` makes ``duration`` seconds of a category from :data:`CATEGORIES`
(wind, rain, stream, waves, fire, birds, insects, traffic, crowd, talker, footsteps, hum,
engine, clock, keyboard, and a neutral room-tone ``ambience``). The same ``(category, duration,
sr, seed)`` always gives the same samples.

Every signal is built on a circular time axis of exactly the requested length, so that
repeated end to end it is as smooth at the join as anywhere inside:

* noise is shaped in the frequency domain of that length (an FFT filter is circular);
* slow modulations (gusts, swells, passing cars) are low-pass noise made the same way,
  or bumps placed on the circle;
* tones and engine harmonics run a whole number of cycles over the length;
* events (rain drops, bubbles, crackles, chirps, steps, ticks, key strokes) that run past
  the end continue at the start.

The recipes are simple physical or perceptual sketches, each stated in its generator:
rain is a dense sum of decaying drop transients over a broadband hiss; a stream is
bubbles ringing at their Minnaert frequency with a rising chirp; crickets are trains of
4-5 kHz pulses; mains hum is 50 or 60 Hz with odd and even harmonics over airflow noise;
an idling engine is a firing-rate harmonic series with a slow rev wobble; the crowd is a
murmur of several espeak-ng voices reading at once, a talker one such voice (the only
categories that need a TTS engine). Each category has a nominal level (:attr:`Category.level_dbfs`, mean power in dB
relative to a full-scale sine, as heard 1 m away) so that categories keep plausible
loudness relative to one another when mixed (an engine is louder than a clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from soundstage.errors import DependencyError, SoundstageError
from soundstage.sources.ambience import circular, set_level

__all__ = ["CATEGORIES", "HUM_FUNDAMENTALS", "MIN_SR", "Category", "synthesize"]

#: Lowest sample rate accepted: birds and insects sing up to 8 kHz.
MIN_SR = 16000
#: Mains frequencies a hum is drawn from (Hz).
HUM_FUNDAMENTALS: tuple[float, ...] = (50.0, 60.0)

Generator = Callable[[int, int, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Category:
    """A procedural source: its name, nominal level at 1 m (dBFS mean power), and generator."""

    name: str
    level_dbfs: float
    description: str
    make: Generator


# --------------------------------------------------------------------------- circular tools


def _freqs(n: int, sr: int) -> np.ndarray:
    return np.fft.rfftfreq(n, 1.0 / sr)


def _noise(n: int, sr: int, rng: np.random.Generator, gain: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """White Gaussian noise of ``n`` samples filtered circularly by the amplitude response ``gain(f)``, unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n)) * gain(_freqs(n, sr))
    spec[0] = 0.0
    out = np.fft.irfft(spec, n)
    rms = float(np.sqrt(np.mean(out**2)))
    return out / rms if rms > 0 else out


def _band(low: float, high: float, order: float = 2.0) -> Callable[[np.ndarray], np.ndarray]:
    """Amplitude response of a smooth band-pass (Butterworth-like magnitude) from ``low`` to ``high`` Hz."""

    def gain(f: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", over="ignore"):
            hp = 1.0 / np.sqrt(1.0 + (low / np.maximum(f, 1e-9)) ** (2 * order)) if low > 0 else 1.0
        lp = 1.0 / np.sqrt(1.0 + (f / high) ** (2 * order)) if high else 1.0
        return hp * lp

    return gain


def _tilt(exponent: float, low: float = 20.0) -> Callable[[np.ndarray], np.ndarray]:
    """Amplitude response ``(f / low) ** -exponent`` above ``low`` (0.5: pink, 1: brown), flat below."""
    return lambda f: np.maximum(f, low) ** -exponent * low**exponent


def _slow(n: int, sr: int, rng: np.random.Generator, rate_hz: float) -> np.ndarray:
    """Unit-RMS random motion below about ``rate_hz`` (Gaussian low-pass noise), periodic over ``n``."""
    return _noise(n, sr, rng, lambda f: np.exp(-0.5 * (f / rate_hz) ** 2))


def _envelope(n: int, sr: int, rng: np.random.Generator, rate_hz: float, depth_db: float) -> np.ndarray:
    """A slow random gain: ``depth_db`` (standard deviation) of :func:`_slow` motion, in dB."""
    return 10.0 ** (depth_db * _slow(n, sr, rng, rate_hz) / 20.0)


def _cycles(freq: float, n: int, sr: int) -> float:
    """``freq`` moved to the nearest whole number of cycles over ``n`` samples (at least one)."""
    return max(1, round(freq * n / sr)) * sr / n


def _oscillator(inst_freq: np.ndarray, sr: int) -> np.ndarray:
    """Phase (radians) of an oscillator following ``inst_freq`` (Hz per sample), nudged to whole cycles over its length."""
    n = inst_freq.size
    cycles = float(np.sum(inst_freq)) / sr
    inst = inst_freq + (max(1, round(cycles)) - cycles) * sr / n
    return 2.0 * np.pi * (np.cumsum(inst) - inst[0]) / sr


def _event_times(n: int, rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` event starts drawn uniformly on the circle of ``n`` samples."""
    return np.sort(rng.integers(0, n, size=count))


def _poisson_count(n: int, sr: int, rng: np.random.Generator, rate_hz: float) -> int:
    return max(1, int(rng.poisson(rate_hz * n / sr)))


def _add(out: np.ndarray, start: int, grain: np.ndarray) -> None:
    """Add ``grain`` into ``out`` from ``start``, continuing at the beginning past the end."""
    idx = (start + np.arange(grain.size)) % out.size
    np.add.at(out, idx, grain)


def _decay(length_s: float, tau_s: float, sr: int) -> np.ndarray:
    t = np.arange(max(1, int(length_s * sr))) / sr
    return np.exp(-t / tau_s)


def _ring(freq: float, tau_s: float, sr: int, rng: np.random.Generator, *, glide: float = 0.0) -> np.ndarray:
    """A decaying sinusoid at ``freq`` Hz (rising by ``glide`` x freq over its decay), random phase."""
    env = _decay(5.0 * tau_s, tau_s, sr)
    t = np.arange(env.size) / sr
    inst = freq * (1.0 + glide * (1.0 - np.exp(-t / tau_s)))
    return env * np.sin(2.0 * np.pi * np.cumsum(inst) / sr + rng.uniform(0, 2 * np.pi))


def _burst(length_s: float, tau_s: float, sr: int, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """A decaying band-limited noise burst (a click, a drop, a step's scuff)."""
    env = _decay(length_s, tau_s, sr)
    return env * _noise(env.size, sr, rng, _band(low, min(high, 0.45 * sr)))


def _smooth_bump(length_s: float, sr: int, attack: float = 0.3) -> np.ndarray:
    """A bump rising over ``attack`` of its length (raised cosine) and falling over the rest."""
    m = max(2, int(length_s * sr))
    rise = max(1, int(attack * m))
    up = 0.5 - 0.5 * np.cos(np.pi * np.arange(rise) / rise)
    down = 0.5 + 0.5 * np.cos(np.pi * np.arange(m - rise) / max(1, m - rise))
    return np.concatenate([up, down])


# --------------------------------------------------------------------------- generators


def _ambience(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Room tone: pink noise rolled off above 4 kHz, barely moving (1 dB)."""
    return _noise(n, sr, rng, lambda f: _tilt(0.5)(f) * _band(0, 4000, 1)(f)) * _envelope(n, sr, rng, 0.2, 1.0)


def _wind(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Gusts: a low rumble (brown noise below 200 Hz) and a whistling band (300-1200 Hz), both swelling with gusts (0.1-0.3 Hz, 6 dB)."""
    gust = _envelope(n, sr, rng, rng.uniform(0.1, 0.3), 6.0)
    rumble = _noise(n, sr, rng, lambda f: _tilt(1.0)(f) * _band(0, 200, 2)(f))
    centre = rng.uniform(400, 700)
    whistle = _noise(n, sr, rng, _band(0.6 * centre, 1.7 * centre, 3))
    return gust * rumble + 0.6 * gust**1.5 * whistle


def _rain(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Rain: drops (1-5 ms broadband transients with a small ring) at 300-800 per second over a hiss flat to 10 kHz."""
    hiss = _noise(n, sr, rng, _band(400, 10000, 1))
    drops = np.zeros(n)
    for start in _event_times(n, rng, _poisson_count(n, sr, rng, rng.uniform(300, 800))):
        grain = _burst(0.01, rng.uniform(0.001, 0.005), sr, rng, 300, 12000)
        _add(drops, int(start), min(rng.lognormal(0.0, 0.7), 3.0) * grain)
    drops /= max(float(np.sqrt(np.mean(drops**2))), 1e-12)
    return 0.6 * hiss + drops


def _stream(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A stream: bubbles ringing at their Minnaert frequency (500-3000 Hz) with a rising chirp, 60-150 per second, over 200-4000 Hz babble."""
    babble = _noise(n, sr, rng, _band(200, 4000, 1)) * _envelope(n, sr, rng, 3.0, 3.0)
    bubbles = np.zeros(n)
    for start in _event_times(n, rng, _poisson_count(n, sr, rng, rng.uniform(60, 150))):
        freq = rng.uniform(500, 3000)
        grain = _ring(freq, rng.uniform(0.004, 0.015), sr, rng, glide=rng.uniform(0.1, 0.4))
        _add(bubbles, int(start), rng.lognormal(0.0, 0.5) * grain)
    bubbles /= max(float(np.sqrt(np.mean(bubbles**2))), 1e-12)
    return 0.5 * babble + bubbles


def _waves(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Surf: a wave breaks every 6-12 s (swell over 2-3 s, wash over 4-6 s) on a low sea roar."""
    roar = _noise(n, sr, rng, lambda f: _tilt(0.5)(f) * _band(0, 2500, 1)(f))
    swell = np.full(n, 0.15)
    period = rng.uniform(6.0, 12.0)
    count = max(1, round(n / sr / period))
    for start in np.arange(count) * n // count:
        jitter = int(rng.uniform(-0.15, 0.15) * n / count)
        _add(swell, int(start) + jitter, rng.uniform(0.7, 1.0) * _smooth_bump(rng.uniform(6.0, 9.0), sr, attack=0.3))
    crash = _noise(n, sr, rng, _band(300, 8000, 1))
    return roar * swell + 0.5 * crash * swell**2


def _fire(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A fire: a low roar (brown noise below 300 Hz, flickering 3-8 Hz) with crackles (sharp clicks, heavy-tailed sizes, 10-40 per second) and a hiss."""
    roar = _noise(n, sr, rng, lambda f: _tilt(1.0)(f) * _band(0, 300, 2)(f)) * _envelope(n, sr, rng, 5.0, 4.0)
    crackle = np.zeros(n)
    for start in _event_times(n, rng, _poisson_count(n, sr, rng, rng.uniform(10, 40))):
        grain = _burst(0.01, rng.uniform(0.0005, 0.003), sr, rng, 800, 9000)
        _add(crackle, int(start), min(rng.pareto(2.5), 4.0) * grain)
    crackle /= max(float(np.sqrt(np.mean(crackle**2))), 1e-12)
    hiss = _noise(n, sr, rng, _band(2000, 9000, 1))
    return roar + 0.7 * crackle + 0.15 * hiss


def _chirp(sr: int, rng: np.random.Generator, base: float) -> np.ndarray:
    """One bird note: 40-180 ms, frequency sweeping around ``base`` (up, down or both), a weak second harmonic."""
    length = rng.uniform(0.04, 0.18)
    m = max(2, int(length * sr))
    t = np.linspace(0.0, 1.0, m)
    shape = rng.choice(["up", "down", "arch"])
    sweep = {"up": t, "down": 1.0 - t, "arch": np.sin(np.pi * t)}[shape]
    inst = base * (1.0 + rng.uniform(0.2, 0.6) * (sweep - 0.5))
    phase = 2.0 * np.pi * np.cumsum(inst) / sr
    env = np.sin(np.pi * t) ** 2
    return env * (np.sin(phase) + 0.15 * np.sin(2.0 * phase))


def _birds(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Birdsong: 2-4 birds, each with its own pitch (2-6 kHz) singing phrases of 3-8 notes every 1-4 s."""
    out = np.zeros(n)
    for _ in range(int(rng.integers(2, 5))):
        base, gain = rng.uniform(2000, 6000), rng.uniform(0.4, 1.0)
        for start in _event_times(n, rng, _poisson_count(n, sr, rng, 1.0 / rng.uniform(1.0, 4.0))):
            at = int(start)
            for _ in range(int(rng.integers(3, 9))):
                note = _chirp(sr, rng, base * rng.uniform(0.85, 1.15))
                _add(out, at, gain * note)
                at += note.size + int(rng.uniform(0.02, 0.08) * sr)
    return out + 0.02 * _noise(n, sr, rng, _band(200, 3000, 1))


def _insects(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Crickets: 3-6 insects, each a 4-5 kHz carrier in pulses of 15-25 ms grouped 3-5 to a chirp, 1-3 chirps a second."""
    out = np.zeros(n)
    for _ in range(int(rng.integers(3, 7))):
        carrier, gain = _cycles(rng.uniform(4000, 5000), n, sr), rng.uniform(0.3, 1.0)
        gate = np.zeros(n)
        pulse = _smooth_bump(rng.uniform(0.015, 0.025), sr, attack=0.2)
        gap = int(rng.uniform(0.01, 0.02) * sr)
        count = max(1, round(n / sr * rng.uniform(1.0, 3.0)))  # a whole number of chirps per loop
        for start in np.arange(count) * n // count:
            at = int(start) + int(rng.integers(0, sr // 10))
            for _ in range(int(rng.integers(3, 6))):
                _add(gate, at, pulse)
                at += pulse.size + gap
        phase = 2.0 * np.pi * carrier * np.arange(n) / sr + rng.uniform(0, 2 * np.pi)
        out += gain * np.minimum(gate, 1.0) * np.sin(phase)
    return out


def _traffic(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Road traffic: a distant rumble (brown noise below 500 Hz) and cars passing every 2-8 s (tyre noise 300-3000 Hz rising and falling over 3-6 s)."""
    rumble = _noise(n, sr, rng, lambda f: _tilt(1.0, 40.0)(f) * _band(30, 500, 2)(f)) * _envelope(n, sr, rng, 0.1, 2.0)
    passes = np.zeros(n)
    for start in _event_times(n, rng, _poisson_count(n, sr, rng, 1.0 / rng.uniform(2.0, 8.0))):
        _add(passes, int(start), rng.uniform(0.5, 1.5) * _smooth_bump(rng.uniform(3.0, 6.0), sr, attack=0.5) ** 2)
    tyres = _noise(n, sr, rng, _band(300, 3000, 1))
    return rumble + tyres * passes


#: Sentences the crowd reads (phonetically balanced Harvard sentences).
CROWD_SENTENCES: tuple[str, ...] = (
    "The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.", "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.", "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.", "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.", "A pot of tea helps to pass the evening.",
)
#: espeak-ng voice variants of the crowd.
CROWD_VOICES: tuple[str, ...] = ("en-us+m1", "en-us+f2", "en-gb+m3", "en-us+f4", "en-gb+m5", "en-us+m7", "en-gb+f1", "en-us+m2")


def _voices(n: int, sr: int, rng: np.random.Generator, low: int, high: int) -> np.ndarray:
    """``low`` to ``high - 1`` espeak-ng voices, each reading four shuffled sentences at its own pace from its own
    offset, repeated and crossfaded into a loop."""
    from soundstage.speech.tts import EspeakNG

    if not EspeakNG.available():
        raise DependencyError("the 'crowd' and 'talker' categories speak with espeak-ng, which is not installed; "
                              "apt install espeak-ng")
    out = np.zeros(n)
    voices = rng.permutation(CROWD_VOICES)[: int(rng.integers(low, high))]
    for voice in voices:
        engine = EspeakNG(voice=str(voice), words_per_minute=int(rng.integers(140, 190)))
        order = rng.permutation(len(CROWD_SENTENCES))[:4]
        speech = engine.synthesize(" ".join(CROWD_SENTENCES[i] for i in order), sr).astype(np.float64)
        speech /= max(float(np.sqrt(np.mean(speech**2))), 1e-12)
        fade = min(n // 2, int(0.05 * sr))
        reading = np.resize(np.roll(speech, int(rng.integers(0, speech.size))), n + fade)
        out += circular(reading, n, max(1, fade)) * rng.uniform(0.5, 1.0)
    return out


def _crowd(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A crowd murmur: 6-8 voices at once (:func:`_voices`), dulled above 3 kHz."""
    spec = np.fft.rfft(_voices(n, sr, rng, 6, 9)) * _band(100, 3000, 1)(_freqs(n, sr))
    return np.fft.irfft(spec, n)


def _talker(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One person talking: a single voice (:func:`_voices`) with the pauses between its words and sentences."""
    return _voices(n, sr, rng, 1, 2)


def _footsteps(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Walking: 1.6-2.2 steps a second, each a heel thud (80-150 Hz ring) then a toe scuff (1-5 kHz burst) 60-120 ms later."""
    count = max(1, round(n / sr * rng.uniform(1.6, 2.2)))
    out = np.zeros(n)
    for start in np.arange(count) * n // count:
        at = int(start) + int(rng.normal(0, 0.01) * sr)
        level = rng.uniform(0.7, 1.0)
        _add(out, at, level * _ring(rng.uniform(80, 150), 0.012, sr, rng))
        _add(out, at + int(rng.uniform(0.06, 0.12) * sr), 0.3 * level * _burst(0.05, 0.015, sr, rng, 1000, 5000))
    return out


def _hum(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Ventilation hum: mains at 50 or 60 Hz with harmonics falling 6 dB each over airflow noise (pink, 100-1000 Hz)."""
    mains = _cycles(float(rng.choice(HUM_FUNDAMENTALS)), n, sr)
    t = np.arange(n) / sr
    tone = sum(0.5 ** (k - 1) * np.sin(2 * np.pi * k * mains * t + rng.uniform(0, 2 * np.pi)) for k in range(1, 6))
    air = _noise(n, sr, rng, lambda f: _tilt(0.5)(f) * _band(100, 1000, 1)(f))
    return tone + 0.15 * air


def _engine(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """An idling engine: firing rate 20-35 Hz (a four-stroke four-cylinder at 600-1050 rpm), 12 harmonics, a slow rev wobble (1 %), exhaust noise."""
    firing = rng.uniform(20, 35)
    phase = _oscillator(firing * (1.0 + 0.01 * _slow(n, sr, rng, 0.5)), sr)
    tone = sum(k**-0.8 * np.sin(k * phase + rng.uniform(0, 2 * np.pi)) for k in range(1, 13))
    exhaust = _noise(n, sr, rng, lambda f: _tilt(1.0, 40.0)(f) * _band(30, 1500, 1)(f))
    return tone + 0.5 * exhaust * (1.0 + 0.5 * np.sin(phase))


def _clock(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A clock: one tick a second (a whole number per loop), alternately 'tick' and 'tock' (rings at two pitches, 2-4 kHz)."""
    count = max(1, round(n / sr))
    pitches = rng.uniform(2000, 4000, size=2)
    out = np.zeros(n)
    for k, start in enumerate(np.arange(count) * n // count):
        ring = _ring(pitches[k % 2], 0.004, sr, rng) + 0.5 * _burst(0.02, 0.001, sr, rng, 2000, 8000)
        _add(out, int(start), ring)
    return out


def _keyboard(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Typing: words of 3-8 strokes at 6-10 strokes a second with pauses, each a key click (2-6 kHz) and a bottom-out thud (150-300 Hz)."""
    out = np.zeros(n)
    at = int(rng.integers(0, n))
    end = at + n
    while at < end:
        for _ in range(int(rng.integers(3, 9))):
            level = rng.uniform(0.6, 1.0)
            _add(out, at, level * _burst(0.015, 0.002, sr, rng, 2000, 6000))
            _add(out, at + int(0.004 * sr), 0.5 * level * _ring(rng.uniform(150, 300), 0.006, sr, rng))
            at += int(sr / rng.uniform(6, 10))
        at += int(rng.uniform(0.15, 0.6) * sr)
    return out


#: The categories :func:`synthesize` makes, by name.
CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        Category("ambience", -45.0, "neutral room tone", _ambience),
        Category("wind", -24.0, "gusting wind", _wind),
        Category("rain", -26.0, "steady rain", _rain),
        Category("stream", -28.0, "a brook or fountain", _stream),
        Category("waves", -20.0, "surf on a shore", _waves),
        Category("fire", -28.0, "a crackling fire", _fire),
        Category("birds", -28.0, "birdsong", _birds),
        Category("insects", -32.0, "crickets", _insects),
        Category("traffic", -18.0, "road traffic", _traffic),
        Category("crowd", -22.0, "murmur of a crowd", _crowd),
        Category("talker", -24.0, "a person talking", _talker),
        Category("footsteps", -26.0, "someone walking", _footsteps),
        Category("hum", -36.0, "ventilation or mains hum", _hum),
        Category("engine", -16.0, "an idling engine", _engine),
        Category("clock", -34.0, "a ticking clock", _clock),
        Category("keyboard", -30.0, "typing on a keyboard", _keyboard),
    )
}


def synthesize(category: str, duration: float, sr: int = 48000, *, seed: int = 0) -> np.ndarray:
    """``duration`` seconds of ``category`` at ``sr``, seamless when looped, at the category's nominal level.

    Parameters
    ----------
    category : str
        A name of :data:`CATEGORIES`.
    duration : float
        Length in seconds (> 0); the signal has ``round(duration * sr)`` samples.
    sr : int
        Sample rate, at least :data:`MIN_SR`.
    seed : int
        Same seed, same samples.

    Returns
    -------
    np.ndarray
        float64 mono, mean power :attr:`Category.level_dbfs` (dB relative to a full-scale sine).

    Raises
    ------
    SoundstageError
        Unknown category, non-positive duration or a sample rate below :data:`MIN_SR`.
    DependencyError
        ``"crowd"`` without espeak-ng.
    """
    if category not in CATEGORIES:
        raise SoundstageError(f"unknown sound category {category!r}; expected one of {', '.join(CATEGORIES)}")
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr < MIN_SR:
        raise SoundstageError(f"sample rate must be a whole number of Hz >= {MIN_SR}, got {sr!r}")
    n = int(round(float(duration) * sr)) if np.isfinite(duration) else 0
    if n < 1:
        raise SoundstageError(f"duration must be a positive number of seconds, got {duration!r}")
    entry = CATEGORIES[category]
    rng = np.random.default_rng([int(seed), sum(map(ord, category))])
    x = np.roll(entry.make(n, int(sr), rng), int(rng.integers(0, n)))  # a loop may start anywhere
    return set_level(x, entry.level_dbfs)
