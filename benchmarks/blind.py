"""Blind T60 from reverberant speech against the measured T30 of real rooms.

Material, all real and from ``../shared/data/``:

* every measured response in ``rirs/`` (the files ``benchmarks/real_rirs.py`` reads; the
  first channel of stereo files), resampled to 16 kHz, convolved with three recordings
  of clean read speech built from the files in ``speech/`` (each a run of consecutive
  files, peak-normalized, 0.3 s apart);
* ``rirs/geneticreverb_wet_speech_arthur_s1r4_ch1.wav``: a speech clip convolved with
  the Arthur Sykes Rymer auditorium response by its publisher, scored against that
  response;
* ``reverberant_speech/AMI_WSJ20-Array1-1_T10c0201.wav``: a real meeting-room
  recording, for which no response exists (its estimate is printed, not scored).

The truth of a band is ``analyze(h).bands[fc]["t30"]``; ``broadband`` compares the
estimator's broadband value (median of its 500 Hz-2 kHz bands) with the median of the
response's T30 in the same bands. Reported per measure: bias (mean of estimate - truth, s),
RMSE and MSE (s, s^2), Pearson correlation and the median relative error, with the
peer measured in the same run: the leave-one-room-out mean of the true T30s (what one
knows without listening); the ratio is soundstage's RMSE over the peer's. Anchors from
the ACE challenge (Eaton et al. 2016, on ACE data, not this data): CNN MSE 0.0384,
CRNN MSE 0.0206 s^2, bias -0.049 s, correlation 0.917. The DRR prior of the blind
broadband T60 (:func:`soundstage.acoustics.blind.blind_drr`) is scored against each
response's measured DRR, with the leave-one-room-out mean DRR as its peer. The real-time factor of
``blind_profile`` on 10 s of speech is timed too.

    .venv/bin/python benchmarks/blind.py [--json] [--plot PATH | --no-plot]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import fftconvolve

from common import best_of, fmt, output_options, progress, report, save_figure, table
from real_rirs import find_rirs
from soundstage.acoustics.analysis import analyze
from soundstage.acoustics.blind import BROADBAND_BANDS, blind_drr, blind_profile, blind_t60
from soundstage.dsp.resample import resample
from soundstage.io.audio import read_audio
from soundstage.pipelines.eval_stylize import speech_talks

SR = 16000
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
MEASURES: tuple[str, ...] = ("broadband", "500", "1000", "2000")


def _mono16k(path: Path) -> np.ndarray:
    x, sr = read_audio(path)
    x = np.asarray(x, dtype=np.float64)
    x = x[0] if x.ndim == 2 else x
    return resample(x, sr_in=sr, sr_out=SR) if sr != SR else x


def speech_recordings(folder: Path) -> list[np.ndarray]:
    """Clean speech recordings: the talks of ``soundstage eval stylize`` (consecutive files, peak-normalized, 0.3 s apart)."""
    return speech_talks(sorted(p for p in folder.iterdir() if p.suffix in (".wav", ".ogg", ".flac")))


def truth(h: np.ndarray) -> dict[str, float]:
    """Measured T30 (s) of a response in the benchmark's measures."""
    bands = analyze(h, SR).bands
    out = {str(fc): float(bands[fc]["t30"]) for fc in (500, 1000, 2000)}
    return {"broadband": float(np.median([out[str(fc)] for fc in BROADBAND_BANDS]))} | out


def scores(est: np.ndarray, true: np.ndarray) -> dict[str, float]:
    ok = np.isfinite(est) & np.isfinite(true)
    e, t = est[ok], true[ok]
    err = e - t
    return {"n": int(ok.sum()), "bias_s": float(err.mean()), "rmse_s": float(np.sqrt((err**2).mean())),
            "mse_s2": float((err**2).mean()), "pearson": float(np.corrcoef(e, t)[0, 1]) if ok.sum() > 2 else math.nan,
            "median_rel_err": float(np.median(np.abs(err) / t))}


def run() -> dict[str, Any]:
    rooms = [(p, _mono16k(p)) for p in find_rirs(DATA / "rirs")]
    speech = speech_recordings(DATA / "speech")
    trials = []
    for path, h in progress(rooms, desc="rooms"):
        true = truth(h)
        for k, dry in enumerate(speech):
            est = blind_t60(fftconvolve(dry, h)[: dry.size], SR)
            trials.append({"room": path.stem, "speech": k, "true": true, "blind": {m: est[m] for m in MEASURES}})
    result: dict[str, Any] = {"rooms": len(rooms), "recordings": len(speech), "trials": trials, "measures": {}}
    names = np.array([t["room"] for t in trials])
    for m in MEASURES:
        est = np.array([t["blind"][m] for t in trials])
        true = np.array([t["true"][m] for t in trials])
        peer = np.array([np.mean([tt["true"][m] for tt in trials if tt["room"] != name]) for name in names])
        ours, base = scores(est, true), scores(peer, true)
        result["measures"][m] = {"soundstage": ours, "room_mean": base, "rmse_ratio": ours["rmse_s"] / base["rmse_s"]}
    # DRR: the prior of the blind broadband T60 against each response's measured DRR
    drr_true = {path.stem: float(analyze(h, SR).broadband["drr_db"]) for path, h in rooms}
    true = np.array([drr_true[t["room"]] for t in trials])
    est = np.array([blind_drr(t["blind"]["broadband"]) for t in trials])
    peer = np.array([np.mean([v for name, v in drr_true.items() if name != t["room"]]) for t in trials])
    ok = np.isfinite(est)
    result["drr"] = {"n": int(ok.sum()), "mae_db": float(np.mean(np.abs(est - true)[ok])),
                     "bias_db": float(np.mean((est - true)[ok])), "pearson": float(np.corrcoef(est[ok], true[ok])[0, 1]),
                     "peer_mae_db": float(np.mean(np.abs(peer - true)))}
    wet = _mono16k(DATA / "rirs" / "geneticreverb_wet_speech_arthur_s1r4_ch1.wav")
    arthur = truth(_mono16k(DATA / "rirs" / "ir_arthur_s1r4_ch1.wav"))
    result["geneticreverb_wet_speech"] = {"true": arthur, "blind": {m: blind_t60(wet, SR)[m] for m in MEASURES}}
    ami = _mono16k(DATA / "reverberant_speech" / "AMI_WSJ20-Array1-1_T10c0201.wav")
    result["ami"] = blind_profile(ami, SR)
    ten = np.tile(speech[0], int(np.ceil(10 * SR / speech[0].size)))[: 10 * SR]
    seconds, _ = best_of(lambda: blind_profile(fftconvolve(ten, rooms[0][1])[: ten.size], SR), repeats=2)
    result["rtf_10s"] = seconds / 10.0
    return result


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(MEASURES), figsize=(4 * len(MEASURES), 4))
    for ax, m in zip(axes, MEASURES):
        true = np.array([t["true"][m] for t in result["trials"]])
        est = np.array([t["blind"][m] for t in result["trials"]])
        ax.loglog(true, est, "o", alpha=0.6)
        lim = (0.1, 6.0)
        ax.plot(lim, lim, "k--", lw=0.8)
        s = result["measures"][m]["soundstage"]
        ticks = [0.2, 0.5, 1, 2, 4]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set(xlim=lim, ylim=lim, xlabel="measured T30 (s)", ylabel="blind T60 (s)",
               title=f"{m}{' Hz' if m != 'broadband' else ''}: r {s['pearson']:.2f}, median err {s['median_rel_err']:.0%}")
    fig.suptitle("blind T60 of speech in measured rooms (shared speech * shared responses)")
    save_figure(fig, path)


def print_report(result: dict[str, Any]) -> None:
    print(f"{result['rooms']} measured rooms x {result['recordings']} speech recordings")
    rows = []
    for m, r in result["measures"].items():
        s, b = r["soundstage"], r["room_mean"]
        rows.append([m, str(s["n"]), fmt(s["bias_s"], "+.3f"), fmt(s["rmse_s"]), fmt(s["mse_s2"], ".4f"),
                     fmt(s["pearson"], ".2f"), fmt(s["median_rel_err"], ".0%"), fmt(b["rmse_s"]), fmt(r["rmse_ratio"], ".2f")])
    print(table(["measure", "n", "bias s", "RMSE s", "MSE s2", "r", "median err", "peer RMSE", "ratio"], rows))
    g = result["geneticreverb_wet_speech"]
    print("GeneticReverb wet speech (Arthur auditorium): " + ", ".join(f"{m} {g['blind'][m]:.2f}/{g['true'][m]:.2f} s" for m in MEASURES))
    a = result["ami"]
    print(f"AMI meeting room (no response): blind T60 broadband {a['broadband']['t30']} s; "
          + ", ".join(f"{fc} Hz {b['t30']}" for fc, b in a["bands"].items()))
    d = result["drr"]
    print(f"DRR prior from the blind T60 against the measured DRR ({d['n']} trials): mean absolute error "
          f"{d['mae_db']:.1f} dB, bias {d['bias_db']:+.1f} dB, r {d['pearson']:.2f}; peer (leave-one-room-out mean "
          f"DRR) {d['peer_mae_db']:.1f} dB")
    print(f"real-time factor of blind_profile on 10 s: {result['rtf_10s']:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    output_options(parser, Path(__file__).with_name("blind.png"))
    args = parser.parse_args(argv)
    if not (DATA / "rirs").is_dir() or not (DATA / "speech").is_dir():
        print(f"shared data not found under {DATA}", file=sys.stderr)
        return 2
    result = run()
    if not args.no_plot:
        plot(result, args.plot)
    return report(result, args.json, print_report)


if __name__ == "__main__":
    raise SystemExit(main())
