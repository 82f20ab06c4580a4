"""The stream runner: event order, timing, lockstep vs realtime."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.protocols import Emission
from omnibench.engine.stream import StreamPlan, StreamRunner, clock_frames, query_times
from omnibench.engine.wrapper import GuardedModel
from omnibench.task import Prompts


class Recorder:
    """Streaming mock: records every call; answers each question at the next poll."""

    fps = 2.0
    needs_video = False

    def __init__(self, sleep_s: float = 0.0):
        self.sleep_s = sleep_s

    def reset(self, info):
        self.calls, self.pending, self.asked = [], [], 0

    def feed(self, t, frame):
        time.sleep(self.sleep_s)
        self.calls.append(("feed", t))

    def ask(self, t, query):
        self.calls.append(("ask", t, query.text))
        self.pending.append(self.asked)
        self.asked += 1

    def poll(self, t):
        out = [Emission(f"answer {i}", turn=i) for i in self.pending]
        self.pending = []
        return out


def run(model, sample, duration, mode="lockstep", tail_s=1.0):
    runner = StreamRunner(GuardedModel(model, model_id="rec"), Prompts(), mode=mode, tail_s=tail_s)
    plan = StreamPlan(duration, clock_frames(duration, model.fps), query_times(sample, duration))
    return runner.run(sample, plan, model_label="rec")


def sample_with(times: list[float], duration: float = 5.0) -> Sample:
    return Sample(id="x", task="t", video=VideoRef(path="v.mp4", end=duration),
                  turns=[Query(t=t, text=f"q{i}") for i, t in enumerate(times)])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=5.0, allow_nan=False), min_size=1, max_size=6))
def test_queries_arrive_once_before_the_first_frame_after_them(raw):
    times = sorted(round(t, 3) for t in raw)
    model = Recorder()
    record = run(model, sample_with(times), 5.0)
    asks = [c for c in model.calls if c[0] == "ask"]
    assert [c[2] for c in asks] == [f"q{i}" for i in range(len(times))]   # each exactly once, in order
    for i, t in enumerate(times):
        position = model.calls.index(asks[i])
        later_frames = [c[1] for c in model.calls[position:] if c[0] == "feed"]
        earlier_frames = [c[1] for c in model.calls[:position] if c[0] == "feed"]
        assert all(f < t for f in earlier_frames), "a frame at or after the query time came first"
        assert all(f >= t - 1e-9 for f in later_frames)
    assert [e.turn for e in record.emissions()] == list(range(len(times)))


def test_frames_follow_the_model_fps_and_tail_polls_run():
    model = Recorder()
    record = run(model, sample_with([4.9]), 5.0, tail_s=1.0)
    frames = [e.t for e in record.events if e.kind == "frame"]
    assert frames == [i / 2 for i in range(11)]
    assert record.answer(0) == "answer 0"


def test_unordered_turns_are_refused():
    import pytest

    from omnibench.errors import DataError

    with pytest.raises(DataError, match="time order"):
        run(Recorder(), sample_with([3.0, 1.0]), 5.0)


def test_realtime_mode_drops_frames_and_answers_late_when_the_model_is_slow():
    sample = sample_with([0.3])
    fast = run(Recorder(), sample, 3.0, mode="lockstep")
    slow = run(Recorder(sleep_s=0.8), sample, 3.0, mode="realtime")
    assert len([e for e in fast.events if e.kind == "frame"]) == 7
    slow_frames = [e for e in slow.events if e.kind == "frame"]
    assert len(slow_frames) < 7 and slow.settings["dropped_frames"] == 7 - len(slow_frames)
    # lockstep answers at the query time; realtime pays for the compute it spent before
    assert fast.emissions(0)[0].t == 0.3
    assert slow.emissions(0)[0].t >= 0.8            # busy with frame 0 until 0.8 s
    assert slow.query_time(0) == 0.3
    lockstep_slow = run(Recorder(sleep_s=0.05), sample, 3.0, mode="lockstep")
    assert lockstep_slow.emissions(0)[0].t == 0.3 and lockstep_slow.compute_s >= 0.3


def test_the_stream_polls_at_the_video_end_when_the_last_frame_comes_earlier():
    class Polls(Recorder):
        fps = 1.0

        def poll(self, t):
            self.calls.append(("poll", t))
            return super().poll(t)

    model = Polls()
    runner = StreamRunner(GuardedModel(model, model_id="rec"), Prompts(), tail_s=2.0)
    frames = clock_frames(19.5, 1.0)           # decoded frames end at 19.0 for a 20 s video
    runner.run(sample_with([1.0], duration=20.0), StreamPlan(20.0, frames, [1.0]), model_label="rec")
    polls = [c[1] for c in model.calls if c[0] == "poll"]
    assert polls[-3:] == [20.0, 21.0, 22.0]


class Eager(Recorder):
    """Answers every turn at t=0, before anything is asked, and names turns that never come."""

    def poll(self, t):
        if t == 0.0 and not self.calls[-1:] == [("early",)]:
            self.calls.append(("early",))
            return [Emission("red", turn=0), Emission("blue", turn=1), Emission("x", turn=7),
                    Emission("y", turn=True)]
        return super().poll(t)


def test_an_emission_for_a_turn_not_yet_asked_is_logged_as_unprompted_not_as_its_answer():
    """Used to count: an adapter that emitted turn 1's answer at t=0, before the question at 4.9 s, got full marks."""
    record = run(Eager(), sample_with([2.0, 4.0]), duration=5.0)
    early = [e for e in record.emissions() if e.t == 0.0 and e.text in ("red", "blue", "x", "y")]
    assert [(e.turn, e.data) for e in early] == [(None, {"claimed_turn": 0}), (None, {"claimed_turn": 1}),
                                                 (None, {"claimed_turn": 7}), (None, {"claimed_turn": True})]
    assert record.answer(0) == "answer 0" and record.answer(1) == "answer 1"   # the answers given once asked


def test_the_model_hears_a_user_turn_with_no_target_window_or_label():
    seen = []

    class Listener(Recorder):
        def ask(self, t, turn):
            seen.append(turn)
            super().ask(t, turn)

    sample = Sample(id="s", task="t", video=VideoRef(path="v.mp4"),
                    turns=[Query(t=1.0, text="Tell me when.", kind="alert_request", target=[2.0, 3.0]),
                           Query(t=2.0, text="Stop.", kind="stop"), Query(t=3.0, text="Hm.", kind="noise",
                                                                          target="red", choices=["red", "blue"])])
    run(Listener(), sample, duration=4.0)
    assert [(u.text, u.kind, u.choices) for u in seen] == [("Tell me when.", "alert_request", None),
                                                            ("Stop.", "question", None),
                                                            ("Hm.", "question", ("red", "blue"))]
    assert all(not hasattr(u, name) for u in seen for name in ("target", "window", "sample", "metadata"))
