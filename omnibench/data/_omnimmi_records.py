"""OmniMMI records as published (typed, validated) and their mapping onto omnibench Samples.

One pydantic model per file shape, so a broken record fails with the field named; one function
per task turns a valid record into a `Sample`. The reference harness's conventions kept here:
videos live in `videos/<name>`, offline clips in `clips/{stem}_{int(end)}.mp4`, and an MD
question's `##ANSWER##` is filled with the model's answer to the previous turn.
"""

from __future__ import annotations

import math
import re
from pathlib import PurePosixPath
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from omnibench.data.schema import Message, Query, Sample, VideoRef, check_video_file

ANSWER_SLOT = "##ANSWER##"
Text = Annotated[str, StringConstraints(min_length=1)]
Seconds = Annotated[float, Field(ge=0)]
# "9.0 -- 13.0", "95 -- 194": start and end seconds, as the SG/MD files write them
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*--\s*(\d+(?:\.\d+)?)\s*$")


def parse_span(text: str) -> tuple[float, float]:
    match = _SPAN.match(text)
    if not match:
        raise ValueError(f"timestamp {text!r} is not 'start -- end' in seconds")
    start, end = float(match.group(1)), float(match.group(2))
    if not (math.isfinite(start) and math.isfinite(end)):
        raise ValueError(f"timestamp {text!r} is not finite")
    return start, end


def video_stem(name: str) -> str:
    """`abc.27.mp4` -> `abc.27` (the reference cuts at '.mp4'; subfolders are kept)."""
    return str(PurePosixPath(name).with_suffix("")) if PurePosixPath(name).suffix else name


class _Record(BaseModel):
    # strict: "3" is not a number and 1 is not a string; unknown keys (e.g. a "pred") are ignored
    model_config = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False, frozen=True)

    video: Text

    @field_validator("video")
    @classmethod
    def _relative(cls, v: str) -> str:
        return check_video_file(v)


class SpanQA(BaseModel):
    model_config = _Record.model_config

    question: Text
    answer: Text
    timestamp: Text

    @field_validator("timestamp")
    @classmethod
    def _span(cls, v: str) -> str:
        parse_span(v)
        return v


class TurnsRecord(_Record):
    """SG and MD: several questions on one video, each about a span 'start -- end'."""

    qa: list[SpanQA] = Field(min_length=1)

    @field_validator("qa")
    @classmethod
    def _in_order(cls, qa: list[SpanQA]) -> list[SpanQA]:
        ends = [parse_span(turn.timestamp)[1] for turn in qa]
        for i in range(1, len(ends)):
            if ends[i] < ends[i - 1]:
                raise ValueError(f"qa[{i}] ends at {ends[i]}s, before qa[{i - 1}] ({ends[i - 1]}s); "
                                 "turns must be in stream order")
        return qa


class ActionRecord(_Record):
    question: Text
    answer: Text
    vocab: list[Text] = Field(min_length=1)


class SpeakerRecord(_Record):
    question: Text
    answer: Text
    timestamp: Seconds


class AlertRecord(_Record):
    question: Text
    answer: list[Seconds] = Field(min_length=2, max_length=2)

    @field_validator("answer")
    @classmethod
    def _window(cls, v: list[float]) -> list[float]:
        if v[1] < v[0]:
            raise ValueError(f"alert window {v} ends before it starts")
        return v


class Exchange(BaseModel):
    model_config = _Record.model_config

    human: Text
    # "" occurs once in the published PT file: a reply left empty (silence), kept as written
    assistant: str | None = None


class ConversationRecord(_Record):
    """PT: a chat whose last entry is a remark not addressed to the model (it must stay silent)."""

    conversation: list[Exchange] = Field(min_length=1)

    @field_validator("conversation")
    @classmethod
    def _shape(cls, conversation: list[Exchange]) -> list[Exchange]:
        *earlier, last = conversation
        for i, turn in enumerate(earlier):
            if turn.assistant is None:
                raise ValueError(f"conversation[{i}] has no 'assistant' reply (only the last entry may lack one)")
        if last.assistant is not None:
            raise ValueError("the last conversation entry is the noise remark and must have no 'assistant'")
        return conversation


RECORD_TYPES: dict[str, type[_Record]] = {
    "sg": TurnsRecord, "md": TurnsRecord, "ap": ActionRecord,
    "si": SpeakerRecord, "pa": AlertRecord, "pt": ConversationRecord,
}


def _base(code: str, index: int, video: str, **metadata: Any) -> dict[str, Any]:
    return {
        "id": f"{code}-{index:04d}",
        "task": f"omnimmi_{code}",
        "metadata": {"video_id": video_stem(video), "record": index, **metadata},
    }


def _turns_sample(code: str, index: int, rec: TurnsRecord, ask_times: str = "ours",
                  missing_clip: str = "cut") -> Sample:
    stem = video_stem(rec.video)
    turns: list[Query] = []
    clips: dict[str, str] = {}
    notes: list[str] = []
    for i, qa in enumerate(rec.qa):
        start, end = parse_span(qa.timestamp)
        if end < start:  # one published SG span is reversed by 0.15 s; ask at its end, as the reference does
            notes.append(f"turn {i}: span {qa.timestamp!r} is reversed; span_start set to its end")
            start = end
        depends_on = None
        if code == "md" and ANSWER_SLOT in qa.question:
            if i == 0:  # one published MD record does this; the reference leaves the slot unfilled
                notes.append(f"turn 0 contains {ANSWER_SLOT} but has no earlier answer; left as written")
            else:
                depends_on = i - 1
        turns.append(Query(t=end, text=qa.question, target=qa.answer, span_start=start, depends_on=depends_on))
        # the reference cuts offline clips at the whole second: clips/{stem}_{int(end)}.mp4
        clips[str(int(end))] = f"clips/{stem}_{int(end)}.mp4"
    extra: dict[str, Any] = {"timestamps": [qa.timestamp for qa in rec.qa]}
    if ask_times == "reference":  # its online loop asks at the span midpoint (the offline clip still ends at the span end)
        extra["stream_ask"] = [{"at_least": (float(q.span_start or 0.0) + float(q.t or 0.0)) / 2} for q in turns]
    if notes:
        extra["notes"] = notes
    if missing_clip == "error":   # the reference reads clips/ only: a missing clip is an error there
        extra["clips_required"] = True
    return Sample(**_base(code, index, rec.video, **extra),
                  video=VideoRef(path=f"videos/{rec.video}", clips=clips), turns=turns)


def to_sample(code: str, index: int, rec: _Record, *, ask_times: str = "ours", si_input: str = "causal",
              missing_clip: str = "cut") -> Sample:
    """The omnibench Sample for one validated record of task `code`.

    ask_times="reference": streaming turns are asked when the reference's online loop asks them
    (metadata `stream_ask`, read by the stream runner; see omnibench.reference.stream_ask_times).
    si_input="whole": an offline SI model sees the whole video, as in the reference, not [0, timestamp].
    missing_clip="error": an SG/MD turn whose pre-cut clip is missing fails (metadata `clips_required`)
    instead of reading [0, end] of the full video.
    """
    if ask_times not in ("ours", "reference") or si_input not in ("causal", "whole") or \
            missing_clip not in ("cut", "error"):
        raise ValueError(f"ask_times must be 'ours' or 'reference', si_input 'causal' or 'whole' and missing_clip "
                         f"'cut' or 'error', got {ask_times!r}, {si_input!r}, {missing_clip!r}")
    video = VideoRef(path=f"videos/{rec.video}")
    extra: dict[str, Any] = {}
    if isinstance(rec, TurnsRecord):
        return _turns_sample(code, index, rec, ask_times, missing_clip)
    if isinstance(rec, ActionRecord):  # asked when the video ends; the vocabulary is the choice list
        turn = Query(t=None, text=rec.question, target=rec.answer, choices=list(rec.vocab))
        if ask_times == "reference":
            extra["stream_ask"] = [{"frames_before_end": 5}]
    elif isinstance(rec, SpeakerRecord):
        # t=None: the offline clip is the whole video; the streaming ask stays at the timestamp
        turn = Query(t=None if si_input == "whole" else rec.timestamp, text=rec.question, target=rec.answer)
        if ask_times == "reference":
            extra["stream_ask"] = [{"frame_of": rec.timestamp}]
        elif si_input == "whole":
            extra["stream_ask"] = [{"at_least": rec.timestamp}]
    elif isinstance(rec, AlertRecord):  # asked at the start; the answer is the window to alert in
        turn = Query(t=0.0, kind="alert_request", text=rec.question, target=[float(x) for x in rec.answer])
    elif isinstance(rec, ConversationRecord):
        *earlier, last = rec.conversation
        history = [m for ex in earlier
                   for m in (Message(role="user", text=ex.human), Message(role="assistant", text=ex.assistant or ""))]
        return Sample(**_base(code, index, rec.video), video=video, history=history,
                      turns=[Query(t=None, kind="noise", text=last.human, target=None)])
    else:  # pragma: no cover - RECORD_TYPES and this function change together
        raise TypeError(f"no mapping for {type(rec).__name__}")
    return Sample(**_base(code, index, rec.video, **extra), video=video, turns=[turn])
