"""Prompts of the four StreamingBench tasks: our wording, overridable from a file.

`--reference streamingbench` swaps in the reference's own wording, read from the user's checkout by
`omnibench data reference-prompts --benchmark streamingbench PATH` (omnibench.peer_prompts). The
reference's option handling comes with its wording (`options="reference"`): only the first four
options are shown, lettered A-D when the first lacks "A.", as its prompt builder does.
"""

from __future__ import annotations

import re

from omnibench.data.schema import Message, Sample
from omnibench.task import Prompts

_LETTERED = re.compile(r"^[A-Z]\.\s")


def our_options(options: list[str]) -> list[str]:
    """Every non-empty option, lettered by position where it carries no 'X. ' of its own."""
    return [o if _LETTERED.match(o) else f"{chr(65 + i)}. {o}" for i, o in enumerate(options) if o.strip()]


def reference_options(options: list[str]) -> list[str]:
    """The reference's four: as written when the first starts with 'A.', else the first four lettered A-D."""
    if options and options[0].startswith("A."):
        return list(options[:4])
    return [f"{chr(65 + i)}. {o}" for i, o in enumerate(options[:4])]


class ChoicePrompts(Prompts):
    """Real-time and omni-source: the question and its options (each question asked alone)."""

    templates = {
        "question": "{question}\n{options}\nAnswer with the letter of the correct option only.",
        "options": "ours",          # "reference": four options, as the reference's prompt builder shows them
    }

    def shown_options(self, sample: Sample, turn: int) -> list[str]:
        raw = sample.turns[turn].choices or []
        return reference_options(raw) if self.templates["options"] == "reference" else our_options(raw)

    def options(self, sample: Sample, turn: int) -> dict[str, str]:
        """Template slots: {options} one per line, and {option_1} .. {option_4} for positional templates."""
        shown = self.shown_options(sample, turn)
        return {"options": "\n".join(shown), **{f"option_{k + 1}": (shown + [""] * 4)[k] for k in range(4)}}

    def offline(self, sample: Sample, turn: int, answers: list[str]) -> str:
        return self.templates["question"].format(question=sample.turns[turn].text, **self.options(sample, turn))

    def history(self, sample: Sample, turn: int, answers: list[str]) -> list[Message]:
        return []


class SequentialPrompts(ChoicePrompts):
    """SQA: each question builds on the earlier ones.

    context="own" (ours): the earlier questions and the model's own answers, as chat history
    (offline; a streaming model keeps its own memory). context="gold" (the reference): a context
    paragraph in the prompt with the earlier questions and their *correct* answers."""

    templates = {
        **ChoicePrompts.templates,
        "context": "own",
        "with_context": "{context}\n{question}\n{options}\nAnswer with the letter of the correct option only.",
        "context_start": "Earlier in this video:",
        "context_item": " at {time_stamp}, the question \"{question}\" ({options}) was answered {answer}.",
    }

    def _gold_context(self, sample: Sample, turn: int) -> str:
        stamps = sample.metadata.get("time_stamps") or [_stamp(q.t or 0.0) for q in sample.turns]
        items = [self.templates["context_item"].format(
            time_stamp=stamps[j], question=sample.turns[j].text, answer=sample.turns[j].target,
            **{**self.options(sample, j), "options": ", ".join(self.shown_options(sample, j))}) for j in range(turn)]
        return (self.templates["context_start"] + "".join(items)) if items else ""

    def offline(self, sample: Sample, turn: int, answers: list[str]) -> str:
        if self.templates["context"] != "gold":
            return super().offline(sample, turn, answers)
        return self.templates["with_context"].format(context=self._gold_context(sample, turn),
                                                     question=sample.turns[turn].text, **self.options(sample, turn))

    def history(self, sample: Sample, turn: int, answers: list[str]) -> list[Message]:
        if self.templates["context"] == "gold":
            return []
        asked = [ChoicePrompts.offline(self, sample, j, answers) for j in range(turn)]
        return [m for j in range(turn) for m in (Message(role="user", text=asked[j]),
                                                  Message(role="assistant", text=answers[j]))]

    def streaming(self, sample: Sample, turn: int, answers: list[str]) -> str:
        return self.offline(sample, turn, answers) if self.templates["context"] == "gold" \
            else super().offline(sample, turn, answers)


class ProactivePrompts(Prompts):
    """Proactive output: the request as the user says it; an offline model is polled yes/no on the
    clip so far and, on yes, asked for its output (`alert_answer`, read by the OfflineAsStreaming bridge)."""

    templates = {
        "request": "{question} Say it the moment it happens.",
        "poll": "{question}\nIs now the moment to give that output? Answer yes or no.",
        "answer": "{question}\nGive the output now.",
    }

    def _fill(self, name: str, sample: Sample, turn: int) -> str:
        return self.templates[name].format(question=sample.turns[turn].text, output=sample.metadata.get("output", ""))

    def offline(self, sample: Sample, turn: int, answers: list[str]) -> str:
        return self._fill("request", sample, turn)

    def poll(self, sample: Sample, turn: int) -> str:
        return self._fill("poll", sample, turn)

    def alert_answer(self, sample: Sample, turn: int) -> str:
        return self._fill("answer", sample, turn)


def _stamp(t: float) -> str:
    s = int(t)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


PROMPTS: dict[str, type[Prompts]] = {"real": ChoicePrompts, "omni": ChoicePrompts, "sqa": SequentialPrompts,
                                     "proactive": ProactivePrompts}
