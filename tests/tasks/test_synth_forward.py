"""synth_forward: exact answers, both classes balanced in every video, the trivial baselines at chance."""

from __future__ import annotations

import numpy as np
import pytest

from omnibench.data._synth_render import FPS
from omnibench.engine.evaluate import Evaluation
from omnibench.scoring.run_scores import score_run
from omnibench.tasks.synth_forward import COUNT_Q, build_forward


@pytest.mark.parametrize("k", range(12))
def test_every_answer_is_what_the_video_shows_at_the_probe(k):
    built = build_forward(np.random.default_rng([0, 8, k]))
    tracks = built.scene.tracks
    times = [q.t for q in built.turns]
    assert times == sorted(times) and len(set(times)) == len(times)
    counts = [q.target for q in built.turns if q.text == COUNT_Q]
    events = [q.target for q in built.turns if q.text != COUNT_Q]
    assert counts == ["1", "2", "3", "4"] and sorted(events) == ["no", "no", "yes", "yes"]
    (white,) = [tr for tr in tracks if tr.colour == "white"]
    for q in built.turns:
        frame = int(round(q.t * FPS))
        if q.text == COUNT_Q:      # circles that have begun by the probe's frame
            assert str(sum(tr.shape == "circle" and tr.start <= frame for tr in tracks)) == q.target
        else:
            assert (white.end < frame) == (q.target == "yes") and not white.start <= frame <= white.end


def test_fixed_answers_sit_at_chance_and_the_oracle_at_full_marks(tmp_path):
    from tests.oracle import Oracle

    settings = {"seed": 0, "n_per_task": 4}
    out = {}
    for name, obj in (("blind", None), ("oracle", Oracle.for_tasks(["synth_forward"], **settings))):
        Evaluation(model=name, model_obj=obj, out=tmp_path / name, task_settings=settings, progress=False,
                   protocol="offline" if name == "blind" else None).run(["synth_forward"])
        (out[name],) = score_run(tmp_path / name, task_settings=settings, tasks=["synth_forward"])
    blind = {k: m.value for k, m in out["blind"].metrics.items()}
    assert blind == {"accuracy": 0.375, "count_accuracy": 0.25, "event_accuracy": 0.5}
    assert out["oracle"].metrics["accuracy"].value == 1.0
