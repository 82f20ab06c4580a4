"""Hostile videos: bounded memory and time, damage reported per sample, probe/--fps validated."""

from __future__ import annotations

import math
import time
from fractions import Fraction

import numpy as np
import pytest

from omnibench import registry
from omnibench.cli import main
from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.data.video import VideoReader, probe
from omnibench.engine.evaluate import Evaluation
from omnibench.engine.eventlog import EventLog
from omnibench.errors import VideoError
from omnibench.task import Prompts, Task
from tests.videos import frame_pixels, make_video


def slideshow(path, frames: int = 200, gap_s: int = 3600, size=(160, 120)):
    """`frames` frames `gap_s` apart: a few KB that claim hundreds of hours."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=1)
        stream.width, stream.height = size
        tick = Fraction(1, 10)                   # the stream's own time_base changes once the muxer opens
        stream.pix_fmt, stream.time_base = "yuv420p", tick
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(frame_pixels(i, size), format="rgb24")
            frame.pts, frame.time_base = i * gap_s * 10, tick
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def corrupt_middle(path, seconds: float = 9.0):
    """A real video whose middle third of bytes is random: decodes with damage and a frozen stretch."""
    make_video(path, seconds=seconds, fps=10, pattern="noise")
    data = bytearray(path.read_bytes())
    a, b = len(data) // 3, 2 * len(data) // 3
    data[a:b] = np.random.default_rng(0).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("fps", [0, -1, math.nan, math.inf, 100000, "x"])
def test_probe_refuses_bad_fps_with_a_message(tmp_path, fps):
    """Used to raise ValueError / OverflowError / MemoryError tracebacks."""
    video = make_video(tmp_path / "v.mp4", seconds=1.0)
    assert "fps must be" in probe(video, fps=fps)["error"]
    with pytest.raises(SystemExit) as exit_:
        main(["data", "probe", str(video), "--fps", str(fps)])
    assert exit_.value.code == 2


def test_a_few_kb_claiming_hundreds_of_hours_probes_and_samples_within_bounds(tmp_path):
    """Used to grow until av.error.MemoryError."""
    video = slideshow(tmp_path / "hours.mp4")
    start = time.monotonic()
    info = probe(video)
    assert "more than 100000 frames" in info["error"] and info["duration_s"] == 720000.0
    with VideoReader(video) as reader:
        with pytest.raises(VideoError, match="GiB"):
            reader.sample(fps=1.0)
        frames = reader.iter_frames(fps=1.0, end=4 * 3600.0)
        arrays = {id(array) for _, array in frames}
        assert len(arrays) <= 5                          # 14401 targets, 5 distinct frames: 5 arrays
        assert any("frozen" in line for line in frames.issues.summary())
    assert time.monotonic() - start < 20


def test_corrupt_middle_is_reported_not_silently_frozen(tmp_path):
    """Used to probe fine with 7 s of one frozen frame and no warning."""
    info = probe(corrupt_middle(tmp_path / "bad.mp4"))
    assert "error" not in info
    assert any("damaged packet" in x for x in info["issues"]) and any("frozen" in x for x in info["issues"])
    clean = probe(make_video(tmp_path / "ok.mp4", seconds=3.0))
    assert clean["issues"] == []


class Watcher:
    """A streaming model that only watches (the runner's contract, nothing else)."""

    fps, needs_video = 1.0, True

    def reset(self, info):
        pass

    def feed(self, t, frame):
        pass

    def ask(self, t, query):
        pass

    def poll(self, t):
        return []


def _video_task(name, root, files):
    samples = [Sample(id=f"s{i}", task=name, video=VideoRef(path=f), turns=[Query(t=1.0, text="what?", target="x")])
               for i, f in enumerate(files)]

    @registry.task(name, hidden=True)
    def factory():
        return Task(name=name, samples=lambda: samples, protocols=("streaming",), scorers=[], headline="x",
                    prompts=Prompts(), data_root=str(root))
    return name


@pytest.mark.parametrize("policy, status", [("report", "ok"), ("error", "error")])
def test_damage_is_on_the_sample_record_and_a_flag_makes_it_an_error(tmp_path, policy, status):
    corrupt_middle(tmp_path / "bad.mp4")
    make_video(tmp_path / "ok.mp4", seconds=3.0)
    name = _video_task(f"t_damage_{policy}", tmp_path, ["bad.mp4", "ok.mp4"])
    try:
        Evaluation(model="w", out=tmp_path / "run", model_obj=Watcher(), progress=False,
                   video_issues=policy).run([name])
    finally:
        registry._TASKS.pop(name, None)
    records = {r.sample_id: r for p in (tmp_path / "run" / "logs" / name).glob("*.jsonl")
               for r in EventLog(p).records()}
    assert records["s0"].status == status and any("frozen" in x for x in records["s0"].video_issues)
    assert records["s1"].status == "ok" and records["s1"].video_issues is None
    if policy == "error":
        assert "damaged video" in records["s0"].error


def test_a_video_stream_is_capped_by_its_real_length_and_the_budget(tmp_path):
    make_video(tmp_path / "ok.mp4", seconds=3.0)
    slideshow(tmp_path / "hours.mp4", frames=20)
    samples = [Sample(id="long-end", task="t", video=VideoRef(path="ok.mp4", end=1e9), turns=[Query(t=1.0, text="q")]),
               Sample(id="hours", task="t", video=VideoRef(path="hours.mp4"), turns=[Query(t=1.0, text="q")])]
    name = _video_task("t_cap", tmp_path, [])
    task = Task(name=name, samples=lambda: samples, protocols=("streaming",), scorers=[], headline="x",
                data_root=str(tmp_path))
    evaluation = Evaluation(model="w", out=tmp_path / "run", model_obj=Watcher(), progress=False)
    registry._TASKS.pop(name, None)
    plan = evaluation.stream_plan(task, samples[0], Watcher())
    assert plan.duration == pytest.approx(3.0)
    record = evaluation.run_sample(task, samples[1], "streaming")
    assert record.status == "error" and "more than --max-stream-s 14400" in record.error
