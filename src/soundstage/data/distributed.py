"""Run one top-level function over many argument tuples: a local process pool or Ray.

:func:`run_items` is the only entry point. Both back-ends call the *same* function with the
same arguments, so an item made on a laptop and one made on a cluster are identical:

* ``local``: a spawn-context :class:`~concurrent.futures.ProcessPoolExecutor` with
  ``workers`` processes (``workers == 1``: a plain loop in this process);
* ``ray``: one Ray task per tuple, each calling the function (a ``ray.remote`` wrapper
  around ``fn(*args)``, so builtins and other callables work too), at most
  :data:`WINDOW_PER_CPU` tasks per cluster CPU in flight.
  Without ``ray_address`` a local Ray with ``num_cpus=workers`` is started (and shut down
  afterwards); with an address (``"auto"``, ``"ray://head:10001"``, ``"10.0.0.5:6379"``)
  the tasks go to that running cluster, which then decides the parallelism. A Ray that
  was already initialized in this process is used as it is and left running.

Ray is an optional dependency (``pip install 'soundstage[ray]'``), imported only when the
``ray`` back-end is asked for. On a cluster, every node needs soundstage installed, and
functions that write files need a folder that all nodes see (a shared file system).
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Sequence

from tqdm.auto import tqdm

from soundstage.errors import DependencyError, SoundstageError

__all__ = ["BACKENDS", "run_items"]

#: Names accepted by :func:`run_items`'s ``backend``.
BACKENDS: tuple[str, ...] = ("local", "ray")

#: Ray tasks in flight per cluster CPU: enough to keep every CPU busy, few enough that an
#: error stops the run after at most this many more items (running tasks are left to finish,
#: never cancelled: cancelling a task whose reply is on its way aborts Ray 2.60's driver).
WINDOW_PER_CPU = 2


def run_items(fn: Callable[..., Any], args_list: Sequence[tuple], *, backend: str = "local", workers: int = 1,
              ray_address: str | None = None, progress: bool = True, desc: str = "items") -> list[Any]:
    """``[fn(*args) for args in args_list]``, computed in parallel.

    Parameters
    ----------
    fn : callable
        A module-level function (worker processes and Ray import it by name).
    args_list : sequence of tuple
        Positional arguments of each call; they and the results must be picklable.
    backend : {"local", "ray"}
        Where the calls run (see the module docstring).
    workers : int
        Local processes, or the CPUs of a Ray started here; ignored when ``ray_address``
        points at a running cluster.
    ray_address : str, optional
        Address of a running Ray cluster (``ray`` back-end only).
    progress : bool
        Show a tqdm bar that advances as calls finish.
    desc : str
        Label of the bar.

    Returns
    -------
    list
        The results, in the order of ``args_list``.

    Raises
    ------
    SoundstageError
        Unknown back-end, ``workers < 1``, or ``ray_address`` with the local back-end.
    DependencyError
        ``backend="ray"`` without the ``ray`` package.
    """
    if backend not in BACKENDS:
        raise SoundstageError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SoundstageError(f"workers must be an integer >= 1, got {workers!r}")
    if ray_address and backend != "ray":
        raise SoundstageError(f"ray_address={ray_address!r} needs backend='ray', got backend={backend!r}")
    calls = [tuple(a) for a in args_list]
    if backend == "ray":
        return _run_ray(fn, calls, workers, ray_address, progress, desc)
    return _run_local(fn, calls, workers, progress, desc)


def _run_local(fn: Callable[..., Any], calls: list[tuple], workers: int, progress: bool, desc: str) -> list[Any]:
    if workers == 1 or len(calls) <= 1:
        return [fn(*a) for a in tqdm(calls, desc=desc, disable=not progress)]
    results: list[Any] = [None] * len(calls)
    pool = ProcessPoolExecutor(max_workers=min(workers, len(calls)), mp_context=mp.get_context("spawn"))
    try:
        index = {pool.submit(fn, *a): k for k, a in enumerate(calls)}
        pending = set(index)
        with tqdm(total=len(calls), desc=desc, disable=not progress) as bar:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    results[index[f]] = f.result()
                bar.update(len(done))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def _apply(fn: Callable[..., Any], args: tuple) -> Any:
    """``fn(*args)``; the Ray task, so that any picklable callable (builtins too) can be mapped."""
    return fn(*args)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise DependencyError("backend 'ray' needs the Ray package, which is not installed; "
                              "install it with: pip install 'soundstage[ray]'") from exc
    return ray


def _run_ray(fn: Callable[..., Any], calls: list[tuple], workers: int, ray_address: str | None,
             progress: bool, desc: str) -> list[Any]:
    ray = _import_ray()
    started = False
    if not ray.is_initialized():
        options = {"ignore_reinit_error": True, "include_dashboard": False, "log_to_driver": False}
        if ray_address or os.environ.get("RAY_ADDRESS"):
            ray.init(address=ray_address or None, **options)  # a running cluster sets its own CPUs
        else:
            ray.init(num_cpus=workers, **options)
        started = True
    try:
        task = ray.remote(_apply)
        window = max(1, WINDOW_PER_CPU * int(ray.cluster_resources().get("CPU", workers)))
        todo = iter(enumerate(calls))
        in_flight = {task.remote(fn, a): k for k, a in itertools.islice(todo, window)}
        results: list[Any] = [None] * len(calls)
        with tqdm(total=len(calls), desc=desc, disable=not progress) as bar:
            while in_flight:
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in ready:
                    results[in_flight.pop(ref)] = ray.get(ref)
                    bar.update(1)
                    for k, a in itertools.islice(todo, 1):
                        in_flight[task.remote(fn, a)] = k
        return results
    finally:
        if started:
            ray.shutdown()
