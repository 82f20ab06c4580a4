"""The frames the OfflineAsStreaming bridge keeps: downscaled on arrival, within a byte budget.

The bridge asks an offline model about the stream so far with `num_frames` frames spread evenly
over every frame seen. Keeping them all costs 2.76 MB a 720p frame: 1.66 GB for ten minutes, 40 GB
at the 4-hour cap. So a frame is downscaled on arrival to the longest side the model takes
(`Capabilities.max_side`, when it declares one), and once the kept frames pass `max_bytes`, every
other one is dropped and from then on only every `stride`-th frame is kept. A pick then takes the
kept frame nearest the exact one: off by at most stride / 2 frames (under 1 / (2 x kept frames) of
the stream). Within the budget the picks are exactly those of keeping everything.
"""

from __future__ import annotations

import numpy as np

DEFAULT_MAX_BYTES = 512 << 20          # with a process's own ~200 MB: a 10-minute 720p stream stays < 1 GiB


def downscale(frame: np.ndarray, max_side: int | None) -> np.ndarray:
    """The frame with its longest side at most `max_side` (aspect kept, area-averaged)."""
    h, w = frame.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return frame
    import av

    scale = max_side / max(h, w)
    width, height = max(1, round(w * scale)), max(1, round(h * scale))
    image = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame, dtype=np.uint8), format="rgb24")
    return image.reformat(width=width, height=height, interpolation="AREA").to_ndarray()


class KeptFrames:
    """The frames of one stream the bridge may still pick.

    Within a budget they live in one block allocated for it (its pages are only taken as frames are
    written), so memory is what the frames take: frames freed one by one would leave the heap in
    pieces the allocator cannot give back, and the process's footprint would grow past the budget."""

    def __init__(self, *, max_side: int | None = None, max_bytes: int | None = DEFAULT_MAX_BYTES):
        self.max_side, self.max_bytes = max_side, max_bytes
        self.block: np.ndarray | None = None     # (capacity, H, W, 3) with a budget
        self.frames: list[np.ndarray] = []       # without one
        self.times: list[float] = []
        self.indices: list[int] = []              # position of each kept frame among all frames seen
        self.seen, self.stride = 0, 1

    def __len__(self) -> int:
        return len(self.times)

    @property
    def nbytes(self) -> int:
        if self.block is not None:
            return len(self) * self.block[0].nbytes
        return sum(f.nbytes for f in self.frames)

    def add(self, t: float, frame: np.ndarray) -> None:
        index, self.seen = self.seen, self.seen + 1
        if index % self.stride:
            return
        frame = downscale(frame, self.max_side)
        if self.max_bytes is None:
            self.frames.append(frame)
        else:
            if self.block is None:
                self.block = np.empty((max(2, self.max_bytes // max(frame.nbytes, 1)), *frame.shape), np.uint8)
            if len(self) == len(self.block):
                self._thin()
                if index % self.stride:
                    return
            self.block[len(self)] = _fit(frame, self.block.shape[1:])
        self.times.append(t)
        self.indices.append(index)

    def _thin(self) -> None:
        """Keep every other frame (in place) and from now on every `stride`-th one."""
        assert self.block is not None
        self.stride *= 2
        keep = [i for i, index in enumerate(self.indices) if index % self.stride == 0]
        for slot, i in enumerate(keep):
            self.block[slot] = self.block[i]
        self.times = [self.times[i] for i in keep]
        self.indices = [self.indices[i] for i in keep]

    def pick(self, count: int) -> tuple[np.ndarray | None, list[float]]:
        """`count` frames spread evenly over all frames seen (fewer when fewer were seen)."""
        if not self.times:
            return None, []
        exact = np.unique(np.linspace(0, self.seen - 1, count).round().astype(int))
        kept = np.asarray(self.indices)
        right = np.clip(np.searchsorted(kept, exact), 0, len(kept) - 1)
        left = np.clip(right - 1, 0, len(kept) - 1)
        nearest = np.where(np.abs(kept[left] - exact) <= np.abs(kept[right] - exact), left, right)
        chosen = [int(i) for i in np.unique(nearest)]
        stored = self.block if self.block is not None else self.frames
        return np.stack([stored[i] for i in chosen]), [self.times[i] for i in chosen]


def _fit(frame: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A frame of another size than the stream's first (a resolution change mid-stream) at that size."""
    if frame.shape == shape:
        return frame
    import av

    image = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame, dtype=np.uint8), format="rgb24")
    return image.reformat(width=shape[1], height=shape[0], interpolation="AREA").to_ndarray()
