"""T30 of measured room impulse responses: soundstage's ``analyze`` against pyroomacoustics.

Every WAV in ``../shared/data/rirs/`` (relative to the repository root) whose name
starts with ``ir_``, ``h0``, ``h2``, ``pymixconsole_`` or ``seminar_room_clap`` is read
and each channel is measured twice:

* ``soundstage``: ``soundstage.acoustics.analysis.analyze(h, sr).broadband["t30"]``
  (ISO 3382-1 onset, Lundeby truncation and compensation, -5 to -35 dB fit);
* ``pra``: ``pyroomacoustics.experimental.measure_rt60(h, sr, decay_db=30)`` (Schroeder
  integral of the whole file, -5 to -35 dB fit, no noise handling).

The relative difference is ``|soundstage - pra| / pra``. As a diagnostic, ``pra_cut``
repeats pyroomacoustics' measure on the response from soundstage's onset to its
Lundeby truncation point, which removes the noise floor that the plain measure
integrates. Run ``python benchmarks/real_rirs.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
from pyroomacoustics.experimental import measure_rt60

from common import fmt, median, output_options, pass_fail, progress, report, table
from soundstage.acoustics.analysis import analyze, lundeby, onset_index

#: File-name prefixes of the impulse responses (the dry and wet speech files are skipped).
PREFIXES: tuple[str, ...] = ("ir_", "h0", "h2", "pymixconsole_", "seminar_room_clap")
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "rirs"
#: Largest relative difference counted as agreement.
MAX_REL_DIFF = 0.10


def find_rirs(folder: Path) -> list[Path]:
    """Impulse-response WAV files in ``folder`` whose names start with one of :data:`PREFIXES`."""
    return sorted(p for p in folder.glob("*.wav") if p.name.startswith(PREFIXES))


def read_rir(path: Path) -> tuple[np.ndarray, int]:
    """A WAV file as float32 ``(channels, samples)`` and its sample rate (Hz)."""
    try:
        from soundstage.io import read_audio
    except ImportError:
        import soundfile

        data, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
        return np.ascontiguousarray(data.T), int(sr)
    signal, sr = read_audio(path)
    return signal, int(sr)


def _pra_t30(h: np.ndarray, sr: int) -> float:
    value = float(measure_rt60(h, sr, decay_db=30))
    return value if value > 0 and math.isfinite(value) else math.nan


def measure_channel(h: np.ndarray, sr: int) -> dict[str, Any]:
    """Both T30 estimates (s) of one channel, the relative difference and the diagnostic ``pra_cut``."""
    h = np.asarray(h, dtype=np.float64)
    ours = float(analyze(h, sr).broadband["t30"])
    theirs = _pra_t30(h, sr)
    onset = onset_index(h)
    cut = lundeby(h[onset:], sr).truncation
    diff = abs(ours - theirs) / theirs if math.isfinite(ours) and math.isfinite(theirs) else math.inf
    return {
        "soundstage_t30": ours,
        "pra_t30": theirs,
        "rel_diff": diff,
        "within_tolerance": diff <= MAX_REL_DIFF,
        "pra_cut_t30": _pra_t30(h[onset : onset + cut], sr),
        "onset_s": onset / sr,
        "truncation_s": cut / sr,
    }


def benchmark(files: list[Path]) -> dict[str, Any]:
    """Rows for every channel of every file, plus the summary (JSON layout)."""
    rows = []
    for path in progress(files, desc="files"):
        signal, sr = read_rir(path)
        for ch in range(signal.shape[0]):
            row = {"file": path.name, "channel": ch, "sr": sr, "duration_s": signal.shape[1] / sr}
            rows.append({**row, **measure_channel(signal[ch], sr)})
    n_ok = sum(r["within_tolerance"] for r in rows)
    return {
        "rows": rows,
        "median_rel_diff": median(r["rel_diff"] for r in rows),
        "n_channels": len(rows),
        "n_within_tolerance": n_ok,
        "tolerance": MAX_REL_DIFF,
        "all_within_tolerance": n_ok == len(rows),
    }


def print_report(result: dict[str, Any]) -> None:
    """Print the per-channel table and the summary with PASS/FAIL."""
    heads = ["file", "ch", "sr (Hz)", "length (s)", "soundstage T30 (s)", "pra T30 (s)", "rel. diff (%)",
             f"<= {MAX_REL_DIFF:.0%}", "pra_cut T30 (s)", "Lundeby cut (s)"]
    body = [
        [r["file"], str(r["channel"]), str(r["sr"]), fmt(r["duration_s"], ".2f"), fmt(r["soundstage_t30"]),
         fmt(r["pra_t30"]), fmt(r["rel_diff"], ".1f", scale=100), pass_fail(r["within_tolerance"]),
         fmt(r["pra_cut_t30"]), fmt(r["truncation_s"], ".2f")]
        for r in result["rows"]
    ]
    print(table(heads, body))
    print(f"\nmedian relative difference over {result['n_channels']} channels: "
          f"{fmt(result['median_rel_diff'], '.1f', scale=100)} %")
    print(f"channels within {MAX_REL_DIFF:.0%}: {result['n_within_tolerance']}/{result['n_channels']}   "
          f"{pass_fail(result['all_within_tolerance'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    output_options(parser)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="folder of the WAV files")
    args = parser.parse_args(argv)
    files = find_rirs(args.data_dir) if args.data_dir.is_dir() else []
    if not files:
        print(f"no impulse responses ({', '.join(PREFIXES)}*.wav) found in {args.data_dir}", file=sys.stderr)
        return 2
    result = benchmark(files)
    return report(result, args.json, print_report)


if __name__ == "__main__":
    sys.exit(main())
