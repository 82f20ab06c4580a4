"""What the board's numbers mean: the ranking score, the interval, and the metrics tasks share.

A task defines its own metrics (Task.metric_docs, recorded in each TaskResult when it is scored);
the report shows those first and falls back to GENERIC_METRICS, the metrics of the shared scorers
(omnibench.scoring). Definitions recorded in a results file are untrusted text: callers escape them.
"""

from __future__ import annotations

from collections.abc import Mapping

RANK_DEFINITION = "score = mean of the model's headline values over the tasks it has one for; rows are ranked by it"
CI_DEFINITION = "95% bootstrap CI, clustered by video"
UNDEFINED = "defined by the task's scorer (the task records no definition)"

GENERIC_METRICS = {
    "accuracy": "share of samples answered right (alerts: first alert inside the target window)",
    "precision": "share of the model's alerts that fell inside a target window",
    "iou": "overlap of the alerted span with the target window",
    "silence": "share of noise turns the model stayed silent on",
    "turn_accuracy": "share of single turns answered right",
    "step_accuracy": "share of turns answered right with every earlier turn right",
    "score": "mean judge score per turn (0-5)",
    "time_f1": "F1 of alert times against the target windows",
    "time_precision": "share of alert time inside target windows",
    "time_recall": "share of target windows alerted in",
}


def metric_definition(metric: str, task_docs: Mapping[str, str] | None = None) -> str:
    """The task's own definition of `metric`, else the shared one, else UNDEFINED."""
    return (task_docs or {}).get(metric) or GENERIC_METRICS.get(metric, UNDEFINED)
