"""One VideoReader for every part of omnibench: frames at a fps or a count inside [start, end].

PyAV decodes in order and stops at `end`, so reading [0, t] of a long video never decodes past t;
when frames are wanted sparsely (1 fps of a 30 fps video) it skips non-reference frames, which
is where most of the decode time goes. decord (random access) can be chosen instead. Nothing is
re-encoded to disk. Every failure is a VideoError naming the path and the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from omnibench.errors import VideoError

Backend = Literal["auto", "decord", "pyav"]
_EPS = 1e-6


@dataclass
class Frames:
    array: np.ndarray        # (N, H, W, 3) uint8 RGB
    times: list[float]       # presentation time of each frame, seconds


def resize_pad_square(frame: np.ndarray, size: int) -> np.ndarray:
    """Keep the aspect ratio, fit inside size x size, pad with black (centred)."""
    h, w = frame.shape[:2]
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    rows = np.minimum((np.arange(nh) / scale).astype(int), h - 1)
    cols = np.minimum((np.arange(nw) / scale).astype(int), w - 1)
    resized = frame[rows][:, cols]
    out = np.zeros((size, size, 3), dtype=np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    out[top:top + nh, left:left + nw] = resized
    return out


def _rotate(array: np.ndarray, degrees: int) -> np.ndarray:
    turns = (-int(round(degrees / 90))) % 4   # display matrix angle is counter-clockwise
    return np.rot90(array, k=turns).copy() if turns else array


def _targets(start: float, end: float | None, duration: float, fps: float) -> Iterator[float]:
    """start, start + 1/fps, ... up to end (inclusive), always before the video's end."""
    k = 0
    while True:
        t = start + k / fps
        if (end is not None and t > end + _EPS) or (t >= duration - _EPS and k > 0):
            return
        yield t
        k += 1


class VideoReader:
    """Frames of one video. Use as a context manager, or call close()."""

    def __init__(self, path: str | Path, backend: Backend = "auto"):
        self.path = Path(path)
        if not self.path.exists():
            raise VideoError(self.path, "file not found")
        if not self.path.is_file():
            raise VideoError(self.path, "not a regular file")
        if self.path.stat().st_size == 0:
            raise VideoError(self.path, "file is empty")
        self._open_pyav()                      # validates the file even when decord decodes
        self.backend = self._pick(backend)

    def _open_pyav(self) -> None:
        import av

        try:
            self._container = av.open(str(self.path), metadata_errors="ignore")
        except Exception as exc:
            raise VideoError(self.path, f"not a readable video ({type(exc).__name__}: {exc})") from None
        if not self._container.streams.video:
            self._container.close()
            raise VideoError(self.path, "no video stream")
        stream = self._container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"   # must be set before the decoder opens
        self._stream = stream
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        self.native_fps = float(rate) if rate else 25.0
        self.width, self.height = stream.codec_context.width, stream.codec_context.height
        self.codec = stream.codec_context.name
        self._rotation = 0
        self.duration = self._read_duration()
        if self.width <= 0 or self.height <= 0:
            raise VideoError(self.path, "video stream has no frame size")

    def _read_duration(self) -> float:
        stream = self._stream
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        if self._container.duration:
            return self._container.duration / 1_000_000
        # no duration in the container: the last frame's time (decodes once, headers only when possible)
        last = 0.0
        try:
            for packet in self._container.demux(stream):
                if packet.pts is not None and packet.time_base is not None:
                    last = max(last, float(packet.pts * packet.time_base) + 1 / self.native_fps)
        except Exception as exc:
            raise VideoError(self.path, f"cannot read packets ({exc})") from None
        self._container.seek(0)
        return last

    def _pick(self, backend: Backend) -> str:
        if backend == "pyav":
            return "pyav"
        try:
            import decord  # noqa: F401
        except ImportError:
            if backend == "decord":
                raise VideoError(self.path, "decord is not installed (pip install decord), use backend='pyav'") from None
            return "pyav"
        return "decord" if backend == "decord" else "pyav"

    # -- reading ---------------------------------------------------------------------------
    def iter_frames(self, *, fps: float, start: float = 0.0, end: float | None = None,
                    size: int | None = None) -> Iterator[tuple[float, np.ndarray]]:
        """The frame shown at (at or just before) start, start + 1/fps, ... up to end, lazily."""
        if fps <= 0:
            raise ValueError("fps must be > 0")
        yield from self._at(_targets(start, end, self.duration, fps), start, end, size, sparse=fps < self.native_fps / 2)

    def sample(self, *, fps: float | None = None, count: int | None = None, start: float = 0.0,
               end: float | None = None, size: int | None = None) -> Frames:
        """Frames at `fps`, or `count` frames spread evenly over [start, end] (end: video end)."""
        if (fps is None) == (count is None):
            raise ValueError("give exactly one of fps or count")
        if fps is not None:
            pairs = list(self.iter_frames(fps=fps, start=start, end=end, size=size))
        else:
            stop = min(end if end is not None else self.duration, self.duration)
            last = max(start, stop - 1 / self.native_fps)
            targets = np.linspace(start, last, max(1, count)).tolist()
            pairs = list(self._at(iter(targets), start, end, size, sparse=count < (last - start) * self.native_fps / 2))
            pairs = pairs if len(pairs) == count else (pairs + pairs[-1:] * (count - len(pairs)))[:count]
        if not pairs:
            raise VideoError(self.path, f"no frames in [{start}, {end}] (duration {self.duration:.3f} s)")
        return Frames(np.stack([f for _, f in pairs]), [t for t, _ in pairs])

    def _at(self, targets: Iterator[float], start: float, end: float | None, size: int | None,
            sparse: bool) -> Iterator[tuple[float, np.ndarray]]:
        frames = self._decode_decord(start, end) if self.backend == "decord" else self._decode_pyav(start, end, sparse)
        previous: tuple[float, object] | None = None
        target = next(targets, None)
        for t, frame in frames:
            while target is not None and t > target + _EPS and previous is not None:
                yield self._finish(previous, size)
                target = next(targets, None)
            if target is None:
                return
            previous = (t, frame)
        # the stream ended: remaining targets inside the video get its last frame once
        if previous is not None and target is not None and target < self.duration - _EPS:
            yield self._finish(previous, size)

    def _finish(self, pair: tuple[float, object], size: int | None) -> tuple[float, np.ndarray]:
        t, frame = pair
        array = frame if isinstance(frame, np.ndarray) else _rotate(frame.to_ndarray(format="rgb24"), frame.rotation)
        return round(t, 6), resize_pad_square(array, size) if size else array

    def _decode_pyav(self, start: float, end: float | None, sparse: bool) -> Iterator[tuple[float, object]]:
        import av

        stream = self._stream
        ctx = stream.codec_context
        ctx.skip_frame = "NONREF" if sparse else "DEFAULT"
        try:
            if start > 0:
                self._container.seek(int(start / stream.time_base), stream=stream, backward=True)
            else:
                self._container.seek(0)
            decoded_any = False
            for frame in self._container.decode(stream):
                if frame.pts is None:
                    continue
                t = float(frame.pts * frame.time_base)
                decoded_any = True
                if end is not None and t > end + _EPS:
                    return
                yield t, frame
            if not decoded_any:
                raise VideoError(self.path, "no decodable frames")
        except av.error.FFmpegError as exc:
            raise VideoError(self.path, f"decoding failed ({exc})") from None
        finally:
            ctx.skip_frame = "DEFAULT"

    def _decode_decord(self, start: float, end: float | None) -> Iterator[tuple[float, np.ndarray]]:
        import decord

        try:
            reader = decord.VideoReader(str(self.path), ctx=decord.cpu(0))
            times = reader.get_frame_timestamp(range(len(reader)))[:, 0]
        except Exception as exc:
            raise VideoError(self.path, f"decord cannot read it ({exc})") from None
        lo = int(np.searchsorted(times, start - _EPS, side="right")) - 1
        hi = len(times) if end is None else int(np.searchsorted(times, end + _EPS, side="right"))
        for chunk in range(max(lo, 0), hi, 32):
            indices = list(range(chunk, min(chunk + 32, hi)))
            batch = reader.get_batch(indices).asnumpy()
            for i, array in zip(indices, batch):
                yield float(times[i]), _rotate(array, self._rotation_degrees())

    def _rotation_degrees(self) -> int:
        if not self._rotation:
            for frame in self._container.decode(self._stream):
                self._rotation = int(frame.rotation or 0) or 360
                break
            self._container.seek(0)
        return self._rotation % 360

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def probe(path: str | Path, fps: float = 1.0, backend: Backend = "auto") -> dict:
    """What the reader sees, or {"error": reason}."""
    try:
        with VideoReader(path, backend) as reader:
            frames = reader.sample(fps=fps)
            return {"path": str(path), "backend": reader.backend, "codec": reader.codec,
                    "duration_s": round(reader.duration, 3), "native_fps": round(reader.native_fps, 3),
                    "size": [reader.width, reader.height], "frames_sampled": len(frames.times),
                    "frame_shape": list(frames.array.shape[1:]), "times": frames.times}
    except VideoError as exc:
        return {"path": str(path), "error": exc.reason}
