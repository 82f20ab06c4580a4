"""Realtime mode for live adapters: wall-clock pacing, arrival stamps, latency, lockstep refusal."""

from __future__ import annotations

import threading
import time

import pytest

from omnibench.engine.protocols import Emission
from omnibench.engine.stream import StreamPlan, StreamRunner, clock_frames, query_times
from omnibench.engine.wrapper import GuardedModel
from omnibench.errors import ConfigError
from omnibench.task import Prompts
from tests.engine.test_stream import sample_with


class LiveMock:
    """A live session stand-in: replies arrive on another thread `delay_s` wall seconds after a turn."""

    fps, needs_video, realtime_only, speed = 4.0, False, True, 5.0

    def __init__(self, delay_s: float = 0.2):
        self.delay_s, self.closed = delay_s, 0

    def reset(self, info):
        self.out, self.asked, self.fed = [], 0, []

    def feed(self, t, frame):
        self.fed.append((t, time.perf_counter()))

    def ask(self, t, query):
        turn, self.asked = self.asked, self.asked + 1
        threading.Timer(self.delay_s, lambda: self.out.append(
            Emission(f"answer {turn}", turn=turn, arrived=time.perf_counter()))).start()

    def poll(self, t):
        out, self.out = self.out, []
        return out

    def close(self):
        self.closed += 1


def run(model, sample, duration, mode="realtime"):
    runner = StreamRunner(GuardedModel(model, model_id="live"), Prompts(), mode=mode, tail_s=1.0)
    plan = StreamPlan(duration, clock_frames(duration, model.fps), query_times(sample, duration))
    return runner.run(sample, plan, model_label="live")


def test_lockstep_refuses_a_realtime_only_model():
    with pytest.raises(ConfigError, match="--mode realtime"):
        run(LiveMock(), sample_with([1.0]), 2.0, mode="lockstep")


def test_frames_and_turns_follow_the_wall_clock_and_replies_are_stamped_on_arrival():
    # speed 5, not faster: a loaded 2-core machine delays a thread by tens of ms, which must stay
    # well under the tolerances below once multiplied by the speed
    model = LiveMock(delay_s=0.2)                  # 0.2 wall s = 1.0 stream s at speed 5
    start = time.perf_counter()
    record = run(model, sample_with([1.0, 3.0], duration=4.0), 4.0)
    wall = time.perf_counter() - start
    assert 0.8 <= wall <= 2.4                      # (4 s stream + 1 s tail) / 5, plus slack
    frames = [e.t for e in record.events if e.kind == "frame"]
    planned = [i / model.fps for i in range(len(frames))]
    assert all(abs(a - b) < 0.5 for a, b in zip(frames, planned))
    gaps = [b[1] - a[1] for a, b in zip(model.fed, model.fed[1:])]
    assert min(gaps) > 0.5 / model.fps / model.speed        # paced, not sent as fast as possible
    for turn, asked in enumerate((1.0, 3.0)):
        (reply,) = record.emissions(turn)
        assert 0.9 <= reply.t - asked <= 1.8       # arrival time, not the next poll's
        assert 0.9 <= record.settings["first_response_s"][turn] <= 1.8
    assert record.settings["clock"] == "wall" and 0.9 <= record.settings["real_time_factor"] <= 1.5
    assert model.closed == 1
