"""VideoReader: codecs, containers, rates, exact times, partial reads, broken files."""

from __future__ import annotations

import pytest

from omnibench.data.video import VideoReader, probe, resize_pad_square
from omnibench.errors import VideoError
from tests.videos import make_video, read_index

CASES = [("a.mp4", "libx264"), ("b.mkv", "libx265"), ("c.webm", "libvpx-vp9"), ("d.avi", "mpeg4"),
         ("e.mp4", "mpeg4")]


@pytest.mark.parametrize("name,codec", CASES)
@pytest.mark.parametrize("backend", ["pyav", "decord"])
def test_frames_at_a_fps_are_the_frames_shown_at_those_times(tmp_path, name, codec, backend):
    path = make_video(tmp_path / name, seconds=3.0, fps=10, codec=codec)
    with VideoReader(path, backend=backend) as reader:
        assert reader.duration == pytest.approx(3.0, abs=0.11)
        frames = reader.sample(fps=2.0)
    assert frames.array.shape[1:] == (120, 160, 3) and frames.array.dtype.name == "uint8"
    assert len(frames.times) == 6
    for t, frame in zip(frames.times, frames.array):
        assert t == pytest.approx(round(t * 10) / 10)         # a real presentation time
        assert abs(read_index(frame) - t * 10) <= 1           # and the pixels of that frame


@pytest.mark.parametrize("bframes", [False, True])
def test_count_sampling_spreads_frames_evenly_inside_the_span(tmp_path, bframes):
    path = make_video(tmp_path / "v.mp4", seconds=3.0, fps=10, bframes=bframes)
    with VideoReader(path) as reader:
        frames = reader.sample(count=5, start=0.5, end=2.5)
    assert len(frames.times) == 5
    assert frames.times[0] == pytest.approx(0.5, abs=0.1) and frames.times[-1] == pytest.approx(2.4, abs=0.1)
    assert [read_index(f) for f in frames.array] == [round(t * 10) for t in frames.times]


def test_reading_the_start_never_decodes_past_the_end(tmp_path, monkeypatch):
    path = make_video(tmp_path / "long.mp4", seconds=3.0, fps=10)
    with VideoReader(path, backend="pyav") as reader:
        seen = []
        original = reader._decode_pyav

        def spy(start, end, sparse):
            for t, f in original(start, end, sparse):
                seen.append(t)
                yield t, f

        monkeypatch.setattr(reader, "_decode_pyav", spy)
        frames = reader.sample(fps=1.0, end=1.0)
    assert frames.times == [0.0, 1.0]
    assert max(seen) <= 1.1


def test_backends_agree(tmp_path):
    path = make_video(tmp_path / "v.mp4", seconds=2.0, fps=10, bframes=True)
    with VideoReader(path, backend="pyav") as a, VideoReader(path, backend="decord") as b:
        fa, fb = a.sample(count=4), b.sample(count=4)
    assert fa.times == fb.times
    assert abs(fa.array.astype(int) - fb.array.astype(int)).mean() < 2


def test_variable_frame_rate_and_rotation(tmp_path):
    vfr = make_video(tmp_path / "vfr.mp4", seconds=2.0, fps=10, vfr=True)
    with VideoReader(vfr, backend="pyav") as reader:
        frames = reader.sample(fps=4.0)
    assert all(b > a for a, b in zip(frames.times, frames.times[1:]))
    rotated = make_video(tmp_path / "rot.mp4", seconds=1.0, fps=5, rotate=90)
    with VideoReader(rotated, backend="pyav") as reader:
        frame = reader.sample(count=1).array[0]
    # stored 160x120 with a red block bottom-left; displayed rotated 90 degrees -> portrait
    assert frame.shape[:2] in ((160, 120), (120, 160))


def test_one_frame_and_very_short_videos(tmp_path):
    one = make_video(tmp_path / "one.mp4", seconds=0.1, fps=10)
    with VideoReader(one) as reader:
        assert len(reader.sample(count=4).times) == 4
        assert len(reader.sample(fps=1.0).times) == 1


def test_resize_pad_square_keeps_aspect_and_pads_black():
    import numpy as np

    frame = np.full((120, 160, 3), 255, np.uint8)
    out = resize_pad_square(frame, 336)
    assert out.shape == (336, 336, 3)
    assert out[0, 0].tolist() == [0, 0, 0] and out[168, 168].tolist() == [255, 255, 255]
    assert (out[168, :] == 255).all() and (out[:40] == 0).all()


@pytest.mark.parametrize("content,reason", [(None, "not found"), (b"", "empty"), (b"garbage" * 100, "not a readable")])
def test_missing_empty_and_garbage_files_raise_video_error(tmp_path, content, reason):
    path = tmp_path / "bad.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(VideoError, match=reason) as info:
        VideoReader(path)
    assert str(path) in str(info.value)


def test_truncated_file_raises_or_returns_real_frames_never_empty(tmp_path):
    path = make_video(tmp_path / "v.mp4", seconds=3.0, fps=10)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError):
        with VideoReader(cut) as reader:
            frames = reader.sample(fps=1.0)
            assert len(frames.times) == 0  # unreachable when the reader is right


def test_probe_reports_what_it_sees_or_the_error(tmp_path):
    path = make_video(tmp_path / "v.mp4", seconds=2.0, fps=10)
    info = probe(path, fps=1.0)
    assert info["frames_sampled"] == 2 and info["size"] == [160, 120] and info["times"] == [0.0, 1.0]
    assert "error" in probe(tmp_path / "nope.mp4")
