"""Shared fixtures: an isolated cache directory and a way to register in-memory tasks."""

from __future__ import annotations

import os

import pytest

# tiny models on tiny tensors: one intra-op thread per test worker, else the pytest-xdist workers'
# OpenMP threads spin against each other on a small machine (measured: CPU time nearly doubled)
os.environ.setdefault("OMP_NUM_THREADS", "1")

from omnibench import registry
from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.task import Prompts, Task


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """No test reads or writes the user's ~/.cache/omnibench (synthetic suite shared per session)."""
    cache = tmp_path_factory.getbasetemp() / "omnibench-cache"
    if os.environ.get("PYTEST_XDIST_WORKER") and not (cache / "synth").exists():
        # the generated suite (read-only once written, locked per part) is shared by the xdist workers
        shared = tmp_path_factory.getbasetemp().parent / "omnibench-synth"
        shared.mkdir(exist_ok=True)
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "synth").symlink_to(shared, target_is_directory=True)
    monkeypatch.setenv("OMNIBENCH_CACHE", str(cache))
    return cache


def text_samples(n: int, task: str = "t_mem", turns_at=(1.0,), duration: float = 4.0) -> list[Sample]:
    """Samples with no video needed: questions at the given times, answers 'a<i>'."""
    return [
        Sample(id=f"s{i:03d}", task=task, video=VideoRef(path=f"v{i}.mp4", end=duration),
               turns=[Query(t=t, text=f"question {k} of {i}?", target=f"a{i}", choices=[f"a{i}", "zzz"])
                      for k, t in enumerate(turns_at)],
               metadata={"video_id": f"v{i}"})
        for i in range(n)
    ]


@pytest.fixture
def memory_task():
    """Register a hidden task over given samples and scorers; returns a function doing so."""
    names = []

    def register(name: str, samples: list[Sample], scorers=(), protocols=("offline", "streaming"),
                 headline="accuracy", prompts: Prompts | None = None):
        @registry.task(name, hidden=True)
        def factory() -> Task:
            return Task(name=name, samples=lambda: list(samples), protocols=protocols, scorers=list(scorers),
                        headline=headline, prompts=prompts or Prompts())
        names.append(name)
        return name

    yield register
    for name in names:
        registry._TASKS.pop(name, None)
