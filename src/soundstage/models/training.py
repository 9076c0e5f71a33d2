"""The training loop the recipes share: steps under a time budget, validation, best weights.

:func:`train_loop` runs ``steps`` optimizer steps (or fewer, when ``minutes`` run out):
each takes the next ``(loss, logs)`` from ``batches`` (an iterator that builds a batch and
computes its loss), back-propagates, clips the gradient norm, steps the optimizer and the
schedule, and shows progress with tqdm. Every ``val_every`` steps and at the last one it
calls ``validate()``, appends a history entry, and calls ``on_best`` whenever the
validation score improves (lower is better), which is where a recipe writes its checkpoint.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterator

import torch
from tqdm import tqdm

__all__ = ["train_loop"]


def train_loop(
    model: torch.nn.Module,
    optim: torch.optim.Optimizer,
    sched: Any,
    batches: Iterator[tuple[torch.Tensor, dict[str, float]]],
    *,
    steps: int,
    minutes: float,
    val_every: int,
    validate: Callable[[], tuple[float, dict[str, float]]],
    on_best: Callable[[int, float, list[dict[str, Any]], float], None],
    desc: str = "train",
    clip: float = 1.0,
) -> float:
    """Train ``model`` and return the best validation score.

    Parameters
    ----------
    model, optim, sched : the network, its optimizer and its learning-rate schedule
        (``sched.step()`` once per optimizer step).
    batches : iterator of ``(loss, logs)``: the scalar training loss of the next batch and the
        numbers to show and record for it (e.g. ``{"train_loss": 0.12}``).
    steps, minutes : stop after this many steps or this much wall time, whichever is first.
    val_every : validate every this many steps (and after the last step).
    validate : ``() -> (score, logs)``: the validation score (lower is better) and the
        numbers to record with it.
    on_best : ``(step, minutes_elapsed, history, score)``, called each time the score improves.
    desc : label of the progress bar.
    clip : largest gradient norm.
    """
    best, history, step, start = float("inf"), [], 0, time.perf_counter()
    bar = tqdm(total=steps, desc=desc, unit="step")
    while step < steps and time.perf_counter() - start < 60 * minutes:
        loss, logs = next(batches)
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optim.step()
        sched.step()
        step += 1
        bar.update(1)
        bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items()})
        elapsed = time.perf_counter() - start
        if step % val_every == 0 or step >= steps or elapsed >= 60 * minutes:
            score, val_logs = validate()
            history.append({"step": step, "minutes": round(elapsed / 60, 2),
                            **{k: round(float(v), 4) for k, v in {**logs, **val_logs}.items()}})
            tqdm.write(json.dumps(history[-1]))
            if score < best:
                best = score
                on_best(step, elapsed / 60, history, score)
    bar.close()
    return best
