"""Spatial rendering: a 16-source binaural room scene and 8 moving sources, timed on one core.

**Static scene.** 16 sources, 10 s each at 48 kHz, spread around a listener in an
8 x 6 x 3 m room (plasterboard walls and ceiling, carpeted floor), heard through the
MIT KEMAR HRTF (``default_hrtf``). The signals are clean speech from
``../shared/data/speech`` (every file, resampled to 48 kHz, normalised to -26 dB RMS;
source ``i`` chains them from file ``i`` on), or seeded white noise when that folder
holds none. Timed, each warmed up once and then the best of ``--repeats`` runs:

* ``BRIRs``: the 16 binaural room impulse responses (``source_response``);
* ``mix``: ``convolve_sum`` of the 16 float32 signals with those responses;
* ``naive``: ``scipy.signal.fftconvolve`` per source and per ear with the same
  responses and signals, summed into a float32 buffer;
* ``render_sources``: the whole scene in one call (BRIRs and mix).

The real-time factor (RTF) is time / 10 s. The issue's target RTF <= 0.05 is applied to
the mix (rendering given the responses, like the naive peer); the RTF with the BRIRs
included is printed as well. The speed-up is ``naive / mix``; target >= 3x. The mix must
agree with the naive sum (max abs difference over the naive peak).

**Moving sources.** 8 sources (10 s each: circles, a helix, a fly-by, an approach, a
retreat, a random walk; Doppler on) rendered binaurally with ``render_sources``, in free
field and in the same room (direct path per sample plus reflections from key positions
every 0.25 s); reference: the same 8 sources held at their start positions in the room.
Target: faster than real time (RTF < 1) in both.

The process is pinned to one CPU core (``os.sched_setaffinity(0, {0})`` before numpy is
imported, so every thread inherits it) and every FFT is single-threaded:
``soundstage.dsp.filterbank.FFT_WORKERS`` (default -1, every core) is set to 1 for the
run; scipy's other FFTs use one thread by default. Run ``python benchmarks/spatial.py
--help`` for the options.
"""

from __future__ import annotations

import os

if hasattr(os, "sched_setaffinity"):
    # Before numpy loads: its BLAS sizes its thread pool from the CPUs the process may use,
    # and every thread inherits CPU 0.
    os.sched_setaffinity(0, {0})

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
from scipy.signal import fftconvolve

from common import best_of, dump_json, fmt, output_options, pass_fail, save_figure, t30_measures, table

from soundstage.acoustics.analysis import schroeder_decay
from soundstage.acoustics.room import Room
from soundstage.dsp import filterbank
from soundstage.dsp.convolve import convolve_sum
from soundstage.geometry import azel_to_vector
from soundstage.io.audio import read_audio
from soundstage.spatial.binaural import Binaural
from soundstage.spatial.hrtf import default_hrtf
from soundstage.spatial.moving import Trajectory
from soundstage.spatial.render import Source, render_sources, source_response

#: Where the figure goes unless ``--plot`` says otherwise.
PLOT_DEFAULT = Path(__file__).with_name("spatial.png")

SR = 48000
DURATION = 10.0
SEED = 20240611
LEVEL_DB = -26.0
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "speech"
ROOM_DIMS = (8.0, 6.0, 3.0)
MATERIALS = {"walls": "plasterboard", "floor": "carpet", "ceiling": "plasterboard_ceiling"}
LISTENER = np.array([3.7, 2.8, 1.5])
N_STATIC = 16
#: Static sources: azimuth every 22.5 deg; distance and elevation cycle through these.
DISTANCES = (1.5, 2.0, 2.5, 1.8)
ELEVATIONS = (0.0, 30.0, -15.0, 10.0)
#: Pass marks.
MAX_RTF_MIX = 0.05
MIN_SPEEDUP = 3.0
MAX_RTF_MOVING = 1.0
MAX_REL_DIFF = 1e-4


def room() -> Room:
    """The 8 x 6 x 3 m room of every room measurement."""
    return Room.shoebox(ROOM_DIMS, MATERIALS)


def static_positions() -> np.ndarray:
    """``(16, 3)`` source positions around :data:`LISTENER` (metres)."""
    k = np.arange(N_STATIC)
    dist = np.take(DISTANCES, k % len(DISTANCES))
    dirs = azel_to_vector(k * 360.0 / N_STATIC, np.take(ELEVATIONS, k % len(ELEVATIONS)))
    return LISTENER + dist[:, None] * dirs


def _circle(radius: float, period: float, *, z: float = LISTENER[2], clockwise: bool = False,
            rise: tuple[float, float] | None = None) -> np.ndarray:
    t = np.linspace(0.0, DURATION, 201)
    phase = 2 * np.pi * t / period * (-1 if clockwise else 1)
    height = np.full(t.shape, z) if rise is None else np.linspace(*rise, t.size)
    return np.column_stack([t, LISTENER[0] + radius * np.cos(phase), LISTENER[1] + radius * np.sin(phase), height])


def _line(*points: tuple[float, float, float, float]) -> np.ndarray:
    return np.array(points, dtype=float)


def trajectories() -> dict[str, Trajectory]:
    """The 8 moving sources: name -> path over the 10 s (all inside the room)."""
    walk = np.random.default_rng(SEED).uniform([0.5, 0.5, 0.5], np.subtract(ROOM_DIMS, 0.5), (11, 3))
    paths = {
        "circle r=1 m, 5 s/turn": _circle(1.0, 5.0),
        "circle r=2 m, 10 s/turn, clockwise": _circle(2.0, 10.0, clockwise=True),
        "circle r=1.5 m at z=2.5 m, 8 s/turn": _circle(1.5, 8.0, z=2.5),
        "helix r=1.2 m, z 0.5 to 2.6 m, 4 s/turn": _circle(1.2, 4.0, rise=(0.5, 2.6)),
        "fly-by x 0.5 <-> 7.5 m at 3.5 m/s": _line(*[(2.0 * i, 0.5 + 7.0 * (i % 2), 4.6, 1.7) for i in range(6)]),
        "approach from a corner to 0.5 m": _line((0.0, 7.5, 5.7, 2.5), (DURATION, *(LISTENER + [0, 0.5, 0]))),
        "retreat from 0.5 m to a corner": _line((0.0, *(LISTENER + [-0.5, 0, 0])), (DURATION, 0.4, 0.4, 0.6)),
        "random walk, 11 seeded waypoints": np.column_stack([np.linspace(0.0, DURATION, 11), walk]),
    }
    return {name: Trajectory(p[:, 0], p[:, 1:]) for name, p in paths.items()}


def load_signals(count: int, data_dir: Path) -> tuple[list[np.ndarray], str]:
    """``count`` float32 signals of :data:`DURATION` s at :data:`SR` and a description of them.

    Speech: every ``.wav``/``.ogg`` in ``data_dir`` at -26 dB RMS, chained from file
    ``i`` onwards for signal ``i``. Without files: seeded white noise at the same level.
    """
    n = int(DURATION * SR)
    files = sorted(p for p in data_dir.glob("*") if p.suffix in (".wav", ".ogg")) if data_dir.is_dir() else []
    if not files:
        print(f"no speech in {data_dir}: using seeded white noise", file=sys.stderr)
        rng = np.random.default_rng(SEED)
        noise = [(10 ** (LEVEL_DB / 20) * rng.standard_normal(n)).astype(np.float32) for _ in range(count)]
        return noise, f"seeded white noise (seed {SEED})"
    clips = []
    for path in files:
        x, _ = read_audio(path, sr=SR, mono=True)
        clips.append(x * np.float32(10 ** (LEVEL_DB / 20) / np.sqrt(np.mean(x.astype(np.float64) ** 2))))
    out = []
    for i in range(count):
        chain, k = [], i
        while sum(c.size for c in chain) < n:
            chain.append(clips[k % len(clips)])
            k += 1
        out.append(np.ascontiguousarray(np.concatenate(chain)[:n], dtype=np.float32))
    return out, f"speech: {len(files)} files from {data_dir.resolve()}"


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """One warm-up call, then :func:`common.best_of` over ``repeats`` calls."""
    fn()
    return best_of(fn, repeats=repeats)


def naive_mix(signals: list[np.ndarray], brirs: list[np.ndarray]) -> np.ndarray:
    """``scipy.signal.fftconvolve`` per source and per ear, summed: float32 ``(2, samples)``."""
    out = np.zeros((2, max(s.size + h.shape[1] - 1 for s, h in zip(signals, brirs))), dtype=np.float32)
    for s, h in zip(signals, brirs):
        for ear in range(2):
            y = fftconvolve(s, h[ear])
            out[ear, : y.size] += y
    return out


def run_static(signals: list[np.ndarray], receiver: Binaural, enclosure: Room, repeats: int) -> dict[str, Any]:
    """Timings, agreement and one BRIR of the 16-source static scene."""
    positions = static_positions()

    def make_brirs() -> list[np.ndarray]:
        return [source_response(p, LISTENER, receiver, SR, room=enclosure, seed=SEED + i)
                for i, p in enumerate(positions)]

    t_brir, brirs = timed(make_brirs, repeats)
    t_mix, ours = timed(lambda: convolve_sum(signals, brirs), repeats)
    t_naive, theirs = timed(lambda: naive_mix(signals, brirs), repeats)
    sources = [Source(x, Trajectory([0.0], [p]), name=f"static {i}")
               for i, (x, p) in enumerate(zip(signals, positions))]
    t_render, scene = timed(lambda: render_sources(sources, LISTENER, receiver, SR, room=enclosure, seed=SEED,
                                                   progress=False), repeats)
    peak = float(np.abs(theirs).max())
    return {
        "n_sources": len(signals), "brir_samples": int(brirs[0].shape[1]), "out_samples": int(ours.shape[1]),
        "brir_s": t_brir, "mix_s": t_mix, "naive_s": t_naive, "render_sources_s": t_render,
        "speedup": t_naive / t_mix, "rtf_mix": t_mix / DURATION, "rtf_naive": t_naive / DURATION,
        "rtf_brir_plus_mix": (t_brir + t_mix) / DURATION, "rtf_render_sources": t_render / DURATION,
        "rel_diff_vs_naive": float(np.abs(ours - theirs).max()) / peak,
        "rel_diff_render_sources": float(np.abs(scene - ours).max()) / peak,
        "positions": positions, "example_brir": brirs[0], "t30_example": [t30_measures(ear, SR) for ear in brirs[0]],
    }


def run_moving(signals: list[np.ndarray], receiver: Binaural, enclosure: Room, repeats: int) -> dict[str, Any]:
    """Timings of the 8 moving sources in free field and in the room, and held at their start positions."""
    paths = trajectories()
    moving = [Source(x, path, name=name) for x, (name, path) in zip(signals, paths.items())]
    held = [Source(s.signal, Trajectory([0.0], s.path.positions[:1]), name=s.name) for s in moving]

    def scene(sources: list[Source], enclosure_or_none: Room | None) -> Callable[[], np.ndarray]:
        return lambda: render_sources(sources, LISTENER, receiver, SR, room=enclosure_or_none, seed=SEED,
                                      progress=False)

    t_free, _ = timed(scene(moving, None), repeats)
    t_room, out = timed(scene(moving, enclosure), repeats)
    t_held, _ = timed(scene(held, enclosure), repeats)
    return {"paths": list(paths), "free_field_s": t_free, "room_s": t_room, "held_room_s": t_held,
            "rtf_free_field": t_free / DURATION, "rtf_room": t_room / DURATION, "rtf_held_room": t_held / DURATION,
            "out_samples": int(out.shape[1]), "finite": bool(np.all(np.isfinite(out)))}


def print_report(result: dict[str, Any]) -> None:
    """Tables of the static and moving measurements, then PASS/FAIL per target."""
    st, mv = result["static"], result["moving"]

    def ms(seconds: float) -> str:
        return fmt(seconds, ".1f", scale=1e3)

    print(f"Signals: {result['signals']}; {SR} Hz, {DURATION:g} s per source; room {result['room']}, "
          f"listener at {LISTENER.tolist()}; HRTF {result['hrtf']}; one core, single-threaded FFTs; "
          f"best of {result['repeats']} after one warm-up\n")
    t30 = ", ".join(f"{label} {'/'.join(fmt(ear[k], '.2f') for ear in st['t30_example'])} s"
                    for label, k in (("broadband", "broadband"), ("500 Hz", "500"), ("1 kHz", "1000")))
    print(f"Static scene: {st['n_sources']} sources, BRIRs of {st['brir_samples']} samples "
          f"({st['brir_samples'] / SR:.2f} s); measured T30 of source 0's BRIR, left/right ear: {t30}\n")
    rows = [
        ["16 BRIRs (source_response)", ms(st["brir_s"]), fmt(st["brir_s"] / DURATION, ".4f"), "-"],
        ["mix: convolve_sum", ms(st["mix_s"]), fmt(st["rtf_mix"], ".4f"), "1.00"],
        ["naive: fftconvolve per source and ear", ms(st["naive_s"]), fmt(st["rtf_naive"], ".4f"),
         fmt(st["speedup"], ".2f")],
        ["BRIRs + mix (sum of the two rows)", ms(st["brir_s"] + st["mix_s"]), fmt(st["rtf_brir_plus_mix"], ".4f"), "-"],
        ["render_sources (BRIRs + mix, one call)", ms(st["render_sources_s"]), fmt(st["rtf_render_sources"], ".4f"),
         "-"],
    ]
    print(table(["static scene", "time (ms)", "RTF", "time / mix"], rows))
    print(f"\n  max |mix - naive| / peak {st['rel_diff_vs_naive']:.1e}; "
          f"max |render_sources - mix| / peak {st['rel_diff_render_sources']:.1e}\n")
    rows = [
        ["8 moving, free field", ms(mv["free_field_s"]), fmt(mv["rtf_free_field"], ".3f"),
         fmt(mv["free_field_s"] / mv["held_room_s"], ".1f")],
        ["8 moving, room", ms(mv["room_s"]), fmt(mv["rtf_room"], ".3f"), fmt(mv["room_s"] / mv["held_room_s"], ".1f")],
        ["8 held at start positions, room", ms(mv["held_room_s"]), fmt(mv["rtf_held_room"], ".3f"), "1.0"],
    ]
    print(table(["moving sources (render_sources)", "time (ms)", "RTF", "time / held"], rows))
    print("\n  paths: " + "; ".join(mv["paths"]))
    checks = [
        (f"RTF of the mix (convolve_sum given the BRIRs) {st['rtf_mix']:.4f}", f"<= {MAX_RTF_MIX:g}",
         st["rtf_mix"] <= MAX_RTF_MIX),
        (f"speed-up of the mix vs naive fftconvolve {st['speedup']:.2f} x", f">= {MIN_SPEEDUP:g}x",
         st["speedup"] >= MIN_SPEEDUP),
        (f"mix agrees with naive: {st['rel_diff_vs_naive']:.1e} of peak", f"<= {MAX_REL_DIFF:g}",
         st["rel_diff_vs_naive"] <= MAX_REL_DIFF),
        (f"RTF of 8 moving sources, free field {mv['rtf_free_field']:.3f}", f"< {MAX_RTF_MOVING:g}",
         mv["rtf_free_field"] < MAX_RTF_MOVING),
        (f"RTF of 8 moving sources, room {mv['rtf_room']:.3f}", f"< {MAX_RTF_MOVING:g}",
         mv["rtf_room"] < MAX_RTF_MOVING),
    ]
    print("\nTargets")
    for text, target, ok in checks:
        print(f"  {text:<62} target {target:<7} {pass_fail(ok)}")
    print(f"  (not a target) RTF with the BRIR synthesis included: {st['rtf_brir_plus_mix']:.4f} (BRIRs + mix), "
          f"{st['rtf_render_sources']:.4f} (render_sources)")


def save_plot(result: dict[str, Any], path: Path) -> None:
    """Figure: one BRIR (first 100 ms, energy decay) and the timings as bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    st, mv = result["static"], result["moving"]
    h = np.asarray(st["example_brir"], dtype=np.float64)
    fig = plt.figure(figsize=(12, 6.5))
    grid = fig.add_gridspec(2, 2, width_ratios=(1.0, 1.15))
    ax_h, ax_d, ax_t = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[:, 1])
    n = int(0.1 * SR)
    t_ms = np.arange(n) / SR * 1e3
    for ear, (label, color) in enumerate((("left", "C0"), ("right", "C3"))):
        ax_h.plot(t_ms, h[ear, :n], color=color, lw=0.7, alpha=0.85, label=label)
        edc = schroeder_decay(h[ear], SR, onset=0, truncate=False)
        ax_d.plot(np.arange(edc.size) / SR, edc, color=color, lw=1.2, label=label)
    ax_h.set(xlabel="time (ms)", ylabel="amplitude",
             title=f"BRIR of source 0 (azimuth 0, elevation {ELEVATIONS[0]:g} deg, {DISTANCES[0]:g} m): first 100 ms")
    ax_d.set(xlabel="time (s)", ylabel="energy decay (dB)", ylim=(-70, 3), title="Schroeder energy decay")
    bars = [
        ("static: 16 BRIRs", st["brir_s"], "C2"),
        ("static: mix, convolve_sum", st["mix_s"], "C0"),
        ("static: mix, naive fftconvolve", st["naive_s"], "C7"),
        ("static: render_sources (all)", st["render_sources_s"], "C0"),
        ("8 moving, free field", mv["free_field_s"], "C1"),
        ("8 moving, room", mv["room_s"], "C1"),
        ("8 held, room", mv["held_room_s"], "C2"),
    ]
    y = np.arange(len(bars))[::-1]
    ax_t.barh(y, [b[1] for b in bars], color=[b[2] for b in bars])
    for yi, (_, seconds, _) in zip(y, bars):
        ax_t.text(seconds * 1.08, yi, f"{seconds:.3g} s (RTF {seconds / DURATION:.3g})", va="center", fontsize=8)
    ax_t.axvline(DURATION, color="k", ls="--", lw=1, label=f"real time ({DURATION:g} s)")
    ax_t.axvline(MAX_RTF_MIX * DURATION, color="C3", ls=":", lw=1, label=f"RTF {MAX_RTF_MIX:g} (mix target)")
    ax_t.set_xscale("log")
    ax_t.set_xlim(0.5 * min(b[1] for b in bars), 8 * max(DURATION, max(b[1] for b in bars)))
    ax_t.set_yticks(y, [b[0] for b in bars], fontsize=9)
    ax_t.set(xlabel="time for a 10 s scene (s, one core)", title="Timings (best of "
             f"{result['repeats']}); speed-up of the mix {st['speedup']:.2f}x")
    for ax in (ax_h, ax_d, ax_t):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    save_figure(fig, path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    output_options(parser, PLOT_DEFAULT)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs after the warm-up; the best one counts")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="folder of clean speech files")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    filterbank.FFT_WORKERS = 1
    signals, described = load_signals(N_STATIC, args.data_dir)
    receiver = Binaural(default_hrtf(SR))
    enclosure = room()
    print("static scene ...", file=sys.stderr)
    static = run_static(signals, receiver, enclosure, args.repeats)
    print("moving sources ...", file=sys.stderr)
    moving = run_moving(signals, receiver, enclosure, args.repeats)
    result = {
        "sr": SR, "duration_s": DURATION, "signals": described, "hrtf": receiver.hrtf.name, "repeats": args.repeats,
        "room": f"{'x'.join(f'{d:g}' for d in ROOM_DIMS)} m, " + ", ".join(f"{k} {v}" for k, v in MATERIALS.items())
        + f", Eyring RT60 500 Hz/1 kHz {enclosure.rt60()[2]:.2f}/{enclosure.rt60()[3]:.2f} s",
        "static": static, "moving": moving,
        "pass": {"rtf_mix": static["rtf_mix"] <= MAX_RTF_MIX, "speedup": static["speedup"] >= MIN_SPEEDUP,
                 "agree": static["rel_diff_vs_naive"] <= MAX_REL_DIFF,
                 "moving_free_field": moving["rtf_free_field"] < MAX_RTF_MOVING,
                 "moving_room": moving["rtf_room"] < MAX_RTF_MOVING},
    }
    if not args.no_plot:
        save_plot(result, args.plot)
        print(f"figure written to {args.plot}", file=sys.stderr)
    if args.json:
        dump_json({k: v for k, v in result.items() if k != "static"}
                  | {"static": {k: v for k, v in static.items() if k != "example_brir"}})
    else:
        print_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
