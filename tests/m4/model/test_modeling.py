from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from omnibench.m4.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, to_longva, to_ours
from omnibench.m4.model.config import tiny_config
from omnibench.m4.model.frames import frames_to_pixels, resize_pad_square, uniform_indices
from omnibench.m4.model.modeling import build_model


def test_frames_become_pooled_tokens_after_the_projector(pipeline):
    model = pipeline.model
    pixels = torch.randn(2, 3, 56, 56)
    tokens = model.encode_frames(pixels)
    assert tokens.shape == (2, 4, pipeline.config.hidden_size)      # (56/14)^2 = 16 patches -> 2x2 pool -> 4
    hidden = model.vision_tower(pixel_values=pixels, output_hidden_states=True).hidden_states[-2][:, 1:]
    grid = model.projector(hidden).view(2, 4, 4, -1)               # project first, then pool
    top_left = grid[:, :2, :2].mean(dim=(1, 2))
    assert torch.allclose(tokens[:, 0], top_left, atol=1e-5)


def test_resize_pad_keeps_aspect_on_black():
    frame = np.full((20, 40, 3), 255, dtype=np.uint8)
    square = resize_pad_square(frame, 56)
    assert square.shape == (3, 56, 56)
    assert square[:, :13].abs().max() == 0 and square[:, -13:].abs().max() == 0     # 28 rows of image, centred
    assert square[:, 20:36].min() > 0.99
    assert frames_to_pixels([frame], 56).shape == (1, 3, 56, 56)
    assert uniform_indices(64, 16) == sorted(set(uniform_indices(64, 16))) and len(uniform_indices(64, 16)) == 16
    assert uniform_indices(5, 16) == [0, 1, 2, 3, 4]


def test_key_map_speaks_longva():
    assert to_ours("model.vision_tower.vision_tower.vision_model.encoder.layers.3.mlp.fc1.weight") == \
        "vision_tower.encoder.layers.3.mlp.fc1.weight"
    assert to_ours("model.mm_projector.2.bias") == "projector.2.bias"
    assert to_ours("model.layers.0.self_attn.q_proj.weight") == "language_model.model.layers.0.self_attn.q_proj.weight"
    assert to_ours("model.embed_tokens.weight") == "language_model.model.embed_tokens.weight"
    assert to_ours("lm_head.weight") == "language_model.lm_head.weight"
    assert to_ours("model.image_newline") is None
    assert to_longva("projector.0.weight") == "model.mm_projector.0.weight"


def test_saved_tiny_checkpoint_round_trips(tmp_path):
    from safetensors import safe_open

    model = build_model(tiny_config(audio=True), seed=3)
    save_checkpoint(model, tmp_path)
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as f:
        keys = set(f.keys())
    assert "model.vision_tower.vision_tower.vision_model.embeddings.patch_embedding.weight" in keys
    assert {"model.mm_projector.0.weight", "model.mm_projector.2.weight", "lm_head.weight",
            "model.speech_projector.linear1.weight"} <= keys
    loaded = load_checkpoint(tmp_path)
    assert loaded.config == model.config
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name


def test_a_stray_or_missing_key_is_named(tmp_path):
    from safetensors.torch import load_file, save_file

    save_checkpoint(build_model(tiny_config()), tmp_path)
    state = load_file(str(tmp_path / "model.safetensors"))
    save_file({**state, "model.surprise.weight": torch.zeros(1)}, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match="model.surprise.weight"):
        load_checkpoint(tmp_path)
    state.pop("model.mm_projector.2.bias")
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(CheckpointError, match="mm_projector.2.bias"):
        load_checkpoint(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llava_qwen"}))
    with pytest.raises(CheckpointError, match="config.json"):
        load_checkpoint(tmp_path)


def test_audio_variant_stacks_five_frames():
    model = build_model(tiny_config(audio=True))
    tokens = model.encode_speech(torch.randn(1, 16, 60))             # padded to 100 mel frames -> 50 -> 10
    assert tokens.shape == (1, 10, model.config.hidden_size)
    assert model.speech.tokens_per_utterance == 10


def test_the_lm_gets_its_cache_under_the_name_the_installed_transformers_takes():
    """`past_key_values` warns from transformers 5.2x (gone in 5.40); 5.0 knows no other name."""
    import warnings

    from omnibench.m4.model.modeling import new_cache

    model = build_model(tiny_config(), seed=0)
    cache = new_cache(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.forward_embeds(model.embed([1, 2, 3]), cache)
        frame = np.zeros((8, 8, 3), dtype=np.uint8)
        frame.flags.writeable = False
        resize_pad_square(frame, 16)
    assert cache.get_seq_length() == 3
