"""Multiplexed decoding: listen while speaking.

The KV cache holds the shared prefix (system + frames), then channels: the current question and
its answer, and any user turn that arrived since. A position may attend a key iff the key is in
the prefix or in its own channel, and comes no later. Each new turn is decoded in the same
forward pass as the pending answer token; its last row decides noise (crop it, carry on as if
nothing happened), a real query (switch to its channel) or a stop (its first token ends the turn).
All state lives in the decoder object: two decoders can run side by side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from omnibench.m4.model.config import NoiseTestSettings

PREFIX = 0      # channel id of the shared prefix
Decision = Literal["noise", "query", "stop"]


@dataclass(frozen=True)
class TurnDecision:
    kind: Decision
    p_start: float           # p[<|im_start|>] on the turn's last row
    threshold: float         # min(cap, scale * exp(-H))
    entropy: float
    channel: int


def noise_test(logits: torch.Tensor, start_id: int, settings: NoiseTestSettings) -> tuple[bool, float, float, float]:
    """(is_noise, p_start, threshold, entropy) for one row of logits."""
    p = torch.softmax(logits.float() / settings.temperature, dim=-1)
    entropy = float(-(p * torch.log(p + 1e-5)).sum())
    threshold = settings.scale * math.exp(-entropy)
    if settings.cap is not None:
        threshold = min(settings.cap, threshold)
    p_start = float(p[start_id])
    return p_start > threshold, p_start, threshold, entropy


def channel_mask(key_channels: list[int], query_channels: list[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(1, 1, Q, K) additive mask: the last Q keys are the queries themselves (they were just appended).

    Query i (absolute slot K - Q + i) sees key j iff j <= its slot and (key j is prefix or same channel).
    """
    keys = torch.tensor(key_channels)
    queries = torch.tensor(query_channels)
    n_keys, n_queries = len(key_channels), len(query_channels)
    slots = torch.arange(n_keys - n_queries, n_keys).view(-1, 1)
    causal = torch.arange(n_keys).view(1, -1) <= slots
    same = (keys.view(1, -1) == PREFIX) | (keys.view(1, -1) == queries.view(-1, 1))
    mask = torch.zeros(n_queries, n_keys, dtype=dtype)
    mask.masked_fill_(~(causal & same), torch.finfo(dtype).min)
    return mask.view(1, 1, n_queries, n_keys)


@dataclass
class _Channel:
    id: int
    tokens: list[int] = field(default_factory=list)    # answer tokens chosen so far


class MultiplexDecoder:
    """Greedy (temperature 0) or sampled decoding over a DynamicCache with channels."""

    def __init__(self, model: Any, chat: Any, *, noise: NoiseTestSettings | None = None,
                 channel_positions: Literal["continue", "restart"] = "continue", max_new_tokens: int = 256,
                 temperature: float = 0.0, top_p: float = 1.0, seed: int | None = None):
        self.model, self.chat = model, chat
        self.noise = noise or NoiseTestSettings()
        self.channel_positions = channel_positions
        self.max_new_tokens = max_new_tokens
        self.temperature, self.top_p = temperature, top_p
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None
        self.cache: Any = None
        self.prefix_len = 0
        self.slot_channel: list[int] = []
        self.slot_position: list[int] = []
        self.active: _Channel | None = None
        self._next_id = 1
        self._pending: int | None = None          # chosen, reported, not yet fed
        self._ready: torch.Tensor | None = None    # logits of the active channel's next token
        self._queued: int | None = None           # a switched-to channel's first token, not yet reported

    # setup ------------------------------------------------------------------------------------
    def start(self, prefix_embeds: torch.Tensor) -> None:
        """Encode a new prefix (1, P, H) into a fresh cache."""
        from omnibench.m4.model.modeling import new_cache

        cache = new_cache(self.model)
        self.model.forward_embeds(prefix_embeds, cache)
        self.attach(cache, prefix_embeds.shape[1])

    def attach(self, cache: Any, prefix_len: int) -> None:
        """Use an existing cache whose first `prefix_len` entries are the prefix (shared with the spotter)."""
        extra = cache.get_seq_length() - prefix_len
        if extra < 0:
            raise ValueError(f"cache holds {cache.get_seq_length()} entries, fewer than the prefix ({prefix_len})")
        if extra:
            cache.crop(-extra)               # crop(n > 0) is refused by transformers v5
        self.cache, self.prefix_len = cache, prefix_len
        self.slot_channel = [PREFIX] * prefix_len
        self.slot_position = list(range(prefix_len))
        self.active, self._pending, self._ready, self._queued = None, None, None, None

    @property
    def answering(self) -> bool:
        return self.active is not None

    @property
    def answer(self) -> list[int]:
        return list(self.active.tokens) if self.active else []

    # the two operations ---------------------------------------------------------------------
    def ask(self, turn: list[int] | torch.Tensor, force: Literal["noise", "query"] | None = None) -> TurnDecision:
        """A user turn arrives: ids of its channel opening (e.g. chat.query_ids(text)), or its (1, L, H)
        embeddings when it holds more than text (a spoken query's speech tokens).

        `force` overrides the noise test's verdict (tests, and questions that must be answered).
        """
        channel = _Channel(self._next_id)
        self._next_id += 1
        turn_embeds = turn if isinstance(turn, torch.Tensor) else self.model.embed(list(turn))
        turn_length = turn_embeds.shape[1]
        pieces: list[torch.Tensor] = []
        channels: list[int] = []
        fed_pending = self._pending is not None
        if fed_pending:                          # the pending answer token rides along
            pieces.append(self.model.embed([self._pending]))
            channels.append(self.active.id)
        pieces.append(turn_embeds.to(self.model.device))
        channels += [channel.id] * turn_length
        logits = self._forward_embeds(torch.cat(pieces, dim=1), channels)
        self._pending = None
        is_noise, p, threshold, entropy = noise_test(logits[-1], self.chat.im_start_id, self.noise)
        if force is not None:
            is_noise = force == "noise"
        if is_noise:
            self._crop(turn_length)              # as if the turn never came
            if fed_pending:
                self._ready = logits[0]
            return TurnDecision("noise", p, threshold, entropy, channel.id)
        first = self._choose(logits[-1])
        if first == self.chat.im_end_id:         # "stop": the new channel's first token ends the turn
            self.end_turn()
            return TurnDecision("stop", p, threshold, entropy, channel.id)
        # switch: the old channel stays in the cache, masked out of the new one
        self.active, self._ready, self._queued = channel, None, first
        return TurnDecision("query", p, threshold, entropy, channel.id)

    def step(self) -> int | None:
        """The active channel's next token, or None when the answer ended (then the turn is over)."""
        if self.active is None:
            return None
        if self._queued is not None:
            token, self._queued = self._queued, None
        else:
            if self._ready is None:
                self._ready = self._forward([self._pending], [self.active.id])[-1]
                self._pending = None
            token = self._choose(self._ready)
            self._ready = None
            if token == self.chat.im_end_id or len(self.active.tokens) >= self.max_new_tokens:
                self.end_turn()
                return None
        self.active.tokens.append(token)
        self._pending = token
        return token

    def generate(self, limit: int | None = None) -> list[int]:
        """Run the active answer to its end (or `limit` more tokens)."""
        out: list[int] = []
        while limit is None or len(out) < limit:
            token = self.step()
            if token is None:
                break
            out.append(token)
        return out

    def end_turn(self) -> None:
        """Drop every channel: the cache is the prefix again (ready for more frames or a new turn)."""
        extra = len(self.slot_channel) - self.prefix_len
        if extra > 0:
            self._crop(extra)
        self.active, self._pending, self._ready, self._queued = None, None, None, None

    # internals --------------------------------------------------------------------------------
    def _positions(self, channels: list[int]) -> list[int]:
        positions: list[int] = []
        last_of: dict[int, int] = {}
        for slot, ch in enumerate(self.slot_channel):
            last_of[ch] = self.slot_position[slot]
        top = max(self.slot_position, default=-1)
        for ch in channels:
            if self.channel_positions == "continue":      # after the last cached token
                pos = top + 1
            else:                                        # each channel right after the prefix
                pos = last_of.get(ch, self.prefix_len - 1) + 1
            positions.append(pos)
            top = max(top, pos)
            last_of[ch] = pos
        return positions

    def _forward(self, ids: list[int], channels: list[int]) -> torch.Tensor:
        return self._forward_embeds(self.model.embed(ids), channels)

    def _forward_embeds(self, embeds: torch.Tensor, channels: list[int]) -> torch.Tensor:
        positions = self._positions(channels)
        self.slot_channel += channels
        self.slot_position += positions
        mask = channel_mask(self.slot_channel, channels, self.model.dtype)
        out = self.model.forward_embeds(embeds, self.cache, mask=mask, positions=positions)
        return out.logits[0]

    def _crop(self, n: int) -> None:
        self.cache.crop(-n)
        del self.slot_channel[-n:]
        del self.slot_position[-n:]

    def _choose(self, logits: torch.Tensor) -> int:
        if self.temperature <= 0:
            return int(torch.argmax(logits))
        probs = torch.softmax(logits.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            sorted_p, order = torch.sort(probs, descending=True)
            keep = torch.cumsum(sorted_p, 0) - sorted_p < self.top_p
            probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_p[keep])
        return int(torch.multinomial(probs / probs.sum(), 1, generator=self.generator))
