"""What a task is: samples + protocol + prompts + scorers, bound in a few lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from omnibench.data.schema import Message, Sample
    from omnibench.scoring.base import Scorer

Protocol = Literal["offline", "streaming"]


class Prompts:
    """How a task talks to a model. Tasks subclass this in their own prompts module.

    `answers` are the model's own earlier answers in this sample (for history and ##ANSWER##).
    """

    version = "1"

    def offline(self, sample: Sample, turn: int, answers: list[str]) -> str:
        """The prompt for turn `turn` of an offline model."""
        query = sample.turns[turn]
        text = query.text
        if query.depends_on is not None and "##ANSWER##" in text:
            text = text.replace("##ANSWER##", answers[query.depends_on])
        return text

    def history(self, sample: Sample, turn: int, answers: list[str]) -> list[Message]:
        return list(sample.history)

    def poll(self, sample: Sample, turn: int) -> str:
        """Yes/no question the OfflineAsStreaming bridge asks every k seconds."""
        return f"{sample.turns[turn].text}\nHas this happened yet in the video? Answer yes or no."

    def streaming(self, sample: Sample, turn: int, answers: list[str]) -> str:
        """The text a streaming model hears for turn `turn` (##ANSWER## filled like offline)."""
        return self.offline(sample, turn, answers)


@dataclass
class Task:
    name: str
    samples: Callable[[], list[Sample]]
    protocols: Sequence[Protocol]            # supported, preferred first
    scorers: list[Scorer]
    headline: str
    prompts: Prompts = field(default_factory=Prompts)
    metrics: list[str] = field(default_factory=list)  # columns to show; default: every value
    group: str | None = None
    description: str = ""
    version: str = "1"
    uses_judge: bool = False
    data_root: str | None = None             # where video paths are resolved
    poll_every: float = 1.0                  # OfflineAsStreaming polling period (seconds)
    tail_s: float = 5.0                      # polls after the video ends
