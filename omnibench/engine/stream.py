"""The stream runner: owns the clock, feeds frames, injects queries, polls, logs every event.

lockstep: stream time waits for the model (compute time is recorded, not charged).
realtime: stream time advances by the model's compute time, so a slow model drops frames
and speaks late, as it would in the world. A live adapter (`realtime_only`: a remote session
that answers on its own schedule) is paced by the wall clock instead (see `_wall_clock`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from omnibench.data.schema import Sample
from omnibench.engine.boundary import emission_event, stream_info, user_turn
from omnibench.engine.eventlog import Event, SampleRecord
from omnibench.engine.prefetch import prefetched
from omnibench.engine.wrapper import GuardedModel
from omnibench.errors import ConfigError, DataError
from omnibench.task import Prompts

Mode = Literal["lockstep", "realtime"]
_EPS = 1e-9


@dataclass
class StreamPlan:
    """What one stream consists of: frame times (and frames, lazily) and when each turn is spoken."""

    duration: float
    frames: Iterable[tuple[float, np.ndarray | None]]
    query_times: list[float]


def query_times(sample: Sample, duration: float, fps: float = 1.0) -> list[float]:
    """Turn times on the stream clock; t=None means 'when the video ends'.

    A sample with `stream_ask` metadata (OmniMMI in reference mode) is asked when the reference asks.
    """
    if sample.metadata.get("stream_ask"):
        from omnibench.reference import stream_ask_times

        return stream_ask_times(sample.metadata["stream_ask"], duration, fps)
    return [duration if q.t is None else min(float(q.t), duration) for q in sample.turns]


def clock_frames(duration: float, fps: float) -> Iterator[tuple[float, None]]:
    """Frame times without pixels, for models that need no video (blind, replay)."""
    n = int(np.floor(duration * fps + _EPS)) + 1
    for i in range(n):
        yield round(i / fps, 6), None


def check_mode(model, mode: Mode) -> None:
    """Live adapters run only in realtime mode: a live session cannot wait for a lockstep clock."""
    if mode != "realtime" and getattr(model, "realtime_only", False):
        name = getattr(model, "registry_name", type(model).__name__)
        raise ConfigError(f"model {name} is a live session and runs only with --mode realtime "
                          f"(lockstep would make the stream wait for it, which a live API cannot do)")


@dataclass
class _Clock:
    mode: Mode
    now: float = 0.0
    compute_s: float = 0.0
    dropped: int = 0

    def spend(self, seconds: float) -> None:
        self.compute_s += seconds
        if self.mode == "realtime":
            self.now += seconds


@dataclass
class StreamRunner:
    model: GuardedModel
    prompts: Prompts
    mode: Mode = "lockstep"
    tail_s: float = 5.0
    events: list[Event] = field(default_factory=list)
    speak: Callable[[str, bool], str] | None = None     # the text each turn says, spoken (data/tts.py)

    def run(self, sample: Sample, plan: StreamPlan, *, model_label: str) -> SampleRecord:
        check_mode(self.model, self.mode)
        self.events = []
        if self.mode == "realtime" and getattr(self.model, "realtime_only", False):
            from omnibench.engine._wall_clock import run_wall_clock

            return run_wall_clock(self, sample, plan, model_label=model_label)
        clock = _Clock(self.mode)
        fps = float(getattr(self.model, "fps", 1.0) or 1.0)
        answers: dict[int, list[str]] = {}
        # models count asks: the k-th ask is turn k, so turns must be in time order
        if any(b < a for a, b in zip(plan.query_times, plan.query_times[1:])):
            raise DataError(f"sample {sample.id}: turns are not in time order {plan.query_times}")
        pending = list(range(len(sample.turns)))
        asked = [0]                      # turns asked so far: an emission may answer only those

        _, seconds = self.model.stream_call("reset", stream_info(sample, plan.duration, fps))
        clock.compute_s += seconds       # set-up before the stream starts: not charged to the clock

        def deliver_queries(upto: float) -> None:
            while pending and plan.query_times[pending[0]] <= upto + _EPS:
                i = pending.pop(0)
                t = max(plan.query_times[i], clock.now)
                clock.now = max(clock.now, t)
                prior = ["".join(answers.get(j, [])) for j in range(len(sample.turns))]
                text = self.prompts.streaming(sample, i, prior)
                # the turn as heard: after ##ANSWER## is filled
                heard = self.speak(text, True) if self.speak is not None else None
                # logged at the time the user spoke; the model hears it when it is free (realtime)
                self.events.append(Event(kind="query", t=plan.query_times[i], turn=i, text=text))
                asked[0] = i + 1
                _, seconds = self.model.stream_call("ask", clock.now, user_turn(sample.turns[i], text, audio=heard))
                clock.spend(seconds)
                poll()

        def poll() -> None:
            at = clock.now
            emitted, seconds = self.model.stream_call("poll", at)
            clock.spend(seconds)
            stamp = clock.now if self.mode == "realtime" else at
            for e in emitted:
                event = emission_event(e, stamp, asked[0], seconds)
                if event.turn is not None:
                    answers.setdefault(event.turn, []).append(e.text)
                self.events.append(event)

        for t, frame in prefetched(plan.frames):    # decoded in a thread, ahead of the model
            deliver_queries(t)
            if self.mode == "realtime" and t + _EPS < clock.now:
                clock.dropped += 1       # the model was still busy when this frame was shown
                continue
            clock.now = max(clock.now, t)
            _, seconds = self.model.stream_call("feed", clock.now, frame)
            self.events.append(Event(kind="frame", t=clock.now, compute_s=round(seconds, 6)))
            clock.spend(seconds)
            poll()

        deliver_queries(float("inf"))
        end = max(plan.duration, clock.now)
        if clock.now + _EPS < end:       # the last frame came before the video's end: poll at the end too
            clock.now = end
            poll()
        for k in range(1, int(round(self.tail_s * fps)) + 1):
            clock.now = max(clock.now, end + k / fps)
            poll()

        return SampleRecord(
            sample_id=sample.id, task=sample.task, model=model_label, events=self.events,
            stream_s=round(max(plan.duration, 1e-6), 6), compute_s=round(clock.compute_s, 6),
            settings={"mode": self.mode, "fps": fps, "tail_s": self.tail_s, "dropped_frames": clock.dropped},
        )

