"""Frames (HxWx3 uint8) to CLIP pixel tensors.

Two preprocessings: ours (resize the long side, black-pad to a square, normalise: nothing of the
frame is cut off) and the reference's offline one (transformers' CLIPImageProcessor as configured
for openai/clip-vit-large-patch14-336: bicubic resize of the short side, centre crop, normalise).
"""

from __future__ import annotations

from typing import Any

# OpenAI CLIP's pixel statistics (CLIPImageProcessor defaults)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def resize_pad_square(frame: Any, size: int):
    """(H, W, 3) uint8 -> (3, size, size) float in [0, 1], aspect kept, centred on black."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    array = np.asarray(frame)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"a frame must be HxWx3, got shape {array.shape}")
    # a read-only frame (a decoded buffer) is copied: torch warns on non-writable arrays
    image = torch.from_numpy(np.require(array, requirements=("C", "W"))).permute(2, 0, 1).float().div_(255.0)
    h, w = image.shape[1:]
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    if (nh, nw) != (h, w):
        image = F.interpolate(image[None], size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)[0]
    top, left = (size - nh) // 2, (size - nw) // 2
    out = torch.zeros(3, size, size)
    out[:, top:top + nh, left:left + nw] = image.clamp_(0.0, 1.0)
    return out


def frames_to_pixels(frames: Any, size: int, preprocess: str = "letterbox"):
    """A sequence of HxWx3 uint8 frames (or an (N, H, W, 3) array) -> (N, 3, size, size) CLIP input.

    preprocess: "letterbox" (ours) or "clip" (the reference's CLIP processor: bicubic, centre crop).
    """
    import torch

    if preprocess == "clip":
        return clip_processor_pixels(frames, size)
    if preprocess != "letterbox":
        raise ValueError(f"frame preprocess {preprocess!r} is not one of 'letterbox', 'clip'")

    batch = torch.stack([resize_pad_square(f, size) for f in frames])
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return (batch - mean) / std


def clip_processor_pixels(frames: Any, size: int):
    """The real CLIPImageProcessor (no stand-in): shortest side -> size (bicubic), centre crop size x size."""
    import numpy as np

    try:        # transformers >= 5.x without torchvision: the PIL backend, named so it does not warn
        from transformers import CLIPImageProcessorPil as Processor
    except ImportError:
        from transformers import CLIPImageProcessor as Processor

    processor = Processor(size={"shortest_edge": size}, crop_size={"height": size, "width": size},
                          image_mean=list(CLIP_MEAN), image_std=list(CLIP_STD))
    images = [np.asarray(f, dtype=np.uint8) for f in frames]
    return processor(images=images, return_tensors="pt")["pixel_values"]


def uniform_indices(total: int, count: int) -> list[int]:
    """`count` indices spread evenly over `total` (all of them when total <= count)."""
    if total <= count:
        return list(range(total))
    step = total / count
    return [min(total - 1, int(step * i + step / 2)) for i in range(count)]
