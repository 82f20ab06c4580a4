"""Scale-out: OmniMMI's work list on 1, 2, 4 and 8 CPU ranks under torchrun (a shared cursor,
longest stream first) and as static hash shards (`--shard i/n`), with a fake model whose step
time is proportional to stream seconds (a sleep, so 8 ranks fit on 2 cores); and the
offline-to-streaming bridge's peak memory on a 10-minute 720p stream, beside keeping every frame.

    python bench/scale_out.py [--work-s 100] [--ranks 1,2,4,8]

The work list: all 1,400 OmniMMI samples, each as long as its annotation times say (stream
seconds x 0.05); the model sleeps `--work-s` seconds over the whole list. A rank's finish time is
its last answer, from the moment the first rank started its first sample.

Last line: {"max_over_mean_8": .., "linear_fraction_8": .., "static_max_over_mean_8": .., ...,
"bridge_peak_rss_mb": .., "bridge_keep_all_peak_rss_mb": ..}
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = Path(__file__).parent / ".cache"
VIDEO = CACHE / "bridge_10min_1280x720.mp4"
RUN = ["-m", "omnibench", "run", "--tasks", "t_omni_shaped", "--model", "paced", "--quiet", "--no-score"]


def plugin_env(folder: Path, work_s: float, trace: Path) -> dict[str, str]:
    from tests.engine.dist_plugin import write_entry_points

    plugins = write_entry_points(folder / "plugins")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(plugins)]), "OMP_NUM_THREADS": "1",
            "OMNIBENCH_PLUGIN_SAMPLES": "0", "OMNIBENCH_PLUGIN_WORK_S": str(work_s),
            "OMNIBENCH_PLUGIN_FPS": "0.02", "OMNIBENCH_PLUGIN_TRACE": str(trace),
            "OMNIBENCH_CACHE": str(folder / "cache")}


def finish_times(trace: Path) -> list[float]:
    """Each rank's last answer, in seconds after the first sample of any rank started."""
    rows = [line.split() for line in trace.read_text().splitlines()]
    start = min(float(t) for _, what, _, t in rows if what == "start")
    last: dict[str, float] = {}
    for rank, what, _, t in rows:
        if what == "end":
            last[rank] = max(last.get(rank, 0.0), float(t) - start)
    return sorted(last.values())


def dynamic(n: int, work_s: float, folder: Path) -> list[float]:
    trace = folder / f"dynamic{n}.trace"
    env = plugin_env(folder, work_s, trace)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(n), *RUN,
               "--out", str(folder / f"dynamic{n}")]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"torchrun with {n} ranks failed:\n{done.stderr[-3000:]}")
    return finish_times(trace)


def static(n: int, work_s: float, folder: Path) -> list[float]:
    trace = folder / f"static{n}.trace"
    env = plugin_env(folder, work_s, trace)
    shards = [subprocess.Popen([sys.executable, *RUN, "--out", str(folder / f"static{n}"), "--shard", f"{i}/{n}"],
                               env={**env, "RANK": str(i)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True) for i in range(n)]
    for shard in shards:
        if shard.wait():
            raise SystemExit(f"static shard failed:\n{shard.stderr.read()[-3000:]}")
    return finish_times(trace)


def make_video() -> Path:
    if not VIDEO.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = str(VIDEO) + ".tmp.mp4"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=2",
                        "-t", "600", "-c:v", "libx264", "-preset", "ultrafast", "-g", "20", "-pix_fmt", "yuv420p",
                        tmp], check=True)
        Path(tmp).rename(VIDEO)
    return VIDEO


def bridge_peak(keep_all: bool) -> float:
    """Peak RSS (MiB) of a process streaming the 10-minute 720p video through the bridge."""
    done = subprocess.run([sys.executable, __file__, "--bridge-child", str(make_video()),
                           *(["--keep-all"] if keep_all else [])], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"bridge run failed:\n{done.stderr[-3000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def bridge_child(video: str, keep_all: bool) -> None:
    from omnibench.data.schema import Query, Sample, VideoRef
    from omnibench.data.video import VideoReader
    from omnibench.engine.capabilities import Capabilities
    from omnibench.engine.offline import OfflineAsStreaming
    from omnibench.engine.stream import StreamPlan, StreamRunner, query_times
    from omnibench.engine.wrapper import GuardedModel
    from omnibench.task import Prompts

    class Watcher:                 # an offline model taking 16 frames at their own size, saying "no"
        capabilities = Capabilities(num_frames=16)

        def generate(self, request):
            return "no"

    sample = Sample(id="b", task="bench", video=VideoRef(path=Path(video).name),
                    turns=[Query(t=1.0, text="Tell me when it turns red.", kind="alert_request", target=[1, 2])])
    bridge = OfflineAsStreaming(GuardedModel(Watcher(), model_id="w", isolate=False), Prompts(), sample, every=10.0,
                                **({"max_bytes": None} if keep_all else {}))
    with VideoReader(video) as reader:
        plan = StreamPlan(reader.duration, reader.iter_frames(fps=1.0), query_times(sample, reader.duration))
        StreamRunner(GuardedModel(bridge, model_id="b", isolate=False), Prompts(), tail_s=0.0).run(
            sample, plan, model_label="w")
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work-s", type=float, default=100.0, help="model seconds over the whole list")
    parser.add_argument("--ranks", default="1,2,4,8")
    parser.add_argument("--bridge-child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--keep-all", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bridge_child:
        bridge_child(args.bridge_child, args.keep_all)
        return
    ranks = [int(n) for n in args.ranks.split(",")]
    began = time.monotonic()
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="omnibench-scale-") as tmp:
        folder = Path(tmp)
        spans = {}
        for n in ranks:
            times = dynamic(n, args.work_s, folder)
            spans[n] = max(times)
            out[f"max_over_mean_{n}"] = round(max(times) / (sum(times) / len(times)), 3)
            print(f"torchrun {n} rank(s): finish times {[round(t, 1) for t in times]} s", file=sys.stderr)
        for n in ranks:
            out[f"linear_fraction_{n}"] = round(spans[min(ranks)] * min(ranks) / spans[n] / n, 3)
        for n in (n for n in ranks if n > 1):
            times = static(n, args.work_s, folder)
            out[f"static_max_over_mean_{n}"] = round(max(times) / (sum(times) / len(times)), 3)
            out[f"static_linear_fraction_{n}"] = round(spans[min(ranks)] * min(ranks) / max(times) / n, 3)
            print(f"static {n} shard(s): finish times {[round(t, 1) for t in times]} s", file=sys.stderr)
    out["bridge_peak_rss_mb"] = round(bridge_peak(keep_all=False), 1)
    out["bridge_keep_all_peak_rss_mb"] = round(bridge_peak(keep_all=True), 1)
    out["load_average_1min"] = round(os.getloadavg()[0], 2)
    out["bench_s"] = round(time.monotonic() - began, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
