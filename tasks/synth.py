"""The synthetic suite (group `synth`): every task family on generated videos, exact answers, no judge."""

from __future__ import annotations

from omnibench.registry import task
from omnibench.task import Prompts, Task, prompt_overrides
from omnibench.tasks.omnimmi_prompts import ActionPrompts, HistoryPrompts, QuestionPrompts


def suite_samples(name: str, seed: int, n_per_task: int | None):
    """(suite root, samples of `name`); an explicit n_per_task also sizes the interruption families."""
    from omnibench.data.synth import ensure_suite

    if n_per_task:
        suite = ensure_suite(seed=seed, n_per_task=n_per_task, n_interruption=n_per_task, tasks=[name], progress=False)
    else:
        suite = ensure_suite(seed=seed, tasks=[name], progress=False)
    return suite.root, suite.samples[name]


def _synth(name: str, prompts: type[Prompts], scorers: list, headline: str, *, protocols, seed: int,
           n_per_task: int | None, prompts_file: str | None, description: str, chance=None) -> Task:
    """A suite task; its chance rule defaults to closed questions all answered right (choice_match)."""
    from omnibench.data.synth import default_root
    from omnibench.scoring.chance import all_turns

    return Task(name=name, samples=lambda: suite_samples(name, seed, n_per_task)[1], protocols=protocols,
                scorers=scorers, headline=headline, prompts=prompts(prompt_overrides(prompts_file, name)),
                chance=chance or all_turns,
                group="synth", description=description, data_root=str(default_root(seed)),
                video_hint="The synthetic suite is generated on first use: run `python run_eval.py` once.")


def _choice():
    from omnibench.scoring.rules import choice_match

    return choice_match()


@task("synth_pa", group="synth", description="Synthetic alerting: say when the red circle appears")
def synth_pa(seed: int = 0, n_per_task: int | None = None, prompts_file=None, alert_time=None) -> Task:
    from omnibench.scoring.chance import alert_window
    from omnibench.scoring.rules import alert_timing, time_f1

    return _synth("synth_pa", QuestionPrompts, [alert_timing(time=alert_time or "spoken"), time_f1()], "accuracy",
                  protocols=("streaming",), seed=seed, n_per_task=n_per_task, prompts_file=prompts_file,
                  description="Synthetic alerting: say when the red circle appears", chance=alert_window)


@task("synth_sg", group="synth", description="Synthetic state grounding: what is the square doing now")
def synth_sg(seed: int = 0, n_per_task: int | None = None, prompts_file=None) -> Task:
    return _synth("synth_sg", HistoryPrompts, [_choice()], "accuracy", protocols=("offline", "streaming"),
                  seed=seed, n_per_task=n_per_task, prompts_file=prompts_file,
                  description="Synthetic state grounding: what is the square doing now")


@task("synth_ap", group="synth", description="Synthetic action prediction: what comes next in the cycle")
def synth_ap(seed: int = 0, n_per_task: int | None = None, prompts_file=None) -> Task:
    return _synth("synth_ap", ActionPrompts, [_choice()], "accuracy", protocols=("offline", "streaming"),
                  seed=seed, n_per_task=n_per_task, prompts_file=prompts_file,
                  description="Synthetic action prediction: what comes next in the cycle")


@task("synth_md", group="synth", description="Synthetic multi-turn dependency: questions on earlier answers")
def synth_md(seed: int = 0, n_per_task: int | None = None, prompts_file=None) -> Task:
    return _synth("synth_md", QuestionPrompts, [_choice()], "accuracy", protocols=("offline", "streaming"),
                  seed=seed, n_per_task=n_per_task, prompts_file=prompts_file,
                  description="Synthetic multi-turn dependency: questions on earlier answers")


@task("synth_si", group="synth", description="Synthetic speaker identification: who said the line")
def synth_si(seed: int = 0, n_per_task: int | None = None, prompts_file=None) -> Task:
    return _synth("synth_si", QuestionPrompts, [_choice()], "accuracy", protocols=("offline", "streaming"),
                  seed=seed, n_per_task=n_per_task, prompts_file=prompts_file,
                  description="Synthetic speaker identification: who said the line")


@task("synth_pt", group="synth", description="Synthetic turn-taking: stay silent after a remark not meant for you")
def synth_pt(seed: int = 0, n_per_task: int | None = None, prompts_file=None) -> Task:
    from omnibench.scoring.chance import constant
    from omnibench.scoring.rules import silence
    from omnibench.tasks.omnimmi_prompts import TurnTakingPrompts

    task = _synth("synth_pt", TurnTakingPrompts, [silence()], "silence", protocols=("offline", "streaming"),
                  seed=seed, n_per_task=n_per_task, prompts_file=prompts_file,
                  description="Synthetic turn-taking: stay silent after a remark not meant for you",
                  chance=constant(0.5))
    task.turn_taking = True
    return task


@task("synth_noise", group="synth", description="Synthetic noise or follow-up mid-answer: ignore one, answer the other")
def synth_noise(seed: int = 0, n_per_task: int | None = None, prompts_file=None) -> Task:
    from omnibench.tasks.interaction import interruption_task

    return interruption_task("synth_noise", seed=seed, n_per_task=n_per_task, prompts_file=prompts_file,
                             group="synth", description="Synthetic noise or follow-up mid-answer (streaming)")


@task("synth_stop", group="synth", description="Synthetic stop or lure mid-answer: stop at once, or go on")
def synth_stop(seed: int = 0, n_per_task: int | None = None, prompts_file=None, max_words: int = 3) -> Task:
    from omnibench.tasks.interaction import interruption_task

    return interruption_task("synth_stop", seed=seed, n_per_task=n_per_task, prompts_file=prompts_file,
                             group="synth", max_words=max_words,
                             description="Synthetic stop or lure mid-answer (streaming)")
