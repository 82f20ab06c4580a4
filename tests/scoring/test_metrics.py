"""Aggregation: weighted means, video-clustered bootstrap CIs, counts of errors and unscored."""

from __future__ import annotations

import random

import pytest

from omnibench.results import SampleScore
from omnibench.scoring.metrics import aggregate, summarize


def s(sid: str, video: str, weights: dict | None = None, error: str | None = None, unscored: str | None = None,
      **values) -> SampleScore:
    return SampleScore(sample_id=sid, video_id=video, values=values, weights=weights or {}, error=error,
                       unscored=unscored)


def test_mean_skips_none_errors_and_unscored():
    scores = [s("a", "v1", accuracy=1.0, iou=0.5), s("b", "v2", accuracy=0.0, iou=None),
              s("c", "v3", error="boom"), s("d", "v4", unscored="judge reply unreadable", accuracy=1.0)]
    out = aggregate(scores)
    assert out["accuracy"].value == pytest.approx(0.5) and out["accuracy"].n == 2
    assert out["iou"].value == pytest.approx(0.5) and out["iou"].n == 1


def test_weights_pool_turns_across_samples():
    # 1 of 1 turns right, 1 of 3 turns right: pooled 2/4, not the mean of 1 and 1/3
    scores = [s("a", "v1", {"turn_accuracy": 1.0}, turn_accuracy=1.0),
              s("b", "v2", {"turn_accuracy": 3.0}, turn_accuracy=1 / 3)]
    assert aggregate(scores)["turn_accuracy"].value == pytest.approx(2 / 4)


def test_single_video_gives_a_ci_equal_to_the_value():
    out = aggregate([s("a", "v1", accuracy=1.0), s("b", "v1", accuracy=0.0)])["accuracy"]
    assert (out.value, out.ci_low, out.ci_high) == (0.5, 0.5, 0.5)


def _many(seed: int = 3) -> list[SampleScore]:
    rng = random.Random(seed)
    return [s(f"s{i}", f"v{i % 12}", accuracy=float(rng.random() < 0.6)) for i in range(60)]


def test_ci_is_deterministic_for_a_seed_and_independent_of_score_order():
    scores = _many()
    first, again = aggregate(scores, seed=7)["accuracy"], aggregate(list(reversed(scores)), seed=7)["accuracy"]
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert first.ci_low < first.value < first.ci_high
    other = aggregate(scores, seed=8)["accuracy"]
    assert (other.ci_low, other.ci_high) != (first.ci_low, first.ci_high)


def test_clustering_by_video_widens_the_interval_for_correlated_samples():
    # 10 videos with 10 samples each, all samples of a video alike: really 10 observations, not 100
    clustered = [s(f"s{v}-{k}", f"v{v}", accuracy=float(v % 2)) for v in range(10) for k in range(10)]
    independent = [s(x.sample_id, x.sample_id, accuracy=x.values["accuracy"]) for x in clustered]
    wide, narrow = aggregate(clustered)["accuracy"], aggregate(independent)["accuracy"]
    assert wide.value == narrow.value == 0.5
    assert (wide.ci_high - wide.ci_low) > 2 * (narrow.ci_high - narrow.ci_low)


def test_nothing_scored_gives_no_value():
    assert aggregate([s("a", "v1", error="x")]) == {}
    assert aggregate([s("a", "v1", {"turn_accuracy": 0.0}, turn_accuracy=1.0)])["turn_accuracy"].value is None


def test_summarize_counts_samples_scored_errors_and_unscored():
    scores = [s("a", "v1", accuracy=1.0), s("b", "v2", error="boom"), s("c", "v3", unscored="why", accuracy=None),
              s("d", "v4", accuracy=0.0)]
    result = summarize("omnimmi_pa", "replay", "accuracy", scores, n_boot=200)
    assert (result.n_samples, result.n_scored, result.n_errors, result.n_unscored) == (4, 2, 1, 1)
    assert result.metrics["accuracy"].value == pytest.approx(0.5)
    assert result.headline == "accuracy" and result.model == "replay"


def test_summarize_keeps_the_headline_per_video_for_the_board():
    scores = [s("a", "v1", accuracy=1.0), s("b", "v1", accuracy=0.0), s("c", "v2", accuracy=1.0),
              s("d", "v3", error="boom")]
    result = summarize("t", "m", "accuracy", scores, n_boot=50)
    assert result.headline_by_video == {"v1": (1.0, 2.0), "v2": (1.0, 1.0)}


def _task(rate: float, videos: int, prefix: str = "v", seed: int = 0) -> dict[str, tuple[float, float]]:
    rng = random.Random(seed)
    return {f"{prefix}{i}": (float(rng.random() < rate), 1.0) for i in range(videos)}


def test_mean_over_tasks_counts_each_task_once_and_brackets_the_mean():
    from omnibench.scoring.metrics import mean_over_tasks

    small, large = {"a0": (1.0, 1.0), "a1": (1.0, 1.0)}, _task(0.2, 200, "b")
    mean, low, high = mean_over_tasks([small, large])
    large_mean = sum(v for v, _ in large.values()) / 200
    assert mean == pytest.approx((1.0 + large_mean) / 2)       # not pooled over the 202 samples
    assert low < mean < high and high - low < 0.2


def test_mean_over_tasks_keeps_a_videos_samples_together_across_tasks():
    """Two tasks on the same videos that always agree: resampling videos together keeps their
    mean's spread that of one task; resampling each task on its own would halve the variance."""
    from omnibench.scoring.metrics import mean_over_tasks

    one = _task(0.5, 60)
    _, low, high = mean_over_tasks([one, dict(one)])
    _, low1, high1 = mean_over_tasks([one])
    assert (high - low) == pytest.approx(high1 - low1, rel=0.05)


def test_paired_difference_uses_shared_videos_and_tells_a_real_gap_from_noise():
    from omnibench.scoring.metrics import paired_difference

    base = _task(0.5, 80)
    better = {v: (1.0, 1.0) if i % 4 == 0 else x for i, (v, x) in enumerate(base.items())}   # right on 20 more
    diff, low, high = paired_difference([better], [base])
    assert diff == pytest.approx(sum(1 for v, x in base.items() if better[v] != x) / 80)
    assert low > 0                                             # pairing removes the shared noise
    same, low0, high0 = paired_difference([dict(base)], [base])
    assert same == 0 and low0 <= 0 <= high0
    extra = {**better, "only-a": (0.0, 1.0)}                   # a video only one model has does not count
    assert paired_difference([extra], [base])[0] == pytest.approx(diff)
    assert paired_difference([{"x": (1.0, 1.0)}], [{"y": (0.0, 1.0)}]) is None
