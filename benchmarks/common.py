"""Helpers shared by the benchmark scripts: timing, T30 measures, tables and JSON output.

The scripts import this module as ``common`` (Python puts the script's own folder on
``sys.path``), so run them as ``python benchmarks/<name>.py`` from the repository root.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TypeVar

import numpy as np
from tqdm.auto import tqdm

from soundstage.acoustics.analysis import analyze

T = TypeVar("T")

#: The T30 measures compared in every benchmark: broadband and two octave bands (Hz).
T30_MEASURES: tuple[str, ...] = ("broadband", "500", "1000")


def best_of(fn: Callable[[], T], *, repeats: int = 3) -> tuple[float, T]:
    """Run ``fn`` ``repeats`` times; return the fastest wall-clock time (s) and the last result.

    Time is taken with :func:`time.perf_counter` around each call.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result  # type: ignore[return-value]


def t30_measures(h: np.ndarray, sr: int) -> dict[str, float]:
    """T30 (s) of a mono response, broadband and in the 500 Hz and 1 kHz octave bands.

    Parameters
    ----------
    h : array, shape ``(samples,)`` or ``(1, samples)``
        Impulse response.
    sr : int
        Sample rate in Hz.

    Returns
    -------
    dict
        Keys of :data:`T30_MEASURES`; NaN where soundstage's ``analyze`` cannot measure it.
    """
    profile = analyze(np.asarray(h, dtype=np.float64), sr)
    return {
        "broadband": float(profile.broadband["t30"]),
        "500": float(profile.bands[500]["t30"]),
        "1000": float(profile.bands[1000]["t30"]),
    }


def relative_errors(t30: dict[str, float], target: float) -> dict[str, float]:
    """``|T30 - target| / target`` per measure; an unmeasurable T30 (NaN) counts as ``inf``."""
    return {key: abs(v - target) / target if math.isfinite(v) else math.inf for key, v in t30.items()}


def median(values: Iterable[float]) -> float:
    """Median of the values (``inf`` entries included); NaN for an empty sequence."""
    arr = np.asarray(list(values), dtype=float)
    return float(np.median(arr)) if arr.size else math.nan


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars/arrays made plain and non-finite floats made ``None``."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def dump_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout (NaN and inf as ``null``)."""
    json.dump(jsonable(obj), sys.stdout, indent=2)
    sys.stdout.write("\n")


def progress(items: Sequence[T], *, desc: str) -> Iterable[T]:
    """A tqdm progress bar over ``items`` written to stderr."""
    return tqdm(items, desc=desc, file=sys.stderr, leave=False)


def fmt(value: float | None, spec: str = ".3f", *, scale: float = 1.0) -> str:
    """``value * scale`` formatted with ``spec``; ``-`` for None or non-finite values."""
    if value is None or not math.isfinite(value):
        return "-"
    return format(value * scale, spec)


def pass_fail(ok: bool) -> str:
    """``PASS`` or ``FAIL``."""
    return "PASS" if ok else "FAIL"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table in Markdown pipe syntax, columns padded to equal width."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).rjust(w) for c, w in zip(cells, widths)) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def save_figure(fig: Any, path: Path) -> None:
    """Lay out, write (creating the folder) and close a matplotlib figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def output_options(parser: argparse.ArgumentParser, default_plot: Path | None = None) -> None:
    """The options every benchmark shares: ``--json``, and ``--plot``/``--no-plot`` when it draws a figure."""
    parser.add_argument("--json", action="store_true", help="print only JSON on stdout (messages on stderr)")
    if default_plot is not None:
        parser.add_argument("--plot", type=Path, default=default_plot,
                            help=f"PNG figure path (default: benchmarks/{default_plot.name})")
        parser.add_argument("--no-plot", action="store_true", help="do not write the figure")


def report(result: Any, as_json: bool, print_report: Callable[[Any], None]) -> int:
    """Print ``result`` as JSON or as the script's report; the exit code 0."""
    if as_json:
        dump_json(result)
    else:
        print_report(result)
    return 0


def repeats_main(doc: str, run: Callable[[int], Any], print_report: Callable[[Any], None],
                 argv: list[str] | None = None) -> int:
    """The command line of a timing benchmark with only ``--repeats`` and ``--json``: run it and report."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    output_options(parser)
    args = parser.parse_args(argv)
    return report(run(args.repeats), args.json, print_report)
