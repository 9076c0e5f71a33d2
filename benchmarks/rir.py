"""Room impulse responses: soundstage against pyroomacoustics (full-order ISM and hybrid).

Ten shoebox rooms, from an office to a large hall, are designed for target T30s
``np.linspace(0.3, 2.0, 10)`` s with soundstage's ``Room.for_rt60`` (uniform, flat,
Eyring-designed absorption, no air absorption). The same absorption coefficient is given
to pyroomacoustics, so all three methods are judged against the same target:

* ``soundstage``: ``synthesize_rir`` (exact images up to a crossover, then a matched tail);
* ``pra_ism``: ``pra.ShoeBox`` with the image-source order from ``pra.inverse_sabine``;
* ``pra_hybrid``: ``pra.ShoeBox`` with ``max_order=3`` and the default ray tracer.

For each room it times one response (best of three, ``time.perf_counter``; for
pyroomacoustics from building the room to having the RIR), measures T30 with soundstage's
``analyze`` (broadband, 500 Hz and 1 kHz octaves) and checks the first 20 arrivals of
soundstage's image sources against pyroomacoustics' images. Run
``python benchmarks/rir.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyroomacoustics as pra

from common import (
    T30_MEASURES, best_of, dump_json, fmt, median, output_options, pass_fail, progress, relative_errors,
    save_figure, t30_measures, table,
)

from soundstage.acoustics.image_source import ImageSources, image_sources
from soundstage.acoustics.rir import synthesize_rir
from soundstage.acoustics.room import Room
from soundstage.constants import SPEED_OF_SOUND

SR = 16000
METHODS: tuple[str, ...] = ("soundstage", "pra_ism", "pra_hybrid")
#: (name, dimensions in metres); room ``i`` gets target T30 ``TARGETS[i]``.
ROOMS: tuple[tuple[str, tuple[float, float, float]], ...] = (
    ("office", (3.0, 4.0, 2.5)),
    ("living room", (4.5, 5.5, 2.7)),
    ("classroom", (6.0, 7.0, 3.0)),
    ("seminar room", (8.0, 6.5, 3.2)),
    ("lecture room", (10.0, 8.0, 3.5)),
    ("rehearsal room", (12.0, 9.0, 4.0)),
    ("small hall", (15.0, 11.0, 5.0)),
    ("gymnasium", (18.0, 13.0, 6.0)),
    ("hall", (21.0, 15.0, 7.5)),
    ("large hall", (25.0, 18.0, 9.0)),
)

#: Where the figure goes unless ``--plot`` says otherwise.
PLOT_DEFAULT = Path(__file__).with_name("rir_benchmark.png")
TARGETS = np.linspace(0.3, 2.0, len(ROOMS))
#: Source and listener positions as fractions of the room size (no mirror symmetry).
SOURCE_AT = (0.27, 0.36, 0.44)
LISTENER_AT = (0.66, 0.71, 0.38)
#: Arrivals compared per room, the image order searched for them, and the tolerances.
N_EARLY = 20
EARLY_MAX_ORDER = 10
EARLY_TOL_SAMPLES = 1.0
EARLY_TOL_DB = 1.0
BAND_1K = 3  # index of the 1 kHz octave in soundstage's bands
#: Pass marks of the summary.
MAX_MEDIAN_ERR = 0.05
MIN_SPEEDUP_HYBRID = 10.0
MIN_SPEEDUP_ISM = 50.0
ISM_SPEEDUP_MIN_TARGET = 1.0


def room_indices(n_rooms: int) -> list[int]:
    """``n_rooms`` indices into :data:`ROOMS`, spread evenly from the smallest to the largest."""
    if not 1 <= n_rooms <= len(ROOMS):
        raise SystemExit(f"--rooms must be between 1 and {len(ROOMS)}, got {n_rooms}")
    return sorted({int(round(i)) for i in np.linspace(0, len(ROOMS) - 1, n_rooms)})


def _pra_room(dims: tuple[float, ...], alpha: float, src: np.ndarray, mic: np.ndarray, *, hybrid: bool,
              max_order: int) -> pra.ShoeBox:
    """Build a pyroomacoustics shoebox with flat absorption ``alpha`` and compute its RIR."""
    if hybrid:
        room = pra.ShoeBox(dims, fs=SR, materials=pra.Material(alpha), max_order=3, ray_tracing=True,
                           air_absorption=False)
        room.set_ray_tracing()
    else:
        room = pra.ShoeBox(dims, fs=SR, materials=pra.Material(alpha), max_order=max_order, air_absorption=False)
    room.add_source(src)
    room.add_microphone(mic)
    room.compute_rir()
    return room


def _method_row(seconds: float, h: np.ndarray, target: float, **extra: Any) -> dict[str, Any]:
    t30 = t30_measures(h, SR)
    return {"time_s": seconds, "t30": t30, "err": relative_errors(t30, target), **extra}


def _arrival_table(times: np.ndarray, levels: np.ndarray, positions: np.ndarray) -> dict[str, np.ndarray]:
    order = np.argsort(times, kind="stable")[:N_EARLY]
    return {"samples": times[order], "level_db": levels[order], "positions": positions[order]}


def _pra_arrivals(pra_room: pra.ShoeBox, mic: np.ndarray) -> dict[str, np.ndarray]:
    """pyroomacoustics' first images: arrival (samples), 1 kHz level ``damping / (4 pi r)`` (dB), positions."""
    images = np.asarray(pra_room.sources[0].images, dtype=np.float64).T
    damping = np.asarray(pra_room.sources[0].damping, dtype=np.float64)
    dist = np.linalg.norm(images - mic, axis=1)
    band = BAND_1K if damping.shape[0] > BAND_1K else 0
    return _arrival_table(dist / SPEED_OF_SOUND * SR, 20 * np.log10(damping[band] / (4 * np.pi * dist)), images)


def _direct_peaks(ours: ImageSources, h_ss: np.ndarray, h_pra: np.ndarray, delay: int) -> dict[str, int]:
    """Index of the largest ``|h|`` before the midpoint of the direct sound and the first reflection.

    Coincident later images can make a larger sample than a direct sound that falls
    between two samples, hence the window; pyroomacoustics' window is shifted by ``delay``.
    """
    end = int(np.floor((ours.delays[0] + ours.delays[1]) / 2 * SR)) + 1
    return {"soundstage": int(np.argmax(np.abs(h_ss[:end]))), "pra": int(np.argmax(np.abs(h_pra[: end + delay])))}


def early_arrivals(room: Room, src: np.ndarray, mic: np.ndarray, pra_room: pra.ShoeBox, h_ss: np.ndarray,
                   h_pra: np.ndarray) -> dict[str, Any]:
    """Compare the first :data:`N_EARLY` arrivals and the rendered direct-sound peaks.

    Each of soundstage's first arrivals is paired with the image at the same position
    (within 1 mm) among pyroomacoustics' first arrivals; the pairing must be one to one.
    Levels are 1 kHz amplitudes: soundstage's ``gains[:, 3]`` and pyroomacoustics'
    ``damping / (4 pi distance)``. The rendered direct sound must peak at
    ``round(distance / c * fs)`` in soundstage's response and ``delay`` samples later in
    pyroomacoustics' (its fractional-delay filter half-length).
    """
    ours = image_sources(room, src, mic, max_order=EARLY_MAX_ORDER)
    ss = _arrival_table(ours.delays * SR, 20 * np.log10(ours.gains[:, BAND_1K]), ours.positions)
    theirs = _pra_arrivals(pra_room, mic)
    gap = np.linalg.norm(ss["positions"][:, None] - theirs["positions"][None], axis=2)
    pair = np.argmin(gap, axis=1)
    matched = gap[np.arange(pair.size), pair] < 1e-3
    dt = np.abs(ss["samples"] - theirs["samples"][pair])[matched]
    dl = np.abs(ss["level_db"] - theirs["level_db"][pair])[matched]
    delay = int(pra.constants.get("frac_delay_length") // 2)
    direct = int(round(np.linalg.norm(src - mic) / SPEED_OF_SOUND * SR))
    peaks = _direct_peaks(ours, h_ss, h_pra, delay)
    n_matched = len(set(pair[matched].tolist()))
    max_dt, max_dl = (float(dt.max()), float(dl.max())) if dt.size else (math.inf, math.inf)
    ok = (n_matched == N_EARLY and max_dt <= EARLY_TOL_SAMPLES and max_dl <= EARLY_TOL_DB
          and peaks["soundstage"] == direct and peaks["pra"] == direct + delay)
    return {
        "n_compared": N_EARLY, "n_matched": n_matched, "max_dt_samples": max_dt, "max_dlevel_db": max_dl,
        "direct_sample_expected": direct, "pra_delay_samples": delay, "direct_peak_soundstage": peaks["soundstage"],
        "direct_peak_pra": peaks["pra"], "pass": bool(ok),
    }


def benchmark_room(index: int, *, repeats: int) -> dict[str, Any]:
    """All measurements of room ``index`` of :data:`ROOMS` (one row of the JSON output)."""
    name, dims = ROOMS[index]
    target = float(TARGETS[index])
    src, mic = np.multiply(dims, SOURCE_AT), np.multiply(dims, LISTENER_AT)
    room = Room.for_rt60(dims, target, air=None)
    alpha = float(room.absorption()[0, 0])
    _, max_order = pra.inverse_sabine(target, dims)
    t_ss, ir = best_of(lambda: synthesize_rir(room, src, mic, sr=SR), repeats=repeats)
    t_ism, ism = best_of(lambda: _pra_room(dims, alpha, src, mic, hybrid=False, max_order=max_order), repeats=repeats)
    t_hyb, hyb = best_of(lambda: _pra_room(dims, alpha, src, mic, hybrid=True, max_order=3), repeats=repeats)
    n_images = int(ism.sources[0].images.shape[1])
    return {
        "room": name, "dims": list(dims), "target_t30": target, "alpha": alpha,
        "rt60_design": room.rt60(formula="eyring").tolist(),
        "source": src.tolist(), "listener": mic.tolist(), "distance_m": float(np.linalg.norm(src - mic)),
        "soundstage": _method_row(t_ss, ir.data[0], target, length_s=ir.duration, n_images=ir.metadata["n_images"]),
        "pra_ism": _method_row(t_ism, ism.rir[0][0], target, max_order=int(max_order), n_images=n_images,
                               length_s=len(ism.rir[0][0]) / SR, note=f"full order {max_order}, {n_images} images"),
        "pra_hybrid": _method_row(t_hyb, hyb.rir[0][0], target, n_rays=int(hyb.rt_args["n_rays"]),
                                  length_s=len(hyb.rir[0][0]) / SR),
        "early_arrivals": early_arrivals(room, src, mic, ism, ir.data[0], ism.rir[0][0]),
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the T30 errors (over rooms x measures), speed-ups and the early-arrival verdict."""
    errors = {m: median(r[m]["err"][k] for r in rows for k in T30_MEASURES) for m in METHODS}
    long_rooms = [r for r in rows if r["target_t30"] >= ISM_SPEEDUP_MIN_TARGET]
    return {
        "rooms": rows,
        "median_t30_err": errors,
        "speedup_vs_pra_hybrid": median(r["pra_hybrid"]["time_s"] / r["soundstage"]["time_s"] for r in rows),
        "speedup_vs_pra_ism_t30_ge_1s": median(r["pra_ism"]["time_s"] / r["soundstage"]["time_s"] for r in long_rooms),
        "early_arrivals_match": all(r["early_arrivals"]["pass"] for r in rows),
    }


def _triple(values: dict[str, float], *, scale: float = 1.0, spec: str = ".2f") -> str:
    return "/".join(fmt(values[k], spec, scale=scale) for k in T30_MEASURES)


def _timing_table(rows: list[dict[str, Any]]) -> str:
    body = [
        [str(i + 1), r["room"], "x".join(f"{d:g}" for d in r["dims"]), f"{r['target_t30']:.3f}",
         fmt(r["soundstage"]["time_s"], ".1f", scale=1e3), fmt(r["pra_ism"]["time_s"], ".1f", scale=1e3),
         str(r["pra_ism"]["max_order"]), fmt(r["pra_hybrid"]["time_s"], ".1f", scale=1e3),
         fmt(r["pra_ism"]["time_s"] / r["soundstage"]["time_s"], ".0f"),
         fmt(r["pra_hybrid"]["time_s"] / r["soundstage"]["time_s"], ".0f")]
        for i, r in enumerate(rows)
    ]
    heads = ["#", "room", "dims (m)", "target T30 (s)", "soundstage (ms)", "pra_ism (ms)", "ISM order",
             "pra_hybrid (ms)", "ism/ss", "hybrid/ss"]
    return table(heads, body)


def _t30_table(rows: list[dict[str, Any]]) -> str:
    body = [[str(i + 1), f"{r['target_t30']:.3f}"] + [
        cell for m in METHODS for cell in (_triple(r[m]["t30"]), _triple(r[m]["err"], scale=100, spec=".1f"))]
        for i, r in enumerate(rows)]
    heads = ["#", "target (s)"] + [h for m in METHODS for h in (f"{m} T30 bb/500/1k (s)", f"{m} err (%)")]
    return table(heads, body)


def _early_table(rows: list[dict[str, Any]]) -> str:
    body = []
    for i, r in enumerate(rows):
        e = r["early_arrivals"]
        body.append([str(i + 1), f"{e['n_matched']}/{e['n_compared']}", fmt(e["max_dt_samples"], ".1e"),
                     fmt(e["max_dlevel_db"], ".1e"), str(e["direct_sample_expected"]),
                     str(e["direct_peak_soundstage"]), str(e["direct_peak_pra"]), pass_fail(e["pass"])])
    heads = ["#", "matched", "max |dt| (samples)", "max |dL| (dB)", "round(d/c*fs)", "soundstage peak",
             "pra peak (+40)", "verdict"]
    return table(heads, body)


def print_report(result: dict[str, Any], *, targets: dict[str, float]) -> None:
    """Print the three tables and the summary with PASS/FAIL against ``targets``."""
    rows = result["rooms"]
    print("Time per response (best of the timed runs)\n")
    print(_timing_table(rows))
    print("\nT30 (broadband/500 Hz/1 kHz) and relative error |T30 - target| / target\n")
    print(_t30_table(rows))
    print(f"\nFirst {N_EARLY} arrivals vs pyroomacoustics (1 kHz levels) and rendered direct-sound peaks\n")
    print(_early_table(rows))
    err, s_hyb = result["median_t30_err"], result["speedup_vs_pra_hybrid"]
    s_ism = result["speedup_vs_pra_ism_t30_ge_1s"]
    print(f"\nSummary over {len(rows)} rooms (T30 error medians over rooms x {{broadband, 500 Hz, 1 kHz}};"
          " an unmeasurable T30 counts as an infinite error)")
    for m in METHODS:
        line = f"  median T30 error {m:<11} {fmt(err[m], '.1f', scale=100):>7} %"
        if m == "soundstage":
            line += f"   target <= {targets['median_err']:.0%}: {pass_fail(err[m] <= targets['median_err'])}"
        print(line)
    print(f"  speed-up vs pra_hybrid (median ratio)            {fmt(s_hyb, '.1f'):>7} x   target >= "
          f"{targets['hybrid']:g}x: {pass_fail(s_hyb >= targets['hybrid'])}")
    print(f"  speed-up vs pra_ism, target T30 >= {targets['ism_min_target']:g} s (median)  {fmt(s_ism, '.1f'):>7} x"
          f"   target >= {targets['ism']:g}x: {pass_fail(s_ism >= targets['ism'])}")
    print(f"  early arrivals match in every room              {str(result['early_arrivals_match']):>7}"
          f"     {pass_fail(result['early_arrivals_match'])}")


def save_plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Figure: measured T30 against the target, and time per response (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = np.array([r["target_t30"] for r in rows])
    fig, (ax_t, ax_s) = plt.subplots(1, 2, figsize=(11, 4.5))
    for m, marker in zip(METHODS, "os^"):
        t30 = np.array([[r[m]["t30"][k] for k in T30_MEASURES] for r in rows])
        line, = ax_t.plot(target, t30[:, 0], marker=marker, ls="", label=f"{m} (broadband)")
        ax_t.plot(np.repeat(target, 2), t30[:, 1:].ravel(), marker=marker, ls="", alpha=0.35, ms=4,
                  color=line.get_color())
        ax_s.semilogy(target, [r[m]["time_s"] for r in rows], marker=marker, label=m)
    lim = [0, 1.1 * np.nanmax([target.max()] + [r[m]["t30"][k] for r in rows for m in METHODS
                                                  for k in T30_MEASURES if math.isfinite(r[m]["t30"][k])])]
    ax_t.plot(lim, lim, "k--", lw=1, label="target")
    ax_t.set(xlabel="target T30 (s)", ylabel="measured T30 (s)", title="T30 (faint: 500 Hz, 1 kHz)")
    ax_s.set(xlabel="target T30 (s)", ylabel="time per response (s)", title="Time per response")
    for ax in (ax_t, ax_s):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    save_figure(fig, path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    output_options(parser, PLOT_DEFAULT)
    parser.add_argument("--rooms", type=int, default=len(ROOMS), help="number of rooms, spread over the list")
    parser.add_argument("--quick", action="store_true", help="smoke test: 3 rooms (smallest, middle, largest)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per response; the best one counts")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    indices = room_indices(3 if args.quick else args.rooms)
    rows = [benchmark_room(i, repeats=args.repeats) for i in progress(indices, desc="rooms")]
    result = summarize(rows)
    if not args.no_plot:
        save_plot(rows, args.plot)
        print(f"figure written to {args.plot}", file=sys.stderr)
    if args.json:
        dump_json(result)
    else:
        print_report(result, targets={"median_err": MAX_MEDIAN_ERR, "hybrid": MIN_SPEEDUP_HYBRID,
                                      "ism": MIN_SPEEDUP_ISM, "ism_min_target": ISM_SPEEDUP_MIN_TARGET})
    return 0


if __name__ == "__main__":
    sys.exit(main())
