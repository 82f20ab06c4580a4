"""Drawing and encoding for the synthetic suite: shapes, a built-in 5x7 bitmap font, H.264 output.

Everything is pure numpy on frame indices (no floats decide visibility), so a track shown on
frames [start, end] is visible in exactly those decoded frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

WIDTH, HEIGHT, FPS = 320, 240, 10
BACKGROUND = (40, 40, 48)
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (225, 25, 25),
    "green": (30, 190, 50),
    "blue": (40, 80, 235),
    "yellow": (235, 215, 30),
    "purple": (160, 50, 210),
    "white": (235, 235, 235),
}
SHAPES = ("circle", "square", "triangle")
TEXT_COLOUR = (245, 245, 245)

# Column-major 5x7 glyphs (bit 0 = top row), the classic LCD font; lower case is drawn upper case.
_GLYPH_COLUMNS: dict[str, tuple[int, ...]] = {
    "A": (0x7C, 0x12, 0x11, 0x12, 0x7C), "B": (0x7F, 0x49, 0x49, 0x49, 0x36),
    "C": (0x3E, 0x41, 0x41, 0x41, 0x22), "D": (0x7F, 0x41, 0x41, 0x22, 0x1C),
    "E": (0x7F, 0x49, 0x49, 0x49, 0x41), "F": (0x7F, 0x09, 0x09, 0x09, 0x01),
    "G": (0x3E, 0x41, 0x49, 0x49, 0x7A), "H": (0x7F, 0x08, 0x08, 0x08, 0x7F),
    "I": (0x00, 0x41, 0x7F, 0x41, 0x00), "J": (0x20, 0x40, 0x41, 0x3F, 0x01),
    "K": (0x7F, 0x08, 0x14, 0x22, 0x41), "L": (0x7F, 0x40, 0x40, 0x40, 0x40),
    "M": (0x7F, 0x02, 0x0C, 0x02, 0x7F), "N": (0x7F, 0x04, 0x08, 0x10, 0x7F),
    "O": (0x3E, 0x41, 0x41, 0x41, 0x3E), "P": (0x7F, 0x09, 0x09, 0x09, 0x06),
    "Q": (0x3E, 0x41, 0x51, 0x21, 0x5E), "R": (0x7F, 0x09, 0x19, 0x29, 0x46),
    "S": (0x46, 0x49, 0x49, 0x49, 0x31), "T": (0x01, 0x01, 0x7F, 0x01, 0x01),
    "U": (0x3F, 0x40, 0x40, 0x40, 0x3F), "V": (0x1F, 0x20, 0x40, 0x20, 0x1F),
    "W": (0x3F, 0x40, 0x38, 0x40, 0x3F), "X": (0x63, 0x14, 0x08, 0x14, 0x63),
    "Y": (0x07, 0x08, 0x70, 0x08, 0x07), "Z": (0x61, 0x51, 0x49, 0x45, 0x43),
    "0": (0x3E, 0x51, 0x49, 0x45, 0x3E), "1": (0x00, 0x42, 0x7F, 0x40, 0x00),
    "2": (0x42, 0x61, 0x51, 0x49, 0x46), "3": (0x21, 0x41, 0x45, 0x4B, 0x31),
    "4": (0x18, 0x14, 0x12, 0x7F, 0x10), "5": (0x27, 0x45, 0x45, 0x45, 0x39),
    "6": (0x3C, 0x4A, 0x49, 0x49, 0x30), "7": (0x01, 0x71, 0x09, 0x05, 0x03),
    "8": (0x36, 0x49, 0x49, 0x49, 0x36), "9": (0x06, 0x49, 0x49, 0x29, 0x1E),
    ":": (0x00, 0x36, 0x36, 0x00, 0x00), ".": (0x00, 0x60, 0x60, 0x00, 0x00),
    ",": (0x00, 0x50, 0x30, 0x00, 0x00), "'": (0x00, 0x00, 0x07, 0x00, 0x00),
    "?": (0x02, 0x01, 0x51, 0x09, 0x06), "!": (0x00, 0x00, 0x5F, 0x00, 0x00),
    "-": (0x08, 0x08, 0x08, 0x08, 0x08), " ": (0x00, 0x00, 0x00, 0x00, 0x00),
}


@cache
def glyph(char: str) -> np.ndarray:
    """A 7x5 bool bitmap; unknown characters draw as '?'."""
    columns = _GLYPH_COLUMNS.get(char.upper(), _GLYPH_COLUMNS["?"])
    bitmap = np.array([[(c >> row) & 1 for c in columns] for row in range(7)], dtype=bool)
    bitmap.flags.writeable = False   # cached: shared between callers
    return bitmap


@lru_cache(maxsize=256)
def text_mask(text: str, scale: int = 2) -> np.ndarray:
    """Bool mask of one line of text: 6 columns per character (1 blank), 7 rows, scaled."""
    cells = [np.pad(glyph(ch), ((0, 0), (0, 1))) for ch in text] or [np.zeros((7, 6), dtype=bool)]
    mask = np.kron(np.hstack(cells), np.ones((scale, scale), dtype=bool)).astype(bool)
    mask.flags.writeable = False   # cached: shared between callers
    return mask


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap to at most `width` characters a row."""
    rows: list[str] = []
    for word in text.split():
        if rows and len(rows[-1]) + 1 + len(word) <= width:
            rows[-1] += " " + word
        else:
            rows.append(word)
    return rows or [""]


@dataclass
class Track:
    """One shape on screen on frames [start, end] (inclusive); per-frame geometry arrays."""

    shape: str
    colour: str
    start: int
    end: int
    x: np.ndarray        # centre x per frame (length n_frames)
    y: np.ndarray
    size: np.ndarray     # side / diameter in pixels
    angle: np.ndarray    # degrees


@dataclass
class Caption:
    """Text drawn at the bottom of the screen on frames [start, end]."""

    text: str
    start: int
    end: int


@dataclass
class Scene:
    n_frames: int
    tracks: list[Track] = field(default_factory=list)
    captions: list[Caption] = field(default_factory=list)

    def static(self, shape: str, colour: str, start: int, end: int, x: float, y: float, size: float,
               angle: float = 0.0) -> Track:
        n = self.n_frames
        track = Track(shape, colour, start, end, np.full(n, float(x)), np.full(n, float(y)),
                      np.full(n, float(size)), np.full(n, float(angle)))
        self.tracks.append(track)
        return track


@lru_cache(maxsize=512)
def shape_mask(shape: str, size: float, angle: float) -> np.ndarray:
    """Bool mask of a shape centred in a square patch (rotated by `angle` degrees)."""
    half = int(np.ceil(size * 0.75)) + 1
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float64)
    rad = np.deg2rad(angle)
    u = xx * np.cos(rad) + yy * np.sin(rad)       # rotate the grid, not the shape
    v = -xx * np.sin(rad) + yy * np.cos(rad)
    r = size / 2.0
    if shape == "circle":
        mask = u * u + v * v <= r * r
    elif shape == "square":
        mask = (np.abs(u) <= r) & (np.abs(v) <= r)
    elif shape == "triangle":   # equilateral, pointing up, centroid at the centre
        h = size * np.sqrt(3) / 2
        mask = (v <= h / 3) & (np.sqrt(3) * u - v <= 2 * h / 3) & (-np.sqrt(3) * u - v <= 2 * h / 3)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    mask.flags.writeable = False   # cached: shared between frames
    return mask


def _paste(img: np.ndarray, mask: np.ndarray, cx: int, cy: int, colour: tuple[int, int, int]) -> None:
    h, w = mask.shape
    top, left = cy - h // 2, cx - w // 2
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, img.shape[0]), min(left + w, img.shape[1])
    if y1 <= y0 or x1 <= x0:
        return
    sub = mask[y0 - top:y1 - top, x0 - left:x1 - left]
    img[y0:y1, x0:x1][sub] = colour


@lru_cache(maxsize=1)
def _background() -> np.ndarray:
    img = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    img[:] = BACKGROUND   # broadcasting a tuple is slow: done once, then copied per frame
    img.flags.writeable = False
    return img


def render_frame(scene: Scene, i: int) -> np.ndarray:
    img = _background().copy()
    for t in scene.tracks:
        if t.start <= i <= t.end:
            mask = shape_mask(t.shape, float(t.size[i]), float(t.angle[i]) % 360.0)
            _paste(img, mask, int(round(t.x[i])), int(round(t.y[i])), COLOURS[t.colour])
    for c in scene.captions:
        if c.start <= i <= c.end:
            rows = wrap(c.text, (WIDTH - 8) // 12)
            for k, row in enumerate(rows):
                mask = text_mask(row)
                y = HEIGHT - 8 - (len(rows) - k) * 18
                img[y:y + mask.shape[0], 4:4 + mask.shape[1]][mask] = TEXT_COLOUR
    return img


def frames(scene: Scene) -> Iterator[np.ndarray]:
    for i in range(scene.n_frames):
        yield render_frame(scene, i)


def encode(path: Path, scene: Scene) -> None:
    """H.264 at FPS, one thread and fixed options so the same scene gives the same bytes."""
    import av

    with av.open(str(path), "w", format="mp4") as container:
        container.metadata.clear()
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.time_base = Fraction(1, FPS)
        stream.codec_context.thread_count = 1
        # single thread and no B-frames: deterministic output, frame i decodes at exactly i / FPS
        stream.options = {"preset": "superfast", "crf": "16", "bf": "0", "g": str(2 * FPS), "threads": "1",
                          "x264-params": "threads=1:lookahead-threads=1:sliced-threads=0"}
        for i, pixels in enumerate(frames(scene)):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def decode(path: Path) -> list[np.ndarray]:
    """All frames of a suite video as RGB arrays (tests and sanity checks)."""
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
