"""Qwen2.5-Omni's Thinker (transformers `Qwen2_5OmniThinkerForConditionalGeneration`): text out.

The Thinker is the part of Qwen2.5-Omni that reads video, audio and text and writes text (the
Talker, which turns that into speech, is not needed to score answers and is never loaded). The
clip goes in as a video, packed like Qwen2.5-VL's without torchvision (see
`omnibench.models._hf_common`); a spoken query (`request.audio`, a wav written by our TTS) goes in
as an audio input through the checkpoint's Whisper feature extractor, placed before the text
prompt. `audio=false` ignores spoken queries.

    omnibench run --tasks omnimmi --model qwen2_5_omni \
        --model-args pretrained=Qwen/Qwen2.5-Omni-7B,num_frames=32,dtype=bfloat16
"""

from __future__ import annotations

from typing import Any

from omnibench.engine.protocols import OfflineRequest
from omnibench.errors import ModelError
from omnibench.models import _hf_common as hf
from omnibench.registry import model

OMNI_SYSTEM = ("You are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, capable of "
               "perceiving auditory and visual inputs, as well as generating text and speech.")


def audio_token_count(feature_frames: int) -> int:
    """Audio tokens for this many mel frames (the encoder's two stride-2 reductions)."""
    n = (feature_frames - 1) // 2 + 1
    return (n - 2) // 2 + 1


@model("qwen2_5_omni", description="Qwen2.5-Omni Thinker (Hugging Face transformers): video + spoken query, text out")
class Qwen25Omni(hf.GenerateFromInputs):
    deterministic = True
    max_concurrency = 1

    def __init__(self, pretrained: str = "Qwen/Qwen2.5-Omni-7B", device: str = "auto", dtype: str = "auto",
                 attn_implementation: str | None = None, num_frames: int = 16, offline_fps: float | None = None,
                 min_pixels: int | None = None, max_pixels: int | None = None, audio: bool = True,
                 system: str | None = OMNI_SYSTEM, device_map: str | None = None, tp_plan: str | None = None):
        from transformers import Qwen2_5OmniThinkerForConditionalGeneration, WhisperFeatureExtractor

        self.accepts_audio = audio
        self._load(Qwen2_5OmniThinkerForConditionalGeneration, pretrained, device=device, dtype=dtype,
                   attn_implementation=attn_implementation, num_frames=num_frames,
                   offline_fps=offline_fps, system=system, device_map=device_map, tp_plan=tp_plan)
        self.feature_extractor = WhisperFeatureExtractor.from_pretrained(pretrained) if audio else None
        config = self.model.config
        self.video_settings = hf.qwen_video_settings(config.vision_config, pretrained, min_pixels, max_pixels)
        self.video_token_id = config.video_token_id
        self.audio_token_id = config.audio_token_id
        self.tokens = dict(zip(
            ("video", "vision_start", "vision_end", "audio", "audio_start", "audio_end"),
            self.tokenizer.convert_ids_to_tokens([
                config.video_token_id, config.vision_start_token_id, config.vision_end_token_id,
                config.audio_token_id, config.audio_start_token_id, config.audio_end_token_id]),
            strict=True))

    def audio_inputs(self, path: str) -> tuple[dict[str, Any], int]:
        samples = hf.read_wav_16k(path)
        if self.feature_extractor is None:
            raise ModelError("this qwen2_5_omni was built with audio=false: it takes no spoken query")
        features = self.feature_extractor(samples, sampling_rate=16000, return_attention_mask=True,
                                          padding="max_length", return_tensors="pt")
        mask = features["attention_mask"].to(self.device)
        tensors = {"input_features": features["input_features"].to(self.device, self.model.dtype),
                   "feature_attention_mask": mask}
        return tensors, audio_token_count(int(mask.sum()))

    def build_inputs(self, request: OfflineRequest) -> dict[str, Any]:
        tok = self.tokens
        tensors: dict[str, Any] = {}
        media = ""
        if request.frames is not None and len(request.frames):
            pixels, grid, seconds, n_tokens = hf.qwen_video_tensors(
                request.frames, request.frame_times, self.video_settings, device=self.device,
                dtype=self.model.dtype)
            tensors |= {"pixel_values_videos": pixels, "video_grid_thw": grid, "video_second_per_grid": seconds}
            media += tok["vision_start"] + tok["video"] * n_tokens + tok["vision_end"]
        if request.audio and self.accepts_audio:
            audio, n_tokens = self.audio_inputs(request.audio)
            tensors |= audio
            media += tok["audio_start"] + tok["audio"] * n_tokens + tok["audio_end"]
        return {**hf.chat_inputs(self, media, request), **tensors}
