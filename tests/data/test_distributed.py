"""Back-ends of RoomSynth generation: a local process pool and Ray give the same bytes,
resume the same way, and refuse bad settings clearly. Tiny 48x48 items with short
responses; one local Ray (2 CPUs) is shared by the module. Which Ray run_items starts
and stops is checked against a recording stand-in for the ray module."""

from __future__ import annotations

import os
import sys

import pytest

from soundstage.cli import main
from soundstage.data.distributed import BACKENDS, WINDOW_PER_CPU, run_items
from soundstage.data.roomsynth import generate, item_path, read_manifest
from soundstage.errors import DependencyError, SoundstageError

TINY = {"width": 48, "height": 48, "sr": 16000, "max_rir_s": 2.0, "progress": False}


def _folder_bytes(out) -> dict[str, bytes]:
    files = sorted((out / "items").glob("*.npz")) + [out / "manifest.jsonl", out / "dataset.json"]
    return {p.name: p.read_bytes() for p in files}


def _stats(paths) -> list[tuple[int, int]]:
    return [(p.stat().st_ino, p.stat().st_mtime_ns) for p in paths]


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


def test_ray_resumes_a_local_run(local_ray, tmp_path):
    out = tmp_path / "ds"
    generate(out, 2, "test-unseen", 5, **TINY)
    first = [item_path(out, "test-unseen", i) for i in range(2)]
    before = _stats(first)
    stale = out / "items" / ".test-unseen-000002.npz.1a2b.tmp.npz"
    stale.write_bytes(b"half an item")

    rows = generate(out, 4, "test-unseen", 5, 2, backend="ray", **TINY)

    assert _stats(first) == before  # made earlier, not remade
    assert not stale.exists()
    assert [(r["split"], r["index"]) for r in rows] == [("test-unseen", i) for i in range(4)]
    assert read_manifest(out) == rows
    ref = tmp_path / "ref"
    generate(ref, 4, "test-unseen", 5, **TINY)
    assert _folder_bytes(out) == _folder_bytes(ref)


class _Done:
    def __init__(self, value):
        self.value = value


class _RecordingRay:
    """Just enough of Ray's API, run in this process, to see which Ray run_items starts and
    stops and how many tasks it keeps in flight."""

    def __init__(self, initialized: bool = False, cpus: int = 2):
        self.initialized, self.cpus, self.calls = initialized, cpus, []
        self.in_flight = self.most_in_flight = self.submitted = 0

    def is_initialized(self):
        return self.initialized

    def init(self, **kwargs):
        self.calls.append(("init", kwargs))
        self.initialized = True

    def shutdown(self):
        self.calls.append(("shutdown",))
        self.initialized = False

    def cluster_resources(self):
        return {"CPU": float(self.cpus)}

    def remote(self, fn):
        def submit(*a):
            self.in_flight += 1
            self.submitted += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                return _Done(fn(*a))
            except Exception as exc:  # Ray raises it from get(), like here
                return _Done(exc)
        return type("Task", (), {"remote": staticmethod(submit)})

    def wait(self, refs, num_returns=1, timeout=None):
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):
        self.in_flight -= 1
        if isinstance(ref.value, Exception):
            raise ref.value
        return ref.value


def test_run_items_stops_only_the_ray_it_started(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    quiet = {"ignore_reinit_error": True, "include_dashboard": False, "log_to_driver": False}
    args = [(2, k) for k in range(5)]

    fake = _RecordingRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    assert run_items(pow, args, backend="ray", workers=3, progress=False) == [2**k for k in range(5)]
    assert fake.calls == [("init", {"num_cpus": 3, **quiet}), ("shutdown",)]

    fake = _RecordingRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    run_items(pow, args, backend="ray", workers=3, ray_address="ray://head:10001", progress=False)
    assert fake.calls == [("init", {"address": "ray://head:10001", **quiet}), ("shutdown",)]

    fake = _RecordingRay(initialized=True)
    monkeypatch.setitem(sys.modules, "ray", fake)
    run_items(pow, args, backend="ray", progress=False)
    assert fake.calls == [] and fake.initialized

    fake = _RecordingRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    with pytest.raises(ValueError):
        run_items(int, [("1",), ("x",)], backend="ray", progress=False)
    assert fake.calls == [("init", {"num_cpus": 1, **quiet}), ("shutdown",)] and not fake.initialized


def test_ray_keeps_a_bounded_window_of_tasks_in_flight(monkeypatch):
    fake = _RecordingRay(initialized=True, cpus=3)
    monkeypatch.setitem(sys.modules, "ray", fake)
    args = [(3, k) for k in range(40)]
    assert run_items(pow, args, backend="ray", progress=False) == [3**k for k in range(40)]
    assert fake.most_in_flight == WINDOW_PER_CPU * 3 and fake.in_flight == 0

    fake = _RecordingRay(initialized=True, cpus=1)
    monkeypatch.setitem(sys.modules, "ray", fake)
    bad = [("1",), ("x",)] + [("2",)] * 30
    with pytest.raises(ValueError):
        run_items(int, bad, backend="ray", progress=False)
    assert fake.submitted == WINDOW_PER_CPU + 1  # the first two, one after '1'; then the error stops it


def test_local_pool_and_ray_write_identical_datasets(local_ray, tmp_path):
    folders = {"inline": (tmp_path / "a", "local", 1), "pool": (tmp_path / "b", "local", 2),
               "ray": (tmp_path / "c", "ray", 2)}
    made = {}
    for name, (out, backend, workers) in folders.items():
        generate(out, 4, "train", 9, workers, backend=backend, **TINY)
        made[name] = _folder_bytes(out)
    assert len(made["inline"]) == 4 + 2
    assert made["pool"] == made["inline"]
    assert made["ray"] == made["inline"]
    assert local_ray.is_initialized()  # a Ray started by someone else is left running


def test_run_items_keeps_order_and_uses_other_processes(local_ray):
    args = [(3, k, 1000) for k in range(12)]
    expected = [pow(*a) for a in args]
    assert run_items(pow, args, workers=1, progress=False) == expected
    assert run_items(pow, args, workers=2, progress=False) == expected
    assert run_items(pow, args, backend="ray", workers=2, progress=False) == expected
    pids = run_items(os.getpid, [()] * 4, backend="ray", progress=False)
    assert os.getpid() not in pids
    assert run_items(pow, [], backend="ray", progress=False) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_errors_in_items_reach_the_caller(local_ray, backend):
    with pytest.raises(ValueError, match="invalid literal"):
        run_items(int, [("1",), ("one",), ("3",)], backend=backend, workers=2, progress=False)


def test_bad_settings_are_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "ds"
    with pytest.raises(SoundstageError, match=r"unknown backend 'dask'.*'local', 'ray'"):
        generate(out, 2, "train", 0, backend="dask", **TINY)
    with pytest.raises(SoundstageError, match="needs backend='ray'"):
        generate(out, 2, "train", 0, ray_address="auto", **TINY)
    assert not out.exists()
    with pytest.raises(SoundstageError, match="unknown backend 'spark'"):
        run_items(pow, [(2, 3)], backend="spark")
    with pytest.raises(SoundstageError, match="workers must be an integer >= 1, got 0"):
        run_items(pow, [(2, 3)], workers=0)


def test_missing_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
    with pytest.raises(DependencyError, match=r"pip install 'soundstage\[ray\]'"):
        run_items(pow, [(2, 3)], backend="ray", progress=False)


def test_cli_backend_ray(local_ray, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["data", "roomsynth", "--out", str(out), "--n", "2", "--size", "48", "--split", "test-seen", "--seed", "4"]
    assert main(args + ["--backend", "ray", "--workers", "2"]) == 0
    assert "2 test-seen items (seed 4)" in capsys.readouterr().out
    ref = tmp_path / "ref"
    generate(ref, 2, "test-seen", 4, width=48, height=48, progress=False)
    assert _folder_bytes(out) == _folder_bytes(ref)
    with pytest.raises(SystemExit):
        main(args + ["--backend", "dask"])
    assert main(args + ["--ray-address", "auto"]) == 2
    assert "needs backend='ray'" in capsys.readouterr().err
