"""What the board's numbers mean, in one place: the rank score and its interval, the comparison
with the next row, which metrics are better lower, when a task has too few samples to decide.

A task defines its own metrics (Task.metric_docs, recorded in each TaskResult when it is scored);
the report shows those first and falls back to GENERIC_METRICS, the metrics of the shared scorers
(omnibench.scoring). Definitions recorded in a results file are untrusted text: callers escape them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from omnibench.scoring.metrics import LOWER_IS_BETTER, lower_is_better

# a task is decided when every model's headline 95% CI on it is at most this wide (percentage points)
# and it has enough videos that even a 50% rate's CI can be: 2 * 1.96 * sqrt(0.25 / n) <= 0.30
CI_THRESHOLD = 30.0
MIN_VIDEOS = math.ceil((2 * 1.96 * 0.5 * 100 / CI_THRESHOLD) ** 2)     # 43

LOWER_MARK = "↓"

RANK_DEFINITION = ("score = mean of the model's headline values over the decided tasks it has (each task once; "
                   "a lower-is-better headline counts as 100 − value); rows are ranked by it, a row scored on "
                   "fewer tasks after every row scored on more")
CI_DEFINITION = "95% bootstrap CI, clustered by video"
RANK_CI_DEFINITION = ("95% bootstrap CI of the score: videos resampled, the samples of one video kept together "
                      "across the tasks that share it")
VS_NEXT_DEFINITION = ("vs next = this row's score minus the next row's, on the tasks and videos both have, with a "
                      "paired 95% CI; ≠ marks a CI that excludes 0 (a real difference), ≈ one that does not")
UNDECIDED_DEFINITION = (f"too few samples to decide: some model's headline CI on the task is wider than "
                        f"{CI_THRESHOLD:g} points, or the task has fewer than {MIN_VIDEOS} videos (then even a "
                        f"50% rate's CI is wider); shown greyed, left out of the score")
CHANCE_DEFINITION = ("chance = the headline a guesser gets on these samples, by the task's rule: closed questions, "
                     "one offered choice picked at random per turn; alerts, one alert at a random time of the video; "
                     "the balanced interruption tasks and silence, 50%. The tick in each headline cell marks it")
LOWER_DEFINITION = f"{LOWER_MARK} = lower is better"
__all__ = ["LOWER_IS_BETTER", "lower_is_better"]    # re-exported: the report reads direction from here
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


def metric_label(metric: str) -> str:
    """The metric's name with its direction mark when lower is better."""
    return f"{metric} {LOWER_MARK}" if lower_is_better(metric) else metric


def metric_definition(metric: str, task_docs: Mapping[str, str] | None = None) -> str:
    """The task's own definition of `metric`, else the shared one, else UNDEFINED."""
    return (task_docs or {}).get(metric) or GENERIC_METRICS.get(metric, UNDEFINED)
