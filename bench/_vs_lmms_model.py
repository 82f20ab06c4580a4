"""The tiny random-weight Qwen2.5-VL checkpoint of bench/vs_lmms_eval.py, and per-stage timings.

Run with lmms-eval's venv (it has torchvision, which `Qwen2VLVideoProcessor` needs, so the
checkpoint gets the processor files lmms-eval's `AutoProcessor.from_pretrained` reads):

    .venv-lmms/bin/python bench/_vs_lmms_model.py build DIR [tiny|wide]
    .venv-lmms/bin/python bench/_vs_lmms_model.py stages-lmms CKPT ROOT [N]      # lmms-eval's path, per stage
    .venv-lmms/bin/python bench/_vs_lmms_model.py stages-omnibench CKPT ROOT [N]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from _vs_lmms_tasks import FPS

PIXELS = 224 * 224
WORDS = ("[UNK] system user assistant you are a helpful what is in the video ? colour square where does move "
         "how many shapes left or right said . happens next red green blue up down one two three").split()
# the ChatML layout of Qwen2.5-VL's own template (system turn first, media before the text)
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


# the bench's model: wide enough that `model.generate`, not process start-up, takes most of a run
# (the bench reports the share); CI's checks (.ci/lmms_models_check.sh) use the tiny one
SIZES = {
    "tiny": {"hidden": 64, "intermediate": 128, "layers": 4, "heads": 4, "kv_heads": 2,
             "vision_hidden": 32, "vision_intermediate": 64, "vision_depth": 2, "vision_heads": 2},
    "wide": {"hidden": 512, "intermediate": 1536, "layers": 6, "heads": 8, "kv_heads": 4,
             "vision_hidden": 256, "vision_intermediate": 768, "vision_depth": 2, "vision_heads": 4},
}


def build(out: Path, size: str = "tiny") -> None:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        PreTrainedTokenizerFast,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]")
    tok.add_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                    "<|image_pad|>", "<|video_pad|>"], special_tokens=True)
    tok.pad_token, tok.eos_token = "<|endoftext|>", "<|im_end|>"
    ids = {t: tok.convert_tokens_to_ids(t) for t in tok.get_vocab()}
    dims = SIZES[size]
    half = dims["hidden"] // dims["heads"] // 2
    mrope = [half // 2, half // 4, half - half // 2 - half // 4]        # time, height, width: [4, 2, 2] when tiny
    config = Qwen2_5_VLConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=dims["hidden"], intermediate_size=dims["intermediate"],
                         num_hidden_layers=dims["layers"], num_attention_heads=dims["heads"],
                         num_key_value_heads=dims["kv_heads"], eos_token_id=ids["<|im_end|>"],
                         pad_token_id=ids["<|endoftext|>"], bos_token_id=None, initializer_range=0.5,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope}),
        vision_config=dict(depth=dims["vision_depth"], hidden_size=dims["vision_hidden"],
                           intermediate_size=dims["vision_intermediate"], num_heads=dims["vision_heads"],
                           out_hidden_size=dims["hidden"], fullatt_block_indexes=[dims["vision_depth"] - 1],
                           initializer_range=0.5),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    torch.manual_seed(0)
    Qwen2_5_VLForConditionalGeneration(config).save_pretrained(out)
    size = {"shortest_edge": PIXELS, "longest_edge": PIXELS}
    processor = Qwen2_5_VLProcessor(image_processor=Qwen2VLImageProcessor(size=size), tokenizer=tok,
                                    video_processor=Qwen2VLVideoProcessor(size=size), chat_template=CHAT_TEMPLATE)
    processor.save_pretrained(out)
    tok.save_pretrained(out)


def _videos(root: Path, n: int) -> list[tuple[str, str]]:
    specs = json.loads((root / "samples.json").read_text())["bench_vqa"][:n]
    return [(str(root / "videos" / s["video"]), s["questions"][0]) for s in specs]


def stages_lmms(ckpt: str, root: Path, n: int = 10) -> dict[str, float]:
    """lmms-eval qwen2_5_vl's per-request work, stage by stage, in its own calls (the simple class's,
    with the clip timing its chat class passes: see bench/_vs_lmms_launch.py)."""
    import torch
    from qwen_vl_utils import process_vision_info
    from transformers import AutoProcessor, AutoTokenizer, Qwen2_5_VLForConditionalGeneration

    t0 = time.perf_counter()
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(ckpt, torch_dtype="bfloat16", device_map="cpu").eval()
    processor = AutoProcessor.from_pretrained(ckpt, max_pixels=PIXELS, min_pixels=PIXELS)
    tokenizer = AutoTokenizer.from_pretrained(ckpt)
    out = {"load_s": time.perf_counter() - t0, "decode_s": 0.0, "preprocess_s": 0.0, "model_s": 0.0}
    for video, question in _videos(root, n):
        t0 = time.perf_counter()
        messages = [[{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": [{"type": "video", "video": video, "max_pixels": PIXELS,
                                                   "min_pixels": PIXELS}, {"type": "text", "text": question}]}]]
        _, videos = process_vision_info(messages)          # decode + resize, as the class does
        t1 = time.perf_counter()
        texts = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        timing = [{"fps": FPS, "total_num_frames": len(v), "frames_indices": list(range(len(v)))} for v in videos]
        inputs = processor(text=texts, videos=videos, video_metadata=timing, padding=True, return_tensors="pt")
        t2 = time.perf_counter()
        with torch.inference_mode():
            model.generate(**inputs, max_new_tokens=256, do_sample=False, pad_token_id=tokenizer.pad_token_id,
                           eos_token_id=tokenizer.eos_token_id)
        t3 = time.perf_counter()
        out["decode_s"] += t1 - t0
        out["preprocess_s"] += t2 - t1
        out["model_s"] += t3 - t2
    return {k: round(v, 3) for k, v in out.items()}


def stages_omnibench(ckpt: str, root: Path, n: int = 10) -> dict[str, float]:
    """omnibench's qwen2_5_vl adapter on the same requests, stage by stage."""
    from transformers import AutoProcessor, AutoTokenizer, Qwen2_5_VLForConditionalGeneration  # noqa: F401

    from omnibench.data.video import VideoReader
    from omnibench.engine.protocols import OfflineRequest
    from omnibench.models import _hf_common as hf
    from omnibench.models.qwen2_5_vl import Qwen25VL

    # the transformers classes are imported before the clock, as on the lmms-eval side: load_s is the load
    t0 = time.perf_counter()
    adapter = Qwen25VL(pretrained=ckpt, device="cpu", dtype="bfloat16", num_frames=8, min_pixels=PIXELS,
                       max_pixels=PIXELS)
    out = {"load_s": time.perf_counter() - t0, "decode_s": 0.0, "preprocess_s": 0.0, "model_s": 0.0,
           "params": sum(p.numel() for p in adapter.model.parameters())}
    for video, question in _videos(root, n):
        t0 = time.perf_counter()
        with VideoReader(video) as reader:
            frames = reader.sample(count=8)
        t1 = time.perf_counter()
        request = OfflineRequest(prompt=question, frames=frames.array, frame_times=frames.times)
        inputs = adapter.build_inputs(request)
        t2 = time.perf_counter()
        hf.generate_text(adapter.model, adapter.tokenizer, inputs, max_new_tokens=256, temperature=0.0)
        t3 = time.perf_counter()
        out["decode_s"] += t1 - t0
        out["preprocess_s"] += t2 - t1
        out["model_s"] += t3 - t2
    return {k: round(v, 3) for k, v in out.items()}


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "build":
        build(Path(rest[0]), *rest[1:2])
    else:
        stages = stages_lmms if command == "stages-lmms" else stages_omnibench
        print(json.dumps(stages(rest[0], Path(rest[1]), *map(int, rest[2:3]))))
