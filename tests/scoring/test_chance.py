"""Chance levels, checked against each task's own scorer: every guess enumerated (choices) or swept (alert times)."""

from __future__ import annotations

import itertools

import pytest

from omnibench import registry
from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.scoring.chance import alert_window, all_turns, constant, per_turn

SMALL = {"seed": 0, "n_per_task": 3}


def _record(sample: Sample, events: list[Event]) -> SampleRecord:
    return SampleRecord(sample_id=sample.id, task=sample.task, model="guess", events=events,
                        settings={"protocol": "offline"})


def _pooled(task, samples: list[Sample], records_of) -> float:
    """The task's headline over samples as `score` pools it (weighted), each sample's records equally likely."""
    total = weight = 0.0
    for sample in samples:
        records = records_of(sample)
        for record in records:
            score = task.scorers[0](sample, record)
            w = score.weights.get(task.headline, 1.0) / len(records)
            total += w * score.values[task.headline]
            weight += w
    return total / weight


@pytest.mark.parametrize("name", ["synth_sg", "synth_ap", "synth_md", "synth_si", "synth_forward"])
def test_choice_chance_is_what_uniform_guessing_scores_under_the_tasks_scorer(name):
    task = registry.get_task(name, **SMALL)
    samples = task.samples()

    def every_guess(sample: Sample) -> list[SampleRecord]:
        closed = [i for i, q in enumerate(sample.turns) if q.kind == "question" and isinstance(q.target, str)]
        return [_record(sample, [Event(kind="emission", t=1.0, turn=i, text=c, done=True)
                                 for i, c in zip(closed, picks)])
                for picks in itertools.product(*(sample.turns[i].choices for i in closed))]

    assert task.chance(samples) == pytest.approx(_pooled(task, samples, every_guess))
    assert 0 < task.chance(samples) < 0.5


def test_alert_chance_is_what_one_alert_at_a_uniform_time_scores():
    task = registry.get_task("synth_pa", **SMALL)
    samples = task.samples()
    steps = 4000                                                    # a uniform sweep of each video

    def sweep(sample: Sample) -> list[SampleRecord]:
        return [_record(sample, [Event(kind="emission", t=sample.video.end * (k + 0.5) / steps, turn=None,
                                       text="now", done=True)]) for k in range(steps)]

    assert task.chance(samples) == pytest.approx(_pooled(task, samples, sweep), abs=1e-3)


@pytest.mark.parametrize("name", ["synth_noise", "synth_stop", "noise_rejection", "stop_turn", "synth_pt"])
def test_balanced_tasks_and_silence_sit_at_one_half(name):
    assert registry.get_task(name, **SMALL).chance([]) == 0.5


def test_the_forward_task_is_scored_per_probe_not_per_sample():
    """Its headline pools probes: a product over its eight probes (choice_match's rule) would say 0.02%."""
    samples = registry.get_task("synth_forward", **SMALL).samples()
    assert per_turn(samples) == pytest.approx(0.375) and all_turns(samples) < 0.001


def test_rules_that_do_not_fit_give_no_chance_level():
    free_text = Sample(id="a", task="t", video=VideoRef(path="v.mp4", end=5.0),
                       turns=[Query(t=1.0, text="What happens?", target="a dog runs")])
    no_length = Sample(id="b", task="t", video=VideoRef(path="v.mp4"),
                       turns=[Query(t=0.0, text="Tell me", kind="alert_request", target=[1.0, 2.0])])
    assert all_turns([free_text]) is None and per_turn([free_text]) is None and alert_window([no_length]) is None
    assert constant(0.25)([free_text]) == 0.25


def test_a_target_outside_the_offered_choices_cannot_be_guessed():
    sample = Sample(id="a", task="t", video=VideoRef(path="v.mp4", end=5.0),
                    turns=[Query(t=1.0, text="Which?", target="red", choices=["Red", "blue"]),
                           Query(t=2.0, text="Which?", target="pink", choices=["red", "blue"])])
    assert all_turns([sample]) == 0.0 and per_turn([sample]) == 0.25
    assert all_turns([sample.model_copy(update={"turns": sample.turns[:1]})]) == 0.5
