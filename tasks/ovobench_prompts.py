"""Prompts of the twelve OVO-Bench tasks: our wording, overridable from a file.

`--reference ovobench` swaps in the reference's own wording, read from the user's checkout by
`omnibench data reference-prompts --benchmark ovobench PATH` (omnibench.peer_prompts): the same
template names, filled the same way. Each probe of a forward task is asked alone, as the
reference asks it (no chat history).
"""

from __future__ import annotations

from omnibench.data.ovobench import letter
from omnibench.data.schema import Message, Sample
from omnibench.task import Prompts


class ChoicePrompts(Prompts):
    """Backward tracing and real-time perception: the question, then the lettered options."""

    templates = {
        "question": "{question}\nOptions:\n{options}\nAnswer with the letter of the correct option only.",
        "option": "{letter}. {text}",
        "options_joiner": "\n",
        "options_end": "",
    }

    def offline(self, sample: Sample, turn: int, answers: list[str]) -> str:
        query = sample.turns[turn]
        options = self.templates["options_joiner"].join(
            self.templates["option"].format(letter=letter(i), text=text) for i, text in enumerate(query.choices or []))
        return self.templates["question"].format(question=query.text, options=options + self.templates["options_end"])

    def history(self, sample: Sample, turn: int, answers: list[str]) -> list[Message]:
        return []


class CountPrompts(ChoicePrompts):
    """REC: how many times the activity has been done so far (the turn's text is the activity)."""

    templates = {"question": 'How many times has anyone in the video done this so far: "{activity}"? '
                             "Answer with one number."}

    def offline(self, sample: Sample, turn: int, answers: list[str]) -> str:
        return self.templates["question"].format(activity=sample.turns[turn].text)


class StepPrompts(ChoicePrompts):
    """SSR: is this step of the tutorial being done right now (the turn's text is the step)."""

    templates = {"question": 'Is the person in the video doing this step right now: "{step}"? Answer yes or no.'}

    def offline(self, sample: Sample, turn: int, answers: list[str]) -> str:
        return self.templates["question"].format(step=sample.turns[turn].text)


class CluePrompts(ChoicePrompts):
    """CRR: has the video shown enough so far to answer the question (the turn's text is the question)."""

    templates = {"question": "{question}\nHas the video shown enough so far to answer this question? "
                             "Answer yes or no."}

    def offline(self, sample: Sample, turn: int, answers: list[str]) -> str:
        return self.templates["question"].format(question=sample.turns[turn].text)


PROMPTS: dict[str, type[Prompts]] = {"REC": CountPrompts, "SSR": StepPrompts, "CRR": CluePrompts}
