"""Per-task metrics: means over scored samples with 95% bootstrap CIs clustered by video.

Also the board's statistics over several tasks: the mean of per-task headline means with a CI,
and the paired difference of two models on the videos both answered, resampling videos shared
by the tasks together (noise_rejection and synth_noise ask about the same videos).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from omnibench.results import MetricValue, SampleScore, TaskResult

VideoSums = Mapping[str, tuple[float, float]]     # video id -> (weighted sum of values, sum of weights)

# the one list of metrics where less is better (errors, misses, words said after "stop"); every other: more is better
LOWER_IS_BETTER = frozenset({"noise_replied", "followup_missed", "never_started", "false_stop", "derailed",
                             "words_after_stop"})


def lower_is_better(metric: str) -> bool:
    return metric in LOWER_IS_BETTER


def _usable(scores: list[SampleScore]) -> list[SampleScore]:
    return [s for s in scores if s.error is None and s.unscored is None]


def video_sums(scores: list[SampleScore], key: str) -> tuple[dict[str, tuple[float, float]], int]:
    """(video id -> (weighted sum, weight)) of one value over the usable samples, and how many samples count."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    n = 0
    for s in _usable(scores):
        value = s.values.get(key)
        if value is None or not np.isfinite(value):
            continue
        weight = float(s.weights.get(key, 1.0))
        if weight <= 0:
            continue
        sums[s.video_id][0] += weight * float(value)
        sums[s.video_id][1] += weight
        n += 1
    return {v: (a, b) for v, (a, b) in sorted(sums.items())}, n


def aggregate(scores: list[SampleScore], *, n_boot: int = 1000, seed: int = 0) -> dict[str, MetricValue]:
    """Weighted mean of every value (None and errored/unscored samples left out), with a CI.

    The bootstrap resamples videos, not samples: several samples of one video are not
    independent evidence (OmniMMI SI has 200 questions on 78 videos). Percentile interval of
    `n_boot` resamples, the same for the same seed; one video only: the interval is the value.
    Values stay fractions (0-1); reports turn them into percentages.
    """
    keys = sorted({k for s in _usable(scores) for k, v in s.values.items() if v is not None})
    out: dict[str, MetricValue] = {}
    for key in keys:
        sums, n = video_sums(scores, key)
        if not sums:
            out[key] = MetricValue(value=None, n=0)
            continue
        # sorted by video: the same scores in any order (shards merged) give the same interval
        totals = np.array(list(sums.values()))   # (clusters, 2): weighted sum, weight
        mean = float(totals[:, 0].sum() / totals[:, 1].sum())
        low = high = mean
        if len(totals) > 1:
            rng = np.random.default_rng(seed)
            pick = rng.integers(0, len(totals), size=(n_boot, len(totals)))
            boot = totals[pick, 0].sum(axis=1) / np.maximum(totals[pick, 1].sum(axis=1), 1e-12)
            low, high = (float(x) for x in np.percentile(boot, [2.5, 97.5]))
        out[key] = MetricValue(value=mean, ci_low=low, ci_high=high, n=n)
    return out


def _task_means(tasks: Sequence[Sequence[VideoSums]], n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Point means (groups, tasks) and bootstrap means (groups, n_boot, tasks) under one resampling of videos.

    `tasks[g][t]` is group g's (a model's) per-video sums on task t. Every resample draws videos
    from the union of all videos with replacement, the same draw for every task and group: the
    samples of one video stay together across tasks, and groups compared on the same draw are
    paired. A task none of whose videos was drawn keeps its point mean in that resample.
    """
    videos = sorted({v for group in tasks for sums in group for v in sums})
    index = {v: i for i, v in enumerate(videos)}
    n_tasks = len(tasks[0]) if tasks else 0
    value = np.zeros((len(tasks), n_tasks, len(videos)))
    weight = np.zeros_like(value)
    for g, group in enumerate(tasks):
        for t, sums in enumerate(group):
            for v, (a, b) in sums.items():
                value[g, t, index[v]], weight[g, t, index[v]] = a, b
    points = value.sum(axis=2) / weight.sum(axis=2)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(videos), size=(n_boot, len(videos)))
    # how often each video was drawn in each resample
    counts = np.bincount((pick + len(videos) * np.arange(n_boot)[:, None]).ravel(),
                         minlength=n_boot * len(videos)).reshape(n_boot, len(videos)).astype(float)
    drawn_value = np.einsum("bv,gtv->gbt", counts, value)
    drawn_weight = np.einsum("bv,gtv->gbt", counts, weight)
    boots = np.where(drawn_weight > 0, drawn_value / np.maximum(drawn_weight, 1e-12), points[:, None, :])
    return points, boots


def _interval(point: float, boot: np.ndarray) -> tuple[float, float, float]:
    low, high = np.percentile(boot, [2.5, 97.5])
    return point, float(low), float(high)


def mean_over_tasks(tasks: Sequence[VideoSums], *, weights: Sequence[float] | None = None, n_boot: int = 1000,
                    seed: int = 0) -> tuple[float, float, float]:
    """(mean of the per-task means, 95% CI low, high): every task counts once (or by `weights`), videos
    resampled together."""
    kept = [(t, w) for t, w in zip(tasks, weights or [1.0] * len(tasks)) if t]
    if not kept:
        raise ValueError("no task with a scored video")
    w = np.array([x for _, x in kept], dtype=float)
    points, boots = _task_means([[t for t, _ in kept]], n_boot, seed)
    return _interval(float(points[0] @ w / w.sum()), boots[0] @ w / w.sum())


def paired_difference(a: Sequence[VideoSums], b: Sequence[VideoSums], *, n_boot: int = 1000,
                      seed: int = 0) -> tuple[float, float, float] | None:
    """Mean over tasks of a's task mean minus b's, on the videos both have, with a paired 95% CI.

    a[t] and b[t] are the same task. Only videos both models were scored on count, so both
    means rest on the same evidence; the same resample of videos serves both. None when the two
    share no scored video on any task.
    """
    shared = [({v: x[v] for v in x if v in y}, {v: y[v] for v in y if v in x}) for x, y in zip(a, b)]
    shared = [(x, y) for x, y in shared if x]
    if not shared:
        return None
    points, boots = _task_means([[x for x, _ in shared], [y for _, y in shared]], n_boot, seed)
    return _interval(float(points[0].mean() - points[1].mean()), boots[0].mean(axis=1) - boots[1].mean(axis=1))


def summarize(task: str, model: str, headline: str, scores: list[SampleScore], *, n_boot: int = 1000,
              seed: int = 0) -> TaskResult:
    errors = sum(1 for s in scores if s.error is not None)
    unscored = sum(1 for s in scores if s.error is None and s.unscored is not None)
    return TaskResult(task=task, model=model, headline=headline, metrics=aggregate(scores, n_boot=n_boot, seed=seed),
                      n_samples=len(scores), n_scored=len(scores) - errors - unscored, n_errors=errors,
                      n_unscored=unscored, headline_by_video=video_sums(scores, headline)[0])
