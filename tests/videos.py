"""Real test videos made with PyAV: every frame shows its own index, so tests can tell which frame came back.

The top half of frame i is a row of 8 big black/white blocks spelling i in binary (least significant
bit left), which survives any lossy codec at any size; a red block sits bottom-left to check
orientation. `pattern="noise"` fills the rest with random pixels (hard to compress).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

BITS = 8
_ON, _OFF = 235, 20
RED = (220, 30, 30)


def frame_pixels(i: int, size: tuple[int, int] = (160, 120), pattern: str = "counter",
                 seed: int = 0) -> np.ndarray:
    w, h = size
    if pattern == "noise":
        img = np.random.default_rng(seed * 100_003 + i).integers(0, 256, (h, w, 3), dtype=np.uint8)
    else:
        img = np.full((h, w, 3), 128, dtype=np.uint8)
    for bit in range(BITS):
        x0, x1 = bit * w // BITS, (bit + 1) * w // BITS
        img[: h // 2, x0:x1] = _ON if (i >> bit) & 1 else _OFF
    img[h * 3 // 4:, : w // 4] = RED
    return img


def read_index(frame: np.ndarray) -> int:
    """Inverse of frame_pixels for an upright frame of any size (reads the centre of each block)."""
    h, w = frame.shape[:2]
    band = frame[h // 8: h * 3 // 8].astype(float).mean(axis=2)
    value = 0
    for bit in range(BITS):
        x0, x1 = bit * w // BITS, (bit + 1) * w // BITS
        cell = band[:, x0 + (x1 - x0) // 4: x1 - (x1 - x0) // 4]
        value |= int(cell.mean() > (_ON + _OFF) / 2) << bit
    return value


def red_corner(frame: np.ndarray) -> str:
    """Which corner the red block is in ("bottom-left" when upright): checks rotation."""
    h, w = frame.shape[:2]
    corners = {"top-left": frame[: h // 8, : w // 8], "top-right": frame[: h // 8, -(w // 8):],
               "bottom-left": frame[-(h // 8):, : w // 8], "bottom-right": frame[-(h // 8):, -(w // 8):]}
    redness = {k: float(v[..., 0].mean() - v[..., 1].mean()) for k, v in corners.items()}
    return max(redness, key=redness.get)


def frame_times(seconds: float = 3.0, fps: int = 10, vfr: bool = False) -> list[float]:
    """Presentation time of every frame make_video writes (vfr: periods alternate 1/fps and 1.5/fps)."""
    n = max(1, int(round(seconds * fps)))
    times, t = [], 0.0
    for i in range(n):
        times.append(round(t, 6))
        t += (1.5 if vfr and i % 2 else 1.0) / fps
    return times


def make_video(path: str | Path, seconds: float = 3.0, fps: int = 10, size: tuple[int, int] = (160, 120),
               codec: str = "libx264", container: str | None = None, pattern: str = "counter",
               bframes: bool = False, rotate: int | None = None, vfr: bool = False) -> Path:
    """Write a real video (container format from the suffix unless given); returns the path."""
    import av

    path = Path(path)
    times = frame_times(seconds, fps, vfr)
    tick = Fraction(1, fps * 2)                 # vfr periods (1 or 1.5 frames) are whole ticks
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=fps * 2 if vfr else fps)   # vfr: the codec's clock must tick 1/(2 fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = tick if codec != "mpeg4" or vfr else Fraction(1, fps)
        stream.options = _options(codec, fps, bframes)
        if rotate:
            stream.set_display_rotation(rotate)
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(frame_pixels(i, size, pattern), format="rgb24")
            frame.pts = int(round(Fraction(t).limit_denominator(10_000) / stream.time_base))
            frame.time_base = stream.time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _options(codec: str, fps: int, bframes: bool) -> dict[str, str]:
    gop = str(fps)                              # a keyframe every second: seeks have somewhere to land
    if codec == "libx264":
        return {"bf": "3" if bframes else "0", "g": gop, "crf": "18", "preset": "veryfast"}
    if codec == "libx265":
        return {"x265-params": f"log-level=error:bframes={3 if bframes else 0}:keyint={gop}", "crf": "18"}
    if codec == "mpeg4":
        return {"qscale": "2", "g": gop, "bf": "2" if bframes else "0"}
    if codec.startswith("libvpx"):
        return {"crf": "10", "b": "0", "deadline": "realtime", "g": gop}
    return {"g": gop}
