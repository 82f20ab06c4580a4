"""Registers the task the resume subprocess used, so this process can score its logs."""

from omnibench import registry
from omnibench.task import Prompts, Task
from tests.conftest import text_samples


def register_resume_task() -> None:
    from omnibench.scoring.rules import choice_match

    @registry.task("t_resume", hidden=True)
    def factory():
        return Task(name="t_resume", samples=lambda: text_samples(24, "t_resume"), protocols=("offline",),
                    scorers=[choice_match()], headline="accuracy", prompts=Prompts())
