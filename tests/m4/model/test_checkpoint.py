"""Checkpoint key maps: the CLIP layout of every allowed transformers version, openai-whisper's encoder names,
sharded checkpoints in the reference's exact key layout."""

from __future__ import annotations

import json

import pytest
import torch

from omnibench.m4.model.checkpoint import (
    canonical_name,
    canonical_state,
    clip_is_wrapped,
    load_checkpoint,
    module_name,
    save_checkpoint,
    to_longva,
    to_ours,
)
from omnibench.m4.model.config import tiny_config
from omnibench.m4.model.modeling import build_model

# names as the reference's LlavaQwenForCausalLM (M4-Audio: openai-whisper encoder) writes them
REFERENCE_SPEECH_KEYS = {
    "model.speech_encoder.conv1.weight": "speech.encoder.conv1.weight",
    "model.speech_encoder.positional_embedding": "speech.encoder.embed_positions.weight",
    "model.speech_encoder.blocks.0.attn.query.weight": "speech.encoder.layers.0.self_attn.q_proj.weight",
    "model.speech_encoder.blocks.0.attn.key.weight": "speech.encoder.layers.0.self_attn.k_proj.weight",
    "model.speech_encoder.blocks.0.attn.value.bias": "speech.encoder.layers.0.self_attn.v_proj.bias",
    "model.speech_encoder.blocks.0.attn.out.weight": "speech.encoder.layers.0.self_attn.out_proj.weight",
    "model.speech_encoder.blocks.12.attn_ln.weight": "speech.encoder.layers.12.self_attn_layer_norm.weight",
    "model.speech_encoder.blocks.3.mlp.0.weight": "speech.encoder.layers.3.fc1.weight",
    "model.speech_encoder.blocks.3.mlp.2.bias": "speech.encoder.layers.3.fc2.bias",
    "model.speech_encoder.blocks.31.mlp_ln.bias": "speech.encoder.layers.31.final_layer_norm.bias",
    "model.speech_encoder.ln_post.weight": "speech.encoder.layer_norm.weight",
    "model.speech_projector.linear2.weight": "speech.projector.linear2.weight",
}


def _transformers_version() -> tuple[int, int]:
    import transformers

    major, minor = transformers.__version__.split(".")[:2]
    return int(major), int(minor)


def test_whisper_keys_translate_both_ways():
    for theirs, ours in REFERENCE_SPEECH_KEYS.items():
        assert to_ours(theirs) == ours
        assert to_longva(ours) == theirs
    # a checkpoint already in transformers' naming passes unchanged
    assert to_ours("model.speech_encoder.layers.2.fc1.weight") == "speech.encoder.layers.2.fc1.weight"


def test_every_parameter_round_trips_through_the_reference_names():
    model = build_model(tiny_config(audio=True))
    wrapped = clip_is_wrapped(model)
    for name in model.state_dict():
        canonical = canonical_name(name, wrapped)
        assert module_name(canonical, wrapped) == name
        theirs = to_longva(canonical)
        assert to_ours(theirs) == canonical, name
        if canonical.startswith("speech.encoder."):
            assert ".layers." not in theirs and "embed_positions" not in theirs, theirs   # openai-whisper names
    assert "vision_tower.embeddings.patch_embedding.weight" in canonical_state(model)


def test_clip_layout_follows_the_installed_transformers():
    """5.0-5.5 wrap CLIPVisionModel's layers in `vision_model.`, >= 5.6 is flat; both load the same keys."""
    model = build_model(tiny_config())
    assert clip_is_wrapped(model) == (_transformers_version() < (5, 6))
    assert module_name("vision_tower.encoder.layers.0.mlp.fc1.weight", True) == \
        "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight"
    assert module_name("vision_tower.encoder.layers.0.mlp.fc1.weight", False) == \
        "vision_tower.encoder.layers.0.mlp.fc1.weight"


def test_sharded_audio_checkpoint_in_the_reference_layout_loads(tmp_path):
    from safetensors import safe_open

    model = build_model(tiny_config(audio=True), seed=5)
    save_checkpoint(model, tmp_path, max_shard_bytes=200_000)
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 1 and not (tmp_path / "model.safetensors").exists()
    keys: set[str] = set()
    for shard in shards:
        with safe_open(str(tmp_path / shard), "pt") as f:
            keys |= set(f.keys())
    assert keys == set(index["weight_map"])
    assert {"model.vision_tower.vision_tower.vision_model.embeddings.patch_embedding.weight",
            "model.speech_encoder.positional_embedding", "model.speech_encoder.blocks.0.attn.query.weight",
            "model.speech_encoder.ln_post.bias", "model.speech_projector.linear1.weight"} <= keys
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["speech_encoder_type"] == "whisper" and config["speech_encoder_ds_rate"] == 5
    loaded = load_checkpoint(tmp_path)
    assert loaded.speech is not None
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name


def test_speech_encoder_equals_openai_whispers_own_encoder():
    """Weights in openai-whisper's names give, through the key map, the encoder openai-whisper computes."""
    whisper_model = pytest.importorskip("whisper.model", reason="needs openai-whisper (installed by .ci/transformers_matrix.sh)")
    audio = {"num_mel_bins": 16, "d_model": 32, "encoder_layers": 2, "encoder_attention_heads": 2,
             "encoder_ffn_dim": 128, "max_source_positions": 50}
    model = build_model(tiny_config(audio=audio), seed=2)
    torch.manual_seed(7)
    reference = whisper_model.AudioEncoder(n_mels=16, n_ctx=50, n_state=32, n_head=2, n_layer=2).eval()
    for p in reference.parameters():
        torch.nn.init.normal_(p, std=0.2)
    state = {to_ours(f"model.speech_encoder.{k}"): v for k, v in reference.state_dict().items()}
    ours = {k[len("speech.encoder."):]: v for k, v in state.items()}
    assert set(ours) == set(model.speech.encoder.state_dict())
    model.speech.encoder.load_state_dict(ours)
    mel = torch.randn(1, 16, 100)
    with torch.no_grad():
        expected = reference(mel)
        got = model.speech.encoder(input_features=mel).last_hidden_state
    assert torch.allclose(got, expected, atol=1e-4), (got - expected).abs().max()
