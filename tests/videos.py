"""Real test videos made with PyAV: frame i shows its index as the grey level of the top band."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np


def frame_pixels(i: int, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[: h // 2] = (i * 7) % 250          # top band: the frame index, readable after compression
    img[h // 2:, : w // 4] = (200, 30, 30)  # a red block bottom-left, to check orientation
    return img


def read_index(frame: np.ndarray) -> int:
    """Inverse of frame_pixels for indices < 36 (grey level 7*i)."""
    level = float(frame[: frame.shape[0] // 4, :, :].mean())
    return int(round(level / 7))


def make_video(path: str | Path, seconds: float = 3.0, fps: int = 10, size: tuple[int, int] = (160, 120),
               codec: str = "libx264", bframes: bool = False, rotate: int | None = None,
               vfr: bool = False) -> Path:
    import av

    path = Path(path)
    n = max(1, int(round(seconds * fps)))
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps * 10 if vfr else fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps * 10) if vfr else Fraction(1, fps)
        if codec in ("libx264", "libx265"):
            stream.options = {"bf": "3" if bframes else "0", "g": str(fps), "crf": "18"}
            if codec == "libx265":
                stream.options = {"x265-params": "log-level=error:bframes=0"}
        elif codec == "mpeg4":
            stream.options = {"qscale": "2"}
        elif codec.startswith("libvpx"):
            stream.options = {"crf": "10", "b": "0", "deadline": "realtime"}
        if rotate:
            stream.metadata["rotate"] = str(rotate)
        pts = 0
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(frame_pixels(i, size), format="rgb24")
            frame.pts = pts
            pts += (10 + (5 if vfr and i % 2 else 0)) if vfr else 1
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
