"""Chance levels, checked against the task's own scorer: every guess enumerated (choices) or swept (alert times)."""

from __future__ import annotations

import itertools

import pytest

from omnibench import registry
from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.scoring.chance import chance_level

SMALL = {"seed": 0, "n_per_task": 3}


def _record(sample: Sample, events: list[Event]) -> SampleRecord:
    return SampleRecord(sample_id=sample.id, task=sample.task, model="guess", events=events,
                        settings={"protocol": "offline"})


def _headline_mean(task, sample: Sample, records: list[SampleRecord]) -> float:
    values = []
    for record in records:
        score = task.scorers[0](sample, record)
        values.append(score.values[task.headline])
    return sum(values) / len(values)


@pytest.mark.parametrize("name", ["synth_sg", "synth_ap", "synth_md", "synth_si"])
def test_choice_chance_is_what_uniform_guessing_scores_under_the_tasks_scorer(name):
    task = registry.get_task(name, **SMALL)
    samples = task.samples()
    expected = []
    for sample in samples:
        closed = [i for i, q in enumerate(sample.turns) if q.kind == "question" and isinstance(q.target, str)]
        guesses = itertools.product(*(sample.turns[i].choices for i in closed))   # every guess, once
        records = [_record(sample, [Event(kind="emission", t=1.0, turn=i, text=c, done=True)
                                    for i, c in zip(closed, picks)]) for picks in guesses]
        expected.append(_headline_mean(task, sample, records))
    assert chance_level(task.headline, samples) == pytest.approx(sum(expected) / len(expected))
    assert 0 < chance_level(task.headline, samples) < 0.5


def test_alert_chance_is_what_one_alert_at_a_uniform_time_scores():
    task = registry.get_task("synth_pa", **SMALL)
    samples = task.samples()
    expected = []
    for sample in samples:
        steps = 4000
        times = [sample.video.end * (k + 0.5) / steps for k in range(steps)]    # a uniform sweep of the video
        records = [_record(sample, [Event(kind="emission", t=t, turn=None, text="now", done=True)]) for t in times]
        expected.append(_headline_mean(task, sample, records))
    assert chance_level("accuracy", samples) == pytest.approx(sum(expected) / len(expected), abs=1e-3)


def test_balanced_tasks_sit_at_one_half_and_unknown_shapes_have_no_chance_level():
    assert chance_level("balanced_accuracy", []) == 0.5
    free_text = Sample(id="a", task="t", video=VideoRef(path="v.mp4", end=5.0),
                       turns=[Query(t=1.0, text="What happens?", target="a dog runs")])
    no_length = Sample(id="b", task="t", video=VideoRef(path="v.mp4"),
                       turns=[Query(t=0.0, text="Tell me", kind="alert_request", target=[1.0, 2.0])])
    assert chance_level("accuracy", [free_text]) is None and chance_level("accuracy", [no_length]) is None
    assert chance_level("novelty", [free_text]) is None


def test_a_target_outside_the_offered_choices_cannot_be_guessed():
    sample = Sample(id="a", task="t", video=VideoRef(path="v.mp4", end=5.0),
                    turns=[Query(t=1.0, text="Which?", target="red", choices=["Red", "blue"]),
                           Query(t=2.0, text="Which?", target="pink", choices=["red", "blue"])])
    assert chance_level("accuracy", [sample]) == 0.0
    assert chance_level("accuracy", [sample.model_copy(update={"turns": sample.turns[:1]})]) == 0.5
