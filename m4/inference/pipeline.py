"""M4Pipeline: model + tokenizer + chat format, with the offline entry points (answer, turn-taking)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from omnibench.m4.inference.multiplex import MultiplexDecoder, noise_test
from omnibench.m4.model.chat import ChatFormat
from omnibench.m4.model.config import M4Config
from omnibench.m4.model.frames import frames_to_pixels, uniform_indices


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
        from omnibench.m4.model.checkpoint import load_checkpoint, load_tokenizer

        model = load_checkpoint(path, device=device, dtype=getattr(torch, dtype), **overrides)
        return cls.build(model, load_tokenizer(path))

    @classmethod
    def tiny(cls, *, seed: int = 0, device: str = "cpu", audio: bool = False, **overrides: Any) -> M4Pipeline:
        """Random weights, in-memory tokenizer: for tests and smoke runs."""
        from omnibench.m4.model.chatml_tokenizer import build_chatml_tokenizer
        from omnibench.m4.model.config import tiny_config
        from omnibench.m4.model.modeling import build_model

        tokenizer = build_chatml_tokenizer()
        config = tiny_config(vocab_size=len(tokenizer), audio=audio, **overrides)
        return cls.build(build_model(config, seed=seed, device=device), tokenizer)

    @classmethod
    def build(cls, model: Any, tokenizer: Any) -> M4Pipeline:
        cfg = model.config
        return cls(model, tokenizer, ChatFormat(tokenizer, cfg.system_prompt, cfg.image_token,
                                                speech_token=cfg.speech_token))

    @property
    def hears(self) -> bool:
        """True when the checkpoint has a speech tower (M4-Audio): queries may be spoken."""
        return self.model.speech is not None

    # pieces -----------------------------------------------------------------------------------
    def frame_embeddings(self, frames: Any, preprocess: str = "letterbox") -> torch.Tensor:
        """HxWx3 uint8 frames -> (N, tokens_per_frame, H)."""
        return self.model.encode_frames(frames_to_pixels(frames, self.config.frame_size, preprocess))

    def speech_embeddings(self, waveform: Any) -> torch.Tensor:
        """A mono 16 kHz waveform -> (1, tokens, H): Whisper log-mel, encoder, frame-stacking projector."""
        from omnibench.m4.model.audio import log_mel

        speech = self.model.speech
        if speech is None:
            raise ValueError("this M4 checkpoint has no speech encoder: it cannot take spoken queries")
        return self.model.encode_speech(log_mel(waveform, speech.mel_bins, speech.input_frames))

    def spoken_query(self, waveform: Any) -> torch.Tensor:
        """A streaming channel opening for a spoken query: speech tokens, then the assistant header."""
        tail = self.model.embed(self.chat.spoken_query_tail())
        return torch.cat([self.speech_embeddings(waveform), tail], dim=1)

    def decoder(self, *, max_new_tokens: int | None = None, temperature: float = 0.0,
                seed: int | None = None) -> MultiplexDecoder:
        cfg = self.config
        return MultiplexDecoder(self.model, self.chat, noise=cfg.noise, channel_positions=cfg.channel_positions,
                                max_new_tokens=max_new_tokens or cfg.max_new_tokens, temperature=temperature,
                                seed=seed)

    def _conversation_embeds(self, frames: Any, prompt: str, history: list[tuple[str, str]],
                             speech: Any = None, speech_text: bool = False) -> tuple[torch.Tensor, list[int]]:
        """(prefix embeds = head + frames [+ spoken turn], tail ids = rest of the conversation up to the assistant header).

        With `speech` (a 16 kHz waveform) the prompt is laid out as the reference's audio evaluation:
        frames in one user turn, the speech in the next; the written prompt is added only with `speech_text`."""
        if speech is not None:
            head, middle, tail = self.chat.spoken_conversation(history, prompt if speech_text else "")
        else:
            conv = self.chat.conversation(prompt, history)
            head, middle, tail = conv.head, None, conv.tail
        parts = [self.model.embed(head)]
        if frames is not None and len(frames):
            chosen = [frames[i] for i in uniform_indices(len(frames), self.config.offline_frames)]
            embeds = self.frame_embeddings(chosen, self.config.offline_preprocess)
            parts.append(embeds.reshape(1, -1, self.config.hidden_size))
        if speech is not None:
            parts += [self.model.embed(middle), self.speech_embeddings(speech)]
        return torch.cat(parts, dim=1), tail

    # offline entry points ---------------------------------------------------------------------
    def answer(self, frames: Any, prompt: str, history: list[tuple[str, str]] = (), *,
               max_new_tokens: int | None = None, temperature: float = 0.0, seed: int | None = None,
               speech: Any = None, speech_text: bool = False, keep_special: bool = False) -> str:
        """`keep_special`: the answer decoded with its special tokens, the closing <|im_end|> included
        when the answer ended by itself, as M4-Audio's harness decodes (batch_decode without skipping)."""
        prefix, tail = self._conversation_embeds(frames, prompt, history, speech, speech_text)
        decoder = self.decoder(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
        decoder.start(prefix)
        decoder.ask(tail, force="query")          # an offline question is always answered
        tokens = decoder.generate()
        if not keep_special:
            return self.chat.decode(tokens)
        ended = len(tokens) < decoder.max_new_tokens
        return self.tokenizer.decode(tokens + [self.chat.im_end_id] * ended, skip_special_tokens=False).strip()

    def respond_probability(self, frames: Any, prompt: str, history: list[tuple[str, str]] = (),
                            speech: Any = None, speech_text: bool = False, every_token: int = 0) -> float:
        """Turn-taking head: one pass, the entropy-adaptive test on p[<|im_start|>].

        Mapped so that 0.5 is the test's own threshold: 1 - p_start / (2 * threshold), clipped;
        below 0.5 means the model expects another user turn (noise), not a reply.
        `every_token=n`: M4-Audio's harness test instead: decode greedily up to n tokens, testing
        before each one; silent (0.0) as soon as a test fires, else 1.0.
        """
        from omnibench.m4.model.modeling import new_cache

        prefix, tail = self._conversation_embeds(frames, prompt, history, speech, speech_text)
        embeds = torch.cat([prefix, self.model.embed(tail)], dim=1)
        cache = new_cache(self.model)
        logits = self.model.forward_embeds(embeds, cache).logits[0, -1]
        settings = self.config.offline_noise or self.config.noise
        if every_token:
            return self._every_token_test(logits, cache, settings, every_token)
        _, p_start, threshold, _ = noise_test(logits, self.chat.im_start_id, settings)
        if threshold <= 0:
            return 0.0 if p_start > 0 else 1.0
        return float(min(1.0, max(0.0, 1.0 - p_start / (2.0 * threshold))))

    def _every_token_test(self, logits: torch.Tensor, cache: Any, settings: Any, limit: int) -> float:
        """The harness's loop: test, then take the argmax with <|im_start|>'s logit set to 0 (not -inf,
        as it does), stop at <|im_end|>."""
        for _ in range(limit):
            if noise_test(logits, self.chat.im_start_id, settings)[0]:
                return 0.0
            logits = logits.clone()
            logits[self.chat.im_start_id] = 0
            token = int(torch.argmax(logits))
            if token == self.chat.im_end_id:
                break
            logits = self.model.forward_embeds(self.model.embed([token]), cache).logits[0, -1]
        return 1.0
