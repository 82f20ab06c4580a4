"""The bridge keeps only frames it may still pick, downscaled to what the model takes, within a budget."""

from __future__ import annotations

import numpy as np

from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.capabilities import Capabilities
from omnibench.engine.frame_store import KeptFrames
from omnibench.engine.offline import OfflineAsStreaming
from omnibench.engine.stream import StreamPlan, StreamRunner
from omnibench.engine.wrapper import GuardedModel
from omnibench.task import Prompts


def frames(n: int, h: int = 360, w: int = 640):
    for i in range(n):
        yield float(i), np.full((h, w, 3), i % 251, np.uint8)


def test_under_the_budget_the_picks_are_the_exact_even_spread():
    kept = KeptFrames(max_bytes=1 << 30)
    for t, frame in frames(50, 8, 8):
        kept.add(t, frame)
    array, times = kept.pick(16)
    exact = np.unique(np.linspace(0, 49, 16).round().astype(int))
    assert times == [float(i) for i in exact] and [int(f[0, 0, 0]) for f in array] == list(exact)


def test_a_long_stream_stays_within_the_budget_and_picks_land_next_to_the_exact_frames():
    budget = 32 << 20                                           # 48 frames of 640x360
    kept = KeptFrames(max_bytes=budget)
    n = 600
    for t, frame in frames(n):
        kept.add(t, frame)
        assert kept.nbytes <= budget
    array, times = kept.pick(16)
    exact = np.linspace(0, n - 1, 16).round()
    assert len(times) == 16 and array.shape == (16, 360, 640, 3)
    assert max(abs(np.array(times) - exact)) <= kept.stride / 2, "off by at most half the kept spacing"
    assert len(kept) * 360 * 640 * 3 <= budget and kept.stride > 1


def test_frames_are_downscaled_on_arrival_to_the_side_the_model_takes():
    kept = KeptFrames(max_side=64)
    kept.add(0.0, np.zeros((720, 1280, 3), np.uint8))
    array, _ = kept.pick(4)
    assert array.shape == (1, 36, 64, 3) and kept.nbytes == 36 * 64 * 3


def test_the_bridge_on_a_long_720p_stream_keeps_a_bounded_number_of_frames_at_the_models_size():
    """On e49ab22 the bridge kept every full-resolution frame: 2.76 MB each, 1.66 GB for 10 minutes."""
    class Watcher:
        capabilities = Capabilities(num_frames=8, max_side=320)

        def __init__(self):
            self.shapes = []

        def generate(self, request):
            self.shapes.append(request.frames.shape)
            return "no"

    watcher = Watcher()
    sample = Sample(id="long", task="t", video=VideoRef(path="v.mp4", end=599.0),
                    turns=[Query(t=1.0, text="Tell me when it turns red.", kind="alert_request", target=[5, 9])])
    bridge = OfflineAsStreaming(GuardedModel(watcher, model_id="w"), Prompts(), sample, every=60.0)
    plan = StreamPlan(599.0, frames(600, 720, 1280), [1.0])
    StreamRunner(GuardedModel(bridge, model_id="b", isolate=False), Prompts(), tail_s=0.0).run(
        sample, plan, model_label="w")
    assert watcher.shapes and all(s == (8, 180, 320, 3) for s in watcher.shapes[1:])
    assert bridge.kept.nbytes <= 600 * 180 * 320 * 3 < 600 * 720 * 1280 * 3 / 10
