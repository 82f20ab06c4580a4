"""Reading a 10-minute 1280x720 H.264 video (B-frames) at 1 fps, 336 px, three ways side by side:

(a) ours: VideoReader.iter_frames(fps=1, size=336), as the stream runner reads it;
(b) the OmniMMI reference approach: ffmpeg re-encodes to 1 fps at 336 px into a temp file, then
    every frame of that file is read;
(c) the floor: `ffmpeg -i v -vf fps=1 -f null -` (decodes every frame, writes nothing).

Targets: ours >= 2x faster than (b) and <= 1.2x (c). The video is generated on first run and cached
under bench/.cache/. `--backend decord` also times the decord backend (slower, longer run).
Last line: {"ours_s": .., "reencode_s": .., "ffmpeg_decode_s": .., "speedup_vs_reencode": ..,
"ratio_vs_ffmpeg_decode": .., ...}
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
    print(json.dumps({"video": VIDEO.name, "backend": args.backend, "frames": n_ours,
                      "ours_s": round(ours_s, 3), "reencode_s": round(reencode_s, 3),
                      "ffmpeg_decode_s": round(floor_s, 3), "speedup_vs_reencode": round(speedup, 3),
                      "ratio_vs_ffmpeg_decode": round(ratio, 3)}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
