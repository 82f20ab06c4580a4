"""What a task is: samples + protocol + prompts + scorers, bound in a few lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from omnibench.errors import ConfigError

if TYPE_CHECKING:
    from omnibench.data.schema import Message, Sample
    from omnibench.scoring.base import Scorer

Protocol = Literal["offline", "streaming"]


class Prompts:
    """How a task talks to a model. Tasks subclass this in their own prompts module.

    `answers` are the model's own earlier answers in this sample (for history and ##ANSWER##).
    """

    version = "1"
    templates: dict[str, str] = {}

    def __init__(self, overrides: dict[str, str] | None = None):
        unknown = set(overrides or {}) - set(self.templates)
        if unknown:
            raise ConfigError(f"unknown prompt names {sorted(unknown)}; known: {sorted(self.templates)}")
        self.templates = {**self.templates, **(overrides or {})}
        if overrides:
            self.version = f"{self.version}+custom"

    def offline(self, sample: Sample, turn: int, answers: list[str]) -> str:
        """The prompt for turn `turn` of an offline model."""
        return said(sample, turn, answers)

    def history(self, sample: Sample, turn: int, answers: list[str]) -> list[Message]:
        return list(sample.history)

    def poll(self, sample: Sample, turn: int) -> str:
        """Yes/no question the OfflineAsStreaming bridge asks every k seconds."""
        return f"{sample.turns[turn].text}\nHas this happened yet in the video? Answer yes or no."

    def streaming(self, sample: Sample, turn: int, answers: list[str]) -> str:
        """The text a streaming model hears for turn `turn` (##ANSWER## filled like offline)."""
        return self.offline(sample, turn, answers)


def said(sample: Sample, turn: int, answers: Sequence[str]) -> str:
    """The user's words at `turn`: ##ANSWER## filled by the model's own answer to the turn it depends on."""
    query = sample.turns[turn]
    text = query.text
    if query.depends_on is not None and "##ANSWER##" in text and query.depends_on < len(answers):
        text = text.replace("##ANSWER##", answers[query.depends_on])
    return text


@dataclass
class Task:
    name: str
    samples: Callable[[], list[Sample]]
    protocols: Sequence[Protocol]            # supported, preferred first
    scorers: list[Scorer]
    headline: str                            # "metric", "scorer/metric" or (scorer, metric); checked when built
    prompts: Prompts = field(default_factory=Prompts)
    metrics: list[str] = field(default_factory=list)  # columns to show; default: every value
    metric_docs: dict[str, str] = field(default_factory=dict)   # metric -> definition; the report's first source
    # the headline a guesser gets on given samples (a rule of omnibench.scoring.chance); None: no chance level
    chance: Callable[[list[Sample]], float | None] | None = None
    group: str | None = None
    description: str = ""
    version: str = "1"
    uses_judge: bool = False
    data_root: str | None = None             # where video paths are resolved
    video_hint: str = ""                     # how to get the videos, said when data_root is missing
    poll_every: float = 1.0                  # OfflineAsStreaming polling period (seconds)
    # staying silent can be the right reply: an offline model's turn-taking head (should_respond) is
    # consulted on every turn alike, so which turns are noise is never told by when it is asked
    turn_taking: bool = False
    tail_s: float = 5.0                      # polls after the video ends
    build_settings: dict = field(default_factory=dict)   # what the factory was given (recorded in run.json)

    def __post_init__(self) -> None:
        self.headline = resolve_headline(self.name, self.headline, self.scorers)


def resolve_headline(task: str, headline: str | tuple[str, str], scorers: list) -> str:
    """The headline as a (scorer, metric) pair checked against what the scorers declare, returned as the
    key its values carry: `metric`, or `scorer/metric` where two scorers declare that metric.

    `headline` is "metric" (one scorer declares it), "scorer/metric" or ("scorer", "metric"). A scorer
    that declares no metrics (a plain function) is checked when scored instead."""
    from omnibench.scoring.base import scorer_names, shared_metrics

    declared = {n: getattr(s, "metrics", None) for n, s in zip(scorer_names(scorers), scorers)}
    shared = shared_metrics(scorers)
    scorer: str | None
    if isinstance(headline, tuple):
        scorer, metric = headline
    elif "/" in headline:
        scorer, metric = headline.split("/", 1)
    else:
        scorer, metric = None, headline
    base = metric.split("@")[0]

    def offered() -> str:
        return "; ".join(f"{n}: {', '.join(d)}" for n, d in declared.items() if d) or "none declared"

    if scorer is not None:
        if scorer not in declared:
            raise ConfigError(f"task {task}: headline {headline!r} names scorer {scorer!r}; its scorers are "
                              f"{', '.join(declared) or 'none'} (metrics: {offered()})")
        if (own := declared[scorer]) is not None and base not in own:
            raise ConfigError(f"task {task}: headline {headline!r}: scorer {scorer} has no metric {metric!r} "
                              f"(metrics: {offered()})")
        return f"{scorer}/{metric}" if base in shared else metric
    owners = [n for n, d in declared.items() if d and base in d]
    if len(owners) > 1:
        raise ConfigError(f"task {task}: headline {metric!r} is a metric of {' and '.join(owners)}; name one, "
                          f"e.g. headline=({owners[0]!r}, {metric!r})")
    if not owners and declared and all(d is not None for d in declared.values()):
        raise ConfigError(f"task {task}: headline {metric!r} is not a metric of its scorers (metrics: {offered()})")
    return metric


def prompt_overrides(path: str | Path | None, task: str) -> dict[str, str] | None:
    """Overrides for one task from a JSON file: {"<task>": {"<template name>": "text"}}."""
    if not path:
        return None
    from omnibench.safejson import load_json  # bad bytes, huge ints, deep nesting: DataError with the line

    data = load_json(path)
    section = data.get(task) if isinstance(data, dict) else None
    if section is not None and not (isinstance(section, dict) and all(isinstance(v, str) for v in section.values())):
        raise ConfigError(f"prompts file {path}: field '{task}' must map template names to strings")
    return section
