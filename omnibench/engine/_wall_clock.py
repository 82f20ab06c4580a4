"""Realtime mode for live adapters: frames and turns paced by the wall clock.

A live API answers on its own schedule, so the stream clock is the wall clock (times `speed`,
stream seconds per wall second; 1 in real use, more in tests against local fakes). Frames and
turns are sent when their time comes; a frame whose time passed by more than one frame
interval while a send was still running is dropped. Emissions are stamped with the time they
arrived (`Emission.arrived`), not the time they were polled. The record gets the real-time
factor (wall seconds x speed / planned stream seconds; 1.0 = kept pace) and each turn's
first-response latency in stream seconds.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from omnibench.engine.boundary import emission_event, stream_info, user_turn
from omnibench.engine.eventlog import Event, SampleRecord

if TYPE_CHECKING:
    from omnibench.data.schema import Sample
    from omnibench.engine.stream import StreamPlan, StreamRunner

POLL_S = 0.01     # wall seconds between polls while waiting


def run_wall_clock(runner: StreamRunner, sample: Sample, plan: StreamPlan, *, model_label: str) -> SampleRecord:
    model, events = runner.model, runner.events
    fps = float(getattr(model, "fps", 1.0) or 1.0)
    speed = float(getattr(model, "speed", 1.0) or 1.0)
    answers: dict[int, list[str]] = {}
    first: list[float | None] = [None] * len(sample.turns)
    asked: list[float | None] = [None] * len(sample.turns)
    compute_s, dropped, late = 0.0, 0, 0.0
    model.stream_call("reset", stream_info(sample, plan.duration, fps))        # connecting is set-up, before the stream starts
    t0 = time.perf_counter()

    def now() -> float:
        return (time.perf_counter() - t0) * speed

    def call(method: str, *args):
        nonlocal compute_s
        result, seconds = model.stream_call(method, *args)
        compute_s += seconds
        return result

    def poll() -> None:
        for e in call("poll", now()):
            t = (e.arrived - t0) * speed if e.arrived is not None else now()
            event = emission_event(e, t, sum(a is not None for a in asked))
            if event.turn is not None:
                answers.setdefault(event.turn, []).append(e.text)
                said_at = asked[event.turn]
                if e.text and first[event.turn] is None and said_at is not None:
                    first[event.turn] = round(max(0.0, t - said_at), 6)
            events.append(event)

    def wait_until(t: float) -> None:
        while (left := t - now()) > 0:
            poll()
            time.sleep(min(POLL_S, max(left / speed, 0.0)))

    pending = list(range(len(sample.turns)))

    def deliver(upto: float) -> None:
        nonlocal late
        while pending and plan.query_times[pending[0]] <= upto:
            i = pending.pop(0)
            wait_until(plan.query_times[i])
            prior = ["".join(answers.get(j, [])) for j in range(len(sample.turns))]
            text = runner.prompts.streaming(sample, i, prior)
            asked[i] = at = now()
            late = max(late, at - plan.query_times[i])
            events.append(Event(kind="query", t=round(at, 6), turn=i, text=text))
            heard = runner.speak(text, True) if runner.speak is not None else None   # data/tts.instruction_speaker
            call("ask", at, user_turn(sample.turns[i], text, audio=heard))

    try:
        for t, frame in plan.frames:
            deliver(t)
            if now() > t + 1.0 / fps:
                dropped += 1          # the previous send ran past this frame's time
                continue
            wait_until(t)
            at = now()
            late = max(late, at - t)
            call("feed", at, frame)
            events.append(Event(kind="frame", t=round(at, 6)))
        deliver(float("inf"))
        end = max(plan.duration, now()) + runner.tail_s
        wait_until(end)
        poll()
    finally:
        close = getattr(model.inner, "close", None)
        if callable(close):
            close()
    wall_s = time.perf_counter() - t0
    usage = dict(getattr(model.inner, "usage", {}) or {})
    return SampleRecord(
        sample_id=sample.id, task=sample.task, model=model_label, events=events,
        stream_s=round(max(plan.duration, 1e-6), 6), compute_s=round(compute_s, 6),
        settings={"mode": "realtime", "clock": "wall", "speed": speed, "fps": fps, "tail_s": runner.tail_s,
                  "dropped_frames": dropped, "max_late_s": round(late, 6), "wall_s": round(wall_s, 6),
                  "real_time_factor": round(wall_s * speed / max(plan.duration + runner.tail_s, 1e-6), 6),
                  "first_response_s": first, "usage": usage,
                  "interruptions": len(getattr(model.inner, "interruptions", []) or [])},
    )
