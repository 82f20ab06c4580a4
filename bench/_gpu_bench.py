"""GPU figures for bench/gpu.sh (needs CUDA; prints one JSON object as its last line).

(a) M4 at its real 7B size (LongVA-7B layout: CLIP ViT-L/14-336, 28-layer Qwen2 7B), random
    weights, bfloat16, flash-attn when installed else SDPA: streaming a 5-minute synthetic video
    at 1 fps, each second one frame through the vision tower and one highlight-spot step with a
    standing alert query. Real-time factor = compute seconds / 300 stream seconds.
(b) Reading the 10-minute 720p B-frame video of bench/video_read.py at 1 fps: torchcodec on the
    GPU (NVDEC) vs our CPU reader, full size RGB.
Keys: m4_7b_rtf, m4_7b_step_ms_median, attn_implementation, gpu_decode_s, cpu_reader_s, gpu_decode_speedup.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def m4_rtf(seconds: int = 300) -> dict:
    import numpy as np
    import torch

    from omnibench.m4.inference.pipeline import M4Pipeline
    from omnibench.m4.inference.spotter import HighlightSpotter
    from omnibench.m4.model.chatml_tokenizer import build_chatml_tokenizer
    from omnibench.m4.model.config import SpotterSettings, longva_7b_config
    from omnibench.m4.model.modeling import M4Model, new_cache
    from omnibench.models._hf_common import flash_attn_available

    attn = "flash_attention_2" if flash_attn_available() else "sdpa"
    config = longva_7b_config().model_copy(update={"attn_implementation": attn})
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):          # built on the GPU: no 28 GB float32 copy on the host
        model = M4Model(config).eval()
    torch.set_default_dtype(torch.float32)
    pipe = M4Pipeline.build(model, build_chatml_tokenizer())
    chat = pipe.chat
    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, (seconds, 336, 336, 3), dtype=np.uint8)
    spotter = HighlightSpotter(model, chat, SpotterSettings(warmup=10**9))
    spotter.set_query("tell me when the red ball appears")
    steps = []
    with torch.inference_mode():
        cache = new_cache(model)
        model.forward_embeds(model.embed(chat.head_ids), cache)
        torch.cuda.synchronize()
        total_start = time.perf_counter()
        for k in range(seconds):
            start = time.perf_counter()
            embeds = pipe.frame_embeddings([video[k]])
            spotter.step(cache, embeds, len(chat.head_ids), k)
            torch.cuda.synchronize()
            steps.append(time.perf_counter() - start)
        total = time.perf_counter() - total_start
    return {"m4_7b_rtf": round(total / seconds, 4), "m4_7b_step_ms_median": round(statistics.median(steps) * 1e3, 2),
            "m4_7b_step_ms_last": round(steps[-1] * 1e3, 2), "attn_implementation": attn,
            "context_tokens_end": int(cache.get_seq_length())}


def gpu_decode() -> dict:
    import tempfile

    from _video_sides import run as run_side
    from video_read import make_video

    video = make_video()
    try:
        from torchcodec.decoders import VideoDecoder
    except Exception as exc:
        return {"gpu_decode_s": None, "gpu_decode_reason": f"torchcodec: {exc}"[:300]}
    import torch

    start = time.perf_counter()
    dec = VideoDecoder(str(video), device="cuda")
    n = int(dec.metadata.duration_seconds)
    for i in range(0, n, 60):
        dec.get_frames_played_at(seconds=[float(k) for k in range(i, min(n, i + 60))])
    torch.cuda.synchronize()
    gpu_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:      # our reader as bench/video_read.py times it
        cpu_s = run_side("ours", {"video": str(video), "out": f"{tmp}/kept.npz", "every": 60, "threads": None})["seconds"]
    return {"gpu_decode_s": round(gpu_s, 3), "cpu_reader_s": round(cpu_s, 3), "gpu_decode_speedup": round(cpu_s / gpu_s, 3)}


if __name__ == "__main__":
    out = {}
    out.update(m4_rtf())
    out.update(gpu_decode())
    print(json.dumps(out))
