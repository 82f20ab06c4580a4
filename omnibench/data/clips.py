"""Clips cut at a request's end, for adapters that read video from a path themselves.

Such an adapter must never get the source file: it could read past the time of the question. The
engine gives it `cut(source, start, end)`: the video (and audio) of [start, end) re-encoded into
a file of its own, made once per (source content, start, end) and kept in the cache directory.
Re-encoding is the only exact cut: a stream copy starts and ends on key frames, which can lie after
`end`. No frame shown at or after `end` and no audio sample at or after `end` is in the clip.
"""

from __future__ import annotations

import hashlib
import os
import threading
from fractions import Fraction
from pathlib import Path

from omnibench.cache import cache_dir
from omnibench.errors import VideoError
from omnibench.fingerprint import file_digest


def cut(source: str | Path, start: float, end: float | None, root: Path | None = None) -> Path:
    """The clip of [start, end] of `source` (end None: to its end), cut once and cached by content."""
    source = Path(source)
    key = hashlib.sha256(f"{file_digest(source)}|{start:.6f}|{end!r}".encode()).hexdigest()[:32]
    out = (root or cache_dir() / "clips") / f"{key}.mp4"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}.mp4")
    try:
        _encode(source, tmp, start, end)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _encode(source: Path, out: Path, start: float, end: float | None) -> None:
    import av

    stop = float("inf") if end is None else float(end)
    try:
        with av.open(str(source)) as src, av.open(str(out), "w") as dst:
            video = next((s for s in src.streams.video), None)
            if video is None:
                raise VideoError(str(source), "has no video stream to cut")
            audio = next((s for s in src.streams.audio), None)
            rate = Fraction(video.average_rate or video.guessed_rate or 25).limit_denominator(1000)
            try:
                v_out = dst.add_stream("libx264", rate=rate)
            except Exception:                  # a PyAV build without x264
                v_out = dst.add_stream("mpeg4", rate=rate)
            v_out.width, v_out.height, v_out.pix_fmt = video.codec_context.width, video.codec_context.height, "yuv420p"
            a_out = resampler = None
            if audio is not None:
                a_out = dst.add_stream("aac", rate=audio.codec_context.sample_rate or 16000)
                resampler = av.AudioResampler(format="fltp", layout="mono", rate=a_out.rate)
            frames = 0
            for frame in src.decode(*(s for s in (video, audio) if s is not None)):
                if isinstance(frame, av.VideoFrame) and frame.time is not None and frame.time > stop + 2.0:
                    break                      # well past the end (decode order and interleaving allowed for)
                if frame.time is None or frame.time < start - 1e-6 or frame.time > stop + 1e-9:
                    continue
                if isinstance(frame, av.VideoFrame):
                    image = frame.reformat(format="yuv420p")
                    image.pts, image.time_base = frames, 1 / rate       # renumbered from the clip's start
                    for packet in v_out.encode(image):
                        dst.mux(packet)
                    frames += 1
                elif a_out is not None and resampler is not None:
                    keep = int(round((stop - frame.time) * frame.sample_rate))
                    if keep < frame.samples:           # the last frame runs past the end: cut it there
                        frame = _head(frame, keep)
                    for chunk in resampler.resample(frame):
                        for packet in a_out.encode(chunk):
                            dst.mux(packet)
            if frames == 0:
                raise VideoError(str(source), f"no frame in [{start:g}, {stop:g}] to cut a clip from")
            for stream in (v_out, a_out):
                if stream is not None:
                    for packet in stream.encode():
                        dst.mux(packet)
    except VideoError:
        raise
    except Exception as exc:   # PyAV errors: the path and the reason, as every VideoError
        raise VideoError(str(source), f"cannot cut a clip of [{start:g}, {stop:g}]: {type(exc).__name__}: {exc}") from exc


def _head(frame, samples: int):
    """The first `samples` samples of an audio frame, as a new frame."""
    import av

    data = frame.to_ndarray()
    data = data[:, :samples] if frame.format.is_planar else data[:, :samples * len(frame.layout.channels)]
    head = av.AudioFrame.from_ndarray(data, format=frame.format.name, layout=frame.layout.name)
    head.sample_rate, head.pts, head.time_base = frame.sample_rate, frame.pts, frame.time_base
    return head
