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


def _judge(judge: dict[str, Any] | None, online_answers: str | None = None, *, multi_turn: bool = False):
    """The judge scorer. Reference parsing on SG/MD also does what multi_evaluate does with a reply it
    cannot read: the turn is not asked again and is dropped from its item (AP/SI ask again, as it does)."""
    from omnibench.scoring.judge import JudgeClient, judge_turns

    settings = dict(judge or {})
    drop = multi_turn and settings.get("parse") == "reference"
    return judge_turns(lambda: JudgeClient(**settings, reask_unparsed=not drop), drop_unscored_turns=drop,
                       online=online_answers or "joined")


def _omnimmi(code: str, name: str, prompts: type[Prompts], scorers: list, headline: str, *,
             protocols=("offline", "streaming"), data_dir=None, lenient=False, prompts_file=None,
             judge_used: bool = True, description: str = "", ask_times=None, si_input=None, missing_clip=None,
             prompt_options: dict[str, Any] | None = None, spoken_form=None) -> Task:
    """`ask_times` ("ours" | "reference"), `si_input` ("causal" | "whole"), `missing_clip` ("cut" |
    "error"), `prompt_options` (the MD / PT streaming inputs): rows of the README's reference table."""
    from omnibench.data import omnimmi

    root = omnimmi.video_root(data_dir)
    options = {k: v for k, v in {**(prompt_options or {}), "spoken_form": spoken_form or "as_written"}.items()
               if v is not None}
    return Task(
        name=name, samples=lambda: omnimmi.load(code, data_dir, lenient=bool(lenient), ask_times=ask_times or "ours",
                                                si_input=si_input or "causal", missing_clip=missing_clip or "cut"),
        protocols=protocols, scorers=scorers, headline=headline,
        prompts=prompts(prompt_overrides(prompts_file, name), **options), group="omnimmi", description=description,
        uses_judge=judge_used, data_root=str(root) if root else None, video_hint=VIDEO_HINT,
    )


@task("omnimmi_sg", group="omnimmi", description="State grounding: what is happening now, turn after turn")
def omnimmi_sg(data_dir=None, lenient=False, judge=None, prompts_file=None, ask_times=None, missing_clip=None,
               online_answers=None, spoken_form=None) -> Task:
    return _omnimmi("sg", "omnimmi_sg", HistoryPrompts, [_judge(judge, online_answers, multi_turn=True)], "accuracy",
                    data_dir=data_dir, lenient=lenient, prompts_file=prompts_file, ask_times=ask_times,
                    missing_clip=missing_clip, spoken_form=spoken_form)


@task("omnimmi_ap", group="omnimmi", description="Action prediction: the next step, from a vocabulary")
def omnimmi_ap(data_dir=None, lenient=False, judge=None, prompts_file=None, ask_times=None,
               online_answers=None, spoken_form=None) -> Task:
    return _omnimmi("ap", "omnimmi_ap", ActionPrompts, [_judge(judge, online_answers)], "accuracy",
                    data_dir=data_dir, lenient=lenient, prompts_file=prompts_file, ask_times=ask_times,
                    spoken_form=spoken_form)


@task("omnimmi_md", group="omnimmi", description="Multi-turn dependency: questions built on earlier answers")
def omnimmi_md(data_dir=None, lenient=False, judge=None, prompts_file=None, ask_times=None, missing_clip=None,
               online_answers=None, online_answer_slot=None, spoken_form=None) -> Task:
    return _omnimmi("md", "omnimmi_md", DependencyPrompts, [_judge(judge, online_answers, multi_turn=True)],
                    "accuracy", data_dir=data_dir, lenient=lenient, prompts_file=prompts_file, ask_times=ask_times,
                    missing_clip=missing_clip, prompt_options={"online_slot": online_answer_slot},
                    spoken_form=spoken_form)


@task("omnimmi_si", group="omnimmi", description="Speaker identification: who said it")
def omnimmi_si(data_dir=None, lenient=False, judge=None, prompts_file=None, ask_times=None, si_input=None,
               online_answers=None, spoken_form=None) -> Task:
    return _omnimmi("si", "omnimmi_si", QuestionPrompts, [_judge(judge, online_answers)], "accuracy",
                    data_dir=data_dir, lenient=lenient, prompts_file=prompts_file, ask_times=ask_times,
                    si_input=si_input, spoken_form=spoken_form)


@task("omnimmi_pa", group="omnimmi", description="Proactive alerting: speak up when the asked event appears")
def omnimmi_pa(data_dir=None, lenient=False, prompts_file=None, alert_time=None, drop_first_second=None,
               count_empty_alerts=None, online_answers=None, spoken_form=None) -> Task:
    from omnibench.scoring.rules import alert_timing, time_f1

    scorers = [alert_timing(time=alert_time or "spoken", drop_first_second=drop_first_second or "never",
                            count_empty=bool(count_empty_alerts), online=online_answers or "joined"), time_f1()]
    return _omnimmi("pa", "omnimmi_pa", QuestionPrompts, scorers, "accuracy", protocols=("streaming",),
                    data_dir=data_dir, lenient=lenient, prompts_file=prompts_file, judge_used=False,
                    spoken_form=spoken_form)


@task("omnimmi_pt", group="omnimmi", description="Proactive turn-taking: stay silent when not addressed")
def omnimmi_pt(data_dir=None, lenient=False, prompts_file=None, pt_online_input=None, online_answers=None,
               spoken_form=None) -> Task:
    from omnibench.scoring.rules import silence

    task = _omnimmi("pt", "omnimmi_pt", TurnTakingPrompts, [silence(online=online_answers or "joined")], "silence",
                    data_dir=data_dir, lenient=lenient, prompts_file=prompts_file, judge_used=False,
                    prompt_options={"online_input": pt_online_input}, spoken_form=spoken_form)
    task.turn_taking = True
    return task
