"""Reading a 10-minute 1280x720 H.264 video (B-frames) at 1 fps, 336 px, three ways side by side:

(a) ours: VideoReader.iter_frames(fps=1, size=336), as the stream runner reads it;
(b) the OmniMMI reference approach: ffmpeg re-encodes to 1 fps at 336 px into a temp file, then
    every frame of that file is read;
(c) the floor: `ffmpeg -i v -vf fps=1 -f null -` (decodes every frame, writes nothing).

(d) the decoders a user would pick instead, each asked for the same 1 fps frames at full size
    (RGB, 1280x720) and compared with ours at full size: torchcodec (`VideoDecoder.get_frames_played_at`)
    and decord2 (`VideoReader.get_batch` at the frame indices). Each runs in its own process with
    its own path: decord2 installs as `decord` (shadowing decord 0.6), and torchcodec's PyPI wheel
    links CUDA torch libraries, so it cannot load against a CPU torch (then its interpreter is
    lmms-eval's venv, torch 2.14.1+cu130, where it loads; decoding runs on the CPU either way).
    Every decoder must return the same frame times and pixels within +-3 (YUV->RGB rounding) on
    every 60th frame. A peer that cannot be run gets null and the reason.

Targets: ours >= 2x faster than (b) and <= 1.2x (c); ahead of torchcodec and decord2. The video is generated on first run and cached
under bench/.cache/. `--backend decord` also times the decord backend (slower, longer run).
Last line: {"ours_s": .., "reencode_s": .., "ffmpeg_decode_s": .., "speedup_vs_reencode": ..,
"ratio_vs_ffmpeg_decode": .., "speedup_vs_torchcodec": .., "speedup_vs_decord2": .., ...}
Peers: importable by this interpreter or lmms-eval's venv (.venv-lmms/bin/pip install torchcodec), or in
bench/.cache/peers/{torchcodec,decord2} (pip install --target bench/.cache/peers/decord2 decord2).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(__file__).parent / ".cache"
VIDEO = CACHE / "video_read_10min_1280x720.mp4"


def make_video(seconds: int = 600) -> Path:
    if not VIDEO.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"generating {VIDEO} (once, a few minutes)...", flush=True)
        tmp = VIDEO.with_suffix(".tmp.mp4")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=1280x720:rate=30", "-t", str(seconds), "-c:v", "libx264",
                        "-preset", "veryfast", "-bf", "3", "-g", "250", "-pix_fmt", "yuv420p", str(tmp)],
                       check=True)
        tmp.rename(VIDEO)
    return VIDEO


def ours(video: Path, backend: str) -> tuple[float, int]:
    from omnibench.data.video import VideoReader

    start = time.perf_counter()
    with VideoReader(video, backend=backend) as reader:
        n = sum(1 for _ in reader.iter_frames(fps=1.0, size=336))
    return time.perf_counter() - start, n


def reencode(video: Path) -> tuple[float, int]:
    import av

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "1fps_336.mp4"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(video), "-vf",
                        "fps=1,scale=336:336:force_original_aspect_ratio=decrease:force_divisible_by=2", "-c:v", "libx264",
                        "-an", str(out)], check=True)
        with av.open(str(out)) as container:
            n = sum(1 for frame in container.decode(video=0) if frame.to_ndarray(format="rgb24") is not None)
    return time.perf_counter() - start, n


def ffmpeg_decode(video: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(video), "-vf", "fps=1", "-f", "null", "-"],
                   check=True)
    return time.perf_counter() - start


ROOT = Path(__file__).resolve().parents[1]
PEERS = CACHE / "peers"
CHECK_EVERY = 60
# one script per peer: decode the 1 fps frames, print the wall time and frame times, save every 60th frame
PEER_CODE = {
    "torchcodec": """
import sys, time, json, numpy as np
from torchcodec.decoders import VideoDecoder
start = time.perf_counter()
dec = VideoDecoder(sys.argv[1], device="cpu", dimension_order="NHWC")
n = int(dec.metadata.duration_seconds)
times, keep = [], {}
for i in range(0, n, 60):
    batch = dec.get_frames_played_at(seconds=[float(k) for k in range(i, min(n, i + 60))])
    times += [round(float(t), 6) for t in batch.pts_seconds]
    keep[str(i)] = batch.data[0].numpy()
seconds = time.perf_counter() - start
np.savez(sys.argv[2], **keep)
print(json.dumps({"seconds": seconds, "times": times}))
""",
    "decord2": """
import sys, time, json, math, numpy as np
import decord
assert int(decord.__version__.split(".")[0]) >= 1, "this is decord " + decord.__version__ + ", not decord2"
start = time.perf_counter()
vr = decord.VideoReader(sys.argv[1])
fps = vr.get_avg_fps()
n = int(len(vr) / fps)
index = [min(len(vr) - 1, math.floor(k * fps + 1e-6)) for k in range(n)]
times, keep = [round(k / fps, 6) for k in index], {}
for i in range(0, n, 60):
    batch = vr.get_batch(index[i:i + 60]).asnumpy()
    keep[str(i)] = batch[0]
seconds = time.perf_counter() - start
np.savez(sys.argv[2], **keep)
print(json.dumps({"seconds": seconds, "times": times}))
""",
}


def peer_python(name: str) -> tuple[list[str] | None, dict[str, str], str]:
    """(interpreter, env, reason if none): this interpreter or lmms-eval's venv, alone or with the peer folder."""
    import os

    env = dict(os.environ)
    module = "torchcodec.decoders" if name == "torchcodec" else "decord"
    lmms = str(ROOT / ".venv-lmms" / "bin" / "python")     # where torchcodec's CUDA-linked wheel loads
    candidates = [(sys.executable, None), (lmms, None)]
    if (PEERS / name).is_dir():
        candidates += [(sys.executable, PEERS / name), (lmms, PEERS / name)]
    reasons = []
    for python, path in candidates:
        trial = {**env, **({"PYTHONPATH": str(path)} if path else {})}
        check = "import sys, " + module + (
            "\nimport decord; sys.exit(int(decord.__version__.split('.')[0]) < 1)" if name == "decord2" else "")
        proc = subprocess.run([python, "-c", check], env=trial, capture_output=True, text=True) \
            if Path(python).exists() else None
        if proc is not None and proc.returncode == 0:
            return [python], trial, ""
        reasons.append(f"{python}{' + ' + str(path) if path else ''}: "
                       + ((proc.stderr.strip().splitlines() or ["decord 0.6, not decord2"])[-1] if proc else "missing"))
    return None, env, "; ".join(reasons)


def run_peer(name: str, video: Path) -> tuple[dict | None, str]:
    python, env, reason = peer_python(name)
    if python is None:
        return None, f"{name} not importable: {reason}"[:400]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "frames.npz"
        proc = subprocess.run([*python, "-c", PEER_CODE[name], str(video), str(out)], env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            return None, f"{name} failed: {proc.stderr.strip()[-300:]}"
        import numpy as np

        result = json.loads(proc.stdout.strip().splitlines()[-1])
        with np.load(out) as saved:
            result["frames"] = {int(k): saved[k] for k in saved.files}
    return result, ""


def ours_full(video: Path) -> tuple[float, list[float], dict]:
    from omnibench.data.video import VideoReader

    keep: dict = {}
    times = []
    start = time.perf_counter()
    with VideoReader(video) as reader:
        for k, (t, frame) in enumerate(reader.iter_frames(fps=1.0)):
            times.append(t)
            if k % CHECK_EVERY == 0:
                keep[k] = frame
    return time.perf_counter() - start, times, keep


def compare(name: str, peer: dict, times: list[float], frames: dict) -> str:
    """'' when the peer returned the same frame times and pixels within +-3, else what differs."""
    import numpy as np

    if len(peer["times"]) != len(times) or any(abs(a - b) > 1e-3 for a, b in zip(peer["times"], times)):
        return f"{name}: frame times differ ({len(peer['times'])} vs {len(times)} frames)"
    worst = max(int(np.abs(peer["frames"][k].astype(int) - frames[k].astype(int)).max()) for k in frames)
    return "" if worst <= 3 else f"{name}: pixels differ by up to {worst}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["auto", "pyav", "decord"], default="auto")
    args = parser.parse_args()
    video = make_video()
    ours_s, n_ours = ours(video, args.backend)
    print(f"ours ({args.backend}) iter_frames 1 fps @336: {ours_s:7.2f} s  {n_ours} frames", flush=True)
    reencode_s, n_ref = reencode(video)
    print(f"reference: ffmpeg re-encode + read:        {reencode_s:7.2f} s  {n_ref} frames", flush=True)
    floor_s = ffmpeg_decode(video)
    print(f"floor: ffmpeg -vf fps=1 -f null:           {floor_s:7.2f} s", flush=True)
    speedup, ratio = reencode_s / ours_s, ours_s / floor_s
    print(f"speedup vs re-encode {speedup:.2f}x (target >= 2), vs ffmpeg decode {ratio:.2f}x (target <= 1.2)")
    full_s, times, frames = ours_full(video)
    print(f"ours, full size (1280x720 RGB):           {full_s:7.2f} s  {len(times)} frames", flush=True)
    peers: dict[str, dict] = {}
    for name in ("torchcodec", "decord2"):
        result, reason = run_peer(name, video)
        if result is not None:
            reason = compare(name, result, times, frames)
        peers[name] = {"s": None if reason else round(result["seconds"], 3),
                       "speedup": None if reason else round(result["seconds"] / full_s, 3), "reason": reason or None}
        print(f"{name}: " + (f"{result['seconds']:7.2f} s, same frames" if not reason else reason), flush=True)
    print(json.dumps({"video": VIDEO.name, "backend": args.backend, "frames": n_ours,
                      "ours_s": round(ours_s, 3), "reencode_s": round(reencode_s, 3),
                      "ffmpeg_decode_s": round(floor_s, 3), "speedup_vs_reencode": round(speedup, 3),
                      "ratio_vs_ffmpeg_decode": round(ratio, 3),
                      "speedup_vs_torchcodec": peers["torchcodec"]["speedup"],
                      "speedup_vs_decord2": peers["decord2"]["speedup"], "ours_full_size_s": round(full_s, 3),
                      "torchcodec_s": peers["torchcodec"]["s"], "decord2_s": peers["decord2"]["s"],
                      "torchcodec_reason": peers["torchcodec"]["reason"],
                      "decord2_reason": peers["decord2"]["reason"]}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
