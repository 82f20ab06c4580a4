"""M4Model: CLIP vision tower + mlp2x_gelu projector + 2x2 pooling after it + Qwen2 LM on embeddings.

transformers v5 has no class that matches LongVA (LLaVA-OneVision pools differently and adds
newline tokens; Qwen2-VL uses M-RoPE), hence this small wrapper. The module names are ours; the
checkpoint key map (checkpoint.py) translates LongVA's.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch
from torch import nn

from omnibench.m4.model.config import M4Config


class M4Model(nn.Module):
    def __init__(self, config: M4Config):
        super().__init__()
        from transformers import CLIPVisionModel, Qwen2ForCausalLM

        self.config = config
        width = int(config.vision["hidden_size"])
        self.vision_tower = CLIPVisionModel(config.clip_config())
        self.projector = nn.Sequential(nn.Linear(width, config.hidden_size), nn.GELU(),
                                       nn.Linear(config.hidden_size, config.hidden_size))
        self.language_model = Qwen2ForCausalLM(config.qwen2_config())
        self.speech = None
        if config.audio is not None:
            from omnibench.m4.model.audio import SpeechEncoder

            self.speech = SpeechEncoder(config)

    @property
    def device(self) -> torch.device:
        return self.projector[0].weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.projector[0].weight.dtype

    @property
    def tokens_per_frame(self) -> int:
        return self.config.tokens_per_frame

    @property
    def decoder_layers(self) -> Any:
        return self.language_model.model.layers

    # encoders ---------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_frames(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) normalised pixels -> (N, tokens_per_frame, H)."""
        cfg = self.config
        out = self.vision_tower(pixel_values=pixels.to(self.device, self.dtype), output_hidden_states=True)
        features = out.hidden_states[cfg.vision_select_layer]
        if cfg.vision_select_feature == "patch":
            features = features[:, 1:]                       # drop CLS
        features = self.projector(features)
        return self.pool(features)

    def pool(self, features: torch.Tensor) -> torch.Tensor:
        """2D pooling over the patch grid, after the projector (LongVA's get_2dPool)."""
        n, tokens, width = features.shape
        side = int(round(tokens ** 0.5))
        if side * side != tokens:
            raise ValueError(f"{tokens} patch tokens do not form a square grid")
        grid = features.view(n, side, side, width).permute(0, 3, 1, 2)
        pool = nn.functional.avg_pool2d if self.config.pool_mode == "average" else nn.functional.max_pool2d
        grid = pool(grid, self.config.pool_stride)
        return grid.permute(0, 2, 3, 1).reshape(n, -1, width)

    @torch.no_grad()
    def encode_speech(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, mel_bins, frames) log-mel -> (B, tokens, H); the <speech> placeholder's embeddings."""
        if self.speech is None:
            raise ValueError("this M4 model has no speech encoder (config.audio is None)")
        return self.speech(mel.to(self.device, self.dtype))

    def embed(self, ids: list[int] | torch.Tensor) -> torch.Tensor:
        """Token ids -> (1, L, H)."""
        ids = torch.as_tensor(ids, dtype=torch.long, device=self.device).view(1, -1)
        return self.language_model.get_input_embeddings()(ids)

    # the language model -------------------------------------------------------------------------
    @torch.no_grad()
    def forward_embeds(self, embeds: torch.Tensor, cache: Any, *, mask: torch.Tensor | None = None,
                       positions: list[int] | torch.Tensor | None = None, **kwargs: Any) -> Any:
        """One LM pass over (1, L, H) embeddings appended to `cache`; returns the CausalLM output."""
        position_ids = None
        if positions is not None:
            position_ids = torch.as_tensor(positions, dtype=torch.long, device=self.device).view(1, -1)
        if mask is not None:
            mask = mask.to(self.device, self.dtype)
        cache_arg = {_cache_argument(type(self.language_model)): cache}
        return self.language_model(inputs_embeds=embeds.to(self.dtype), attention_mask=mask,
                                   position_ids=position_ids, use_cache=True, **cache_arg, **kwargs)


@functools.cache
def _cache_argument(lm_class: type) -> str:
    """transformers renamed the LM's cache argument (`past_key_values` -> `cache`; the old name warns,
    then goes in 5.40): pass the name the installed version takes."""
    return "cache" if "cache" in inspect.signature(lm_class.forward).parameters else "past_key_values"


def new_cache(model: M4Model) -> Any:
    from transformers import DynamicCache

    return DynamicCache(config=model.language_model.config)


def build_model(config: M4Config, *, seed: int = 0, dtype: torch.dtype = torch.float32,
                device: str = "cpu") -> M4Model:
    """A randomly initialised M4Model (tests, tiny=True); seeded so two builds are identical."""
    torch.manual_seed(seed)
    return M4Model(config).to(device=device, dtype=dtype).eval()
