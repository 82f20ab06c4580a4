"""Per-task metrics: means over scored samples with 95% bootstrap CIs clustered by video."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from omnibench.results import MetricValue, SampleScore, TaskResult


def aggregate(scores: list[SampleScore], *, n_boot: int = 1000, seed: int = 0) -> dict[str, MetricValue]:
    """Weighted mean of every value (None and errored/unscored samples left out), with a CI.

    The bootstrap resamples videos, not samples: several samples of one video are not
    independent evidence (OmniMMI SI has 200 questions on 78 videos). Percentile interval of
    `n_boot` resamples, the same for the same seed; one video only: the interval is the value.
    Values stay fractions (0-1); reports turn them into percentages.
    """
    usable = [s for s in scores if s.error is None and s.unscored is None]
    keys = sorted({k for s in usable for k, v in s.values.items() if v is not None})
    out: dict[str, MetricValue] = {}
    for key in keys:
        sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        n = 0
        for s in usable:
            value = s.values.get(key)
            if value is None or not np.isfinite(value):
                continue
            weight = float(s.weights.get(key, 1.0))
            if weight <= 0:
                continue
            sums[s.video_id][0] += weight * float(value)
            sums[s.video_id][1] += weight
            n += 1
        if not sums:
            out[key] = MetricValue(value=None, n=0)
            continue
        # sorted by video: the same scores in any order (shards merged) give the same interval
        totals = np.array([sums[v] for v in sorted(sums)])   # (clusters, 2): weighted sum, weight
        mean = float(totals[:, 0].sum() / totals[:, 1].sum())
        low = high = mean
        if len(totals) > 1:
            rng = np.random.default_rng(seed)
            pick = rng.integers(0, len(totals), size=(n_boot, len(totals)))
            boot = totals[pick, 0].sum(axis=1) / np.maximum(totals[pick, 1].sum(axis=1), 1e-12)
            low, high = (float(x) for x in np.percentile(boot, [2.5, 97.5]))
        out[key] = MetricValue(value=mean, ci_low=low, ci_high=high, n=n)
    return out


def summarize(task: str, model: str, headline: str, scores: list[SampleScore], *, n_boot: int = 1000,
              seed: int = 0) -> TaskResult:
    errors = sum(1 for s in scores if s.error is not None)
    unscored = sum(1 for s in scores if s.error is None and s.unscored is not None)
    return TaskResult(task=task, model=model, headline=headline, metrics=aggregate(scores, n_boot=n_boot, seed=seed),
                      n_samples=len(scores), n_scored=len(scores) - errors - unscored, n_errors=errors,
                      n_unscored=unscored)
