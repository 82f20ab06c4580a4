"""Registers the tasks subprocess runners used, so this process can score their logs."""

from omnibench import registry
from omnibench.task import Prompts, Task
from tests.conftest import text_samples


def register_task(name: str, n: int, every: int = 3) -> None:
    from omnibench.scoring.rules import choice_match

    @registry.task(name, hidden=True)
    def factory():
        return Task(name=name, samples=lambda: text_samples(n, name), protocols=("offline",),
                    scorers=[choice_match()], headline="accuracy", prompts=Prompts())


def register_resume_task() -> None:
    register_task("t_resume", 24)
