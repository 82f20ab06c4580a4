"""`lmms:` models get each distinct clip cut once (no lmms-eval needed for this part)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from omnibench.engine.protocols import OfflineRequest
from omnibench.lmms.from_lmms import ClipCache


def request(seed: int, times=(0.0, 1.0, 2.0)) -> OfflineRequest:
    frames = np.random.default_rng(seed).integers(0, 255, (len(times), 48, 64, 3), dtype=np.uint8)
    return OfflineRequest(prompt="p", frames=frames, frame_times=list(times))


def test_the_same_clip_is_written_once_and_others_get_their_own_file():
    """On e49ab22 every call (every bridge poll) encoded a new temporary mp4."""
    clips = ClipCache(keep=2)
    first = clips.path(request(0))
    assert clips.path(request(0)) == first and clips.written == 1, "same frames and times: the same file"
    with av.open(first) as container:
        assert container.streams.video[0].frames in (0, 3) and container.streams.video[0].width >= 64
    other = clips.path(request(1))
    assert other != first and clips.written == 2
    assert clips.path(request(0, times=(0.0, 2.0, 4.0))) not in (first, other), "other times, other clip"
    assert not Path(first).exists() and len(list(Path(other).parent.glob("*.mp4"))) == 2, "only the newest kept"


def test_a_request_without_frames_passes_its_own_clip():
    assert ClipCache().path(OfflineRequest(prompt="p", video_path="/data/clip_12.mp4")) == "/data/clip_12.mp4"
