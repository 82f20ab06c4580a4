"""Qwen2.5-VL, Qwen2.5-Omni and LLaVA-OneVision adapters on tiny random-weight checkpoints.

Each checkpoint is built from a config, saved to a temp dir with an in-memory tokenizer, and
loaded back through the adapter, so the real loading path runs; then the engine drives it on a
generated video and we check what reached the frame packing and the model.
"""

from __future__ import annotations

import math
import wave

import numpy as np
import pytest

from omnibench.data.schema import Query, Sample, VideoRef
from omnibench.engine.offline import run_offline
from omnibench.engine.protocols import OfflineRequest
from omnibench.engine.wrapper import GuardedModel
from omnibench.task import Prompts
from tests.videos import make_video

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("PIL")

WORDS = ["[UNK]"] + [f"w{i}" for i in range(30)] + "system user assistant you are a helpful what is in the video ?".split()
TINY_TEXT = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)
TINY_QWEN_VISION = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=32,
                        fullatt_block_indexes=[1])
QWEN_ROPE = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 1, 1]}   # head_dim 8


def tiny_tokenizer(specials: list[str]):
    """A word-level tokenizer with the special tokens a processor would add."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]")
    tokenizer.add_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>", *specials], special_tokens=True)
    tokenizer.pad_token, tokenizer.eos_token = "<|endoftext|>", "<|im_end|>"
    return tokenizer, {t: tokenizer.convert_tokens_to_ids(t) for t in tokenizer.get_vocab()}


def save(model, tokenizer, path):
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def qwen_vl_dir(tmp_path_factory):
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    tok, ids = tiny_tokenizer(["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"])
    config = Qwen2_5_VLConfig(
        text_config=dict(vocab_size=len(tok), rope_parameters=QWEN_ROPE, eos_token_id=ids["<|im_end|>"],
                         pad_token_id=ids["<|endoftext|>"], **TINY_TEXT),
        vision_config=TINY_QWEN_VISION, image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
    return save(Qwen2_5_VLForConditionalGeneration(config), tok, tmp_path_factory.mktemp("qwen_vl"))


@pytest.fixture(scope="module")
def qwen_omni_dir(tmp_path_factory):
    from transformers import (
        Qwen2_5OmniThinkerConfig,
        Qwen2_5OmniThinkerForConditionalGeneration,
        WhisperFeatureExtractor,
    )

    tok, ids = tiny_tokenizer(["<|vision_bos|>", "<|vision_eos|>", "<|IMAGE|>", "<|VIDEO|>", "<|AUDIO|>",
                               "<|audio_bos|>", "<|audio_eos|>"])
    config = Qwen2_5OmniThinkerConfig(
        text_config=dict(vocab_size=len(tok), rope_parameters=QWEN_ROPE, eos_token_id=ids["<|im_end|>"],
                         pad_token_id=ids["<|endoftext|>"], **TINY_TEXT),
        vision_config=TINY_QWEN_VISION,
        audio_config=dict(num_mel_bins=16, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=64,
                          d_model=32, output_dim=32, n_window=10),
        audio_token_index=ids["<|AUDIO|>"], image_token_index=ids["<|IMAGE|>"], video_token_index=ids["<|VIDEO|>"],
        vision_start_token_id=ids["<|vision_bos|>"], vision_end_token_id=ids["<|vision_eos|>"],
        audio_start_token_id=ids["<|audio_bos|>"], audio_end_token_id=ids["<|audio_eos|>"])
    path = save(Qwen2_5OmniThinkerForConditionalGeneration(config), tok, tmp_path_factory.mktemp("qwen_omni"))
    WhisperFeatureExtractor(feature_size=16).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def llava_ov_dir(tmp_path_factory):
    from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration

    tok, ids = tiny_tokenizer(["<image>", "<video>"])
    config = LlavaOnevisionConfig(
        text_config=dict(model_type="qwen2", vocab_size=len(tok), eos_token_id=ids["<|im_end|>"],
                         pad_token_id=ids["<|endoftext|>"], **TINY_TEXT),
        vision_config=dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=2, image_size=28, patch_size=7),
        image_token_index=ids["<image>"], video_token_index=ids["<video>"])
    return save(LlavaOnevisionForConditionalGeneration(config), tok, tmp_path_factory.mktemp("llava_ov"))


@pytest.fixture(scope="module")
def clip_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    make_video(root / "clip.mp4", seconds=3.0, fps=10, size=(64, 48))
    return root


def spy_model_inputs(adapter, monkeypatch) -> list[dict]:
    """Record the keyword tensors that reach model.generate."""
    seen: list[dict] = []
    real = adapter.model.generate

    def generate(**inputs):
        seen.append(inputs)
        return real(**inputs)

    monkeypatch.setattr(adapter.model, "generate", generate)
    return seen


def run_engine(adapter, root) -> str:
    sample = Sample(id="s1", task="t", video=VideoRef(path="clip.mp4"), turns=[Query(t=2.5, text="what is in the video ?")])
    record = run_offline(GuardedModel(adapter, model_id="hf"), Prompts(), sample, video_root=root, model_label="hf")
    assert record.status != "error", record.error
    return record.events[-1].text


def spy_qwen_frames(monkeypatch) -> list[int]:
    from omnibench.models import _hf_common as hf

    counts: list[int] = []
    real = hf.qwen_video_patches

    def patches(frames, **settings):
        counts.append(len(frames))
        return real(frames, **settings)

    monkeypatch.setattr(hf, "qwen_video_patches", patches)
    return counts


def test_qwen2_5_vl_gets_the_clip_as_one_video_at_its_fps(qwen_vl_dir, clip_root, monkeypatch):
    from omnibench.models.qwen2_5_vl import Qwen25VL

    adapter = Qwen25VL(pretrained=qwen_vl_dir, device="cpu", num_frames=5, min_pixels=56 * 56, max_pixels=56 * 56)
    counts, seen = spy_qwen_frames(monkeypatch), spy_model_inputs(adapter, monkeypatch)
    answer = run_engine(adapter, clip_root)
    assert isinstance(answer, str)
    assert counts == [5]
    inputs = seen[0]
    t, h, w = inputs["video_grid_thw"][0].tolist()
    assert t == math.ceil(5 / 2) and (h, w) == (4, 4)                  # 5 frames -> 3 temporal patches
    assert int((inputs["input_ids"] == adapter.video_token_id).sum()) == t * h * w // 4
    assert inputs["mm_token_type_ids"].sum() == 2 * t * h * w // 4
    # 5 frames spread over [0, 2.5] s: 1.6 fps, 2 frames per temporal patch
    assert inputs["second_per_grid_ts"][0].item() == pytest.approx(2 / 1.6, rel=0.1)


def test_qwen2_5_vl_text_only_request_has_no_video(qwen_vl_dir, monkeypatch):
    from omnibench.models.qwen2_5_vl import Qwen25VL

    adapter = Qwen25VL(pretrained=qwen_vl_dir, device="cpu")
    seen = spy_model_inputs(adapter, monkeypatch)
    assert isinstance(adapter.generate(OfflineRequest(prompt="what is in the video ?", max_new_tokens=3)), str)
    assert "pixel_values_videos" not in seen[0]


def test_qwen2_5_omni_takes_video_and_the_spoken_query(qwen_omni_dir, clip_root, tmp_path, monkeypatch):
    from omnibench.models.qwen2_5_omni import Qwen25Omni, audio_token_count

    adapter = Qwen25Omni(pretrained=qwen_omni_dir, device="cpu", num_frames=4, min_pixels=56 * 56,
                         max_pixels=56 * 56)
    assert adapter.accepts_audio
    counts, seen = spy_qwen_frames(monkeypatch), spy_model_inputs(adapter, monkeypatch)
    assert isinstance(run_engine(adapter, clip_root), str)
    assert counts == [4] and "input_features" not in seen[0]           # no spoken query in that sample

    wav = tmp_path / "q.wav"
    with wave.open(str(wav), "wb") as w:                                 # 1 s at 22.05 kHz: resampled to 16 kHz
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(22050)
        w.writeframes((np.sin(np.arange(22050) / 9) * 8000).astype(np.int16).tobytes())
    frames = np.random.default_rng(0).integers(0, 255, (4, 48, 64, 3), dtype=np.uint8)
    request = OfflineRequest(prompt="what is in the video ?", frames=frames, audio=str(wav), max_new_tokens=3)
    assert isinstance(adapter.generate(request), str)
    inputs = seen[-1]
    assert int(inputs["feature_attention_mask"].sum()) == 100            # 10 ms mel hop
    assert int((inputs["input_ids"] == adapter.audio_token_id).sum()) == audio_token_count(100) == 25


def test_llava_onevision_gets_pooled_video_frames(llava_ov_dir, clip_root, monkeypatch):
    from omnibench.models.llava_onevision import LlavaOneVision

    adapter = LlavaOneVision(pretrained=llava_ov_dir, device="cpu", num_frames=6)
    seen = spy_model_inputs(adapter, monkeypatch)
    assert isinstance(run_engine(adapter, clip_root), str)
    video = seen[0]["pixel_values_videos"]
    assert tuple(video.shape) == (1, 6, 3, 28, 28)
    video_id = adapter.model.config.video_token_index
    assert int((seen[0]["input_ids"] == video_id).sum()) == 6 * 4 + 1   # 4x4 patches pooled to 2x2, + newline


def test_settings_pick_dtype_and_attention():
    import torch

    from omnibench.models import _hf_common as hf

    assert hf.pick_dtype("auto", "cpu") == torch.float32 and hf.pick_dtype("auto", "cuda") == torch.bfloat16
    assert hf.pick_attention("eager", "cuda") == "eager"
    expected = "flash_attention_2" if hf.flash_attn_available() else "sdpa"
    assert hf.pick_attention(None, "cuda:0") == expected and hf.pick_attention(None, "cpu") == "sdpa"


def test_video_patches_match_the_video_processor_layout():
    """A constant-colour frame pair: every patch row holds both frames' values in processor order."""
    from omnibench.models import _hf_common as hf

    frames = np.zeros((2, 56, 56, 3), dtype=np.uint8)
    frames[1] = 255
    patches, grid = hf.qwen_video_patches(frames, patch_size=14, merge_size=2, temporal_patch_size=2,
                                          min_pixels=56 * 56, max_pixels=56 * 56, mean=(0, 0, 0), std=(1, 1, 1))
    assert grid == (1, 4, 4) and patches.shape == (16, 3 * 2 * 14 * 14)
    row = patches[0].reshape(3, 2, 14, 14)                               # (C, T, p, p) as the processor flattens
    assert np.allclose(row[:, 0], 0.0) and np.allclose(row[:, 1], 1.0)


def _library_video_patchify():
    """Qwen2VLVideoProcessor.patchify from the installed transformers. Its module imports torchvision;
    without it, the method is compiled from that same module's source (transformers' code, not ours)."""
    import ast
    import importlib.util

    try:
        from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

        return lambda videos, **kw: Qwen2VLVideoProcessor.patchify(None, videos, **kw)
    except ImportError:
        pass
    spec = importlib.util.find_spec("transformers.models.qwen2_vl.video_processing_qwen2_vl")
    tree = ast.parse(open(spec.origin, encoding="utf-8").read())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Qwen2VLVideoProcessor")
    method = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "patchify")
    method.decorator_list = []
    namespace = {"torch": torch}
    exec(compile(ast.Module(body=[method], type_ignores=[]), spec.origin, "exec"), namespace)
    return lambda videos, **kw: namespace["patchify"](None, videos, **kw)


def test_video_patches_equal_transformers_own_patchify_on_random_frames():
    """Random pixels, a non-square frame and an odd frame count (padded with the last frame): any
    wrong spatial or temporal order changes the patches."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from omnibench.models import _hf_common as hf

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(3, 56, 84, 3), dtype=np.uint8)
    sizes = {"patch_size": 14, "merge_size": 2, "temporal_patch_size": 2}
    patches, grid = hf.qwen_video_patches(frames, **sizes, min_pixels=56 * 84, max_pixels=56 * 84,
                                          mean=(0, 0, 0), std=(1, 1, 1))
    video = torch.from_numpy(frames.astype(np.float32) / 255.0).permute(0, 3, 1, 2)[None]   # (1, T, C, H, W)
    expected, t, h, w = _library_video_patchify()(video, **sizes)
    assert grid == (t, h, w) == (2, 4, 6)
    assert np.allclose(patches, expected[0].numpy(), atol=1e-6)
    # one frame repeated over the temporal patch: the image processor's own patchify gives the same rows
    still, _ = hf.qwen_video_patches(frames[:1], **sizes, min_pixels=56 * 84, max_pixels=56 * 84,
                                     mean=(0, 0, 0), std=(1, 1, 1))
    image_rows, gh, gw = Qwen2VLImageProcessorPil.patchify(None, frames[0].transpose(2, 0, 1) / 255.0, **sizes)
    assert (gh, gw) == (4, 6) and np.allclose(still, image_rows, atol=1e-6)


def test_llava_onevision_frames_equal_the_library_video_processor_within_rounding():
    """LlavaOnevisionVideoProcessor needs torchvision (CI runs this in lmms-eval's venv, which has it): our
    PIL bicubic resize + CLIP normalisation gives its tensor, same layout, within 3/255 a pixel (bicubic rounding)."""
    pytest.importorskip("torchvision", reason="needs torchvision (CI runs this test in lmms-eval's venv)")
    from transformers import LlavaOnevisionVideoProcessor

    from omnibench.models import _hf_common as hf

    frames = np.random.default_rng(0).integers(0, 256, size=(5, 90, 160, 3), dtype=np.uint8)
    expected = LlavaOnevisionVideoProcessor()(videos=[list(frames)], return_tensors="pt")["pixel_values_videos"][0]
    ours = hf.normalize(hf.resize_frames(frames, 384, 384), hf.CLIP_MEAN, hf.CLIP_STD)
    assert ours.shape == tuple(expected.shape) == (5, 3, 384, 384)
    diff = np.abs(expected.numpy() - ours)
    assert diff.max() <= 3 / 255 / min(hf.CLIP_STD) and diff.mean() < 1e-3
