"""`--reference ovobench` and `--reference streamingbench`: every row of the README's OVO-Bench and
StreamingBench differences tables switched to the reference's behaviour at once.

Each row is also a task setting of its own (`--task-args key=value`); the user's explicit
settings win. The prompt wording comes from `omnibench data reference-prompts --benchmark NAME
PATH` (omnibench.peer_prompts); without that file, reference mode runs with our wording and says so.

    OVO-Bench       clip_end=ceil, choice_rule=substring, count_rule=digits, yes_no_rule=reference, prompts_file
    StreamingBench  choice_rule=first_char, unanswered=drop, sqa_context=gold, proactive_turn=last,
                    output_match=substring, prompts_file
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MODES = ("ovobench", "streamingbench")
TASK_PROMPTS_FILE = "task_prompts.json"
SETTINGS: dict[str, dict[str, Any]] = {
    "ovobench": {"clip_end": "ceil", "choice_rule": "substring", "count_rule": "digits", "yes_no_rule": "reference"},
    "streamingbench": {"choice_rule": "first_char", "unanswered": "drop", "sqa_context": "gold",
                       "proactive_turn": "last", "output_match": "substring"},
}
# settings that change only how replies are scored (not what a model is asked): kept out of run identity
SCORING_ONLY = frozenset({"choice_rule", "count_rule", "yes_no_rule", "unanswered", "proactive_turn", "output_match"})


def prompts_dir(mode: str) -> Path:
    from omnibench.cache import cache_dir

    return cache_dir() / "reference" / mode


def task_settings(mode: str, given: dict[str, Any], *, prompts: Path | None = None) -> dict[str, Any]:
    """`given` with the reference's settings filled in where the user left them unset."""
    out = dict(given)
    for key, value in SETTINGS[mode].items():
        if out.get(key) is None:
            out[key] = value
    prompts_file = (prompts or prompts_dir(mode)) / TASK_PROMPTS_FILE
    if not out.get("prompts_file") and prompts_file.is_file():
        out["prompts_file"] = str(prompts_file)
    out["reference"] = mode
    out["reference_note"] = (f"prompts read from the reference checkout ({out['prompts_file']})" if out.get("prompts_file")
                             else f"reference prompts not found: omnibench's wording (run `omnibench data "
                                  f"reference-prompts --benchmark {mode} PATH-TO-CHECKOUT` to use the reference's)")
    return out


def parse_task_args(text: str | None) -> dict[str, Any]:
    """`--task-args clip_end=ceil,context_s=60`: typed by the task factories' annotations (never eval'd)."""
    from omnibench.registry import parse_task_args as typed

    return typed(text)


def print_reference_scores(benchmark: str, path: str, *, model: str | None, as_json: bool) -> int:
    """`omnibench data reference-scores --benchmark ovobench|streamingbench PATH`: their numbers, as their
    scorers print them (percent); notes on what their scorer would have stopped on go to stderr."""
    if benchmark == "ovobench":
        from omnibench.scoring.ovobench_results import reference_scores

        scores, notes = reference_scores(path)
    else:
        from omnibench.scoring.streamingbench_results import reference_scores as sb_scores

        scores, notes = sb_scores(path, model)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if as_json:
        print(json.dumps(scores))
    else:
        width = max(len(k) for k in scores)
        for key, value in scores.items():
            print(f"{key:<{width}}  {value:.2f}")
    return 0
