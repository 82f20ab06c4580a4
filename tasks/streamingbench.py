"""The four StreamingBench tasks (group `streamingbench`), with per-task-type metrics inside each.

real and omni: one sample per video, each question a turn. Offline, each question is asked alone
on the clip [0, its time] (`context_s=60`: [time - 60, time], the setting of their main table),
frames sampled uniformly by count over the clip as their models do; streaming, every question of
the video is asked at its time on one clock. sqa: the five questions of a video in order, each
building on the earlier ones. proactive: "when X happens, output Y": streaming, the model speaks
when it chooses and is scored on when it spoke (+-2 s, as the reference) and, beside it, time-F1;
an offline model is polled every second by the OfflineAsStreaming bridge and, on yes, asked for
its output. The settings are the rows of the README's StreamingBench differences table.
"""

from __future__ import annotations

from omnibench.data.streamingbench import HELP
from omnibench.registry import task
from omnibench.task import Protocol, Task, prompt_overrides

METRIC_DOCS = {
    "accuracy": "share of questions whose reply picks the right option (pooled over the task's videos); "
                "each task type has its own column under its snake-case name",
    "answer_accuracy": "share of requests answered with the expected output within 2 s of the ground-truth time",
    "time_accuracy": "share of requests answered (anything) within 2 s of the ground-truth time",
    "time_f1": "alerts matched one-to-one to the ground-truth moment within 2 s: F1 of precision and recall",
}


def streamingbench_task(subset: str, *, data_dir=None, lenient=False, prompts_file=None,
                        context_s=None, choice_rule=None, unanswered=None, sqa_context=None, proactive_turn=None,
                        output_match=None) -> Task:
    from omnibench.data import streamingbench
    from omnibench.scoring.peer_rules import sb_choice, sb_proactive
    from omnibench.tasks.streamingbench_prompts import PROMPTS

    name = f"streamingbench_{subset}"
    overrides = dict(prompt_overrides(prompts_file, name) or {})
    if subset == "sqa" and sqa_context:
        overrides["context"] = sqa_context
    prompts = PROMPTS[subset](overrides or None)
    protocols: tuple[Protocol, ...]
    if subset == "proactive":
        from omnibench.scoring.rules import time_f1

        scorers = [sb_proactive(turn=proactive_turn or "first", match=output_match or "word"), time_f1(tolerance=2.0)]
        headline, protocols = "answer_accuracy", ("streaming",)
    else:
        scorers = [sb_choice(choice_rule or "ours", unanswered or "wrong")]
        headline, protocols = "accuracy", ("offline", "streaming")

    def samples():
        loaded = streamingbench.load(subset, data_dir, lenient=bool(lenient))
        if context_s and subset != "proactive":   # their --context_time: the clip starts context_s before each question
            return [s.model_copy(update={"metadata": {**s.metadata, "context_s": float(context_s)}}) for s in loaded]
        return loaded

    root = streamingbench.video_root(data_dir)
    return Task(name=name, group="streamingbench", description=DESCRIPTIONS[subset], protocols=protocols,
                samples=samples, scorers=scorers, headline=headline, prompts=prompts,
                metric_docs={k: v for k, v in METRIC_DOCS.items() if (k == "accuracy") != (subset == "proactive")},
                data_root=str(root) if root else None, video_hint=HELP)


DESCRIPTIONS = {
    "real": "Real-time visual understanding: ten question types about what is on screen now",
    "omni": "Omni-source understanding: sound and picture together (emotion, scene, source, alignment, context)",
    "sqa": "Sequential question answering: five questions on a video, each building on the earlier ones",
    "proactive": "Proactive output: 'when X happens, output Y', answered when the model chooses",
}


@task("streamingbench_real", group="streamingbench", description=DESCRIPTIONS["real"])
def streamingbench_real(data_dir=None, lenient=False, prompts_file=None, context_s=None, choice_rule=None,
                        unanswered=None) -> Task:
    return streamingbench_task("real", data_dir=data_dir, lenient=lenient, prompts_file=prompts_file,
                               context_s=context_s, choice_rule=choice_rule, unanswered=unanswered)


@task("streamingbench_omni", group="streamingbench", description=DESCRIPTIONS["omni"])
def streamingbench_omni(data_dir=None, lenient=False, prompts_file=None, context_s=None, choice_rule=None,
                        unanswered=None) -> Task:
    return streamingbench_task("omni", data_dir=data_dir, lenient=lenient, prompts_file=prompts_file,
                               context_s=context_s, choice_rule=choice_rule, unanswered=unanswered)


@task("streamingbench_sqa", group="streamingbench", description=DESCRIPTIONS["sqa"])
def streamingbench_sqa(data_dir=None, lenient=False, prompts_file=None, context_s=None, choice_rule=None,
                       unanswered=None, sqa_context=None) -> Task:
    return streamingbench_task("sqa", data_dir=data_dir, lenient=lenient, prompts_file=prompts_file,
                               context_s=context_s, choice_rule=choice_rule, unanswered=unanswered,
                               sqa_context=sqa_context)


@task("streamingbench_proactive", group="streamingbench", description=DESCRIPTIONS["proactive"])
def streamingbench_proactive(data_dir=None, lenient=False, prompts_file=None, proactive_turn=None,
                             output_match=None) -> Task:
    return streamingbench_task("proactive", data_dir=data_dir, lenient=lenient, prompts_file=prompts_file,
                               proactive_turn=proactive_turn, output_match=output_match)
