"""A plugin for `torchrun -m omnibench run` tests and bench/scale_out.py: an OmniMMI-shaped task and
a fake streaming model whose step time is proportional to stream seconds.

Loaded through the entry points of a `.dist-info` folder put on PYTHONPATH (`write_entry_points`),
as a user's installed plugin would be. Settings come from the environment, so they stay out of the
run's identity: OMNIBENCH_PLUGIN_SAMPLES (how many samples, spread over OmniMMI's stream lengths),
OMNIBENCH_PLUGIN_SCALE (stream seconds per OmniMMI second), OMNIBENCH_PLUGIN_WORK_S (wall seconds of
model work over the whole task), OMNIBENCH_PLUGIN_FPS (frames per stream second the model takes),
OMNIBENCH_PLUGIN_KILL_AT (a sample id: the rank running it is killed).
"""

from __future__ import annotations

import os
import signal
import time
from functools import lru_cache
from pathlib import Path

from omnibench import registry
from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.protocols import Emission
from omnibench.task import Prompts, Task

TASK, MODEL = "t_omni_shaped", "paced"


@lru_cache(maxsize=1)
def omnimmi_stream_seconds() -> list[float]:
    """The stream length of every OmniMMI sample, from the annotation times (longest first)."""
    from omnibench.data import omnimmi
    from omnibench.engine.bounds import stream_end

    return sorted((stream_end(s, None, None) for code in ("sg", "ap", "md", "si", "pa", "pt")
                   for s in omnimmi.load(code)), reverse=True)


def work_list(n: int | None = None, scale: float = 1.0) -> list[float]:
    """n stream lengths spread evenly over OmniMMI's (all 1,400 when n is None), times `scale`."""
    every = omnimmi_stream_seconds()
    if n is None or n >= len(every):
        return [round(s * scale, 3) for s in every]
    step = (len(every) - 1) / max(1, n - 1)
    return [round(every[round(i * step)] * scale, 3) for i in range(n)]


def samples() -> list[Sample]:
    n = int(os.environ.get("OMNIBENCH_PLUGIN_SAMPLES", "24") or 0) or None
    lengths = work_list(n, float(os.environ.get("OMNIBENCH_PLUGIN_SCALE", "0.05")))
    return [Sample(id=f"s{i:04d}", task=TASK, video=VideoRef(path=f"v{i}.mp4", end=length),
                   turns=[Query(t=length, text=f"what is {i}?", target=f"a{i}", choices=[f"a{i}", "zzz"])],
                   metadata={"video_id": f"v{i}"})
            for i, length in enumerate(lengths)]


@registry.task(TASK, hidden=True)
def omni_shaped() -> Task:
    from omnibench.scoring.rules import choice_match

    return Task(name=TASK, samples=samples, protocols=("streaming",), scorers=[choice_match()],
                headline="accuracy", prompts=Prompts(), tail_s=0.0)


@registry.task("t_clip_questions", hidden=True)
def clip_questions() -> Task:
    """Three questions about one clip in OMNIBENCH_PLUGIN_DATA (v.mp4), offline."""
    data = os.environ["OMNIBENCH_PLUGIN_DATA"]
    samples = [Sample(id=f"q{i}", task="t_clip_questions", video=VideoRef(path="v.mp4"),
                      turns=[Query(t=1.0 + i * 0.5, text="what is in the video ?")]) for i in range(3)]
    return Task(name="t_clip_questions", samples=lambda: samples, protocols=("offline",), scorers=[],
                headline="accuracy", prompts=Prompts(), data_root=data)


@registry.model(MODEL, hidden=True)
class Paced:
    """Sleeps in proportion to the stream seconds it is fed; answers sample i with "a<i>" (every
    fourth with "zzz"). Writes when it started and ended each sample to OMNIBENCH_PLUGIN_TRACE."""

    needs_video = False
    fps = 0.25
    deterministic = True

    def __init__(self):
        total = sum(work_list(int(os.environ.get("OMNIBENCH_PLUGIN_SAMPLES", "24") or 0) or None,
                              float(os.environ.get("OMNIBENCH_PLUGIN_SCALE", "0.05"))))
        self.per_stream_s = float(os.environ.get("OMNIBENCH_PLUGIN_WORK_S", "3.0")) / max(total, 1e-9)
        self.fps = float(os.environ.get("OMNIBENCH_PLUGIN_FPS", "0.25"))

    def reset(self, info):
        self.sample, self.last, self.asked = info.sample_id, 0.0, False
        self._trace("start")
        if self.sample == os.environ.get("OMNIBENCH_PLUGIN_KILL_AT"):
            rank = int(Path(f"/proc/{os.getppid()}/stat").read_text().split(") ")[1].split()[1])
            os.kill(rank, signal.SIGKILL)       # the rank process (the worker's zygote's parent)
            time.sleep(60)

    def feed(self, t, frame):
        time.sleep(max(0.0, t - self.last) * self.per_stream_s)
        self.last = t

    def ask(self, t, query):
        self.feed(t, None)                       # the stream up to the question: work too
        self.asked = True

    def poll(self, t):
        if not self.asked:
            return []
        self.asked = False
        i = int(self.sample[1:])
        self._trace("end")
        return [Emission(text=f"a{i}" if i % 4 else "zzz", turn=0)]

    def _trace(self, what: str) -> None:
        path = os.environ.get("OMNIBENCH_PLUGIN_TRACE")
        if path:
            with open(path, "a") as fh:
                fh.write(f"{os.environ.get('RANK', '0')} {what} {self.sample} {time.time():.6f}\n")


def write_entry_points(folder: Path) -> Path:
    """A `.dist-info` in `folder` whose entry points register this module's task and model."""
    info = Path(folder) / "omnibench_test_plugin-0.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: omnibench-test-plugin\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text(f"[omnibench.models]\n{MODEL} = tests.engine.dist_plugin\n\n"
                                           f"[omnibench.tasks]\n{TASK} = tests.engine.dist_plugin\n"
                                           "t_clip_questions = tests.engine.dist_plugin\n")
    return Path(folder)
