"""Scores and the scorer contract: a pure function of (sample, event record)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

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
