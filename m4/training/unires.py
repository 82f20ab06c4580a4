"""Training images as the reference tiles them ("unires", LongVA / M4's finetune scripts).

The image is fitted, aspect kept and black-padded, into the pinpoint resolution that keeps the most
of it (ties: the least padding), then cut into 336 x 336 tiles, row by row. LLaVA-NeXT's anyres
also makes a downsized copy of the whole image; unires drops that base image. Each tile becomes one
frame of 144 tokens (2 x 2 pooling after the projector, as for video frames).

The pinpoints of M4's scripts are every a x b grid of tiles with a * b <= 49 except 1 x 1, in
(a, b) order: generated here rather than listed.
"""

from __future__ import annotations

import math
from typing import Any

MAX_TILES = 49


def unires_pinpoints(tile: int = 336, max_tiles: int = MAX_TILES) -> list[tuple[int, int]]:
    """(width, height) resolutions: (tile * a, tile * b) for a * b <= max_tiles, 1 x 1 excluded."""
    return [(tile * a, tile * b) for a in range(1, max_tiles + 1) for b in range(1, max_tiles + 1)
            if a * b <= max_tiles and (a, b) != (1, 1)]


def best_resolution(size: tuple[int, int], resolutions: list[tuple[int, int]]) -> tuple[int, int]:
    """The (width, height) that keeps the most original pixels once the image is fitted; ties: least padding."""
    width, height = size
    best, kept_best, wasted_best = resolutions[0], -1, math.inf
    for w, h in resolutions:
        scale = min(w / width, h / height)
        kept = min(int(width * scale) * int(height * scale), width * height)
        wasted = w * h - kept
        if kept > kept_best or (kept == kept_best and wasted < wasted_best):
            best, kept_best, wasted_best = (w, h), kept, wasted
    return best


def fit_and_pad(image: Any, target: tuple[int, int]) -> Any:
    """Resize keeping the aspect so one side fills `target`, centre on black (PIL images)."""
    from PIL import Image

    width, height = image.size
    tw, th = target
    if tw / width < th / height:
        nw, nh = tw, min(math.ceil(height * tw / width), th)
    else:
        nw, nh = min(math.ceil(width * th / height), tw), th
    canvas = Image.new("RGB", (tw, th), (0, 0, 0))
    canvas.paste(image.resize((nw, nh)), ((tw - nw) // 2, (th - nh) // 2))
    return canvas


def unires_tiles(path: Any, size: int, pinpoints: list[tuple[int, int]] | None = None) -> list[Any]:
    """An image file -> its tiles as (size, size, 3) uint8 arrays, row-major; no base image."""
    import numpy as np
    from PIL import Image

    image = Image.open(path).convert("RGB")
    target = best_resolution(image.size, [tuple(p) for p in (pinpoints or unires_pinpoints(size))])
    canvas = np.asarray(fit_and_pad(image, target))
    return [canvas[r:r + size, c:c + size] for r in range(0, target[1], size) for c in range(0, target[0], size)]
