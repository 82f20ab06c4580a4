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
Bounds: a frame shown at several targets is converted once and returned as the same array; `sample`
fills one preallocated array and refuses (VideoError) a request past MAX_SAMPLE_BYTES.
Damage is reported, not hidden: `reader.issues` counts packets the decoder had to conceal,
repeated timestamps, and frozen stretches (targets more than FROZEN_GAP_S past the newest frame).
PyAV skips non-reference frames that no target can pick and seeks over long gaps; decord reads
exactly the chosen frame indices (it must be asked for by name: "auto" is PyAV, see AUTO_BACKEND).
Nothing is re-encoded to disk. Every failure is a VideoError naming the path and the reason.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
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
MAX_FPS = 1000.0                      # no sampling rate beyond this is meaningful
MAX_SAMPLE_BYTES = 8 * 2**30          # one `sample` call materialises at most this much
FROZEN_GAP_S = 2.0                    # no new frame for this long while targets advance: frozen


def check_fps(fps: float | str) -> float:
    """`fps` as a float in (0, MAX_FPS]; ValueError with a message otherwise (0, -1, nan, inf, 1e5)."""
    try:
        value = float(fps)
    except (TypeError, ValueError):
        raise ValueError(f"fps must be a number, not {fps!r}") from None
    if not (0 < value <= MAX_FPS):       # also false for nan
        raise ValueError(f"fps must be a number of frames per second in (0, {MAX_FPS:g}], not {fps!r}")
    return value


@dataclass
class VideoIssues:
    """Damage met while reading (accumulates over reads of one reader)."""

    decode_errors: int = 0                                   # packets the decoder failed on (concealed)
    repeated_timestamps: int = 0                             # frames whose time repeats an earlier one
    frozen: list[tuple[float, float]] = field(default_factory=list)   # (last new frame, last target it stood in for)

    def freeze(self, frame_t: float, target: float) -> None:
        if self.frozen and abs(self.frozen[-1][0] - frame_t) < _EPS:
            self.frozen[-1] = (frame_t, max(self.frozen[-1][1], target))
        else:
            self.frozen.append((frame_t, target))

    def summary(self) -> list[str]:
        """One line per kind of damage; empty when the video read cleanly."""
        out = []
        if self.decode_errors:
            out.append(f"{self.decode_errors} damaged packet(s): the decoder concealed them")
        if self.repeated_timestamps:
            out.append(f"{self.repeated_timestamps} frame(s) repeat an earlier timestamp (dropped)")
        if self.frozen:
            total = sum(b - a for a, b in self.frozen)
            first = ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in self.frozen[:3])
            out.append(f"frozen: {len(self.frozen)} stretch(es) without a new frame, {total:.1f} s in all "
                       f"({first}{', ...' if len(self.frozen) > 3 else ''})")
        return out


@dataclass
class Frames:
    array: np.ndarray        # (N, H, W, 3) uint8 RGB
    times: list[float]       # presentation time of each frame, stream seconds


FrameSize = int | tuple[int, int]      # a square side, or (height, width)


def _box(size: FrameSize) -> tuple[int, int]:
    """(height, width) of the box frames are fitted into and padded to."""
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if h <= 0 or w <= 0:
        raise ValueError(f"frame size must be > 0, got {size!r}")
    return h, w


def _fit(width: int, height: int, size: FrameSize) -> tuple[int, int]:
    """(width, height) of a width x height picture scaled to fit the box, aspect kept."""
    box_h, box_w = _box(size)
    scale = min(box_w / width, box_h / height)
    return max(1, min(box_w, round(width * scale))), max(1, min(box_h, round(height * scale)))


def _pad(array: np.ndarray, size: FrameSize) -> np.ndarray:
    box_h, box_w = _box(size)
    h, w = array.shape[:2]
    out = np.zeros((box_h, box_w, 3), dtype=np.uint8)
    top, left = (box_h - h) // 2, (box_w - w) // 2
    out[top:top + h, left:left + w] = array
    return out


def resize_pad_square(frame: np.ndarray, size: FrameSize) -> np.ndarray:
    """Keep the aspect ratio, fit inside the box (a square side, or (height, width); area-averaged),
    pad with black, centred."""
    import av

    h, w = frame.shape[:2]
    nw, nh = _fit(w, h, size)
    if (nw, nh) != (w, h):
        image = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame, dtype=np.uint8), format="rgb24")
        frame = image.reformat(width=nw, height=nh, interpolation="AREA").to_ndarray()
    return _pad(frame, size)


class FrameStream:
    """An iterator of (time, frame) that also carries the reader's VideoIssues."""

    def __init__(self, frames: Generator[tuple[float, np.ndarray], None, None], issues: VideoIssues):
        self._frames, self.issues = frames, issues

    def __iter__(self) -> FrameStream:
        return self

    def __next__(self) -> tuple[float, np.ndarray]:
        return next(self._frames)

    def close(self) -> None:
        self._frames.close()


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
        self._decord: _video_decord.DecordSource | None = None
        self.issues = VideoIssues()
        if backend == "decord" and not _video_decord.available():
            self.close()
            raise VideoError(self.path, "decord is not installed (pip install decord); use backend='pyav'")
        chosen = AUTO_BACKEND if backend == "auto" else backend
        self.backend = "decord" if chosen == "decord" and _video_decord.available() else "pyav"

    # -- targets ------------------------------------------------------------------------------
    def _fps_targets(self, fps: float, start: float, end: float | None) -> list[float]:
        fps = check_fps(fps)
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
                    size: FrameSize | None = None) -> FrameStream:
        """(time, frame) shown at start, start + 1/fps, ... (see the module doc), decoded lazily;
        `.issues` tells what damage the reading met so far."""
        targets = self._fps_targets(fps, start, end)
        return FrameStream(self._read(targets, size), self.issues)

    def sample(self, *, fps: float | None = None, count: int | None = None, start: float = 0.0,
               end: float | None = None, size: FrameSize | None = None) -> Frames:
        """Frames at `fps`, or `count` frames spread evenly over [start, end] (end: video end)."""
        if (fps is None) == (count is None):
            raise ValueError("give exactly one of fps or count")
        targets = self._fps_targets(fps, start, end) if fps is not None else self._count_targets(int(count or 0), start, end)
        if not targets:
            raise VideoError(self.path, f"no frames in [{start}, {end}] (frames span "
                                        f"{self._facts.first_time:.3f}..{self.duration:.3f} s)")
        h, w = _box(size) if size else (self.height, self.width)
        need = len(targets) * h * w * 3
        if need > MAX_SAMPLE_BYTES:
            raise VideoError(self.path, f"{len(targets)} frames of {w}x{h} would take {need / 2**30:.1f} GiB "
                                        f"(more than {MAX_SAMPLE_BYTES / 2**30:.0f}); sample fewer frames")
        array, times = None, []
        for i, (t, frame) in enumerate(self._read(targets, size)):   # one array, filled in place
            if array is None:
                array = np.empty((len(targets), *frame.shape), dtype=np.uint8)
            array[i] = frame
            times.append(t)
        assert array is not None                     # targets is not empty, and every target yields a frame
        return Frames(array, times)

    def _read(self, targets: list[float], size: FrameSize | None) -> Generator[tuple[float, np.ndarray], None, None]:
        if not targets:
            return
        frames: Generator[tuple[float, object], None, None]
        if self.backend == "decord":
            if self._decord is None:
                self._decord = _video_decord.DecordSource(self.path, self._container, self._stream)
            frames = self._decord.decode(targets)
        else:
            frames = _video_pyav.decode(self.path, self._container, self._stream, targets, 1.0 / self.native_fps,
                                        self.issues)
        last: object = None
        array = np.empty(0, np.uint8)
        try:
            for t, frame in _pick(frames, targets, self.path, 1.0 / self.native_fps, self.issues):
                if frame is not last:                 # a frame shown at several targets: converted once
                    last, array = frame, self._to_array(frame, size)
                yield round(t, 6), array
        finally:
            frames.close()

    def _to_array(self, frame, size: FrameSize | None) -> np.ndarray:
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
        return _pad(_video_pyav.to_rgb(frame, rotation, fit=_fit(self.width, self.height, size)), size)

    def close(self) -> None:
        if self._decord is not None:
            self._decord.close()
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _pick(frames: Iterator[tuple[float, object]], targets: list[float], path: Path,
          period: float, issues: VideoIssues | None = None) -> Iterator[tuple[float, object]]:
    """For each target, the frame with the largest time <= target (the first frame for earlier ones)."""
    k, n = 0, len(targets)
    previous: tuple[float, object] | None = None
    for t, frame in frames:
        while k < n and t > targets[k] + _EPS:
            if previous is not None and issues is not None and targets[k] - previous[0] > FROZEN_GAP_S:
                issues.freeze(previous[0], targets[k])
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


PROBE_MAX_FRAMES = 100_000      # a probe is a look, not a decode of days of frames
PROBE_TIMES_SHOWN = 1_000


def probe(path: str | Path, fps: float = 1.0, backend: Backend = "auto") -> dict:
    """What the reader sees, or {"path": .., "error": reason}. Frames are counted, never stacked."""
    try:
        fps = check_fps(fps)
    except ValueError as exc:
        return {"path": str(path), "error": str(exc)}
    try:
        with VideoReader(path, backend) as reader:
            targets = reader._fps_targets(fps, 0.0, None)
            if len(targets) > PROBE_MAX_FRAMES:
                return {"path": str(path), "error": f"{len(targets)} frames at {fps:g} fps over "
                        f"{reader.duration:.0f} s is more than {PROBE_MAX_FRAMES} frames: use a lower --fps",
                        "duration_s": round(reader.duration, 3)}
            times, shape = [], None
            for t, frame in reader._read(targets, None):
                shape = shape or list(frame.shape)
                times.append(t)
            if not times:
                raise VideoError(reader.path, "no frames")
            return {"path": str(path), "backend": reader.backend, "codec": reader.codec,
                    "duration_s": round(reader.duration, 3), "native_fps": round(reader.native_fps, 3),
                    "size": [reader.width, reader.height], "rotation": reader._facts.rotation,
                    "fps": fps, "frames_sampled": len(times), "frame_shape": shape,
                    "times": times[:PROBE_TIMES_SHOWN], "issues": reader.issues.summary()}
    except VideoError as exc:
        return {"path": str(path), "error": exc.reason}
