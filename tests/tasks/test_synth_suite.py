"""The synthetic suite end to end: generator and scorers agree; baselines score what they must."""

from __future__ import annotations

import pytest

from omnibench import registry
from omnibench.engine.evaluate import Evaluation, load_samples
from omnibench.scoring.run_scores import score_run
from tests.oracle import Oracle

SETTINGS = {"seed": 0, "n_per_task": 2}
ALL = [*registry.resolve_tasks("synth"), "noise_rejection", "stop_turn"]


def _metrics(out, model, model_obj=None, protocol=None, tasks=ALL):
    Evaluation(model=model, out=out, task_settings=SETTINGS, progress=False, model_obj=model_obj,
               protocol=protocol).run(tasks)
    return {r.task: r for r in score_run(out, task_settings=SETTINGS, tasks=tasks)}


@pytest.mark.parametrize("protocol", ["streaming", "offline"])
def test_the_oracle_scores_full_marks_on_every_synth_task(tmp_path, protocol):
    tasks = [t for t in ALL if protocol in registry.get_task(t, **SETTINGS).protocols]
    results = _metrics(tmp_path, "oracle", Oracle.for_tasks(tasks, **SETTINGS), protocol, tasks)
    for task, result in results.items():
        assert result.n_errors == 0 and result.n_scored == result.n_samples > 0, task
        assert result.metrics[result.headline].value == 1.0, (task, result.metrics)


def test_silent_is_perfectly_quiet_and_never_alerts(tmp_path):
    results = _metrics(tmp_path, "silent", tasks=["synth_pt", "synth_pa"])
    assert results["synth_pt"].metrics["silence"].value == 1.0
    assert results["synth_pa"].metrics["accuracy"].value == 0.0
    assert results["synth_pa"].metrics["precision"].value == 0.0


def test_chatty_always_talks_and_its_precision_is_the_share_of_alerts_inside_windows(tmp_path):
    results = _metrics(tmp_path, "chatty", tasks=["synth_pt", "synth_pa"])
    assert results["synth_pt"].metrics["silence"].value == 0.0
    # independently: chatty alerts at every whole second from 0 to the end of the tail
    shares = []
    for sample in load_samples(tmp_path, "synth_pa", "chatty"):
        start, end = sample.turns[0].window
        duration = sample.metadata.get("duration") or sample.video.end
        times = [float(k) for k in range(0, int(duration + 5.0) + 1)]
        times = [t for t in times if t <= duration + 5.0 + 1e-9]
        times = [0.0] + times   # its reply to the alert request, at once, is an alert too (then every second,
        #                         the video's end included: the stream polls there even without a frame)
        shares.append(sum(start <= t <= end for t in times) / len(times))
    assert results["synth_pa"].metrics["precision"].value == pytest.approx(sum(shares) / len(shares))
