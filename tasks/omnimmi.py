"""The six OmniMMI tasks (group `omnimmi`), as published, on the packaged annotations."""

from __future__ import annotations

from typing import Any

from omnibench.registry import task
from omnibench.task import Prompts, Task, prompt_overrides
from omnibench.tasks.omnimmi_prompts import (
    ActionPrompts,
    DependencyPrompts,
    HistoryPrompts,
    QuestionPrompts,
    TurnTakingPrompts,
)

VIDEO_HINT = ("Get them with `omnibench data download omnimmi --out DIR` (needs the Hugging Face Hub), "
              "or put videos/ and clips/ from the ColorfulAI/OmniMMI dataset in DIR; then pass "
              "--data-dir DIR or set OMNIBENCH_OMNIMMI_DIR.")


def _judge(judge: dict[str, Any] | None):
    from omnibench.scoring.judge import JudgeClient, judge_turns

    return judge_turns(lambda: JudgeClient(**(judge or {})))


def _omnimmi(code: str, name: str, prompts: type[Prompts], scorers: list, headline: str, *,
             protocols=("offline", "streaming"), data_dir=None, lenient=False, prompts_file=None,
             judge_used: bool = True, description: str = "", ask_times=None, si_input=None) -> Task:
    """`ask_times` ("ours" | "reference") and `si_input` ("causal" | "whole"): README rows 6 and 1."""
    from omnibench.data import omnimmi

    root = omnimmi.video_root(data_dir)
    loader = {"ask_times": ask_times or "ours", "si_input": si_input or "causal"}
    return Task(
        name=name, samples=lambda: omnimmi.load(code, data_dir, lenient=bool(lenient), **loader),
        protocols=protocols, scorers=scorers, headline=headline,
        prompts=prompts(prompt_overrides(prompts_file, name)), group="omnimmi", description=description,
        uses_judge=judge_used, data_root=str(root) if root else None, video_hint=VIDEO_HINT,
    )


@task("omnimmi_sg", group="omnimmi", description="State grounding: what is happening now, turn after turn")
def omnimmi_sg(data_dir=None, lenient=False, judge=None, prompts_file=None, ask_times=None) -> Task:
    return _omnimmi("sg", "omnimmi_sg", HistoryPrompts, [_judge(judge)], "accuracy", data_dir=data_dir,
                    lenient=lenient, prompts_file=prompts_file, ask_times=ask_times)


@task("omnimmi_ap", group="omnimmi", description="Action prediction: the next step, from a vocabulary")
def omnimmi_ap(data_dir=None, lenient=False, judge=None, prompts_file=None, ask_times=None) -> Task:
    return _omnimmi("ap", "omnimmi_ap", ActionPrompts, [_judge(judge)], "accuracy", data_dir=data_dir,
                    lenient=lenient, prompts_file=prompts_file, ask_times=ask_times)


@task("omnimmi_md", group="omnimmi", description="Multi-turn dependency: questions built on earlier answers")
def omnimmi_md(data_dir=None, lenient=False, judge=None, prompts_file=None, ask_times=None) -> Task:
    return _omnimmi("md", "omnimmi_md", DependencyPrompts, [_judge(judge)], "accuracy", data_dir=data_dir,
                    lenient=lenient, prompts_file=prompts_file, ask_times=ask_times)


@task("omnimmi_si", group="omnimmi", description="Speaker identification: who said it")
def omnimmi_si(data_dir=None, lenient=False, judge=None, prompts_file=None, ask_times=None, si_input=None) -> Task:
    return _omnimmi("si", "omnimmi_si", QuestionPrompts, [_judge(judge)], "accuracy", data_dir=data_dir,
                    lenient=lenient, prompts_file=prompts_file, ask_times=ask_times, si_input=si_input)


@task("omnimmi_pa", group="omnimmi", description="Proactive alerting: speak up when the asked event appears")
def omnimmi_pa(data_dir=None, lenient=False, prompts_file=None, alert_time=None, drop_first_second=None) -> Task:
    from omnibench.scoring.rules import alert_timing, time_f1

    scorers = [alert_timing(time=alert_time or "spoken", drop_first_second=bool(drop_first_second)), time_f1()]
    return _omnimmi("pa", "omnimmi_pa", QuestionPrompts, scorers, "accuracy", protocols=("streaming",),
                    data_dir=data_dir, lenient=lenient, prompts_file=prompts_file, judge_used=False)


@task("omnimmi_pt", group="omnimmi", description="Proactive turn-taking: stay silent when not addressed")
def omnimmi_pt(data_dir=None, lenient=False, prompts_file=None) -> Task:
    from omnibench.scoring.rules import silence

    task = _omnimmi("pt", "omnimmi_pt", TurnTakingPrompts, [silence()], "silence", data_dir=data_dir,
                    lenient=lenient, prompts_file=prompts_file, judge_used=False)
    task.turn_taking = True
    return task
