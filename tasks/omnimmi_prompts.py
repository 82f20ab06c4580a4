"""Prompts of the six OmniMMI tasks: OmniMMI's structure, our wording, overridable from a file."""

from __future__ import annotations

from omnibench.data.schema import Message, Sample
from omnibench.task import Prompts

_ROLE = {"user": "human", "assistant": "assistant", "system": "system"}


class QuestionPrompts(Prompts):
    """SI and default: the question as asked."""

    templates = {"poll": "{question}\nHas this happened in the video so far? Answer yes or no."}

    def poll(self, sample: Sample, turn: int) -> str:
        return self.templates["poll"].format(question=sample.turns[turn].text)


class ActionPrompts(QuestionPrompts):
    """AP: the question, then an instruction to pick the next step from the vocabulary list."""

    templates = {**QuestionPrompts.templates,
                 "question": "{question} Choose the next step from this list of steps: {vocab}."}

    def offline(self, sample: Sample, turn: int, answers: list[str]) -> str:
        query = sample.turns[turn]
        return self.templates["question"].format(question=query.text, vocab=query.choices or [])


class HistoryPrompts(QuestionPrompts):
    """SG offline: the running user/assistant history of the earlier turns, then the new question."""

    templates = {**QuestionPrompts.templates, "turn": "user\n{question}\nassistant\n", "answer": "{answer}\n"}

    def offline(self, sample: Sample, turn: int, answers: list[str]) -> str:
        text = ""
        for i in range(turn):
            text += self.templates["turn"].format(question=sample.turns[i].text)
            text += self.templates["answer"].format(answer=answers[i])
        return text + self.templates["turn"].format(question=sample.turns[turn].text)

    def streaming(self, sample: Sample, turn: int, answers: list[str]) -> str:
        return sample.turns[turn].text   # a streaming model keeps its own memory of the chat


class DependencyPrompts(QuestionPrompts):
    """MD: the question with ##ANSWER## filled by the model's own previous answer (Prompts default)."""


class TurnTakingPrompts(QuestionPrompts):
    """PT offline: the last two conversation entries as 'role', newline, 'text' lines."""

    templates = {**QuestionPrompts.templates, "entry": "{role}\n{text}\n"}

    def offline(self, sample: Sample, turn: int, answers: list[str]) -> str:
        # the last two entries: the last question/answer pair, then the final (noise) turn
        entries = [*sample.history[-2:], Message(role="user", text=sample.turns[turn].text)]
        return "".join(self.templates["entry"].format(role=_ROLE[m.role], text=m.text) for m in entries)

    def history(self, sample: Sample, turn: int, answers: list[str]) -> list[Message]:
        return []  # the conversation is inside the prompt, as OmniMMI gives it

    def streaming(self, sample: Sample, turn: int, answers: list[str]) -> str:
        return sample.turns[turn].text
