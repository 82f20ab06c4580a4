"""Decoding runs ahead of the model in a thread with a bounded queue; errors and early ends pass through."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.prefetch import prefetched
from omnibench.engine.stream import StreamPlan, StreamRunner
from omnibench.engine.wrapper import GuardedModel
from omnibench.errors import VideoError
from omnibench.task import Prompts


class SlowDecode:
    """Frames that take `seconds` each to decode; counts how many were made."""

    def __init__(self, n: int, seconds: float, fail_at: int | None = None):
        self.n, self.seconds, self.fail_at, self.made = n, seconds, fail_at, 0

    def __iter__(self):
        for i in range(self.n):
            if i == self.fail_at:
                raise VideoError("v.mp4", "damaged packet")
            time.sleep(self.seconds)
            self.made += 1
            yield float(i), np.zeros((4, 4, 3), np.uint8)


class SlowModel:
    needs_video = True
    fps = 1.0

    def reset(self, info):
        pass

    def feed(self, t, frame):
        time.sleep(0.05)

    def ask(self, t, query):
        pass

    def poll(self, t):
        return []


def sample(n: int) -> Sample:
    return Sample(id="s", task="t", video=VideoRef(path="v.mp4", end=float(n - 1)),
                  turns=[Query(t=1.0, text="q?", target="a")])


def test_decoding_overlaps_the_models_steps():
    """On e49ab22 the runner decoded a frame, then stepped the model, serially: 20 x (0.05 + 0.05) s."""
    frames = SlowDecode(20, 0.05)
    start = time.monotonic()
    StreamRunner(GuardedModel(SlowModel(), model_id="m"), Prompts(), tail_s=0.0).run(
        sample(20), StreamPlan(19.0, frames, [1.0]), model_label="m")
    assert frames.made == 20 and time.monotonic() - start < 20 * 0.1 * 0.8


def test_the_queue_is_bounded_and_a_decode_error_reaches_the_consumer():
    frames = SlowDecode(100, 0.0)
    stream = prefetched(frames, depth=4)
    next(stream)
    time.sleep(0.2)
    assert frames.made <= 4 + 2, "decoding waits when the queue is full"
    stream.close()
    with pytest.raises(VideoError, match="damaged packet"):
        list(prefetched(SlowDecode(10, 0.0, fail_at=3), depth=2))


def test_an_early_end_stops_the_decoding_thread():
    before = threading.active_count()
    stream = prefetched(SlowDecode(1000, 0.001), depth=2)
    next(stream)
    stream.close()
    time.sleep(0.1)
    assert threading.active_count() == before
