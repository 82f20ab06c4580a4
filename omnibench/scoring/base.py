"""Scores and the scorer contract: a pure function of (sample, event record)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from omnibench.data.schema import Sample
    from omnibench.engine.eventlog import SampleRecord


@dataclass
class Score:
    """Per-sample metric values. A value of None means unscored (the reason is in `unscored`)."""

    values: dict[str, float | None]
    explanation: str = ""
    # weight of each value when averaging over samples (e.g. number of turns for per-turn accuracy)
    weights: dict[str, float] = field(default_factory=dict)
    unscored: str | None = None
    extras: dict = field(default_factory=dict)


Scorer = Callable[["Sample", "SampleRecord"], Score]


class BatchScorer(Protocol):
    """A scorer that scores many samples at once (the LLM judge, for concurrency)."""

    def __call__(self, sample: Sample, record: SampleRecord) -> Score: ...

    def batch(self, items: list[tuple[Sample, SampleRecord]]) -> list[Score]: ...


def declares(*metrics: str):
    """Mark a scorer with the metric names its values use, so a task checks its headline when built.

        @declares("accuracy", "precision")
        def score(sample, record): ...
    """
    def mark(scorer):
        scorer.metrics = tuple(metrics)
        return scorer
    return mark


def scorer_name(scorer: Any) -> str:
    """`scorer_name` if set; a closure `alert_timing.<locals>.score` is `alert_timing`; else its own name."""
    if getattr(scorer, "scorer_name", None):
        return str(scorer.scorer_name)
    qualname = getattr(scorer, "__qualname__", None) or type(scorer).__name__
    own = qualname.split(".")[-1]
    return qualname.split(".<locals>")[0].split(".")[-1] if own in ("score", "scorer", "__call__") else own


def scorer_names(scorers: list) -> list[str]:
    """Each scorer's name; a name used twice gets `#k` (its position, from 1)."""
    out: list[str] = []
    for k, scorer in enumerate(scorers, 1):
        name = scorer_name(scorer)
        out.append(f"{name}#{k}" if name in out else name)
    return out


def shared_metrics(scorers: list) -> set[str]:
    """Metric names declared by more than one scorer: their values are kept apart as `scorer/metric`."""
    seen: dict[str, int] = {}
    for scorer in scorers:
        for metric in set(getattr(scorer, "metrics", None) or ()):
            seen[metric] = seen.get(metric, 0) + 1
    return {m for m, n in seen.items() if n > 1}
