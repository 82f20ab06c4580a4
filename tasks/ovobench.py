"""The twelve OVO-Bench tasks (group `ovobench`): backward tracing, real-time perception, forward responding.

Offline: each question (each forward probe) on the clip [0, its time], frames sampled uniformly
over the clip by count (the model's num_frames: np.linspace over the clip's frames, as the
reference's samplers do). Streaming: frames on the clock, each question (each probe) asked at its
time. The settings below are the rows of the README's OVO-Bench differences table; `--reference
ovobench` sets them all (omnibench.peer_reference).
"""

from __future__ import annotations

from omnibench.data.ovobench import BACKWARD, FORWARD, HELP, REALTIME, task_name
from omnibench.registry import task
from omnibench.task import Task, prompt_overrides

DESCRIPTIONS = {
    "EPM": "Episodic memory: recall a past moment of an egocentric video (backward tracing)",
    "ASI": "Action sequence: what was done before or after a step (backward tracing)",
    "HLD": "Hallucination detection: tell when a question cannot be answered (backward tracing)",
    "OJR": "Object recognition: what is in view now (real-time perception)",
    "STU": "Spatial understanding: where things are now (real-time perception)",
    "OCR": "Text recognition: read the text in view now (real-time perception)",
    "ATR": "Attribute recognition: colour, shape or state of what is in view (real-time perception)",
    "ACR": "Action recognition: what is being done now (real-time perception)",
    "FPD": "Future prediction: what happens next (real-time perception)",
    "REC": "Repetition counting: how many times so far, probed as the video plays (forward responding)",
    "SSR": "Sequential steps: is this tutorial step under way, probed as the video plays (forward responding)",
    "CRR": "Clue revealing: can the question be answered yet, probed as the video plays (forward responding)",
}
METRIC_DOCS = {
    "choice": "share of questions whose reply picks the right option letter",
    "count": "share of probes (pooled over the task's videos) whose reply names the count so far",
    "yes_no": "share of probes (pooled over the task's videos) answered with the right yes or no",
}


def ovobench_task(code: str, *, data_dir=None, lenient=False, prompts_file=None, clip_end=None, choice_rule=None,
                  count_rule=None, yes_no_rule=None) -> Task:
    """One OVO-Bench task. clip_end ("exact" | "ceil"), choice_rule ("ours" | "substring"), count_rule
    ("ours" | "digits"), yes_no_rule ("ours" | "reference"): README rows, ours first."""
    from omnibench.data import ovobench
    from omnibench.scoring.peer_rules import ovo_choice, ovo_forward
    from omnibench.tasks.ovobench_prompts import PROMPTS, ChoicePrompts

    name = task_name(code)
    if code == "REC":
        scorer, kind = ovo_forward("count", count_rule or "ours"), "count"
    elif code in FORWARD:
        scorer, kind = ovo_forward("yes_no", yes_no_rule or "ours"), "yes_no"
    else:
        scorer, kind = ovo_choice(choice_rule or "ours"), "choice"
    root = ovobench.data_root(data_dir)
    return Task(
        name=name, group="ovobench", description=DESCRIPTIONS[code], protocols=("offline", "streaming"),
        samples=lambda: ovobench.load(code, data_dir, lenient=bool(lenient), clip_end=clip_end or "exact"),
        scorers=[scorer], headline="accuracy", metric_docs={"accuracy": METRIC_DOCS[kind]},
        prompts=PROMPTS.get(code, ChoicePrompts)(prompt_overrides(prompts_file, name)),
        data_root=str(root) if root else None, video_hint=HELP,
    )


def _register(code: str) -> None:
    def factory(data_dir=None, lenient=False, prompts_file=None, clip_end=None, choice_rule=None, count_rule=None,
                yes_no_rule=None) -> Task:
        return ovobench_task(code, data_dir=data_dir, lenient=lenient, prompts_file=prompts_file, clip_end=clip_end,
                             choice_rule=choice_rule, count_rule=count_rule, yes_no_rule=yes_no_rule)

    factory.__name__ = factory.__qualname__ = task_name(code)
    task(task_name(code), group="ovobench", description=DESCRIPTIONS[code])(factory)


for _code in (*BACKWARD, *REALTIME, *FORWARD):
    _register(_code)
