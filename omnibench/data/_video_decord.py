"""decord side of the VideoReader: random access by frame index, after PyAV has vetted the file.

decord can crash the interpreter on damaged input, so it only ever opens files PyAV has already
opened, decoded a frame of, and demuxed. Frame times come from PyAV's packet timestamps (exact
int64), since decord reports float32 seconds that drift by tens of microseconds on long videos.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Generator
from pathlib import Path

from omnibench.errors import VideoError

EPS = 1e-6
_BATCH = 16          # frames per get_batch call: bounds memory at high resolutions


def available() -> bool:
    try:
        import decord  # noqa: F401
    except ImportError:
        return False
    return True


class DecordSource:
    """Frames by index; `times[i]` is frame i's presentation time in stream seconds."""

    def __init__(self, path: Path, container, stream):
        import decord

        self.path = path
        self.times, reordered = _packet_times(container, stream)
        # decord 0.6 seeks to the wrong frame in some B-frame streams (measured: HEVC in mkv,
        # MPEG-4 part 2); only its H.264 random access proved exact, so others decode in order
        self._sequential = reordered and stream.codec_context.name != "h264"
        try:
            self._reader = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=0)
            count = len(self._reader)
            if count != len(self.times):      # disagreeing frame lists: trust decord's own, rounded
                self.times = [round(float(t), 4) for t in self._reader.get_frame_timestamp(range(count))[:, 0]]
        except Exception as exc:
            raise VideoError(path, f"decord cannot read it ({type(exc).__name__}: {exc})") from None
        if not self.times:
            raise VideoError(path, "decord found no frames")

    def decode(self, targets: list[float]) -> Generator[tuple[float, object], None, None]:
        """The frames shown at `targets` (each once, in time order): exactly what the picker needs."""
        chosen = sorted({max(0, bisect_right(self.times, t + EPS) - 1) for t in targets})
        wanted = set(chosen)
        order = list(range(chosen[-1] + 1)) if self._sequential else chosen
        for lo in range(0, len(order), _BATCH):
            indices = order[lo:lo + _BATCH]
            try:
                batch = self._reader.get_batch(indices).asnumpy()
            except Exception as exc:
                raise VideoError(self.path, f"decord failed on frames {indices[0]}..{indices[-1]} "
                                            f"({type(exc).__name__}: {exc})") from None
            for i, array in zip(indices, batch):
                if i in wanted:
                    yield self.times[i], array

    def close(self) -> None:
        self._reader = None


def _packet_times(container, stream) -> tuple[list[float], bool]:
    """Sorted presentation times of every video packet (demux only), and whether any were reordered."""
    times = []
    try:
        container.seek(0, stream=stream, backward=True)
        for packet in container.demux(stream):
            if packet.pts is not None and packet.size:
                times.append(round(float(packet.pts * stream.time_base), 6))
    finally:
        container.seek(0, stream=stream, backward=True)
    ordered = sorted(times)
    return ordered, ordered != times
