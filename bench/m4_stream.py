"""M4 streaming step cost (small random-weight config, CPU), measured side by side in one run.

1. Incremental cache vs re-encoding: one highlight-spot step (append a frame + the query, score,
   crop the query) at frame 200 and at frame 20, with our incremental cache and with a baseline
   that re-encodes the whole prefix each frame. Ours should grow far less than the baseline.
2. Last-layer-only attention (sdpa everywhere, the last layer's q.k computed from a hook) vs the
   reference's eager attention on every layer with output_attentions=True, at frame 200.

Frames are random embeddings of 144 tokens each (the real model's pooled 12x12 grid), so the
context is 2,900 tokens at frame 20 and 28,900 at frame 200, where attention matters; the LM is
deeper than the test-tiny one (4 layers instead of 2). Each figure is the median of
REPEATS timed steps after a warm-up. Last line: a JSON object with the ratios, headline keys
`growth_200_over_20` (ours) and `eager_over_hook` (eager on every layer / our hook, frame 200).
"""

from __future__ import annotations

import json
import statistics
import time

import torch

from omnibench.m4.inference.pipeline import M4Pipeline
from omnibench.m4.inference.spotter import HighlightSpotter
from omnibench.m4.model.config import SpotterSettings
from omnibench.m4.model.modeling import build_model, new_cache

TOKENS_PER_FRAME = 144
REPEATS = 41        # the frame-20 step takes ~15 ms: fewer repeats let two runs differ by 30%
TEXT = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4,
        "num_key_value_heads": 2, "max_position_embeddings": 65536, "tie_word_embeddings": False}


def _prefill(model, head, frames, chunk: int = 10):
    """The cache after the head and `frames`, fed 10 frames at a time as a stream would (bounded memory)."""
    cache = new_cache(model)
    model.forward_embeds(head, cache)
    for i in range(0, len(frames), chunk):
        model.forward_embeds(torch.cat(frames[i:i + chunk], dim=1), cache)
    return cache


def _median_seconds(fn, repeats=REPEATS, warm_up: bool = True) -> float:
    if warm_up:
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    torch.set_num_threads(2)
    from omnibench.m4.model.chatml_tokenizer import build_chatml_tokenizer

    pipe = M4Pipeline.tiny(seed=0, text={**TEXT, "vocab_size": len(build_chatml_tokenizer())})
    model, chat = pipe.model, pipe.chat
    eager = build_model(pipe.config.model_copy(update={"attn_implementation": "eager"}), seed=0)
    hidden = pipe.config.hidden_size
    gen = torch.Generator().manual_seed(0)
    frames = [torch.randn(1, TOKENS_PER_FRAME, hidden, generator=gen) * 0.02 for _ in range(201)]
    head = model.embed(chat.head_ids)
    query = model.embed(chat.query_ids("tell me when the red ball appears"))
    settings = SpotterSettings(warmup=10**9)       # score every frame, never alert: pure step cost

    def incremental_step(n_frames: int) -> float:
        cache = _prefill(model, head, frames[:n_frames])
        spotter = HighlightSpotter(model, chat, settings)
        spotter.set_query("tell me when the red ball appears")

        def step():
            spotter.step(cache, frames[n_frames], len(chat.head_ids), n_frames)
            cache.crop(-TOKENS_PER_FRAME)      # put the frame back so every repeat measures frame n
        return _median_seconds(step)

    def reencode_step(n_frames: int, which=model, **kwargs) -> float:
        embeds = torch.cat([head, *frames[: n_frames + 1], query], dim=1)
        # one timed pass: a re-encode of 29k tokens takes many seconds and differs from ours by far more than noise
        return _median_seconds(lambda: which.forward_embeds(embeds, new_cache(which), **kwargs), repeats=1,
                               warm_up=False)

    def eager_all_layers_step(n_frames: int) -> float:
        cache = _prefill(eager, head, frames[:n_frames])
        step_embeds = torch.cat([frames[n_frames], query], dim=1)

        def step():
            eager.forward_embeds(step_embeds, cache, output_attentions=True)
            cache.crop(-step_embeds.shape[1])
        return _median_seconds(step)

    ours_20, ours_200 = incremental_step(20), incremental_step(200)
    base_20, base_200 = reencode_step(20), reencode_step(200)
    eager_200 = eager_all_layers_step(200)
    result = {
        "growth_200_over_20": round(ours_200 / ours_20, 3), "eager_over_hook": round(eager_200 / ours_200, 3),
        "tokens_per_frame": TOKENS_PER_FRAME, "context_tokens_frame200": int(head.shape[1] + 200 * TOKENS_PER_FRAME),
        "repeats": REPEATS,
        "ours_step_ms_frame20": round(ours_20 * 1e3, 3), "ours_step_ms_frame200": round(ours_200 * 1e3, 3),
        "reencode_step_ms_frame20": round(base_20 * 1e3, 3), "reencode_step_ms_frame200": round(base_200 * 1e3, 3),
        "eager_all_layers_step_ms_frame200": round(eager_200 * 1e3, 3),
        "reencode_growth_200_over_20": round(base_200 / base_20, 3),
        "reencode_over_ours_at_frame200": round(base_200 / ours_200, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
