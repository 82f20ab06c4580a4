"""One VideoReader for every part of omnibench: frames at a fps or a count inside [start, end].

Which frame is returned (both backends, documented and tested):

* "The frame shown at time T" is the frame with the largest presentation time <= T; for a T before
  the first frame it is the first frame. Returned times are those presentation times (stream
  seconds), not the targets.
* ``fps`` sampling targets T_k = start + k / fps for k = 0, 1, ... while T_k <= end (inclusive,
  like the stream runner's clock) and T_k < duration (nothing is shown at or after the end).
  A 3 s video at 1 fps gives frames at 0, 1, 2; with end=1.0 it gives 0 and 1.
* ``count`` sampling targets ``np.linspace(a, b, count)`` with a = max(start, first frame time)
  and b = min(end, last frame time): for a constant frame rate this is
  ``np.linspace(first_index, last_index, count).astype(int)``. Short videos repeat frames, so
  exactly ``count`` frames come back.
* ``duration`` is the end of the last frame (its time plus its duration), measured from the
  packets at the tail, so a missing or wrong container duration does not matter. ``width`` and
  ``height`` are as displayed: rotation metadata is applied to every frame.

Decoding never runs much past the last target: reading [0, t] of a long video costs [0, t].
PyAV skips non-reference frames that no target can pick and seeks over long gaps; decord reads
exactly the chosen frame indices (it must be asked for by name: "auto" is PyAV, see AUTO_BACKEND).
Nothing is re-encoded to disk. Every failure is a VideoError naming the path and the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from omnibench.data import _video_decord, _video_pyav
from omnibench.errors import VideoError

Backend = Literal["auto", "decord", "pyav"]
# "auto" means PyAV: with non-reference skipping and index-guided seeks it measured faster than
# decord on every access pattern (bench/video_read.py; 10 min 720p H.264: 1 fps 0.8x vs 1.3x of
# ffmpeg's own decode time, 32 frames spread 4 s vs 12 s). decord stays available by name.
AUTO_BACKEND = "pyav"
_EPS = 1e-6


@dataclass
class Frames:
    array: np.ndarray        # (N, H, W, 3) uint8 RGB
    times: list[float]       # presentation time of each frame, stream seconds


def _fit(width: int, height: int, size: int) -> tuple[int, int]:
    scale = size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _pad_square(array: np.ndarray, size: int) -> np.ndarray:
    h, w = array.shape[:2]
    out = np.zeros((size, size, 3), dtype=np.uint8)
    top, left = (size - h) // 2, (size - w) // 2
    out[top:top + h, left:left + w] = array
    return out


def resize_pad_square(frame: np.ndarray, size: int) -> np.ndarray:
    """Keep the aspect ratio, fit inside size x size (area-averaged), pad with black, centred."""
    import av

    if size <= 0:
        raise ValueError("size must be > 0")
    h, w = frame.shape[:2]
    nw, nh = _fit(w, h, size)
    if (nw, nh) != (w, h):
        image = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame, dtype=np.uint8), format="rgb24")
        frame = image.reformat(width=nw, height=nh, interpolation="AREA").to_ndarray()
    return _pad_square(frame, size)


class VideoReader:
    """Frames of one video. Use as a context manager, or call close()."""

    def __init__(self, path: str | Path, backend: Backend = "auto"):
        self.path = Path(path)
        if backend not in ("auto", "decord", "pyav"):
            raise ValueError(f"unknown video backend {backend!r}: use auto, decord or pyav")
        if not self.path.exists():
            raise VideoError(self.path, "file not found")
        if not self.path.is_file():
            raise VideoError(self.path, "not a regular file")
        if self.path.stat().st_size == 0:
            raise VideoError(self.path, "file is empty")
        # PyAV always opens the file first: it vets it (decord may crash on damaged input)
        self._container, self._stream = _video_pyav.open_container(self.path)
        try:
            facts = _video_pyav.inspect(self.path, self._container, self._stream)
        except BaseException:
            self._container.close()
            raise
        self._facts = facts
        self.codec, self.width, self.height = facts.codec, facts.width, facts.height
        self.native_fps, self.duration = facts.native_fps, facts.end_time
        self._decord = None
        if backend == "decord" and not _video_decord.available():
            self.close()
            raise VideoError(self.path, "decord is not installed (pip install decord); use backend='pyav'")
        chosen = AUTO_BACKEND if backend == "auto" else backend
        self.backend = "decord" if chosen == "decord" and _video_decord.available() else "pyav"

    # -- targets ------------------------------------------------------------------------------
    def _fps_targets(self, fps: float, start: float, end: float | None) -> list[float]:
        if not fps > 0:
            raise ValueError("fps must be > 0")
        stop = self.duration if end is None else min(end + _EPS, self.duration)
        n = int(np.floor((stop - start) * fps + _EPS)) + 1 if stop > start else 0
        targets = [round(start + k / fps, 9) for k in range(max(n, 0))]
        return [t for t in targets if t < self.duration - _EPS and (end is None or t <= end + _EPS)]

    def _count_targets(self, count: int, start: float, end: float | None) -> list[float]:
        if count < 1:
            raise ValueError("count must be >= 1")
        first = max(start, self._facts.first_time)
        last = min(self._facts.last_time, end if end is not None else self._facts.last_time)
        if start > self._facts.last_time + _EPS:
            return []
        return np.linspace(first, max(first, last), count).tolist()

    # -- reading ------------------------------------------------------------------------------
    def iter_frames(self, *, fps: float, start: float = 0.0, end: float | None = None,
                    size: int | None = None) -> Iterator[tuple[float, np.ndarray]]:
        """(time, frame) shown at start, start + 1/fps, ... (see the module doc), decoded lazily."""
        targets = self._fps_targets(fps, start, end)
        return self._read(targets, size)

    def sample(self, *, fps: float | None = None, count: int | None = None, start: float = 0.0,
               end: float | None = None, size: int | None = None) -> Frames:
        """Frames at `fps`, or `count` frames spread evenly over [start, end] (end: video end)."""
        if (fps is None) == (count is None):
            raise ValueError("give exactly one of fps or count")
        targets = self._fps_targets(fps, start, end) if fps is not None else self._count_targets(count, start, end)
        pairs = list(self._read(targets, size))
        if not pairs:
            raise VideoError(self.path, f"no frames in [{start}, {end}] (frames span "
                                        f"{self._facts.first_time:.3f}..{self.duration:.3f} s)")
        return Frames(np.stack([f for _, f in pairs]), [t for t, _ in pairs])

    def _read(self, targets: list[float], size: int | None) -> Iterator[tuple[float, np.ndarray]]:
        if not targets:
            return
        if self.backend == "decord":
            if self._decord is None:
                self._decord = _video_decord.DecordSource(self.path, self._container, self._stream)
            frames = self._decord.decode(targets)
        else:
            frames = _video_pyav.decode(self.path, self._container, self._stream, targets, 1.0 / self.native_fps)
        try:
            for t, frame in _pick(frames, targets, self.path, 1.0 / self.native_fps):
                yield round(t, 6), self._to_array(frame, size)
        finally:
            frames.close()

    def _to_array(self, frame, size: int | None) -> np.ndarray:
        rotation = self._facts.rotation
        if isinstance(frame, np.ndarray):
            # decord 0.6 applies the display matrix itself; rotate only if it left a quarter turn undone
            array = frame
            if rotation % 180 and frame.shape[:2] != (self.height, self.width):
                array = np.ascontiguousarray(np.rot90(frame, k=round(rotation / 90) % 4))
            return resize_pad_square(array, size) if size else array
        if not size:
            return _video_pyav.to_rgb(frame, rotation)
        # PyAV: scale while converting from YUV (one swscale pass), then pad
        return _pad_square(_video_pyav.to_rgb(frame, rotation, fit=_fit(self.width, self.height, size)), size)

    def close(self) -> None:
        if self._decord is not None:
            self._decord.close()
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _pick(frames: Iterator[tuple[float, object]], targets: list[float], path: Path,
          period: float) -> Iterator[tuple[float, object]]:
    """For each target, the frame with the largest time <= target (the first frame for earlier ones)."""
    k, n = 0, len(targets)
    previous: tuple[float, object] | None = None
    for t, frame in frames:
        while k < n and t > targets[k] + _EPS:
            yield previous if previous is not None else (t, frame)
            k += 1
        previous = (t, frame)
        while k < n and t >= targets[k] - _EPS:      # exactly at the target: no need to look further
            yield previous
            k += 1
        if k == n:
            return
    if previous is None:
        raise VideoError(path, "no frame could be decoded")
    # the stream ended: later targets see its last frame, unless frames are plainly missing
    if targets[-1] - previous[0] > max(1.0, 10 * period):
        raise VideoError(path, f"decoding stopped at {previous[0]:.2f} s, frames were expected "
                               f"up to {targets[-1]:.2f} s (damaged or truncated file)")
    for _ in range(k, n):
        yield previous


def probe(path: str | Path, fps: float = 1.0, backend: Backend = "auto") -> dict:
    """What the reader sees, or {"path": .., "error": reason}."""
    try:
        with VideoReader(path, backend) as reader:
            frames = reader.sample(fps=fps)
            return {"path": str(path), "backend": reader.backend, "codec": reader.codec,
                    "duration_s": round(reader.duration, 3), "native_fps": round(reader.native_fps, 3),
                    "size": [reader.width, reader.height], "rotation": reader._facts.rotation,
                    "fps": fps, "frames_sampled": len(frames.times),
                    "frame_shape": list(frames.array.shape[1:]), "times": frames.times}
    except VideoError as exc:
        return {"path": str(path), "error": exc.reason}
