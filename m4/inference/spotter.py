"""Proactive alerting ("highlight spot"): score each frame by how much the query attends to it.

Per incoming frame: append its embeddings and the query tokens to the cache in one pass, read
the last layer's query-key attention of one row (the <|im_start|> opening the assistant header),
crop the query off again. The reference turns on eager attention in every layer to get that one
layer's weights; we capture the last layer's queries with a pre-hook and take its keys from the
cache, so sdpa stays on everywhere.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

import torch

from omnibench.m4.model.config import SpotterSettings


class LastLayerQueries:
    """Context manager: records the rotary-embedded queries of the last decoder layer's attention."""

    def __init__(self, model: Any):
        self.attention = model.decoder_layers[-1].self_attn
        self.queries: torch.Tensor | None = None
        self._handle = None

    def __enter__(self) -> LastLayerQueries:
        self._handle = self.attention.register_forward_pre_hook(self._capture, with_kwargs=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.remove()

    def _capture(self, module: Any, args: tuple, kwargs: dict) -> None:
        from transformers.models.qwen2.modeling_qwen2 import apply_rotary_pos_emb

        hidden = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
        cos, sin = kwargs["position_embeddings"] if "position_embeddings" in kwargs else args[1]
        batch, length, _ = hidden.shape
        q = module.q_proj(hidden).view(batch, length, -1, module.head_dim).transpose(1, 2)
        self.queries, _ = apply_rotary_pos_emb(q, q, cos, sin)


def last_layer_attention(model: Any, queries: torch.Tensor, cache: Any, rows: list[int]) -> torch.Tensor:
    """Softmax attention of the chosen query rows over all cached keys, mean over heads: (len(rows), K).

    Row r (index among the last pass's tokens) sees keys up to its own slot (causal).
    """
    attention = model.decoder_layers[-1].self_attn
    keys = cache.layers[len(model.decoder_layers) - 1].keys           # (1, kv_heads, K, d), rotary applied
    groups = queries.shape[1] // keys.shape[1]
    keys = keys.repeat_interleave(groups, dim=1)
    q = queries[:, :, rows].float()
    scores = torch.matmul(q, keys.float().transpose(-1, -2)) * attention.scaling
    total, new = keys.shape[2], queries.shape[2]
    slots = torch.tensor(rows).view(-1, 1) + (total - new)
    scores = scores.masked_fill(torch.arange(total).view(1, -1) > slots, float("-inf"))
    return torch.softmax(scores, dim=-1).mean(dim=1)[0]


@dataclass(frozen=True)
class Alert:
    frame: int            # index of the highlighted frame (0-based, in arrival order)
    count: int            # how many steps found it salient
    scores: list[float]   # the per-frame scores of the step that fired


@dataclass
class HighlightSpotter:
    """Holds the counts for one query; the cache (prefix + frames) is shared with the stream."""

    model: Any
    chat: Any
    settings: SpotterSettings = field(default_factory=SpotterSettings)
    query_ids: list[int] = field(default_factory=list)
    query_embeds: torch.Tensor | None = None   # a spoken query (settings.spoken_query): text, speech, header
    counts: dict[int, int] = field(default_factory=dict)
    alerted: set[int] = field(default_factory=set)
    _heap: list[tuple[int, int, int]] = field(default_factory=list)   # (-count, tie key, frame), lazily updated
    _pushes: int = 0

    def set_query(self, text: str, speech: torch.Tensor | None = None) -> None:
        """The alert query; with `speech` (its (1, L, H) speech embeddings) it is laid out as the
        reference's audio model lays it out: '\n' + text, the speech, then the assistant header."""
        self.query_ids = self.chat.query_ids(text)
        self.query_embeds = None
        if speech is not None:
            self.query_embeds = torch.cat([self.model.embed(self.chat.query_head_ids(text)), speech.to(self.model.device),
                                           self.model.embed(self.chat.spoken_query_tail())], dim=1)
        self.counts, self.alerted, self._heap, self._pushes = {}, set(), [], 0

    @property
    def query(self) -> list[int] | torch.Tensor:
        """What follows the frames in each scoring pass (ids, or embeddings for a spoken query)."""
        return self.query_embeds if self.query_embeds is not None else self.query_ids

    def step(self, cache: Any, frame_embeds: torch.Tensor, frames_start: int, frames_seen: int) -> Alert | None:
        """Append one frame (1, T, H) plus the query, score all frames, crop the query. `frames_start`:
        cache slot of the first frame token; `frames_seen`: frames in the cache before this one."""
        frame_embeds = frame_embeds.view(1, -1, frame_embeds.shape[-1])
        per_frame = frame_embeds.shape[1]
        query = self.query_embeds if self.query_embeds is not None else self.model.embed(self.query_ids)
        embeds = torch.cat([frame_embeds, query], dim=1)
        with LastLayerQueries(self.model) as capture:
            self.model.forward_embeds(embeds, cache)
        row = per_frame + self.chat.alert_row(query.shape[1])
        attention = last_layer_attention(self.model, capture.queries, cache, [row])[0]
        cache.crop(-query.shape[1])
        frames = frames_seen + 1
        columns = attention[frames_start: frames_start + frames * per_frame]
        scores = columns.view(frames, per_frame).mean(dim=1)
        return self.update(scores, frames)

    def update(self, scores: torch.Tensor, frames: int) -> Alert | None:
        """Saliency and the count heap; the alert rule. Separate from `step` so it can be tested alone."""
        if frames <= self.settings.warmup:
            return None
        threshold = scores.mean() + self.settings.alpha * scores.std()
        earliest = self.settings.tie_break == "earliest"
        for frame in torch.nonzero(scores > threshold).flatten().tolist():
            self.counts[frame] = self.counts.get(frame, 0) + 1
            self._pushes += 1
            heapq.heappush(self._heap, (-self.counts[frame], self._pushes if earliest else frame, frame))
        while self._heap and -self._heap[0][0] != self.counts.get(self._heap[0][2]):
            heapq.heappop(self._heap)          # stale entry: the frame's count has grown since
        if not self._heap:
            return None
        count, frame = -self._heap[0][0], self._heap[0][2]
        if count > self.settings.count and frame not in self.alerted:
            self.alerted.add(frame)
            return Alert(frame, count, [float(s) for s in scores])
        return None
