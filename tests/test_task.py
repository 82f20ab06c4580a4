"""A task's headline is a (scorer, metric) pair checked when the task is built."""

from __future__ import annotations

import pytest

from omnibench.engine.evaluate import Evaluation
from omnibench.errors import ConfigError
from omnibench.scoring.base import Score
from omnibench.scoring.rules import alert_timing, choice_match, exact_match
from omnibench.scoring.run_scores import score_run
from omnibench.task import Prompts, Task
from tests.conftest import text_samples


def build(scorers, headline):
    return Task(name="t_head", samples=lambda: [], protocols=("offline",), scorers=scorers, headline=headline,
                prompts=Prompts())


def test_a_headline_typo_fails_when_the_task_is_built_naming_the_metrics_it_has():
    """headline="acc" showed `– n=0/4` and exited 0."""
    with pytest.raises(ConfigError, match=r"headline 'acc' is not a metric of its scorers \(metrics: "
                                          r"choice_match: accuracy, turn_accuracy\)"):
        build([choice_match()], "acc")
    with pytest.raises(ConfigError, match="scorer choice_match has no metric 'iou'"):
        build([choice_match(), alert_timing()], ("choice_match", "iou"))
    assert build([choice_match(), alert_timing()], "iou").headline == "iou"


def test_two_scorers_giving_one_metric_need_the_pair_and_the_headline_keeps_its_value(tmp_path, memory_task):
    """Two scorers emitting `accuracy`: the keys were renamed and the headline became None."""
    with pytest.raises(ConfigError, match=r"headline 'accuracy' is a metric of choice_match and exact_match; "
                                          r"name one"):
        build([choice_match(), exact_match()], "accuracy")
    name = memory_task("t_pair", text_samples(3, "t_pair"), [choice_match(), exact_match()], protocols=("offline",),
                       headline=("exact_match", "accuracy"))
    from omnibench.models.baselines import Blind

    Evaluation(model="blind", out=tmp_path, model_obj=Blind(), progress=False).run([name])
    [result] = score_run(tmp_path)
    assert result.headline == "exact_match/accuracy"
    assert result.metrics[result.headline].value is not None and "choice_match/accuracy" in result.metrics


def test_a_scorer_that_declares_no_metrics_is_checked_when_scored(tmp_path, memory_task, capsys):
    from omnibench.cli import main

    def mine(sample, record):
        return Score(values={"right": 1.0})

    name = memory_task("t_undeclared", text_samples(2, "t_undeclared"), [mine], protocols=("offline",),
                       headline="rigth")
    from omnibench.models.baselines import Blind

    Evaluation(model="blind", out=tmp_path, model_obj=Blind(), progress=False).run([name])
    assert main(["score", str(tmp_path), "--quiet"]) == 2
    assert "headline 'rigth' is not among the metrics its scorers gave: right" in capsys.readouterr().err
