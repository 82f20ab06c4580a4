"""Metric definitions: a task's own (recorded in its results) first, the shared ones as the fallback."""

from __future__ import annotations

from omnibench import registry
from omnibench.cli import BOARD_TASKS
from omnibench.report import build_leaderboard, write_report
from omnibench.report.definitions import GENERIC_METRICS, UNDEFINED
from omnibench.report.tables import SECONDARY_METRICS
from omnibench.results import MetricValue, TaskResult
from tests.report.test_report import result, write_run

EVIL_DOC = '<img src=x onerror=alert(4)> "quoted"'


def scored_like_the_task(name: str) -> TaskResult:
    """What `omnibench score` records for task `name`: its headline, its board metrics and its own docs."""
    task = registry.get_task(name)
    shown = (task.headline, *SECONDARY_METRICS.get(name, ()))
    return TaskResult(task=name, model="m", headline=task.headline, n_samples=2, n_scored=2, n_errors=0,
                      n_unscored=0, metrics={m: MetricValue(value=0.5, n=2) for m in shown},
                      metric_docs=dict(task.metric_docs))


def test_every_column_of_the_default_board_has_a_definition():
    names = registry.resolve_tasks(BOARD_TASKS + ",noise_rejection_offline,stop_turn_offline")
    assert {"synth_pa", "synth_noise", "stop_turn", "noise_rejection_offline"} <= set(names)
    board = build_leaderboard([scored_like_the_task(n) for n in names])
    undefined = [c.key for c in board.columns if c.definition == UNDEFINED]
    assert not undefined, f"columns without a definition: {undefined}"
    assert len(board.columns) > len(names)           # secondary metrics are checked too


def test_a_tasks_own_definition_wins_and_is_escaped_in_tooltip_and_legend(tmp_path):
    run = write_run(tmp_path / "r", [
        result("synth_pa", "m", 0.5, metric_docs={"accuracy": EVIL_DOC}),
        result("synth_si", "m", 0.5),
    ])
    page = write_report([run], tmp_path / "board")["html"].read_text(encoding="utf-8")
    escaped = "&lt;img src=x onerror=alert(4)&gt; &quot;quoted&quot;"
    assert "<img src=x" not in page
    assert f'title="synth_pa · accuracy: {escaped}' in page
    # one metric, two meanings: the legend names which task means which
    assert f"<dt>accuracy (synth_pa)</dt><dd>{escaped}</dd>" in page
    assert f"<dt>accuracy (synth_si)</dt><dd>{GENERIC_METRICS['accuracy']}</dd>" in page


def test_a_metric_no_one_defines_says_so():
    board = build_leaderboard([result("t_new", "m", 0.5, headline="novelty")])
    assert board.columns[0].definition == UNDEFINED
