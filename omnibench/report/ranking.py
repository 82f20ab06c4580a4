"""Who is better, and is it real: decided tasks, the rank score with its CI, each row against the next.

Percent throughout. A headline that is better lower counts as 100 - value, so the score always
reads "higher is better". The intervals come from scoring.metrics (videos resampled, shared
videos together); a result without per-video headlines (an older results.json) gets no interval.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnibench.report.definitions import CI_THRESHOLD, MIN_VIDEOS, lower_is_better
from omnibench.results import TaskResult


@dataclass
class Interval:
    value: float
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None and (self.ci_low > 0 or self.ci_high < 0)


@dataclass
class Comparison:
    """This row minus `other` on their shared tasks and videos."""

    other: str
    difference: Interval
    tasks: int


def _headline_pct(r: TaskResult) -> float | None:
    m = r.metrics.get(r.headline)
    if m is None or m.value is None:
        return None
    return 100.0 * (1 - m.value if lower_is_better(r.headline) else m.value)


def _oriented_sums(r: TaskResult) -> dict[str, tuple[float, float]]:
    if not lower_is_better(r.headline):
        return dict(r.headline_by_video)
    return {v: (w - s, w) for v, (s, w) in r.headline_by_video.items()}


def videos(r: TaskResult) -> int:
    """Videos the headline rests on (samples when the result predates per-video headlines)."""
    m = r.metrics.get(r.headline)
    return len(r.headline_by_video) if r.headline_by_video else (m.n if m else 0)


def ci_width(r: TaskResult) -> float | None:
    m = r.metrics.get(r.headline)
    if m is None or m.value is None or m.ci_low is None or m.ci_high is None:
        return None
    return 100.0 * (m.ci_high - m.ci_low)


def undecided_reason(results: list[TaskResult]) -> str | None:
    """Why a task (its results for every model on the board) cannot rank models, or None when it can."""
    scored = [r for r in results if _headline_pct(r) is not None]
    if not scored:
        return "no model has a headline value"
    fewest = min(videos(r) for r in scored)
    if fewest < MIN_VIDEOS:
        return f"{fewest} videos (fewer than {MIN_VIDEOS})"
    widths = [(w, r.model) for r in scored if (w := ci_width(r)) is not None]
    widest = max(widths, default=None)
    if widest is not None and widest[0] > CI_THRESHOLD:
        return f"CI {widest[0]:.0f} points wide for {widest[1]} (over {CI_THRESHOLD:g})"
    return None


def ranked(per_task: dict[str, TaskResult], decided: list[str]) -> list[TaskResult]:
    """The results the rank score averages: the decided tasks this model has a headline value for."""
    return [per_task[t] for t in decided if t in per_task and _headline_pct(per_task[t]) is not None]


def rank_score(per_task: dict[str, TaskResult], decided: list[str]) -> Interval | None:
    """Mean of the oriented headline percentages over the decided tasks this model has, with its CI."""
    counted = ranked(per_task, decided)
    if not counted:
        return None
    value = sum(_headline_pct(r) or 0.0 for r in counted) / len(counted)
    if not all(r.headline_by_video for r in counted):
        return Interval(value)
    from omnibench.scoring.metrics import mean_over_tasks

    _, low, high = mean_over_tasks([_oriented_sums(r) for r in counted])
    return Interval(value, 100.0 * low, 100.0 * high)


def compare(a: dict[str, TaskResult], b: dict[str, TaskResult], decided: list[str], other: str) -> Comparison | None:
    """a minus b over the decided tasks both have, on the videos both were scored on (paired)."""
    shared = [t for t in decided if t in a and t in b and a[t].headline_by_video and b[t].headline_by_video]
    if not shared:
        return None
    from omnibench.scoring.metrics import paired_difference

    found = paired_difference([_oriented_sums(a[t]) for t in shared], [_oriented_sums(b[t]) for t in shared])
    if found is None:
        return None
    diff, low, high = (100.0 * x for x in found)
    return Comparison(other, Interval(diff, low, high), len(shared))
