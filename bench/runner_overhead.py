"""Runner overhead: `silent` on a 10-minute video at 1 fps through the stream runner, with the model
in its worker process (frames through shared memory, as `omnibench run` places a local model) and
in this process, against a bare loop that decodes the same frames and calls the model directly.
Target ratio (worker) <= 1.05. Five interleaved rounds; medians.

Last line: {"runner_s": .., "runner_in_process_s": .., "bare_s": .., "ratio": .., "ratio_in_process": ..,
"worker_start_s": ..}
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path(__file__).parent / ".cache"
VIDEO = CACHE / "overhead_10min_320x240.mp4"


def make_video() -> Path:
    if not VIDEO.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
                        "-t", "600", "-c:v", "libx264", "-bf", "3", "-g", "250", "-pix_fmt", "yuv420p",
                        str(VIDEO) + ".tmp.mp4"], check=True)
        Path(str(VIDEO) + ".tmp.mp4").rename(VIDEO)
    return VIDEO


def bare(video: Path) -> float:
    from omnibench.data.video import VideoReader
    from omnibench.models.baselines import Silent

    model = Silent()
    start = time.perf_counter()
    with VideoReader(video) as reader:
        model.reset(None)
        for t, frame in reader.iter_frames(fps=1.0):
            model.feed(t, frame)
            model.poll(t)
    return time.perf_counter() - start


def runner(video: Path, model) -> float:
    from omnibench.data.schema import Query, Sample, VideoRef
    from omnibench.data.video import VideoReader
    from omnibench.engine.stream import StreamPlan, StreamRunner, query_times
    from omnibench.task import Prompts

    sample = Sample(id="b", task="bench", video=VideoRef(path=video.name),
                    turns=[Query(t=30.0, text="Tell me when it turns red.", kind="alert_request", target=[1, 2])])
    start = time.perf_counter()
    with VideoReader(video) as reader, model.session():
        plan = StreamPlan(reader.duration, reader.iter_frames(fps=1.0), query_times(sample, reader.duration))
        StreamRunner(model, Prompts()).run(sample, plan, model_label="silent")
    return time.perf_counter() - start


def main() -> None:
    from statistics import median

    from omnibench.engine.pool import WorkerPool
    from omnibench.engine.worker import ModelFactory
    from omnibench.engine.wrapper import GuardedModel
    from omnibench.models.baselines import Silent

    video = make_video()
    bare(video)  # warm the page cache
    start = time.perf_counter()
    worker = GuardedModel(WorkerPool(ModelFactory("silent")), model_id="silent")
    worker_start_s = time.perf_counter() - start
    here = GuardedModel(Silent(), model_id="silent")
    rounds = [(runner(video, worker), runner(video, here), bare(video)) for _ in range(5)]
    worker.close()
    runner_s, in_process_s, bare_s = (median(r[i] for r in rounds) for i in range(3))
    print(f"runner (worker) {runner_s:.2f} s, runner (in process) {in_process_s:.2f} s, bare loop {bare_s:.2f} s "
          f"(medians of 5, interleaved; load average {os.getloadavg()[0]:.1f})", file=sys.stderr)
    print(json.dumps({"runner_s": round(runner_s, 3), "runner_in_process_s": round(in_process_s, 3),
                      "bare_s": round(bare_s, 3), "ratio": round(runner_s / bare_s, 3),
                      "ratio_in_process": round(in_process_s / bare_s, 3), "worker_start_s": round(worker_start_s, 3),
                      "load_average_1min": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
