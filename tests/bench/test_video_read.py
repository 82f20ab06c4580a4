"""bench/video_read.py: its equality check refuses a peer that returns other frames, and its last
line states each side's threads, the equal-thread and best-setting ratios."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.bench._load import BENCH, load
from tests.videos import make_video, read_index


def side_run(times, value=100, seconds=10.0, cpu_s=8.0):
    return {"seconds": seconds, "cpu_s": cpu_s, "times": list(times),
            "frames": {0: np.full((4, 4, 3), value, np.uint8)}}


def test_a_side_with_other_frames_or_pixels_is_refused():
    video_read = load("video_read")
    ours = side_run([0.0, 1.0])
    assert video_read.compare(ours, side_run([0.0, 1.0], value=102)) == ("", 2)   # YUV->RGB rounding
    why, _ = video_read.compare(ours, side_run([0.0, 1.033]))
    assert "frame times differ at 1 of 2" in why
    why, _ = video_read.compare(ours, side_run([0.0]))
    assert why == "1 frames where ours gives 2"
    why, worst = video_read.compare(ours, side_run([0.0, 1.0], value=110))
    assert worst == 10 and "pixels differ by up to 10" in why


def runs_of(**medians):
    """{(side, setting): three runs around each given median}."""
    out = {}
    for key, seconds in medians.items():
        side, _, setting = key.partition("_t")
        side = {"ours336": "ours_336", "ffmpeg": "ffmpeg_decode"}.get(side, side)
        out[(side, setting)] = [side_run([0.0], seconds=s, cpu_s=s / 2) for s in (seconds - 1, seconds, seconds + 5)]
    return out


def test_last_line_gives_equal_thread_and_best_setting_ratios_with_the_threads():
    video_read = load("video_read")
    runs = runs_of(ours=10.0, ours336=8.0, reencode=16.0, ffmpeg=10.0, torchcodec_t3=15.0, torchcodec_t1=20.0,
                   torchcodec_t0=12.0, decord2_t3=30.0, decord2_t0=25.0, decord2_t1=40.0)
    runs[("torchcodec", "0")].append({"error": "crashed"})        # a failed run is no figure
    out = video_read.summary(runs, threads_ours=3, reasons={})
    assert list(out)[:4] == ["speedup_vs_torchcodec", "speedup_vs_torchcodec_best", "speedup_vs_decord2",
                             "speedup_vs_decord2_best"]
    assert out["speedup_vs_torchcodec"] == 1.5 and out["speedup_vs_torchcodec_best"] == 1.2
    assert out["speedup_vs_decord2"] == 3.0 and out["speedup_vs_decord2_best"] == 2.5
    assert (out["threads_ours"], out["threads_torchcodec"], out["threads_decord2"]) == (3, 3, 3)
    assert (out["threads_torchcodec_best"], out["threads_decord2_best"]) == (0, 0)
    assert out["speedup_vs_reencode"] == 2.0 and out["ratio_vs_ffmpeg_decode"] == 0.8
    assert out["cpu_ratio_vs_torchcodec"] == 1.5
    assert out["torchcodec_s_by_threads"] == {"3": 15.0, "1": 20.0, "0": 12.0}


def test_a_peer_that_could_not_run_has_no_figure_and_says_why():
    video_read = load("video_read")
    runs = runs_of(ours=10.0, ours336=8.0, reencode=16.0, ffmpeg=10.0, decord2_t3=30.0)
    out = video_read.summary(runs, threads_ours=3, reasons={"torchcodec": "torchcodec not importable: ..."})
    assert out["speedup_vs_torchcodec"] is None and out["speedup_vs_torchcodec_best"] is None
    assert out["threads_torchcodec"] is None and out["torchcodec_reason"].startswith("torchcodec not importable")
    assert out["speedup_vs_decord2"] == out["speedup_vs_decord2_best"] == 3.0


def test_our_side_runs_in_its_own_process_and_reports_the_threads_it_decoded_with(tmp_path):
    video = make_video(tmp_path / "v.mp4", seconds=4.0, fps=10, bframes=True)
    cfg = {"video": str(video), "out": str(tmp_path / "kept.npz"), "every": 2, "batch": 60, "threads": None}
    proc = subprocess.run([sys.executable, str(BENCH / "_video_sides.py"), "ours", json.dumps(cfg)],
                          capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["times"] == [0.0, 1.0, 2.0, 3.0]
    assert result["threads"] >= 1 and 0 < result["decoded"] <= 40
    assert result["seconds"] > 0 and result["cpu_s"] >= 0 and result["version"].startswith("PyAV")
    with np.load(tmp_path / "kept.npz") as kept:
        assert sorted(kept.files) == ["0", "2"]
        assert read_index(kept["2"]) == 20                 # the frame shown at 2 s


@pytest.mark.parametrize("peer", ["torchcodec", "decord2"])
def test_a_peer_gives_our_frames_on_a_b_frame_video(tmp_path, peer):
    video_read = load("video_read")
    python, env, why = video_read.peer_python(peer)
    if python is None:
        pytest.skip(f"{peer} is not installed where the bench looks for it: {why[:200]}")
    video = make_video(tmp_path / "v.mp4", seconds=4.0, fps=10, bframes=True)
    cfg = {"video": str(video), "every": 1, "batch": 3, "threads": 1}
    ours = video_read.run_side("ours", [sys.executable], dict(__import__("os").environ), cfg)
    theirs = video_read.run_side(peer, python, env, cfg)
    assert video_read.compare(ours, theirs)[0] == ""
