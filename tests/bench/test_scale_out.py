"""bench/scale_out.py: its bridge child streams a video through the offline-to-streaming bridge and
prints a peak RSS (the bench's memory figure), with the frame budget and without it."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.bench._load import BENCH

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


@pytest.mark.parametrize("keep_all", [False, True])
def test_bridge_child_streams_a_video_and_prints_its_peak_rss(tmp_path, keep_all):
    video = tmp_path / "v.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=128x96:rate=2", "-t", "12",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video)], check=True)
    done = subprocess.run([sys.executable, str(BENCH / "scale_out.py"), "--bridge-child", str(video),
                           *(["--keep-all"] if keep_all else [])], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert 10 < float(done.stdout.strip().splitlines()[-1]) < 4096      # MiB
