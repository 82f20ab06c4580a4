"""M4Config: every size and setting of the M4 model, its decoding and its alerting, in one place.

Written to and read from disk (a checkpoint's config.json), hence pydantic. The sub-model configs
(Qwen2, CLIP vision, Whisper encoder) are kept as plain dicts of their transformers kwargs, so a
real LongVA config.json passes through unchanged.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# CLIP ViT-L/14 at 336 px (openai/clip-vit-large-patch14-336): LongVA's config.json names the tower
# but does not carry its sizes, so they live here.
CLIP_L14_336: dict[str, Any] = {
    "hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24, "num_attention_heads": 16,
    "image_size": 336, "patch_size": 14, "projection_dim": 768, "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-5,
}
# Whisper-large-v3 encoder: 128 mel bins, 30 s -> 1500 frames of 1280.
WHISPER_LARGE_V3_ENCODER: dict[str, Any] = {
    "num_mel_bins": 128, "d_model": 1280, "encoder_layers": 32, "encoder_attention_heads": 20,
    "encoder_ffn_dim": 5120, "max_source_positions": 1500,
}
# LongVA config.json keys that describe the multimodal wrapper, not the Qwen2 LM.
_WRAPPER_KEYS = ("mm_", "image_", "speech_", "vision_", "tokenizer_", "unfreeze_", "tune_", "freeze_")
_WRAPPER_EXACT = {"architectures", "model_type", "use_mm_proj", "delay_load", "pretrain_mm_mlp_adapter",
                  "transformers_version", "vision_config", "audio_config", "m4"}


class NoiseTestSettings(BaseModel):
    """Entropy-adaptive test: a new turn is noise if p[<|im_start|>] > min(cap, scale * exp(-H)),
    p = softmax(logits / temperature). Defaults: M4's demo; the OmniMMI harness's offline PT test is
    temperature 0.05, scale 1e-6, no cap (cap None)."""

    model_config = ConfigDict(extra="forbid")
    cap: float | None = 0.09
    scale: float = 0.3
    temperature: float = 1.0


class SpotterSettings(BaseModel):
    """Highlight spotting: saliency above mean + alpha*std, alert when a frame's count > count."""

    model_config = ConfigDict(extra="forbid")
    alpha: float = 2.0            # 2.0 in the OmniMMI adapter, 1.5 in the demo
    count: int = 4                # alert when the top count exceeds this (demo: max(4, 3 * fps))
    warmup: int = 4               # no scoring before this many frames (2 for the audio model)
    response_tokens: int = 64     # length cap of the spoken alert
    # the OmniMMI harness drops every alert whose highlighted frame has int(time) == 0 (a quirk of its
    # PA loop, kept only to reproduce its numbers); we keep them
    drop_second_zero: bool = False
    # which frame is on top when counts tie: the lowest index (ours), or the one that reached the count
    # first, as the reference's MaxHeapDict orders its entries (a push counter breaks ties)
    tie_break: Literal["lowest_frame", "earliest"] = "lowest_frame"
    # the alert query as the reference's audio model hears it: "\n" + text, then the speech, then the
    # assistant header (otherwise the query is read as text alone)
    spoken_query: bool = False


class M4Config(BaseModel):
    """Architecture (LongVA layout) plus decoding and alerting defaults."""

    model_config = ConfigDict(extra="forbid")
    text: dict[str, Any]                       # Qwen2Config kwargs
    vision: dict[str, Any]                     # CLIPVisionConfig kwargs
    audio: dict[str, Any] | None = None        # WhisperConfig kwargs (encoder only); None: no speech input
    vision_select_layer: int = -2
    vision_select_feature: Literal["patch", "cls_patch"] = "patch"
    projector_type: Literal["mlp2x_gelu"] = "mlp2x_gelu"
    pool_stride: int = 2
    pool_mode: Literal["average", "max"] = "average"
    speech_stack: int = 5                      # consecutive Whisper frames concatenated per token
    speech_projector_hidden: int = 2048
    image_token: str = "<image>"
    speech_token: str = "<speech>"
    system_prompt: str = "You are a helpful assistant."
    offline_frames: int = 16
    fps: float = 1.0
    max_new_tokens: int = 256
    channel_positions: Literal["continue", "restart"] = "continue"
    # how a turn arriving mid-answer opens its channel: "continue" the prefix's user turn
    # ('\n{query}<|im_end|>\n<|im_start|>assistant\n', ours) or a "chatml" prompt of its own
    # (system prompt + user turn + assistant header, as M4's local_demo does)
    interruption_prompt: Literal["continue", "chatml"] = "continue"
    # offline frames: "letterbox" (ours, nothing cut off) or "clip" (the reference's CLIP processor crop)
    offline_preprocess: Literal["letterbox", "clip"] = "letterbox"
    # training images: "anyres" (ours: the whole image plus tiles of the closest grid) or "unires"
    # (the reference: pinpoint tiles, no base image; m4/training/unires.py). A LongVA config.json without our
    # block says unires (mm_patch_merge_type), so a real base checkpoint trains as the reference did.
    image_tiling: Literal["anyres", "unires"] = "anyres"
    image_grid_pinpoints: list[tuple[int, int]] | None = None     # unires resolutions; None: M4's scripts'
    noise: NoiseTestSettings = Field(default_factory=NoiseTestSettings)
    offline_noise: NoiseTestSettings | None = None     # the offline turn-taking head's test; None: `noise`
    spotter: SpotterSettings = Field(default_factory=SpotterSettings)
    attn_implementation: Literal["sdpa", "eager"] = "sdpa"

    # derived sizes -------------------------------------------------------------------------
    @property
    def frame_size(self) -> int:
        return int(self.vision["image_size"])

    @property
    def patches_per_side(self) -> int:
        return self.frame_size // int(self.vision["patch_size"])

    @property
    def tokens_per_frame(self) -> int:
        return (self.patches_per_side // self.pool_stride) ** 2

    @property
    def hidden_size(self) -> int:
        return int(self.text["hidden_size"])

    # transformers configs (built lazily: no heavy import at module import) ---------------------
    def qwen2_config(self):
        from transformers import Qwen2Config

        cfg = Qwen2Config(**self.text)
        cfg._attn_implementation = self.attn_implementation
        return cfg

    def clip_config(self):
        from transformers import CLIPVisionConfig

        cfg = CLIPVisionConfig(**self.vision)
        cfg._attn_implementation = "sdpa"
        return cfg

    def whisper_config(self):
        from transformers import WhisperConfig

        if self.audio is None:
            raise ValueError("this M4 config has no audio encoder (audio is None)")
        return WhisperConfig(**self.audio)

    # on-disk forms ---------------------------------------------------------------------------
    def to_longva_json(self) -> dict[str, Any]:
        """config.json in the LongVA layout (Qwen2 keys at top level, mm_* keys for the wrapper)."""
        out = dict(self.text)
        out.update({
            "architectures": ["LlavaQwenForCausalLM"], "model_type": "llava_qwen",
            "mm_vision_tower": "omnibench/inline-clip", "vision_config": dict(self.vision),
            "mm_hidden_size": int(self.vision["hidden_size"]), "mm_projector_type": self.projector_type,
            "mm_vision_select_layer": self.vision_select_layer,
            "mm_vision_select_feature": self.vision_select_feature,
            "mm_spatial_pool_stride": self.pool_stride, "mm_spatial_pool_mode": self.pool_mode,
            "mm_patch_merge_type": "unires",
            "m4": self.model_dump(exclude={"text", "vision", "audio", "vision_select_layer",
                                           "vision_select_feature", "projector_type", "pool_stride",
                                           "pool_mode"}),
        })
        if self.audio is not None:
            out.update({"speech_encoder_type": "whisper", "audio_config": dict(self.audio),
                        "speech_encoder_ds_rate": self.speech_stack,
                        "speech_encoder_hidden_size": int(self.audio["d_model"])})
        return out

    @classmethod
    def from_longva_json(cls, data: dict[str, Any], source: str = "config.json") -> M4Config:
        """Read a LongVA / M4 config.json (ours or the released one)."""
        text = {k: v for k, v in data.items()
                if k not in _WRAPPER_EXACT and not k.startswith(_WRAPPER_KEYS)}
        if "hidden_size" not in text or "vocab_size" not in text:
            raise ValueError(f"{source}: not a Qwen2-based LongVA config (hidden_size/vocab_size missing)")
        vision = data.get("vision_config")
        if vision is None:
            tower = str(data.get("mm_vision_tower", ""))
            if "clip-vit-large-patch14-336" not in tower:
                raise ValueError(f"{source}: field mm_vision_tower={tower!r} is not CLIP ViT-L/14-336 and "
                                 "no vision_config is given")
            vision = dict(CLIP_L14_336)
        if data.get("mm_hidden_size") not in (None, vision["hidden_size"]):
            raise ValueError(f"{source}: field mm_hidden_size={data['mm_hidden_size']} does not match the "
                             f"vision tower width {vision['hidden_size']}")
        audio = data.get("audio_config")
        if audio is None and data.get("speech_encoder_type") == "whisper":
            audio = dict(WHISPER_LARGE_V3_ENCODER)
        fields: dict[str, Any] = {
            "text": text, "vision": vision, "audio": audio,
            "vision_select_layer": data.get("mm_vision_select_layer", -2),
            "vision_select_feature": data.get("mm_vision_select_feature", "patch"),
            "projector_type": data.get("mm_projector_type", "mlp2x_gelu"),
            "pool_stride": data.get("mm_spatial_pool_stride", 2),
            "pool_mode": data.get("mm_spatial_pool_mode", "average"),
            "speech_stack": data.get("speech_encoder_ds_rate", 5),
            # only a real LongVA file (no block of ours) says how it was trained
            "image_tiling": "unires" if data.get("mm_patch_merge_type") == "unires" and "m4" not in data else "anyres",
        }
        if isinstance(data.get("image_grid_pinpoints"), list):
            fields["image_grid_pinpoints"] = [tuple(p) for p in data["image_grid_pinpoints"]]
        fields.update(data.get("m4") or {})     # our own settings block, when we wrote the file
        return cls(**fields)


def tiny_config(vocab_size: int = 320, audio: bool | dict[str, Any] = False, **overrides: Any) -> M4Config:
    """A random-weight stand-in that runs on a CPU in milliseconds (tests, benches, tiny=True).

    `audio`: True for a tiny Whisper encoder, or its WhisperConfig kwargs."""
    text = {"vocab_size": vocab_size, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 8192,
            "tie_word_embeddings": False}
    vision = {"image_size": 56, "patch_size": 14, "hidden_size": 32, "intermediate_size": 64,
              "num_hidden_layers": 2, "num_attention_heads": 2}
    whisper = {"num_mel_bins": 16, "d_model": 32, "encoder_layers": 1, "encoder_attention_heads": 2,
               "encoder_ffn_dim": 64, "max_source_positions": 50, "decoder_layers": 1,
               "decoder_attention_heads": 2, "decoder_ffn_dim": 64}
    fields: dict[str, Any] = {"text": text, "vision": vision, "audio": (audio if isinstance(audio, dict) else whisper) if audio else None,
                              "speech_projector_hidden": 48}
    fields.update(overrides)
    return M4Config(**fields)


def longva_7b_config() -> M4Config:
    """Sizes of LongVA-7B-Qwen2 / M4-7B (used when a checkpoint's config.json is incomplete)."""
    text = {"vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
            "num_attention_heads": 28, "num_key_value_heads": 4, "max_position_embeddings": 32768,
            "rms_norm_eps": 1e-6, "tie_word_embeddings": False}
    return M4Config(text=text, vision=dict(CLIP_L14_336))
