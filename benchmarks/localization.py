"""Localization: direction of arrival of rendered noise bursts, estimated by HRTF matching.

A seeded 0.5 s burst is rendered at 48 kHz from 36 azimuths (every 10 degrees,
elevation 0) by convolution with a head's impulse responses
(``hrtf.impulse_responses``), and ``soundstage.metrics.spatial.estimate_direction``
estimates its azimuth and elevation from the two ear signals, with the MIT KEMAR set
as templates. Cases (renderer -> templates, source):

* ``kemar/white``: KEMAR -> KEMAR, white noise: the target case;
* ``kemar/held-out``: KEMAR -> KEMAR without the 36 rendered directions, white noise:
  every answer must come from neighbouring measurements (5 to 10 degrees away) and
  the interpolated refinement between them (``kemar/held-out/coarse``: the same
  without refinement, i.e. the nearest measured direction);
* ``kemar/pink+noise``: KEMAR -> KEMAR, pink noise with a random extra tilt of +-3
  dB/octave (unknown source spectrum) plus independent white noise 30 dB below the
  signal in each ear;
* ``sphere/white``: spherical head (Brown & Duda 1998) -> KEMAR, white noise: a head
  other than the templates, with no pinna, so front and back can only be guessed.

A **front-back confusion** is an estimate closer to the front-back mirror of the true
azimuth (``180 - az``) than to the truth; azimuths +-90 (on the interaural axis, their
own mirror) are never counted. The **azimuth error** ``|est - true|`` (wrapped to 180)
is taken over the estimates that are not confusions. Run ``python
benchmarks/localization.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from common import best_of, fmt, median, output_options, pass_fail, report, save_figure, table

from soundstage.dsp import fft_convolve
from soundstage.geometry import azel_to_vector
from soundstage.metrics.spatial import estimate_direction
from soundstage.spatial.hrtf import HRTF, load_sofa, spherical_head_hrtf

SR = 48000
BURST_S = 0.5
SEED = 20240603
KEMAR = Path("/usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa")
#: True azimuths (degrees), every 10 degrees, elevation 0.
AZIMUTHS = np.arange(-170.0, 181.0, 10.0)
#: (case, renderer, templates, source, refine).
CASES: tuple[tuple[str, str, str, str, bool], ...] = (
    ("kemar/white", "kemar", "kemar", "white", True),
    ("kemar/held-out", "kemar", "kemar-held-out", "white", True),
    ("kemar/held-out/coarse", "kemar", "kemar-held-out", "white", False),
    ("kemar/pink+noise", "kemar", "kemar", "pink+noise", True),
    ("sphere/white", "sphere", "kemar", "white", True),
)

#: Where the figure goes unless ``--plot`` says otherwise.
PLOT_DEFAULT = Path(__file__).with_name("localization.png")
#: Pass marks of the target case ``kemar/white``.
MAX_MEDIAN_ERR_DEG = 5.0
MAX_CONFUSION_RATE = 0.10
SENSOR_SNR_DB = 30.0


def wrap(deg: np.ndarray) -> np.ndarray:
    """Angles wrapped to (-180, 180] degrees."""
    out = np.mod(np.asarray(deg, dtype=float) + 180.0, 360.0) - 180.0
    return np.where(out == -180.0, 180.0, out)


def burst(kind: str, rng: np.random.Generator) -> np.ndarray:
    """A ``BURST_S`` noise burst: ``"white"``, or pink with a random extra tilt of +-3 dB/octave."""
    n = int(BURST_S * SR)
    if kind == "white":
        return rng.standard_normal(n)
    freqs = np.fft.rfftfreq(n, 1.0 / SR)
    slope = -3.0 + rng.uniform(-3.0, 3.0)  # dB per octave
    gain = 10.0 ** (slope / 20.0 * np.log2(np.maximum(freqs, 20.0) / 1000.0))
    spec = np.fft.rfft(rng.standard_normal(n)) * gain
    return np.fft.irfft(spec, n)


def render(hrtf: Any, azimuth: float, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Binaural ``(2, samples)`` signal of a burst from ``azimuth`` (elevation 0)."""
    hrir = hrtf.impulse_responses(azel_to_vector(azimuth, 0.0)[None])[0]
    ears = np.asarray(fft_convolve(burst(kind, rng), hrir), dtype=np.float64)
    if kind.endswith("+noise"):
        level = np.sqrt(np.mean(ears**2))
        ears = ears + level * 10.0 ** (-SENSOR_SNR_DB / 20.0) * rng.standard_normal(ears.shape)
    return ears


def held_out(hrtf: HRTF) -> HRTF:
    """``hrtf`` without its directions at elevation 0 and the azimuths of :data:`AZIMUTHS`."""
    on_plane = np.abs(hrtf.elevations) < 1e-6
    tested = np.isclose(np.abs(wrap(hrtf.azimuths[:, None] - AZIMUTHS[None])), 0.0, atol=1e-6).any(axis=1)
    keep = ~(on_plane & tested)
    return HRTF(hrtf.directions[keep], hrtf.filters[keep], hrtf.onsets[keep], hrtf.sr,
                f"{hrtf.name} (held out: {int((~keep).sum())} directions)", hrtf.latency)


def score(true_az: np.ndarray, est_az: np.ndarray, est_el: np.ndarray) -> dict[str, Any]:
    """Confusions, azimuth errors (confusions excluded) and elevation errors of one case."""
    mirror = wrap(180.0 - true_az)
    err = np.abs(wrap(est_az - true_az))
    eligible = np.abs(np.abs(true_az) - 90.0) > 1e-9
    confused = eligible & (np.abs(wrap(est_az - mirror)) < err)
    kept = err[~confused]
    return {
        "median_az_err_deg": median(kept), "mean_az_err_deg": float(kept.mean()) if kept.size else float("nan"),
        "max_az_err_deg": float(kept.max()) if kept.size else float("nan"),
        "n_confusions": int(confused.sum()), "n_eligible": int(eligible.sum()),
        "confusion_rate": float(confused.sum() / eligible.sum()),
        "median_el_err_deg": median(np.abs(est_el)), "confused": confused.tolist(),
    }


def run_case(renderer: Any, templates: Any, kind: str, seed: int, *, refine: bool = True) -> dict[str, Any]:
    """Estimates for every azimuth of :data:`AZIMUTHS` and their score.

    The first call on a template set also computes and caches its cues; that call is
    timed separately (``first_call_s``), the others give ``time_per_estimate_s``.
    """
    rng = np.random.default_rng(seed)
    signals = [render(renderer, az, kind, rng) for az in AZIMUTHS]
    first, _ = best_of(lambda: estimate_direction(signals[0], SR, hrtf=templates, refine=refine), repeats=1)
    est, seconds = [], []
    for x in signals:
        t, (az, el) = best_of(lambda: estimate_direction(x, SR, hrtf=templates, refine=refine), repeats=1)
        est.append((az, el))
        seconds.append(t)
    est_az, est_el = (np.array(v) for v in zip(*est))
    return {"true_az": AZIMUTHS.tolist(), "est_az": est_az.tolist(), "est_el": est_el.tolist(),
            "first_call_s": first, "time_per_estimate_s": median(seconds), **score(AZIMUTHS, est_az, est_el)}


def print_report(result: dict[str, Any]) -> None:
    """Per-azimuth estimates of every case, then the summary with PASS/FAIL for the target case."""
    cases = result["cases"]
    names = list(cases)
    rows = []
    for i, az in enumerate(AZIMUTHS):
        cells = [f"{az:g}"]
        for name in names:
            c = cases[name]
            mark = " FB" if c["confused"][i] else ""
            cells.append(f"{round(c['est_az'][i]):d} / {round(c['est_el'][i]):d}{mark}")
        rows.append(cells)
    print(f"Estimated azimuth / elevation (deg) of {BURST_S:g} s bursts at elevation 0, {SR} Hz; "
          "FB = front-back confusion\n")
    print(table(["true az"] + names, rows))
    heads = ["case", "median az err (deg)", "mean", "max", "front-back confusions", "median |el err| (deg)",
             "ms / estimate", "first call (s)"]
    body = [[n, fmt(c["median_az_err_deg"], ".1f"), fmt(c["mean_az_err_deg"], ".1f"), fmt(c["max_az_err_deg"], ".1f"),
             f"{c['n_confusions']}/{c['n_eligible']} ({100 * c['confusion_rate']:.0f} %)",
             fmt(c["median_el_err_deg"], ".1f"), fmt(c["time_per_estimate_s"], ".1f", scale=1e3),
             fmt(c["first_call_s"], ".2f")]
            for n, c in cases.items()]
    print("\nSummary: azimuth errors exclude front-back confusions; +-90 deg never counts as a confusion; "
          "the first call on a template set also builds its cached cues\n")
    print(table(heads, body))
    target = cases["kemar/white"]
    ok_err = target["median_az_err_deg"] <= MAX_MEDIAN_ERR_DEG
    ok_fb = target["confusion_rate"] <= MAX_CONFUSION_RATE
    print(f"\n  kemar/white median azimuth error {fmt(target['median_az_err_deg'], '.1f')} deg   "
          f"target <= {MAX_MEDIAN_ERR_DEG:g} deg: {pass_fail(ok_err)}")
    print(f"  kemar/white front-back confusions {100 * target['confusion_rate']:.0f} %   "
          f"target <= {100 * MAX_CONFUSION_RATE:.0f} %: {pass_fail(ok_fb)}")


def save_plot(result: dict[str, Any], path: Path) -> None:
    """Figure: estimated against true azimuth for every case, confusions marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = result["cases"]
    cols = (len(cases) + 1) // 2
    fig, axes = plt.subplots(2, cols, figsize=(4.4 * cols, 8.8), squeeze=False)
    line = np.array([-180.0, 180.0])
    for ax, (name, c) in zip(axes.ravel(), cases.items()):
        true, est, fb = np.array(c["true_az"]), np.array(c["est_az"]), np.array(c["confused"])
        ax.plot(line, line, "k--", lw=1, label="truth")
        ax.plot([-180, 0, np.nan, 0, 180], [0, -180, np.nan, 180, 0], ":", color="grey", lw=1,
                label="front-back mirror")
        ax.scatter(true[~fb], est[~fb], s=22, label="estimate")
        ax.scatter(true[fb], est[fb], s=30, marker="x", color="C3", label="front-back confusion")
        title = f"{name}: median {fmt(c['median_az_err_deg'], '.1f')} deg, FB {c['n_confusions']}/{c['n_eligible']}"
        ax.set_title(title, fontsize=10)
        ax.set(xlabel="true azimuth (deg)", ylabel="estimated azimuth (deg)", xlim=(-185, 185),
               ylim=(-185, 185))
        ax.set_xticks(np.arange(-180, 181, 60))
        ax.set_yticks(np.arange(-180, 181, 60))
        ax.grid(True, alpha=0.3)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    for ax in axes.ravel()[len(cases):]:
        ax.axis("off")
    save_figure(fig, path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    output_options(parser, PLOT_DEFAULT)
    parser.add_argument("--sofa", type=Path, default=KEMAR, help="measured HRTF set that renders and serves as templates (default: MIT KEMAR)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the noise bursts")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.sofa.is_file():
        print(f"HRTF file {args.sofa} not found; install libmysofa's data or pass --sofa", file=sys.stderr)
        return 2
    kemar = load_sofa(args.sofa).resampled(SR)
    heads = {"kemar": kemar, "kemar-held-out": held_out(kemar), "sphere": spherical_head_hrtf(SR)}
    cases = {name: run_case(heads[head], heads[templates], kind, args.seed + i, refine=refine)
             for i, (name, head, templates, kind, refine) in enumerate(CASES)}
    result = {"sr": SR, "burst_s": BURST_S, "seed": args.seed, "templates": str(args.sofa), "cases": cases}
    if not args.no_plot:
        save_plot(result, args.plot)
        print(f"figure written to {args.plot}", file=sys.stderr)
    return report(result, args.json, print_report)


if __name__ == "__main__":
    sys.exit(main())
