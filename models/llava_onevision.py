"""LLaVA-OneVision (transformers `LlavaOnevisionForConditionalGeneration`) on the offline protocol.

The clip goes in as LLaVA-OneVision's *video* input: every frame resized to the vision tower's
square input (384 px for the released checkpoints), normalized, 2x2-pooled by the model to
ceil(g/2)^2 tokens per frame, plus one newline token. The tensor is built with PIL + numpy
(`omnibench.models._hf_common`) by the same recipe as `LlavaOnevisionVideoProcessor`, which
needs torchvision. Use the `-hf` checkpoints (e.g. `llava-hf/llava-onevision-qwen2-7b-ov-hf`).

    omnibench run --tasks omnimmi --model llava_onevision \
        --model-args pretrained=llava-hf/llava-onevision-qwen2-7b-ov-hf,num_frames=32,dtype=float16
"""

from __future__ import annotations

import math
from typing import Any

from omnibench.engine.protocols import OfflineRequest
from omnibench.models import _hf_common as hf
from omnibench.registry import model


@model("llava_onevision", description="LLaVA-OneVision (Hugging Face transformers), pooled video frames")
class LlavaOneVision(hf.GenerateFromInputs):
    deterministic = True
    max_concurrency = 1
    accepts_audio = False

    def __init__(self, pretrained: str = "llava-hf/llava-onevision-qwen2-7b-ov-hf", device: str = "auto",
                 dtype: str = "auto", attn_implementation: str | None = None, num_frames: int = 16,
                 offline_fps: float | None = None, system: str | None = "You are a helpful assistant.",
                 device_map: str | None = None, tp_plan: str | None = None):
        from transformers import LlavaOnevisionForConditionalGeneration

        self._load(LlavaOnevisionForConditionalGeneration, pretrained, device=device, dtype=dtype,
                   attn_implementation=attn_implementation, num_frames=num_frames,
                   offline_fps=offline_fps, system=system, device_map=device_map, tp_plan=tp_plan)
        vision = self.model.config.vision_config
        saved = hf.preprocessor_settings(pretrained, "video_preprocessor_config.json", "preprocessor_config.json")
        size = saved.get("size") if isinstance(saved.get("size"), dict) else {}
        self.frame_size = (int(size.get("height", vision.image_size)), int(size.get("width", vision.image_size)))
        self.mean = saved.get("image_mean", hf.CLIP_MEAN)
        self.std = saved.get("image_std", hf.CLIP_STD)
        grid = vision.image_size // vision.patch_size
        self.tokens_per_frame = math.ceil(grid / 2) ** 2          # the model's 2x2 bilinear pooling
        self.video_token = self.tokenizer.convert_ids_to_tokens(self.model.config.video_token_index)

    def video_tensor(self, frames):
        """(1, N, 3, H, W) normalized frames, as the video processor would return them."""
        import torch

        video = hf.normalize(hf.resize_frames(frames, *self.frame_size), self.mean, self.std)
        return torch.from_numpy(video)[None].to(self.device, self.model.dtype)

    def build_inputs(self, request: OfflineRequest) -> dict[str, Any]:
        tensors: dict[str, Any] = {}
        media = ""
        if request.frames is not None and len(request.frames):
            tensors["pixel_values_videos"] = self.video_tensor(request.frames)
            media = self.video_token * (len(request.frames) * self.tokens_per_frame + 1) + "\n"
        return {**hf.chat_inputs(self, media, request), **tensors}
