"""Shared pieces of the Hugging Face adapters: device/dtype/attention settings, frame packing, chat text.

Why frames are packed here and not by the checkpoint's video processor: in transformers 5.x the
Qwen2-VL / LLaVA-OneVision *video* processors need torchvision, which these machines do not have
(installing it means moving to another torch build). The image processors fall back to PIL, but the
image path would treat every frame as a separate picture (twice the vision tokens for Qwen, anyres
tiles for LLaVA-OneVision) and lose the video timing. So the adapters feed the model's real *video*
inputs (`pixel_values_videos`, `video_grid_thw`, seconds per grid), built with PIL + numpy by the
same recipe the video processors use (resize, rescale, normalize, temporal patching). Nothing here
needs torchvision; the numbers match the video processor's up to PIL-vs-torch resize rounding.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from omnibench.data.schema import Message
from omnibench.errors import ModelError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
QWEN_VIDEO_MIN_PIXELS = 128 * 28 * 28   # Qwen2VLVideoProcessor defaults
QWEN_VIDEO_MAX_PIXELS = 768 * 28 * 28


def flash_attn_available() -> bool:
    return importlib.util.find_spec("flash_attn") is not None


def pick_device(device: str = "auto") -> str:
    """auto: cuda:LOCAL_RANK under torchrun / accelerate, else cuda, else cpu; a set device is kept."""
    from omnibench.engine.capabilities import pick_device as engine_pick

    return engine_pick(device)


def pick_dtype(dtype: str, device: str):
    """'auto' is bfloat16 on GPU and float32 on CPU (CPU half precision is slow and lossy)."""
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        return {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16,
                "fp16": torch.float16, "float32": torch.float32, "fp32": torch.float32}[dtype]
    except KeyError:
        raise ModelError(f"unknown dtype {dtype!r}; use auto, bfloat16, float16 or float32") from None


def pick_attention(attn_implementation: str | None, device: str) -> str:
    """flash_attention_2 when the package is importable and we are on a GPU, else PyTorch SDPA."""
    if attn_implementation:
        return attn_implementation
    return "flash_attention_2" if flash_attn_available() and device.startswith("cuda") else "sdpa"


def load_pretrained(model_class, pretrained: str, *, device: str, dtype: str, attn_implementation: str | None,
                    device_map: str | dict | None = None, tp_plan: str | None = None):
    """from_pretrained with our settings; returns (model, the device its inputs go to).

    Models larger than one GPU: `device_map` ("auto", "balanced", a {module: device} dict) spreads
    the layers over this process's GPUs (accelerate); `tp_plan="auto"` splits every layer over the
    ranks of the torchrun job (transformers' tensor parallelism: each rank's worker holds a slice,
    and every rank runs every sample in step, see engine.distributed)."""
    if device_map is not None and tp_plan is not None:
        raise ModelError("give device_map or tp_plan, not both")
    spread = device_map is not None or tp_plan is not None
    device = pick_device(device) if not spread else pick_device("auto")
    torch_dtype = pick_dtype(dtype, device)
    placement = {"device_map": device_map} if device_map is not None else {"tp_plan": tp_plan} if tp_plan else {}
    try:
        model = model_class.from_pretrained(pretrained, dtype=torch_dtype,
                                            attn_implementation=pick_attention(attn_implementation, device),
                                            **placement)
    except OSError as exc:
        raise ModelError(f"cannot load {model_class.__name__} from {pretrained!r}: {exc}") from exc
    if spread:                                   # placed by accelerate / transformers: inputs go where it starts
        return model.eval(), str(model.device)
    return model.to(device).eval(), device


def preprocessor_settings(pretrained: str, *names: str) -> dict[str, Any]:
    """Merged JSON of the first processor config files found next to a local checkpoint (hub ids: {})."""
    out: dict[str, Any] = {}
    for name in names:
        path = Path(pretrained) / name
        if path.is_file():
            for key, value in json.loads(path.read_text()).items():
                out.setdefault(key, value)
    return out


def request_fps(frame_times: list[float], count: int, default: float = 1.0) -> float:
    """Frames per second of the sampled frames (Qwen's time positions depend on it)."""
    if count > 1 and len(frame_times) == count and frame_times[-1] > frame_times[0]:
        return (count - 1) / (frame_times[-1] - frame_times[0])
    return default


def resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, height, width, 3) float32 in [0, 1], bicubic as the processors do."""
    from PIL import Image

    out = np.empty((len(frames), height, width, 3), dtype=np.float32)
    for i, frame in enumerate(frames):
        img = Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8))
        if img.size != (width, height):
            img = img.resize((width, height), Image.Resampling.BICUBIC)
        out[i] = np.asarray(img, dtype=np.float32) / 255.0
    return out


def normalize(frames01: np.ndarray, mean, std) -> np.ndarray:
    """(N, H, W, 3) in [0, 1] -> (N, 3, H, W) normalized."""
    mean = np.asarray(mean, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)
    return ((frames01 - mean) / std).transpose(0, 3, 1, 2).astype(np.float32)


def qwen_video_patches(frames: np.ndarray, *, patch_size: int, merge_size: int, temporal_patch_size: int,
                       min_pixels: int, max_pixels: int, mean=CLIP_MEAN, std=CLIP_STD):
    """Qwen2-VL video inputs from frames: (patches (T*H*W, C*tps*p*p), grid (t, h, w)).

    Same layout as Qwen2VLVideoProcessor.patchify: pad the clip with its last frame to a multiple
    of temporal_patch_size, then group (t, h-merge, w-merge, h, w) patches.
    """
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    n, h, w = frames.shape[:3]
    factor = patch_size * merge_size
    rh, rw = smart_resize(h, w, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
    video = normalize(resize_frames(frames, rh, rw), mean, std)
    if pad := -n % temporal_patch_size:
        video = np.concatenate([video, np.repeat(video[-1:], pad, axis=0)])
    t = len(video) // temporal_patch_size
    gh, gw = rh // patch_size, rw // patch_size
    patches = video.reshape(t, temporal_patch_size, 3, gh // merge_size, merge_size, patch_size,
                            gw // merge_size, merge_size, patch_size)
    patches = patches.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    flat = patches.reshape(t * gh * gw, 3 * temporal_patch_size * patch_size * patch_size)
    return np.ascontiguousarray(flat), (t, gh, gw)


def qwen_video_settings(vision_config, pretrained: str, min_pixels: int | None,
                        max_pixels: int | None) -> dict[str, Any]:
    """Arguments of qwen_video_patches: patch sizes from the model config, pixel budget and
    normalization from the checkpoint's (video) preprocessor config, the settings, or the defaults."""
    saved = preprocessor_settings(pretrained, "video_preprocessor_config.json", "preprocessor_config.json")
    size: dict[str, Any] = saved["size"] if isinstance(saved.get("size"), dict) else {}
    return {
        "patch_size": vision_config.patch_size,
        "merge_size": vision_config.spatial_merge_size,
        "temporal_patch_size": vision_config.temporal_patch_size,
        "min_pixels": min_pixels or size.get("shortest_edge") or QWEN_VIDEO_MIN_PIXELS,
        "max_pixels": max_pixels or size.get("longest_edge") or QWEN_VIDEO_MAX_PIXELS,
        "mean": saved.get("image_mean", CLIP_MEAN),
        "std": saved.get("image_std", CLIP_STD),
    }


def qwen_video_tensors(frames: np.ndarray, frame_times: list[float], settings: dict[str, Any], *,
                       device: str, dtype) -> tuple[Any, Any, Any, int]:
    """(pixel_values_videos, video_grid_thw, seconds per temporal grid, number of video tokens)."""
    import torch

    patches, (t, h, w) = qwen_video_patches(frames, **settings)
    fps = request_fps(frame_times, len(frames))
    return (torch.from_numpy(patches).to(device, dtype), torch.tensor([[t, h, w]], device=device),
            torch.tensor([settings["temporal_patch_size"] / fps], device=device),
            t * h * w // settings["merge_size"] ** 2)


def read_wav_16k(path: str) -> np.ndarray:
    """Mono float32 samples at 16 kHz from a PCM wav (what TTS writes), resampled if needed."""
    import wave

    try:
        with wave.open(str(path), "rb") as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            raw = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise ModelError(f"cannot read audio query {path}: {exc}") from exc
    widths: dict[int, type[np.integer]] = {1: np.uint8, 2: np.int16, 4: np.int32}
    dtype = widths.get(width)
    if dtype is None:
        raise ModelError(f"audio query {path}: unsupported sample width {width} bytes")
    samples = np.frombuffer(raw, dtype=dtype).astype(np.float32)
    samples = (samples - 128.0) / 128.0 if width == 1 else samples / float(np.iinfo(dtype).max)
    samples = samples.reshape(-1, channels).mean(axis=1)
    if rate != 16000:
        from scipy.signal import resample_poly

        g = math.gcd(rate, 16000)
        samples = resample_poly(samples, 16000 // g, rate // g).astype(np.float32)
    return samples


def chatml(user_content: str, history: list[Message], system: str | None) -> str:
    """Qwen-style ChatML text (Qwen2.5-VL, Qwen2.5-Omni and LLaVA-OneVision's Qwen2 LM all use it).

    The media placeholders go in the *current* user turn; history turns are text only.
    """
    parts = [f"<|im_start|>system\n{system}<|im_end|>\n"] if system else []
    for message in history:
        parts.append(f"<|im_start|>{message.role}\n{message.text}<|im_end|>\n")
    parts.append(f"<|im_start|>user\n{user_content}<|im_end|>\n<|im_start|>assistant\n")
    return "".join(parts)


def token_id(tokenizer, token: str) -> int:
    """Id of a special token the model needs; a clear error when the tokenizer lacks it."""
    ids = tokenizer.convert_tokens_to_ids([token])
    if not ids or ids[0] is None or ids[0] == tokenizer.unk_token_id:
        raise ModelError(f"tokenizer has no {token!r} token; is this the right checkpoint?")
    return int(ids[0])


def generate_text(model, tokenizer, inputs: dict[str, Any], *, max_new_tokens: int, temperature: float) -> str:
    """Greedy (temperature 0) or sampled generation; returns only the new text."""
    import torch

    sampling = temperature > 0
    extra = {"temperature": temperature} if sampling else {}
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=sampling,
                             pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None
                             else tokenizer.eos_token_id, **extra)
    new_tokens = out[0, inputs["input_ids"].shape[1]:]
    return tokenizer.decode(new_tokens, skip_special_tokens=True).strip()


def chat_inputs(adapter: Any, media: str, request: Any) -> dict[str, Any]:
    """Token ids of the ChatML conversation with the media placeholders before the prompt."""
    import torch

    text = chatml(media + request.prompt, request.history, adapter.system)
    ids = adapter.tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"].to(adapter.device)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


class GenerateFromInputs:
    """`generate` for adapters that define `build_inputs(request)`; `_load` does their shared set-up."""

    def build_inputs(self, request: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _load(self, model_class: Any, pretrained: str, *, device: str, dtype: str, attn_implementation: str | None,
              num_frames: int, offline_fps: float | None, system: str | None, device_map: str | dict | None = None,
              tp_plan: str | None = None) -> None:
        from transformers import AutoTokenizer

        self.num_frames = num_frames
        if offline_fps:
            self.offline_fps = offline_fps   # the engine samples by fps when this is set
        self.system = system
        self.tensor_parallel = bool(tp_plan)    # every torchrun rank runs every sample (engine.distributed)
        self.model, self.device = load_pretrained(model_class, pretrained, device=device, dtype=dtype,
                                                  attn_implementation=attn_implementation, device_map=device_map,
                                                  tp_plan=tp_plan)
        self.tokenizer = AutoTokenizer.from_pretrained(pretrained)

    def generate(self, request: Any) -> str:
        return generate_text(self.model, self.tokenizer, self.build_inputs(request),
                             max_new_tokens=request.max_new_tokens, temperature=request.temperature)
