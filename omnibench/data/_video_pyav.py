"""PyAV side of the VideoReader: stream facts at open, and a decoder that skips what no target needs.

Skipping: a frame can only be "the frame shown at target T" if its time lies within a couple of
frame periods before T, so packets further away are decoded with skip_frame=NONREF (reference
frames are still decoded, the decoder needs them; non-reference B-frames are dropped unseen).
Gaps much longer than a keyframe interval are jumped over with a seek.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from omnibench.errors import VideoError

EPS = 1e-6
_DEFAULT_FPS = 25.0


@dataclass
class StreamFacts:
    codec: str
    width: int              # as displayed (after rotation)
    height: int
    native_fps: float
    rotation: int           # display-matrix angle, degrees counter-clockwise (ffmpeg's convention)
    first_time: float       # presentation time of the first frame, stream seconds
    last_time: float        # presentation time of the last frame
    end_time: float         # last frame + its duration: the video's duration in stream seconds


def open_container(path: Path):
    import av

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except Exception as exc:  # PyAV raises many types (InvalidDataError, OSError, ValueError)
        raise VideoError(path, f"not a readable video ({type(exc).__name__}: {exc})") from None
    stream = next((s for s in container.streams.video if not _is_cover_art(s)), None)
    if stream is None:
        container.close()
        raise VideoError(path, "no video stream")
    stream.codec_context.thread_type = "AUTO"   # must be set before the decoder opens
    return container, stream


def _is_cover_art(stream) -> bool:
    try:
        return bool(stream.disposition & stream.disposition.__class__.attached_pic)
    except Exception:
        return False


def inspect(path: Path, container, stream) -> StreamFacts:
    """Facts read from the data itself; header durations are only hints (they can be absent or wrong)."""
    ctx = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    native_fps = float(rate) if rate and 0 < float(rate) < 1000 else _DEFAULT_FPS
    first_time, rotation = _first_frame(path, container, stream)
    last_time, end_time = _measure_end(path, container, stream, 1.0 / native_fps)
    declared = _declared_stream_end(stream)
    # the stream's own index promises much more than the file holds: bytes are missing
    if declared is not None and end_time < declared - max(1.0, 0.1 * declared):
        raise VideoError(path, f"truncated: the video stream declares {declared:.2f} s "
                               f"but its data ends at {end_time:.2f} s")
    width, height = ctx.width, ctx.height
    if width <= 0 or height <= 0:
        raise VideoError(path, "video stream has no frame size")
    if rotation % 180:
        width, height = height, width
    return StreamFacts(ctx.name, width, height, native_fps, rotation, first_time, last_time, end_time)


def _first_frame(path: Path, container, stream) -> tuple[float, int]:
    """Decode one frame: proves the stream decodes, gives its start time and display rotation."""
    import av

    try:
        for frame in container.decode(stream):
            t = float(frame.pts * stream.time_base) if frame.pts is not None else 0.0
            rotation = int(round(frame.rotation or 0)) % 360
            return t, rotation
    except av.error.FFmpegError as exc:
        raise VideoError(path, f"decoding failed ({exc})") from None
    finally:
        _rewind(container, stream)
    raise VideoError(path, "no decodable video frames")


def _measure_end(path: Path, container, stream, period: float) -> tuple[float, float]:
    """(last frame time, end time) from the packets at the tail: seek near the end, demux to EOF."""
    tb = stream.time_base
    hint = _declared_stream_end(stream) or (container.duration or 0) / 1_000_000
    found = None
    if hint > 0:
        try:
            container.seek(int(hint / tb), stream=stream, backward=True)
            found = _scan(container, stream, period)
        except Exception:
            found = None
    if found is None:                           # no usable index or hint: read every packet once
        _rewind(container, stream)
        try:
            found = _scan(container, stream, period)
        except Exception as exc:
            raise VideoError(path, f"cannot read packets ({type(exc).__name__}: {exc})") from None
    _rewind(container, stream)
    if found is None:
        raise VideoError(path, "no video packets")
    return found


def _scan(container, stream, period: float) -> tuple[float, float] | None:
    last: float | None = None
    end = 0.0
    for packet in container.demux(stream):
        if packet.pts is None or packet.size == 0:
            continue
        t = float(packet.pts * stream.time_base)
        length = float(packet.duration * stream.time_base) if packet.duration else period
        last = t if last is None else max(last, t)
        end = max(end, t + length)
    return None if last is None else (last, end)


def _declared_stream_end(stream) -> float | None:
    """What the stream's own header says its end is (mp4/avi have one; mkv/webm usually do not)."""
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    if stream.duration and stream.time_base:
        return start + float(stream.duration * stream.time_base)
    return None


def _rewind(container, stream) -> None:
    try:
        container.seek(0, stream=stream, backward=True)
    except Exception:
        container.seek(0)
    stream.codec_context.flush_buffers()


def decode(path: Path, container, stream, targets: list[float], period: float,
           issues=None) -> Generator[tuple[float, object], None, None]:
    """Frames (time, av.VideoFrame) in presentation order that may be shown at one of `targets`.

    Every frame that could be the one shown at a target is decoded; others may be skipped. Stops
    once the last target is passed, so reading [0, t] never decodes much past t. Concealed packet
    errors and repeated timestamps are counted into `issues` (a VideoIssues), when given.
    """
    import av

    if not targets:
        return
    tb: Fraction = stream.time_base
    ctx = stream.codec_context
    window = 2.5 * period                      # a frame further than this before every target is never picked
    min_jump = max(1.0, 10 * period)           # seeking costs a decoder flush: only for real gaps
    stop_after = targets[-1]
    keyframes = _indexed_keyframes(stream)     # grows with keyframes met while demuxing
    last_out = -math.inf
    errors = decoded = 0
    caught_up = True                           # False right after a seek: re-decoded frames are expected

    def needed(t: float) -> bool:
        i = bisect_left(targets, t - EPS)
        return i < len(targets) and targets[i] - t < window

    def seek(t: float) -> None:
        container.seek(max(0, int(t / tb)), stream=stream, backward=True)
        ctx.flush_buffers()

    seek(targets[0] if targets[0] > min_jump else 0.0)     # also resets a decoder left at EOF by the last read
    packets = container.demux(stream)
    skip_mode = None
    sought = targets[0]
    try:
        for packet in _packets(lambda: packets):  # noqa: B023 - consumed within this iteration
            if packet.pts is not None and packet.size:
                t = float(packet.pts * tb)
                if packet.is_keyframe and (not keyframes or t > keyframes[-1]):
                    keyframes.append(t)
                # the next target the decoder's output has not reached (decode order != time order);
                # jump there when a keyframe before it lies well ahead of this packet
                upcoming = targets[min(bisect_right(targets, last_out + EPS), len(targets) - 1)]
                i = bisect_right(keyframes, upcoming + EPS) - 1
                if upcoming > sought and i >= 0 and keyframes[i] - t > min_jump:
                    for frame in _drain(stream):
                        ft = float(frame.pts * tb)
                        if ft > last_out:
                            last_out = ft
                            yield ft, frame
                    sought = upcoming
                    caught_up = False
                    seek(upcoming)
                    packets = container.demux(stream)
                    continue
                mode = "DEFAULT" if needed(t) else "NONREF"
                if mode != skip_mode:
                    ctx.skip_frame = skip_mode = mode
            try:
                frames = stream.decode(packet)
            except av.error.FFmpegError:
                errors += 1                        # one damaged packet: conceal it, like players do
                if issues is not None:
                    issues.decode_errors += 1
                continue
            for frame in frames:
                if frame.pts is None:
                    continue
                ft = float(frame.pts * tb)
                if ft <= last_out:                 # already passed (after a seek), or a repeated timestamp
                    if caught_up and issues is not None and decoded:
                        issues.repeated_timestamps += 1
                    continue
                caught_up = True
                decoded += 1
                last_out = ft
                yield ft, frame
                if ft > stop_after + EPS:
                    return
    finally:
        ctx.skip_frame = "DEFAULT"
    if not decoded and errors:
        raise VideoError(path, f"decoding failed ({errors} damaged packets, no frame decoded)")


def _indexed_keyframes(stream) -> list[float]:
    """Keyframe times from the container's index (mp4: every sample; mkv: cues), sorted; may be empty."""
    try:
        tb = stream.time_base
        return sorted({float(e.timestamp * tb) for e in stream.index_entries if e.is_keyframe})
    except Exception:
        return []


def _packets(current) -> Iterator:
    """Packets from whichever demuxer `current()` returns now (a seek replaces it mid-loop)."""
    while True:
        packet = next(current(), None)
        if packet is None:
            return
        yield packet


def _drain(stream) -> list:
    try:
        return [f for f in stream.decode(None) if f.pts is not None]
    except Exception:
        return []


def to_rgb(frame, rotation: int, fit: tuple[int, int] | None = None):
    """av.VideoFrame -> HxWx3 uint8, rotated for display; `fit` (w, h as displayed) resizes in swscale."""
    import numpy as np

    if fit is None:
        array = frame.to_ndarray(format="rgb24")
    else:
        w, h = (fit[1], fit[0]) if rotation % 180 else fit
        array = frame.reformat(width=w, height=h, format="rgb24", interpolation="AREA").to_ndarray()
    turns = round(rotation / 90) % 4            # counter-clockwise quarter turns
    return np.ascontiguousarray(np.rot90(array, k=turns)) if turns else array
