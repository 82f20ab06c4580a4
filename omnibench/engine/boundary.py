"""The sealed boundary, both ways: what a model may see of a Sample, and what its emissions count as.

A `Query` of a Sample carries its target, its alert window and a kind that can name the class
label (noise, stop); the model gets a `UserTurn` with the words, the choices offered and the audio,
and a kind that only says whether it was asked to alert. Requests and stream openings carry the
sample's id and task (public: replay keys on them), never the sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from omnibench.engine.eventlog import Event
from omnibench.engine.protocols import Emission, OfflineRequest, StreamInfo, TurnKind, UserTurn
from omnibench.task import said

if TYPE_CHECKING:
    import numpy as np

    from omnibench.data.schema import Message, Query, Sample


def turn_kind(query: Query) -> TurnKind:
    """Only alert requests keep their kind: noise, stop, follow-ups and lures are all plain speech."""
    return "alert_request" if query.kind == "alert_request" else "question"


def user_turn(query: Query, text: str | None = None, audio: str | None = None) -> UserTurn:
    """What the user says at this turn; `text` is the prompt as heard (##ANSWER## filled, wording applied),
    `audio` the speech of that text when it was synthesised for this turn (else the turn's own)."""
    return UserTurn(text=query.text if text is None else text, kind=turn_kind(query),
                    choices=tuple(query.choices) if query.choices else None,
                    audio=audio if audio is not None else query.audio)


def clip_start(sample: Sample, end: float | None) -> float:
    """Where an offline clip starts: the video's start, or `context_s` seconds before `end` when the
    sample's metadata asks for a context window (StreamingBench's --context_time)."""
    start = sample.video.start or 0.0
    context = sample.metadata.get("context_s")
    return max(start, float(end) - float(context)) if context and end is not None else start


def offline_request(sample: Sample, turn: int, prompt: str, *, end: float | None, history: Sequence[Message],
                    answers: Sequence[str] = (), frames: np.ndarray | None = None, frame_times: Iterable[float] = (),
                    video_path: str | None = None, start: float | None = None, max_new_tokens: int = 256,
                    temperature: float = 0.0, audio: str | None = None) -> OfflineRequest:
    """The request for one turn of a sample (offline driver, bridge, lmms-eval); `answers`: the
    model's own earlier answers, which fill ##ANSWER## in the words it hears; `audio`: the spoken
    instruction, when the task speaks it whole (else the turn's own audio)."""
    heard = user_turn(sample.turns[turn], said(sample, turn, answers), audio=audio)
    return OfflineRequest(
        prompt=prompt, utterance=heard.text, frames=frames, frame_times=list(frame_times), video_path=video_path,
        start=clip_start(sample, end) if start is None else start, end=end, history=list(history),
        audio=heard.audio, choices=heard.choices, kind=heard.kind, max_new_tokens=max_new_tokens,
        temperature=temperature, task=sample.task, sample_id=sample.id, turn=turn)


def stream_info(sample: Sample, duration: float, fps: float) -> StreamInfo:
    return StreamInfo(sample_id=sample.id, task=sample.task, duration=duration, fps=fps,
                      history=list(sample.history))


def emission_event(e: Emission, t: float, asked: int, seconds: float = 0.0) -> Event:
    """The event for an emission at stream time `t`, when `asked` turns have been asked.

    Causality is the harness's: an emission naming a turn not yet asked (or no turn at all) is not
    an answer to it; it is logged as unprompted (turn None), with the turn it claimed in `data`.
    """
    claimed = e.turn
    answers = isinstance(claimed, int) and not isinstance(claimed, bool) and 0 <= claimed < asked
    return Event(kind="emission", t=round(t, 6), compute_s=round(seconds, 6), turn=claimed if answers else None,
                 text=e.text, done=e.done, refers_to=e.refers_to,
                 data=None if answers or claimed is None else {"claimed_turn": claimed})
