"""Clips cut at a request's end: nothing at or after `end` is in them, and each is cut once."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from omnibench.data.clips import cut
from omnibench.data.video import VideoReader
from tests.videos import make_video, read_index


def test_a_clip_holds_the_frames_before_its_end_and_none_after(tmp_path):
    source = make_video(tmp_path / "src.mp4", seconds=4.0, fps=10)
    clip = cut(source, 0.0, 2.05, root=tmp_path / "clips")
    with VideoReader(clip) as reader:
        frames = reader.sample(fps=10.0)
        assert reader.duration == pytest.approx(2.1, abs=0.05)
    assert [read_index(f) for f in frames.array] == list(range(21))       # frames 0..20 (t <= 2.0), not 21


def test_a_clip_from_a_later_start_begins_there(tmp_path):
    source = make_video(tmp_path / "src.mp4", seconds=3.0, fps=10)
    with VideoReader(cut(source, 1.0, 2.0, root=tmp_path / "clips")) as reader:
        indices = [read_index(f) for f in reader.sample(fps=10.0).array]
    assert indices[0] == 10 and indices[-1] == 20          # the frame shown at the end is in, as the sampler has it


def test_each_clip_is_cut_once_and_a_changed_source_gets_a_new_one(tmp_path):
    source = make_video(tmp_path / "src.mp4", seconds=3.0, fps=10)
    first = cut(source, 0.0, 1.0, root=tmp_path / "clips")
    stamp = first.stat().st_mtime_ns
    assert cut(source, 0.0, 1.0, root=tmp_path / "clips") == first and first.stat().st_mtime_ns == stamp
    make_video(source, seconds=3.0, fps=10, pattern="noise")          # same path, other content
    assert cut(source, 0.0, 1.0, root=tmp_path / "clips") != first


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary (to write a video with sound)")
def test_a_clip_keeps_the_sound_before_its_end_only(tmp_path):
    source = tmp_path / "av.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=4",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=4",
                    "-shortest", "-c:v", "libx264", "-c:a", "aac", str(source)], check=True)
    import av

    with av.open(str(cut(source, 0.0, 1.5, root=tmp_path / "clips"))) as clip:
        audio = [f for f in clip.decode(audio=0)]
    seconds = sum(f.samples for f in audio) / audio[0].sample_rate
    assert 1.4 <= seconds <= 1.5 + 2048 / 16000 and np.abs(np.concatenate([f.to_ndarray().ravel() for f in audio])).max() > 0.05
