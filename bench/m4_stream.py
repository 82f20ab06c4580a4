"""M4 streaming step cost (tiny config, CPU), measured side by side in one run.

1. Incremental cache vs re-encoding: one highlight-spot step (append a frame + the query, score,
   crop the query) at frame 200 and at frame 20, with our incremental cache and with a baseline
   that re-encodes the whole prefix each frame. Ours should grow far less than the baseline.
2. Last-layer-only attention (sdpa everywhere, the last layer's q.k computed from a hook) vs the
   reference's eager attention on every layer with output_attentions=True, at frame 200.

Frames are random embeddings of 16 tokens each (a 112-px tiny tower's pooled grid), so the LM
dominates, as it does with the real model. Last line: a JSON object with the ratios.
"""

from __future__ import annotations

import json
import statistics
import time

import torch

from omnibench.m4.model.config import SpotterSettings
from omnibench.m4.model.modeling import build_model, new_cache
from omnibench.m4.inference.pipeline import M4Pipeline
from omnibench.m4.inference.spotter import HighlightSpotter

TOKENS_PER_FRAME = 16
REPEATS = 7


def _median_seconds(fn, repeats=REPEATS) -> float:
    fn()                                    # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    torch.set_num_threads(2)
    pipe = M4Pipeline.tiny(seed=0)
    model, chat = pipe.model, pipe.chat
    eager = build_model(pipe.config.model_copy(update={"attn_implementation": "eager"}), seed=0)
    hidden = pipe.config.hidden_size
    gen = torch.Generator().manual_seed(0)
    frames = [torch.randn(1, TOKENS_PER_FRAME, hidden, generator=gen) * 0.02 for _ in range(201)]
    head = model.embed(chat.head_ids)
    query = model.embed(chat.query_ids("tell me when the red ball appears"))
    settings = SpotterSettings(warmup=10**9)       # score every frame, never alert: pure step cost

    def incremental_step(n_frames: int) -> float:
        cache = new_cache(model)
        model.forward_embeds(torch.cat([head, *frames[:n_frames]], dim=1), cache)
        spotter = HighlightSpotter(model, chat, settings)
        spotter.set_query("tell me when the red ball appears")

        def step():
            spotter.step(cache, frames[n_frames], len(chat.head_ids), n_frames)
            cache.crop(-TOKENS_PER_FRAME)      # put the frame back so every repeat measures frame n
        return _median_seconds(step)

    def reencode_step(n_frames: int, which=model, **kwargs) -> float:
        embeds = torch.cat([head, *frames[: n_frames + 1], query], dim=1)
        return _median_seconds(lambda: which.forward_embeds(embeds, new_cache(which), **kwargs))

    def eager_all_layers_step(n_frames: int) -> float:
        cache = new_cache(eager)
        eager.forward_embeds(torch.cat([head, *frames[:n_frames]], dim=1), cache)
        step_embeds = torch.cat([frames[n_frames], query], dim=1)

        def step():
            eager.forward_embeds(step_embeds, cache, output_attentions=True)
            cache.crop(-step_embeds.shape[1])
        return _median_seconds(step)

    ours_20, ours_200 = incremental_step(20), incremental_step(200)
    base_20, base_200 = reencode_step(20), reencode_step(200)
    eager_200 = eager_all_layers_step(200)
    result = {
        "tokens_per_frame": TOKENS_PER_FRAME,
        "ours_step_ms_frame20": round(ours_20 * 1e3, 3), "ours_step_ms_frame200": round(ours_200 * 1e3, 3),
        "reencode_step_ms_frame20": round(base_20 * 1e3, 3), "reencode_step_ms_frame200": round(base_200 * 1e3, 3),
        "eager_all_layers_step_ms_frame200": round(eager_200 * 1e3, 3),
        "ours_growth_200_over_20": round(ours_200 / ours_20, 3),
        "reencode_growth_200_over_20": round(base_200 / base_20, 3),
        "reencode_over_ours_at_frame200": round(base_200 / ours_200, 3),
        "eager_all_layers_over_last_layer_hook_at_frame200": round(eager_200 / ours_200, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
