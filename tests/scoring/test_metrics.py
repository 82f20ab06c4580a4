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
