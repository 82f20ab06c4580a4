"""What the OmniMMI reference's online loop would have kept of a stream, read from our event log.

The reference (evaluations/online_inference_utils.py) plays frames 0..int(duration*fps)-1, calls
the model once a frame, and keeps:
- AP, SI: the first non-empty response of the stream (asked or not), then stops;
- SG, MD: each non-empty response goes to the earliest question asked and not yet answered
  (responses while none is pending are lost); it stops once every question has one;
- PA: every response's time with int(time) != 0 (the "first-second drop"), to the last frame.
Nothing after the last frame is heard: there is no tail. These rules apply to *live* records only,
streams a model produced here: a replayed prediction file already went through a loop (the
reference's own, or another harness's), so its answers and alert times are taken as they are.

An utterance is what a streaming model says in one go: its deltas for one turn up to the one
that closes it (done not False); it counts from the time of its first delta, whole, as the
reference's model returns a whole response from one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from omnibench.engine.eventlog import Event, SampleRecord

OnlineAnswers = Literal["joined", "first"]
FIRST_SECOND = ("never", "live", "always")
SINGLE_QUESTION = ("_ap", "_si")


def is_live(record: SampleRecord) -> bool:
    """A stream produced here by a model (not offline, not a replayed prediction file)."""
    return record.settings.get("protocol") != "offline" and not record.settings.get("replayed")


def last_frame_time(record: SampleRecord) -> float:
    """The time of the last frame fed (the stream's end when no frame was logged)."""
    frames = [e.t for e in record.events if e.kind == "frame"]
    return frames[-1] if frames else record.stream_s


@dataclass
class Utterance:
    turn: int | None
    t: float
    index: int            # position of its first delta in the log
    text: str


def utterances(record: SampleRecord) -> list[Utterance]:
    """The emissions grouped into utterances, in the order they started."""
    out: list[Utterance] = []
    open_by_turn: dict[int | None, Utterance] = {}
    for k, e in enumerate(record.events):
        if e.kind != "emission":
            continue
        current = open_by_turn.get(e.turn)
        if current is None:
            current = Utterance(e.turn, e.t, k, "")
            out.append(current)
        current.text += e.text or ""
        if e.done is False:
            open_by_turn[e.turn] = current
        else:
            open_by_turn.pop(e.turn, None)
    return out


def first_answers(task: str, n_turns: int, record: SampleRecord) -> list[str]:
    """The answer to each turn as the reference's online loop collects it (see the module docstring)."""
    end = last_frame_time(record)
    spoken = [u for u in utterances(record) if u.text and u.t <= end + 1e-9]
    answers = [""] * n_turns
    if task.endswith(SINGLE_QUESTION):
        if spoken and n_turns:
            answers[0] = spoken[0].text
        return answers
    asked_at = sorted(k for k, e in enumerate(record.events) if e.kind == "query" and e.turn is not None)
    answered = 0
    for u in spoken:
        asked = sum(1 for k in asked_at if k < u.index)
        if answered < min(asked, n_turns):
            answers[answered] = u.text
            answered += 1
        if answered >= n_turns:
            break
    return answers


def kept_alert(t: float, record: SampleRecord, drop_first_second: str) -> bool:
    """Whether the PA scorer keeps an alert at `t` under the first-second rule:
    "never" keeps it; "live" drops int(t) == 0 on live records (the reference's loop); "always" on every record."""
    if int(t) != 0 or drop_first_second == "never":
        return True
    return drop_first_second == "live" and not is_live(record)


def before_loop_end(e: Event, record: SampleRecord) -> bool:
    """Said at or before the last frame (what the reference's loop could hear)."""
    return e.t <= last_frame_time(record) + 1e-9


def first_second_mode(value: object) -> str:
    """The task setting as one of FIRST_SECOND: True (older runs, the old flag) is "always"."""
    if value is None or value is False:
        return "never"
    if value is True:
        return "always"
    if value not in FIRST_SECOND:
        raise ValueError(f"drop_first_second must be one of {', '.join(FIRST_SECOND)}, not {value!r}")
    return str(value)
