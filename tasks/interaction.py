"""noise_rejection and stop_turn: interruptions arriving while the model answers a real question.

Both run on the synthetic videos (exact answers) with interruptions drawn from curated lists
(noise also from OmniMMI's turn-taking remarks). Streaming: the interruption lands mid-answer.
Offline: it is the last turn, and the right reply is silence.
"""

from __future__ import annotations

import hashlib
import random

from omnibench.data.schema import Query, Sample
from omnibench.registry import task
from omnibench.task import Task, prompt_overrides
from omnibench.tasks.omnimmi_prompts import QuestionPrompts
from omnibench.tasks.phrases import NOISE_STATEMENTS, STOP_PHRASES

SOURCES = ("synth_sg", "synth_si", "synth_md")
DESCRIBE = "Describe everything you have seen in the video so far, in as much detail as you can."


def _rng(seed: int, key: str) -> random.Random:
    return random.Random(int(hashlib.sha256(f"{seed}|{key}".encode()).hexdigest()[:16], 16))


def noise_pool() -> list[str]:
    """The curated remarks plus OmniMMI's own turn-taking remarks (its PT final turns)."""
    from omnibench.data import omnimmi

    remarks = [s.turns[-1].text for s in omnimmi.load("pt")]
    return list(dict.fromkeys([*NOISE_STATEMENTS, *remarks]))


def interrupted(base: Sample, name: str, kind: str, text: str, delay: float, question: Query | None = None) -> Sample:
    first = question or base.turns[0]
    t0 = first.t or 0.0
    turns = [first.model_copy(update={"t": t0}), Query(t=t0 + delay, text=text, kind=kind)]
    return Sample(id=f"{name}-{base.id}", task=name, video=base.video, turns=turns,
                  metadata={**base.metadata, "source": base.id, "interruption": kind})


def build(name: str, kind: str, seed: int, n_per_task: int | None) -> list[Sample]:
    from omnibench.tasks.synth import suite_samples

    pool = noise_pool() if kind == "noise" else list(STOP_PHRASES)
    out = []
    for source in SOURCES:
        for base in suite_samples(source, seed, n_per_task)[1]:
            rng = _rng(seed, f"{name}|{base.id}")
            question = None
            if kind == "stop":
                t0 = base.turns[0].t or 0.0
                question = Query(t=t0, text=DESCRIBE)
            out.append(interrupted(base, name, kind, rng.choice(pool), round(rng.uniform(1.0, 2.0), 2), question))
    return out


def _task(name, kind, scorers, headline, seed, n_per_task, prompts_file, description) -> Task:
    from omnibench.data.synth import default_root

    return Task(name=name, samples=lambda: build(name, kind, seed, n_per_task), protocols=("streaming", "offline"),
                scorers=scorers, headline=headline, prompts=QuestionPrompts(prompt_overrides(prompts_file, name)),
                description=description, data_root=str(default_root(seed)))


@task("noise_rejection", description="A remark not meant for the model arrives mid-answer: keep answering, do not reply")
def noise_rejection(seed: int = 0, n_per_task: int | None = None, prompts_file=None) -> Task:
    from omnibench.scoring.rules import answer_continuity, choice_match

    return _task("noise_rejection", "noise", [answer_continuity(), choice_match()], "rejected", seed, n_per_task,
                 prompts_file, "A remark not meant for the model arrives mid-answer")


@task("stop_turn", description="The user says stop mid-answer: stop at once")
def stop_turn(seed: int = 0, n_per_task: int | None = None, prompts_file=None) -> Task:
    from omnibench.scoring.rules import stop_compliance

    return _task("stop_turn", "stop", [stop_compliance()], "compliance", seed, n_per_task, prompts_file,
                 "The user says stop mid-answer")
