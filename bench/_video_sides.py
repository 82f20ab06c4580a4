"""One side of bench/video_read.py, in a fresh process of its own: the frames shown at 0, 1, 2, ... s.

    python bench/_video_sides.py SIDE CONFIG_JSON        # SIDE: ours, torchcodec or decord2

CONFIG_JSON: {"video", "out" (npz for the kept frames), "every" (keep every n-th frame), "threads"
(decoder threads; ours ignores it: it runs as the library does), "size" (ours only: fit in a square)}.
Every side is timed the same way, inside its process after its imports: from opening the file to
the last frame in hand as an RGB array (`seconds`), with the CPU time of all its threads over the
same span (`cpu_s`). Prints one JSON line: seconds, cpu_s, times, threads, version (and, for ours,
`decoded`: frames the decoder handed out; the non-reference frames it skipped never appear).
Each runs under its own interpreter (decord2 installs as `decord`; torchcodec needs its torch), so
this file imports nothing at module level but the standard library.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time
from collections.abc import Iterator


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)     # every thread of this process
    return usage.ru_utime + usage.ru_stime


def ours(cfg: dict, info: dict) -> Iterator[tuple[float, object]]:
    import av

    from omnibench.data import _video_pyav
    from omnibench.data.video import VideoReader

    plain = _video_pyav.decode

    def counted(*args, **kwargs):
        for item in plain(*args, **kwargs):
            info["decoded"] = info.get("decoded", 0) + 1
            yield item

    _video_pyav.decode = counted
    info["version"] = f"PyAV {av.__version__} (libavcodec {'.'.join(map(str, av.library_versions['libavcodec']))})"
    with VideoReader(cfg["video"]) as reader:
        yield from reader.iter_frames(fps=1.0, size=cfg.get("size"))
        info["threads"] = reader._stream.codec_context.thread_count     # FFmpeg's own count, once open


def torchcodec(cfg: dict, info: dict) -> Iterator[tuple[float, object]]:
    import torchcodec as tc
    from torchcodec.decoders import VideoDecoder

    info["version"] = f"torchcodec {tc.__version__}"
    info["threads"] = cfg["threads"]
    decoder = VideoDecoder(cfg["video"], device="cpu", dimension_order="NHWC", num_ffmpeg_threads=cfg["threads"])
    n = math.ceil(decoder.metadata.duration_seconds - 1e-6)
    for start in range(0, n, cfg["batch"]):
        batch = decoder.get_frames_played_at(seconds=[float(k) for k in range(start, min(n, start + cfg["batch"]))])
        yield from zip(batch.pts_seconds.tolist(), batch.data)


def decord2(cfg: dict, info: dict) -> Iterator[tuple[float, object]]:
    import decord

    if int(decord.__version__.split(".")[0]) < 1:
        raise SystemExit(f"this is decord {decord.__version__}, not decord2")
    info["version"] = f"decord2 {decord.__version__}"
    info["threads"] = cfg["threads"]
    reader = decord.VideoReader(cfg["video"], num_threads=cfg["threads"])
    fps, total = reader.get_avg_fps(), len(reader)
    n = math.ceil(total / fps - 1e-6)
    index = [min(total - 1, math.floor(k * fps + 1e-6)) for k in range(n)]    # the frame shown at k s
    for start in range(0, n, cfg["batch"]):
        chunk = index[start:start + cfg["batch"]]
        frames = reader.get_batch(chunk).asnumpy()
        times = reader.get_frame_timestamp(chunk)[:, 0]
        yield from zip(times.tolist(), frames)


SIDES = {"ours": ours, "torchcodec": torchcodec, "decord2": decord2}
# imported before the clock starts (the generators import them again, from sys.modules)
IMPORTS = {"ours": ["av", "numpy", "omnibench.data.video"], "torchcodec": ["torchcodec.decoders", "numpy"],
           "decord2": ["decord", "numpy"]}


def run(side: str, cfg: dict) -> dict:
    import importlib

    import numpy as np

    for module in IMPORTS[side]:
        importlib.import_module(module)
    info: dict = {}
    times, keep = [], {}
    cpu0, start = cpu_seconds(), time.perf_counter()
    for k, (t, frame) in enumerate(SIDES[side](cfg, info)):
        times.append(round(float(t), 6))
        if k % cfg["every"] == 0:
            keep[str(k)] = frame
    seconds, cpu_s = time.perf_counter() - start, cpu_seconds() - cpu0
    np.savez(cfg["out"], **{k: np.asarray(v) for k, v in keep.items()})
    return {"seconds": round(seconds, 3), "cpu_s": round(cpu_s, 3), "times": times, **info}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], json.loads(sys.argv[2]))))
