"""The interruption tasks: balanced pairs, exposed texts, default sizes, trivial baselines at chance."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from omnibench import registry
from omnibench.data.synth import INTERRUPTION_TASKS, N_INTERRUPTION, task_counts
from omnibench.engine.evaluate import Evaluation
from omnibench.results import SampleScore
from omnibench.scoring.metrics import aggregate
from omnibench.scoring.run_scores import score_run
from omnibench.tasks.interaction import CLASSES, FAMILY, interruption_texts
from tests.oracle import Oracle

SMALL = {"seed": 0, "n_per_task": 4}
STREAMING = ("noise_rejection", "stop_turn", "synth_noise", "synth_stop")
ALL = (*STREAMING, "noise_rejection_offline", "stop_turn_offline")
BASELINES = ("silent", "chatty", "random", "blind", "never_stop", "always_stop")


def _by_video(samples):
    out = defaultdict(list)
    for s in samples:
        out[s.video_id].append(s)
    return out


@pytest.mark.parametrize("name", ALL)
def test_every_video_holds_one_sample_of_each_class_told_apart_by_words_only(name):
    samples = registry.get_task(name, **SMALL).samples()
    pairs = _by_video(samples)
    assert len(pairs) == SMALL["n_per_task"] and len(samples) == 2 * len(pairs)
    for video, (a, b) in pairs.items():
        assert {a.metadata["interruption"], b.metadata["interruption"]} == set(CLASSES[FAMILY[name]]), video
        assert a.turns[0] == b.turns[0]
        second_a, second_b = a.turns[1], b.turns[1]
        assert (second_a.t, second_a.kind, second_a.choices) == (second_b.t, second_b.kind, second_b.choices)
        assert second_a.text != second_b.text and second_a.t > a.turns[0].t


@pytest.mark.parametrize("name", ALL)
def test_tasks_expose_the_exact_texts_their_samples_use(name):
    samples = registry.get_task(name, **SMALL).samples()
    used = {s.turns[1].text for s in samples}
    assert used <= interruption_texts(name, seed=0, n=SMALL["n_per_task"])


def test_pools_hold_hard_negatives_on_both_sides():
    from omnibench.tasks import phrases

    assert sum("stop" in t.lower() for t in phrases.STOP_LURES) >= 3          # "the bus stop is red"
    assert sum("?" in t for t in phrases.NOISE_LURES) >= 10                   # questions not meant for the model
    assert sum("?" not in t for _, t in phrases.FOLLOWUPS) >= len(phrases.FOLLOWUPS) // 2   # indirect requests
    classes = {s.metadata["interruption"] for s in registry.get_task("synth_stop", **SMALL).samples()}
    assert classes == {"stop", "lure"}


def test_default_sizes_give_a_ci_half_width_of_at_most_ten_points_near_one_half():
    assert all(task_counts(6)[t] == N_INTERRUPTION for t in INTERRUPTION_TASKS)
    rng = np.random.default_rng(0)
    for correlated in (False, True):   # both samples of a video go the same way: the worst case
        scores = []
        for v in range(N_INTERRUPTION):
            first = float(rng.random() < 0.5)
            for k in range(2):
                value = first if correlated else float(rng.random() < 0.5)
                scores.append(SampleScore(sample_id=f"{v}-{k}", video_id=str(v), values={"b": value}))
        m = aggregate(scores)["b"]
        assert 0.35 < m.value < 0.65
        assert (m.ci_high - m.ci_low) / 2 <= 0.10, (correlated, m)


def _board(tmp_path, models, settings, tasks=STREAMING):
    out = {}
    for model in models:
        obj = Oracle.for_tasks(tasks, **settings) if model == "oracle" else None
        Evaluation(model=model, out=tmp_path / model, task_settings=settings, progress=False,
                   model_obj=obj).run(list(tasks))
        out[model] = {r.task: r for r in score_run(tmp_path / model, task_settings=settings, tasks=list(tasks))}
    return out


def test_the_oracle_is_perfect_on_both_protocols(tmp_path):
    board = _board(tmp_path, ["oracle"], SMALL, tasks=ALL)["oracle"]
    for task, result in board.items():
        assert result.n_scored == result.n_samples > 0 and result.metrics["balanced_accuracy"].value == 1.0, task


def _assert_at_chance(board):
    for model, results in board.items():
        for task, result in results.items():
            m = result.metrics["balanced_accuracy"]
            assert result.n_errors == 0 and m.ci_low <= 0.5, (model, task, m)


def test_trivial_baselines_are_never_above_chance(tmp_path):
    _assert_at_chance(_board(tmp_path, BASELINES, SMALL))


@pytest.mark.slow
def test_trivial_baselines_are_never_above_chance_on_the_default_board(tmp_path):
    _assert_at_chance(_board(tmp_path, BASELINES, {"seed": 0}))


def test_never_stop_and_always_stop_sit_at_one_half_on_both_stop_tasks_by_construction(tmp_path):
    """Each treats every second utterance alike, with an answer under way: one class right, the other wrong."""
    board = _board(tmp_path, ["never_stop", "always_stop"], SMALL, tasks=("stop_turn", "synth_stop"))
    for model, results in board.items():
        for task, result in results.items():
            per_class = result.metrics["stopped" if model == "always_stop" else "continued"].value
            assert result.metrics["balanced_accuracy"].value == 0.5 and per_class == 1.0, (model, task)
            assert result.metrics["never_started"].value == 0.0, (model, task)
