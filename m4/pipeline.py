"""M4Pipeline: model + tokenizer + chat format, with the offline entry points (answer, turn-taking)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from omnibench.m4.chat import ChatFormat
from omnibench.m4.config import M4Config
from omnibench.m4.frames import frames_to_pixels, uniform_indices
from omnibench.m4.multiplex import MultiplexDecoder, noise_test


@dataclass
class M4Pipeline:
    model: Any
    tokenizer: Any
    chat: ChatFormat

    @property
    def config(self) -> M4Config:
        return self.model.config

    @classmethod
    def from_checkpoint(cls, path: str, *, device: str = "cpu", dtype: str = "float32", **overrides: Any) -> M4Pipeline:
        from omnibench.m4.checkpoint import load_checkpoint, load_tokenizer

        model = load_checkpoint(path, device=device, dtype=getattr(torch, dtype), **overrides)
        return cls.build(model, load_tokenizer(path))

    @classmethod
    def tiny(cls, *, seed: int = 0, device: str = "cpu", audio: bool = False, **overrides: Any) -> M4Pipeline:
        """Random weights, in-memory tokenizer: for tests and smoke runs."""
        from omnibench.m4.config import tiny_config
        from omnibench.m4.modeling import build_model
        from omnibench.m4.tokenizer_testing import build_chatml_tokenizer

        tokenizer = build_chatml_tokenizer()
        config = tiny_config(vocab_size=len(tokenizer), audio=audio, **overrides)
        return cls.build(build_model(config, seed=seed, device=device), tokenizer)

    @classmethod
    def build(cls, model: Any, tokenizer: Any) -> M4Pipeline:
        cfg = model.config
        return cls(model, tokenizer, ChatFormat(tokenizer, cfg.system_prompt, cfg.image_token))

    # pieces -----------------------------------------------------------------------------------
    def frame_embeddings(self, frames: Any) -> torch.Tensor:
        """HxWx3 uint8 frames -> (N, tokens_per_frame, H)."""
        return self.model.encode_frames(frames_to_pixels(frames, self.config.frame_size))

    def decoder(self, *, max_new_tokens: int | None = None, temperature: float = 0.0,
                seed: int | None = None) -> MultiplexDecoder:
        cfg = self.config
        return MultiplexDecoder(self.model, self.chat, noise=cfg.noise, channel_positions=cfg.channel_positions,
                                max_new_tokens=max_new_tokens or cfg.max_new_tokens, temperature=temperature,
                                seed=seed)

    def _conversation_embeds(self, frames: Any, prompt: str, history: list[tuple[str, str]]) -> tuple[torch.Tensor, list[int]]:
        """(prefix embeds = head + frames, tail ids = rest of the conversation up to the assistant header)."""
        conv = self.chat.conversation(prompt, history)
        parts = [self.model.embed(conv.head)]
        if frames is not None and len(frames):
            chosen = [frames[i] for i in uniform_indices(len(frames), self.config.offline_frames)]
            parts.append(self.frame_embeddings(chosen).reshape(1, -1, self.config.hidden_size))
        return torch.cat(parts, dim=1), conv.tail

    # offline entry points ---------------------------------------------------------------------
    def answer(self, frames: Any, prompt: str, history: list[tuple[str, str]] = (), *,
               max_new_tokens: int | None = None, temperature: float = 0.0, seed: int | None = None) -> str:
        prefix, tail = self._conversation_embeds(frames, prompt, history)
        decoder = self.decoder(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
        decoder.start(prefix)
        decoder.ask(tail, force="query")          # an offline question is always answered
        return self.chat.decode(decoder.generate())

    def respond_probability(self, frames: Any, prompt: str, history: list[tuple[str, str]] = ()) -> float:
        """Turn-taking head: one pass, the entropy-adaptive test on p[<|im_start|>].

        Mapped so that 0.5 is the test's own threshold: 1 - p_start / (2 * threshold), clipped;
        below 0.5 means the model expects another user turn (noise), not a reply.
        """
        from omnibench.m4.modeling import new_cache

        prefix, tail = self._conversation_embeds(frames, prompt, history)
        embeds = torch.cat([prefix, self.model.embed(tail)], dim=1)
        logits = self.model.forward_embeds(embeds, new_cache(self.model)).logits[0, -1]
        _, p_start, threshold, _ = noise_test(logits, self.chat.im_start_id, self.config.noise)
        if threshold <= 0:
            return 0.0 if p_start > 0 else 1.0
        return float(min(1.0, max(0.0, 1.0 - p_start / (2.0 * threshold))))
