"""Qwen2.5-VL (transformers `Qwen2_5_VLForConditionalGeneration`) on the offline protocol.

The clip goes in as a *video* (one `<|video_pad|>` run, temporal patches of 2 frames, time
positions from the sampling fps), as Qwen evaluates video. The video tensors are built by
`omnibench.models._hf_common.qwen_video_patches` with PIL + numpy instead of
`Qwen2VLVideoProcessor`, which needs torchvision (see that module's docstring). Pixel budget per
frame: the `min_pixels=` / `max_pixels=` settings, else the checkpoint's
`video_preprocessor_config.json`, else the video processor's defaults (100352 / 602112).

    omnibench run --tasks omnimmi --model qwen2_5_vl \
        --model-args pretrained=Qwen/Qwen2.5-VL-7B-Instruct,num_frames=32,dtype=bfloat16
"""

from __future__ import annotations

from typing import Any

from omnibench.engine.protocols import OfflineRequest
from omnibench.models import _hf_common as hf
from omnibench.registry import model


@model("qwen2_5_vl", description="Qwen2.5-VL (Hugging Face transformers), video input with fps")
class Qwen25VL(hf.GenerateFromInputs):
    deterministic = True      # greedy decoding by default; the cache key includes temperature
    max_concurrency = 1
    accepts_audio = False

    def __init__(self, pretrained: str = "Qwen/Qwen2.5-VL-7B-Instruct", device: str = "auto",
                 dtype: str = "auto", attn_implementation: str | None = None, num_frames: int = 16,
                 offline_fps: float | None = None, min_pixels: int | None = None,
                 max_pixels: int | None = None, system: str | None = "You are a helpful assistant.",
                 device_map: str | None = None, tp_plan: str | None = None):
        from transformers import Qwen2_5_VLForConditionalGeneration

        self._load(Qwen2_5_VLForConditionalGeneration, pretrained, device=device, dtype=dtype,
                   attn_implementation=attn_implementation, num_frames=num_frames,
                   offline_fps=offline_fps, system=system, device_map=device_map, tp_plan=tp_plan)
        self.video_settings = hf.qwen_video_settings(self.model.config.vision_config, pretrained,
                                                     min_pixels, max_pixels)
        config = self.model.config
        self.video_token_id = config.video_token_id
        self.video_token, self.vision_start, self.vision_end = self.tokenizer.convert_ids_to_tokens(
            [config.video_token_id, config.vision_start_token_id, config.vision_end_token_id])

    def build_inputs(self, request: OfflineRequest) -> dict[str, Any]:
        tensors: dict[str, Any] = {}
        media = ""
        if request.frames is not None and len(request.frames):
            pixels, grid, seconds, n_tokens = hf.qwen_video_tensors(
                request.frames, request.frame_times, self.video_settings, device=self.device,
                dtype=self.model.dtype)
            tensors = {"pixel_values_videos": pixels, "video_grid_thw": grid, "second_per_grid_ts": seconds}
            media = self.vision_start + self.video_token * n_tokens + self.vision_end
        inputs = hf.chat_inputs(self, media, request)
        # the model computes its 3-D rope positions from these (0 text, 1 image, 2 video)
        inputs["mm_token_type_ids"] = (inputs["input_ids"] == self.video_token_id).long() * 2
        return {**inputs, **tensors}
