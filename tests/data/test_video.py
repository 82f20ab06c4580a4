"""VideoReader: which frame comes back for every codec, container, rate and span; broken files fail loudly.

Every test video shows its own frame index (tests/videos.py), so "the frame shown at time T" is
checked on the pixels, not only on the reported times.
"""

from __future__ import annotations

import shutil
import struct
import subprocess

import numpy as np
import pytest

from omnibench.data import _video_pyav
from omnibench.data.video import VideoReader, probe, resize_pad_square
from omnibench.errors import VideoError
from tests.videos import frame_times, make_video, read_index, red_corner

BACKENDS = ["pyav", "decord"]
CASES = [("h264.mp4", "libx264", False), ("h264_b.mp4", "libx264", True), ("hevc_b.mkv", "libx265", True),
         ("hevc.mp4", "libx265", False), ("vp9.webm", "libvpx-vp9", False), ("vp8.webm", "libvpx", False),
         ("mpeg4.avi", "mpeg4", False), ("mpeg4_b.mp4", "mpeg4", True), ("h264.mkv", "libx264", False)]
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg binary")


def shown_at(target: float, times: list[float]) -> int:
    """Index of the frame on screen at `target`: the last one starting at or before it."""
    return max(0, int(np.searchsorted(np.asarray(times), target + 1e-6, side="right")) - 1)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    return {name: make_video(root / name, seconds=3.0, fps=10, codec=codec, bframes=b) for name, codec, b in CASES}


@pytest.mark.parametrize("name", [c[0] for c in CASES])
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_codec_and_container_gives_the_frames_shown_at_each_target(videos, name, backend):
    with VideoReader(videos[name], backend=backend) as reader:
        assert reader.duration == pytest.approx(3.0, abs=1e-3)
        assert (reader.width, reader.height, reader.native_fps) == (160, 120, 10.0)
        every = reader.sample(fps=10.0)
        some = reader.sample(fps=3.0)
    assert every.array.shape == (30, 120, 160, 3) and every.array.dtype == np.uint8
    assert every.times == frame_times(3.0, 10)
    assert [read_index(f) for f in every.array] == list(range(30))
    expected = [shown_at(k / 3, frame_times(3.0, 10)) for k in range(9)]      # 0, 1/3, ... 8/3
    assert [round(t * 10) for t in some.times] == expected
    assert [read_index(f) for f in some.array] == expected


@pytest.mark.parametrize("rate,fps", [(25, 7.0), (30, 1.0), (30, 4.0), (24, 2.5)])
def test_common_frame_rates_sampled_at_any_fps_exactly(tmp_path, rate, fps):
    path = make_video(tmp_path / f"{rate}.mp4", seconds=2.0, fps=rate, bframes=True)
    times = frame_times(2.0, rate)
    with VideoReader(path) as reader:
        frames = reader.sample(fps=fps)
    expected = [shown_at(k / fps, times) for k in range(int(np.floor(2.0 * fps - 1e-9)) + 1)]
    assert [read_index(f) for f in frames.array] == expected
    assert frames.times == [times[i] for i in expected]


@pytest.mark.parametrize("backend", BACKENDS)
def test_span_bounds_start_and_inclusive_end(videos, backend):
    with VideoReader(videos["h264_b.mp4"], backend=backend) as reader:
        assert reader.sample(fps=1.0).times == [0.0, 1.0, 2.0]                 # nothing at the 3.0 s end
        assert reader.sample(fps=1.0, end=1.0).times == [0.0, 1.0]             # end is inclusive
        assert reader.sample(fps=1.0, start=0.55).times == [0.5, 1.5, 2.5]     # the frame on screen
        assert reader.sample(fps=2.0, start=1.0, end=2.0).times == [1.0, 1.5, 2.0]
        with pytest.raises(VideoError, match="no frames"):
            reader.sample(fps=1.0, start=5.0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("count,start,end", [(5, 0.0, None), (5, 0.5, 2.5), (4, 1.0, 1.3), (7, 0.0, 0.9)])
def test_count_sampling_is_linspace_of_frame_indices(videos, backend, count, start, end):
    with VideoReader(videos["h264_b.mp4"], backend=backend) as reader:
        frames = reader.sample(count=count, start=start, end=end)
    first, last = round(start * 10), 29 if end is None else round(end * 10)
    expected = np.linspace(first, last, count).astype(int).tolist()
    assert [read_index(f) for f in frames.array] == expected
    assert frames.times == [i / 10 for i in expected]


def test_reading_the_start_never_decodes_past_it(videos, monkeypatch):
    seen: list[float] = []
    decode = _video_pyav.decode

    def spy(*args, **kwargs):
        for t, frame in decode(*args, **kwargs):
            seen.append(t)
            yield t, frame

    monkeypatch.setattr(_video_pyav, "decode", spy)
    with VideoReader(videos["h264_b.mp4"], backend="pyav") as reader:
        assert reader.sample(fps=1.0, end=1.0).times == [0.0, 1.0]
        assert max(seen) <= 1.0 + 1e-6                   # stopped at the frame exactly on the last target
        seen.clear()
        stream = reader.iter_frames(fps=2.0)
        assert next(stream)[0] == 0.0 and max(seen) <= 0.3   # lazy: one target, a frame or two decoded


def test_sparse_reads_skip_frames_and_seek_yet_return_the_exact_frames(tmp_path, monkeypatch):
    path = make_video(tmp_path / "long.mp4", seconds=3.0, fps=30, bframes=True)   # 90 frames, keyframe every 1 s
    decoded: list[float] = []
    decode = _video_pyav.decode

    def spy(*args, **kwargs):
        for t, frame in decode(*args, **kwargs):
            decoded.append(t)
            yield t, frame

    monkeypatch.setattr(_video_pyav, "decode", spy)
    with VideoReader(path, backend="pyav") as reader:
        sparse = reader.sample(count=2, start=0.0, end=2.9)           # seeks over [0.1, 2.0)
        assert len(decoded) < 45
        decoded.clear()
        ones = reader.sample(fps=1.0)                                  # skips non-reference frames
        assert len(decoded) < 85
    assert [read_index(f) for f in sparse.array] == [0, 87] and [read_index(f) for f in ones.array] == [0, 30, 60]


@pytest.mark.parametrize("name", ["h264_b.mp4", "hevc_b.mkv", "vp9.webm", "mpeg4.avi"])
def test_backends_agree_on_times_and_pixels(videos, name):
    with VideoReader(videos[name], backend="pyav") as a, VideoReader(videos[name], backend="decord") as b:
        for kwargs in ({"fps": 3.0}, {"count": 7}, {"fps": 1.5, "start": 0.4, "end": 2.2}, {"count": 3, "size": 64}):
            fa, fb = a.sample(**kwargs), b.sample(**kwargs)
            assert fa.times == fb.times, kwargs
            assert fa.array.shape == fb.array.shape
            assert np.abs(fa.array.astype(int) - fb.array.astype(int)).mean() < 3, kwargs


@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_variable_frame_rate_times_are_presentation_times(tmp_path, suffix, backend):
    path = make_video(tmp_path / f"vfr.{suffix}", seconds=2.0, fps=10, vfr=True, bframes=True)
    times = frame_times(2.0, 10, vfr=True)                 # periods alternate 0.1 and 0.15 s
    with VideoReader(path, backend=backend) as reader:
        assert times[-1] < reader.duration <= times[-1] + 0.15 + 1e-6      # last frame's length: the muxer's
        every = reader.sample(fps=20.0, end=times[-1])
    expected = [shown_at(k / 20, times) for k in range(len(every.times))]
    assert every.times == [times[i] for i in expected]
    assert [read_index(f) for f in every.array] == expected


@pytest.mark.parametrize("rotate,corner", [(90, "bottom-right"), (-90, "top-left"), (180, "top-right")])
@pytest.mark.parametrize("backend", BACKENDS)
def test_rotation_metadata_is_applied_like_ffmpeg_does(tmp_path, rotate, corner, backend):
    path = make_video(tmp_path / "rot.mp4", seconds=1.0, fps=5, rotate=rotate)
    with VideoReader(path, backend=backend) as reader:
        assert (reader.width, reader.height) == ((120, 160) if rotate % 180 else (160, 120))
        frames = reader.sample(count=2)
        small = reader.sample(count=1, size=80).array[0]
    assert frames.array.shape[1:3] == (reader.height, reader.width)
    assert red_corner(frames.array[0]) == corner
    upright = np.rot90(frames.array[-1], k=-round(rotate / 90))      # undo the display rotation
    assert read_index(upright) == 4
    assert small.shape == (80, 80, 3) and red_corner(small[:, 10:70] if rotate % 180 else small[10:70]) == corner


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_frame_and_very_short_videos(tmp_path, backend):
    one = make_video(tmp_path / "one.mp4", seconds=0.1, fps=10)
    with VideoReader(one, backend=backend) as reader:
        assert reader.duration == pytest.approx(0.1)
        assert reader.sample(count=4).times == [0.0] * 4           # exactly `count`, repeating the frame
        assert reader.sample(fps=1.0).times == [0.0]
        assert reader.sample(fps=1.0, start=0.05).times == [0.0]
    three = make_video(tmp_path / "three.webm", seconds=0.3, fps=10, codec="libvpx-vp9")
    with VideoReader(three, backend=backend) as reader:
        frames = reader.sample(count=5)
        assert [read_index(f) for f in frames.array] == [0, 0, 1, 1, 2]
        assert reader.sample(fps=30.0).times == [0.0, 0.0, 0.0, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2]


@needs_ffmpeg
def test_missing_container_duration_falls_back_to_the_frames(videos, tmp_path):
    piped = tmp_path / "piped.mkv"   # written to a pipe: no Duration, no cues
    with piped.open("wb") as out:
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(videos["h264.mkv"]), "-c", "copy",
                        "-f", "matroska", "pipe:1"], stdout=out, check=True)
    import av

    with av.open(str(piped)) as container:
        assert container.streams.video[0].duration is None
    with VideoReader(piped) as reader:
        assert reader.duration == pytest.approx(3.0)
        assert [read_index(f) for f in reader.sample(fps=1.0).array] == [0, 10, 20]


def test_wrong_container_duration_falls_back_to_the_frames(videos, tmp_path):
    data = bytearray(videos["h264.mkv"].read_bytes())
    at = data.find(b"\x44\x89\x88")                   # Matroska Duration, an 8-byte float in ms
    assert at > 0 and struct.unpack(">d", data[at + 3:at + 11])[0] == pytest.approx(3000.0)
    data[at + 3:at + 11] = struct.pack(">d", 100_000.0)
    lying = tmp_path / "lying.mkv"
    lying.write_bytes(bytes(data))
    with VideoReader(lying) as reader:
        assert reader.duration == pytest.approx(3.0)
        assert reader.sample(fps=1.0).times == [0.0, 1.0, 2.0]
        assert len(reader.sample(count=30).times) == 30


def test_resize_pad_square_keeps_aspect_and_pads_black():
    wide = np.full((120, 160, 3), 255, np.uint8)
    out = resize_pad_square(wide, 336)
    assert out.shape == (336, 336, 3) and out.dtype == np.uint8
    rows = np.nonzero(out[:, 168, 0])[0]
    assert (rows[0], rows[-1] + 1) == (42, 294) and (out[168] == 255).all()   # 336 x 252, centred
    tall = resize_pad_square(np.full((101, 33, 3), 200, np.uint8), 50)
    cols = np.nonzero(tall[25, :, 0])[0]
    assert len(cols) == 16 and (tall[:, 25] == 200).all() and (tall[:, :16] == 0).all()
    same = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert (resize_pad_square(same, 64) == same).all()                           # no-op keeps pixels
    with pytest.raises(ValueError):
        resize_pad_square(wide, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_size_gives_square_padded_frames_that_still_show_their_index(videos, backend):
    with VideoReader(videos["h264_b.mp4"], backend=backend) as reader:
        frames = reader.sample(fps=1.0, size=336)
        streamed = list(reader.iter_frames(fps=1.0, size=336))
    assert frames.array.shape == (3, 336, 336, 3)
    assert (frames.array[:, :40] == 0).all()                      # black bars above a 336 x 252 picture
    assert [read_index(f[42:294]) for f in frames.array] == [0, 10, 20]
    assert [t for t, _ in streamed] == frames.times and all((f == g).all() for (_, f), g in zip(streamed, frames.array))


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make,reason", [
    (lambda d, v: d / "missing.mp4", "file not found"),
    (lambda d, v: d, "not a regular file"),
    (lambda d, v: _write(d, "empty.mp4", b""), "file is empty"),
    (lambda d, v: _write(d, "garbage.mp4", bytes(range(256)) * 64), "not a readable video"),
    (lambda d, v: _write(d, "text.mkv", b"hello, I am not a video\n" * 100), "not a readable video"),
    (lambda d, v: _write(d, "cut.mp4", v["h264.mp4"].read_bytes()[:2000]), "not a readable video"),
    (lambda d, v: _write(d, "cut.avi", v["mpeg4.avi"].read_bytes()[:6000]), "truncated"),
    (lambda d, v: _write(d, "header_only.webm", v["vp9.webm"].read_bytes()[:300]), "not a readable video|no video packets|no decodable"),
])
def test_broken_files_raise_video_error_naming_path_and_reason(tmp_path, videos, make, reason):
    path = make(tmp_path, videos)
    for backend in BACKENDS:
        with pytest.raises(VideoError, match=reason) as info:
            with VideoReader(path, backend=backend) as reader:
                reader.sample(fps=1.0)
        assert str(path) in str(info.value) and info.value.path == str(path)
    assert probe(path)["error"]


def test_audio_only_file_has_no_video_stream(tmp_path):
    import av

    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in list(stream.encode(frame)) + list(stream.encode()):
            out.mux(packet)
    with pytest.raises(VideoError, match="no video stream"):
        VideoReader(path)


@needs_ffmpeg
@pytest.mark.parametrize("name", ["h264.mkv", "vp9.webm"])
def test_truncated_streams_fail_or_read_only_frames_that_exist(videos, tmp_path, name):
    """Cut mid-file: either a VideoError, or exactly the frames that survive, never an empty array."""
    data = videos[name].read_bytes()
    cut = _write(tmp_path, "cut_" + name, data[: len(data) // 2])
    try:
        with VideoReader(cut) as reader:
            frames = reader.sample(fps=10.0)
            duration = reader.duration
    except VideoError as exc:
        assert str(cut) in str(exc)
        return
    assert 0 < len(frames.times) < 30 and frames.times[-1] < duration <= 3.0
    assert [read_index(f) for f in frames.array] == [round(t * 10) for t in frames.times]


def test_bad_arguments_are_value_errors(videos):
    with VideoReader(videos["h264.mp4"]) as reader:
        for kwargs in ({}, {"fps": 1.0, "count": 2}, {"fps": 0.0}, {"count": 0}):
            with pytest.raises(ValueError):
                reader.sample(**kwargs)
    with pytest.raises(ValueError, match="backend"):
        VideoReader(videos["h264.mp4"], backend="opencv")


def test_probe_reports_what_the_reader_sees(videos):
    info = probe(videos["hevc_b.mkv"], fps=1.0)
    assert info["codec"] == "hevc" and info["backend"] == "pyav" and info["size"] == [160, 120]
    assert info["duration_s"] == 3.0 and info["native_fps"] == 10.0 and info["rotation"] == 0
    assert info["frames_sampled"] == 3 and info["times"] == [0.0, 1.0, 2.0] and info["frame_shape"] == [120, 160, 3]
    assert probe(videos["vp9.webm"], fps=2.0, backend="decord")["frames_sampled"] == 6
    assert probe(videos["h264.mp4"].parent / "nope.mp4") == {"path": str(videos["h264.mp4"].parent / "nope.mp4"),
                                                             "error": "file not found"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_height_by_width_frame_size_fits_and_pads_to_that_box(tmp_path, backend):
    """Capabilities.frame_size may be (height, width) (LLaVA-OneVision declares one): the frames fit that box."""
    path = make_video(tmp_path / "wide.mp4", seconds=2.0, fps=4, size=(160, 120))
    with VideoReader(path, backend=backend) as reader:
        frames = list(reader.iter_frames(fps=1.0, size=(60, 100)))
        sampled = reader.sample(count=2, size=(60, 100))
    assert [f.shape for _, f in frames] == [(60, 100, 3)] * 2 and sampled.array.shape == (2, 60, 100, 3)
    picture = frames[0][1]
    cols = np.nonzero(picture[30, :, :].max(axis=1))[0]
    assert picture[:, :10].max() == 0 and picture[:, -10:].max() == 0     # 80 x 60 picture, centred
    assert 9 <= cols[0] <= 11 and 89 <= cols[-1] <= 91
