"""Prompts of the six OmniMMI tasks: OmniMMI's structure, our wording, overridable from a file."""

from __future__ import annotations

from omnibench.data.schema import Message, Sample
from omnibench.task import Prompts

_ROLE = {"user": "human", "assistant": "assistant", "system": "system"}


class QuestionPrompts(Prompts):
    """SI and default: the question as asked.

    With `spoken_form` (the OmniMMI tasks) an audio-input model hears the whole instruction (the
    prompt it is given), spoken, as the reference's M4-Audio harness speaks it; "reference" also
    speaks it the way that harness does (omnibench.data.tts.instruction_speaker). Without it (the
    synthetic tasks) each turn's own text is spoken, ahead of the run."""

    templates = {"poll": "{question}\nHas this happened in the video so far? Answer yes or no."}

    def __init__(self, overrides: dict[str, str] | None = None, *, spoken_form: str | None = None):
        super().__init__(overrides)
        if spoken_form not in (None, "as_written", "reference"):
            raise ValueError(f"spoken_form must be as_written or reference, not {spoken_form!r}")
        self.spoken_form = spoken_form
        self.speaks_instruction = spoken_form is not None

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
    """MD: the question with ##ANSWER## filled by the model's own previous answer (Prompts default).

    `online_slot="keep"`: a streaming model hears the question with ##ANSWER## as written, as the
    reference's online loop asks it (its fill looks up an answer that is never there yet)."""

    def __init__(self, overrides: dict[str, str] | None = None, *, online_slot: str = "fill", **options: str | None):
        super().__init__(overrides, **options)
        if online_slot not in ("fill", "keep"):
            raise ValueError(f"online_slot must be fill or keep, not {online_slot!r}")
        self.online_slot = online_slot

    def streaming(self, sample: Sample, turn: int, answers: list[str]) -> str:
        if self.online_slot == "keep":
            return sample.turns[turn].text
        return super().streaming(sample, turn, answers)


class TurnTakingPrompts(QuestionPrompts):
    """PT offline: the last two conversation entries as 'role', newline, 'text' lines.

    Streaming: the remark alone (ours), or with `online_input="conversation"` every entry of the
    conversation in that form, as the reference's online loop passes it."""

    templates = {**QuestionPrompts.templates, "entry": "{role}\n{text}\n"}

    def __init__(self, overrides: dict[str, str] | None = None, *, online_input: str = "remark",
                 **options: str | None):
        super().__init__(overrides, **options)
        if online_input not in ("remark", "conversation"):
            raise ValueError(f"online_input must be remark or conversation, not {online_input!r}")
        self.online_input = online_input

    def _entries(self, sample: Sample, turn: int, history: list[Message]) -> str:
        entries = [*history, Message(role="user", text=sample.turns[turn].text)]
        return "".join(self.templates["entry"].format(role=_ROLE[m.role], text=m.text) for m in entries)

    def offline(self, sample: Sample, turn: int, answers: list[str]) -> str:
        # the last two entries: the last question/answer pair, then the final (noise) turn
        return self._entries(sample, turn, sample.history[-2:])

    def history(self, sample: Sample, turn: int, answers: list[str]) -> list[Message]:
        return []  # the conversation is inside the prompt, as OmniMMI gives it

    def streaming(self, sample: Sample, turn: int, answers: list[str]) -> str:
        if self.online_input == "conversation":
            return self._entries(sample, turn, list(sample.history))
        return sample.turns[turn].text
