"""Real LongVA / M4 checkpoints (safetensors + config.json) into M4Model, through an explicit key map.

LongVA's LlavaQwenForCausalLM nests everything under `model.` except `lm_head`: the Qwen2 body
(`model.embed_tokens`, `model.layers.*`, `model.norm`), the CLIP tower wrapped twice
(`model.vision_tower.vision_tower.vision_model.*`), the projector as an nn.Sequential
(`model.mm_projector.0/2`), and for the audio model the speech encoder and projector
(`model.speech_encoder.*`, `model.speech_projector.linear1/2`, LLaMA-Omni's names).

Two layouts differ by library version and are translated here, never assumed:
- CLIP: transformers 5.0-5.5's CLIPVisionModel wraps a `vision_model.` level, >= 5.6 is flat.
  Our canonical names are flat (`vision_tower.encoder...`); `module_name` adds the level where
  the installed CLIPVisionModel has it.
- Whisper: the reference builds its speech encoder from openai-whisper (`blocks.N.attn.query`,
  `positional_embedding`, `ln_post`, ...); ours is transformers' WhisperEncoder (`layers.N.self_attn.q_proj`,
  `embed_positions.weight`, `layer_norm`, ...). Checkpoints in either naming load; we write openai-whisper's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch

from omnibench.m4.model.config import M4Config
from omnibench.m4.model.modeling import M4Model

# (checkpoint prefix, our prefix): first match wins, so the generic `model.` comes last.
LONGVA_KEY_MAP: tuple[tuple[str, str], ...] = (
    ("model.vision_tower.vision_tower.vision_model.", "vision_tower."),   # v5's CLIPVisionModel is flat
    ("model.mm_projector.", "projector."),
    ("model.speech_encoder.", "speech.encoder."),
    ("model.speech_projector.", "speech.projector."),
    ("model.", "language_model.model."),
    ("lm_head.", "language_model.lm_head."),
)
# parameters LongVA may carry that our layout does not use: the "unpad" newline token (video
# frames never get one) and the parameter-free resampler.
IGNORED_PREFIXES = ("model.image_newline", "model.vision_resampler.")


class CheckpointError(ValueError):
    """A checkpoint that does not fit the M4 layout; the message names the file and key."""


# openai-whisper AudioEncoder names -> transformers WhisperEncoder names, inside `speech.encoder.`
# (the same tensors: k has no bias in either; openai-whisper's scaling q*k by d^-1/4 each equals HF's d^-1/2 on q);
# `{n}` is a block number
WHISPER_KEY_MAP: tuple[tuple[str, str], ...] = (
    ("positional_embedding", "embed_positions.weight"),
    ("blocks.{n}.attn.query.", "layers.{n}.self_attn.q_proj."),
    ("blocks.{n}.attn.key.", "layers.{n}.self_attn.k_proj."),
    ("blocks.{n}.attn.value.", "layers.{n}.self_attn.v_proj."),
    ("blocks.{n}.attn.out.", "layers.{n}.self_attn.out_proj."),
    ("blocks.{n}.attn_ln.", "layers.{n}.self_attn_layer_norm."),
    ("blocks.{n}.mlp.0.", "layers.{n}.fc1."),
    ("blocks.{n}.mlp.2.", "layers.{n}.fc2."),
    ("blocks.{n}.mlp_ln.", "layers.{n}.final_layer_norm."),
    ("ln_post.", "layer_norm."),
)
_SPEECH = "speech.encoder."        # our prefix of the Whisper encoder's parameters


def _rename(name: str, reverse: bool = False) -> str:
    """One Whisper encoder name between the two namings; a name in the target naming already passes."""
    for openai, hf in WHISPER_KEY_MAP:
        source, target = (hf, openai) if reverse else (openai, hf)
        pattern = "^" + re.escape(source).replace(re.escape("{n}"), r"(?P<n>\d+)") + ("$" if not source.endswith(".") else "")
        match = re.match(pattern, name)
        if match:
            return target.format(**match.groupdict()) + name[match.end():]
    return name


def to_ours(key: str) -> str | None:
    """A checkpoint key -> our canonical parameter name (flat CLIP, transformers Whisper); None: not ours."""
    if key.startswith(IGNORED_PREFIXES):
        return None
    for theirs, ours in LONGVA_KEY_MAP:
        if key.startswith(theirs):
            name = ours + key[len(theirs):]
            if name.startswith(_SPEECH):
                name = _SPEECH + _rename(name[len(_SPEECH):])
            return name
    return None


def to_longva(key: str) -> str:
    """Our canonical name -> the reference checkpoint's key (openai-whisper names for the speech encoder)."""
    if key.startswith(_SPEECH):
        key = _SPEECH + _rename(key[len(_SPEECH):], reverse=True)
    for theirs, ours in LONGVA_KEY_MAP:
        if key.startswith(ours):
            return theirs + key[len(ours):]
    raise KeyError(f"no LongVA name for parameter {key!r}")


def clip_is_wrapped(model: M4Model) -> bool:
    """transformers 5.0-5.5: CLIPVisionModel holds its layers under `vision_model.`; >= 5.6 it is flat."""
    return hasattr(model.vision_tower, "vision_model")


def module_name(canonical: str, wrapped: bool) -> str:
    """Canonical parameter name -> the name in this transformers version's M4Model.state_dict()."""
    if wrapped and canonical.startswith("vision_tower."):
        return "vision_tower.vision_model." + canonical[len("vision_tower."):]
    return canonical


def canonical_name(name: str, wrapped: bool) -> str:
    if wrapped and name.startswith("vision_tower.vision_model."):
        return "vision_tower." + name[len("vision_tower.vision_model."):]
    return name


def canonical_state(model: M4Model) -> dict[str, torch.Tensor]:
    """model.state_dict() under canonical names, the same on every transformers version."""
    wrapped = clip_is_wrapped(model)
    return {canonical_name(k, wrapped): v for k, v in model.state_dict().items()}


def _weight_files(path: Path) -> list[Path]:
    index = path / "model.safetensors.index.json"
    if index.exists():
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return [path / s for s in shards]
    single = path / "model.safetensors"
    if single.exists():
        return [single]
    raise CheckpointError(f"{path}: no model.safetensors or model.safetensors.index.json")


def read_config(path: str | Path) -> M4Config:
    file = Path(path) / "config.json"
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{file}: cannot read config ({exc})") from exc
    try:
        return M4Config.from_longva_json(data, source=str(file))
    except ValueError as exc:
        raise CheckpointError(str(exc)) from exc


def load_checkpoint(path: str | Path, *, device: str = "cpu", dtype: torch.dtype = torch.float32,
                    **overrides: Any) -> M4Model:
    """Build M4Model from config.json and fill every parameter from the safetensors shards."""
    from safetensors.torch import load_file

    path = Path(path)
    config = read_config(path)
    if overrides:
        config = config.model_copy(update=overrides)
    model = M4Model(config).to(dtype=dtype)
    wrapped = clip_is_wrapped(model)
    ours = canonical_state(model)
    loaded: set[str] = set()
    for file in _weight_files(path):
        tensors = load_file(str(file))
        mapped: dict[str, torch.Tensor] = {}
        for key, tensor in tensors.items():
            name = to_ours(key)
            if name is None:
                if key.startswith(IGNORED_PREFIXES):
                    continue
                raise CheckpointError(f"{file}: key {key!r} has no place in the M4 layout")
            if name not in ours:
                raise CheckpointError(f"{file}: key {key!r} maps to {name!r}, which this config does not have")
            if tuple(tensor.shape) != tuple(ours[name].shape):
                raise CheckpointError(f"{file}: key {key!r} has shape {tuple(tensor.shape)}, "
                                      f"the config expects {tuple(ours[name].shape)}")
            mapped[name] = tensor
        model.load_state_dict({module_name(k, wrapped): v for k, v in mapped.items()}, strict=False)
        loaded |= mapped.keys()
    missing = _missing(ours.keys() - loaded, model)
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {len(missing)} parameters, e.g. {to_longva(sorted(missing)[0])!r}")
    return model.to(device=device).eval()


def _missing(names: set[str], model: M4Model) -> set[str]:
    # a tied lm_head shares the embedding, so checkpoints omit it
    if model.language_model.config.tie_word_embeddings:
        names.discard("language_model.lm_head.weight")
    return names


def save_checkpoint(model: M4Model, path: str | Path, tokenizer: Any = None, *,
                    max_shard_bytes: int | None = None) -> Path:
    """Write config.json + safetensors in the LongVA layout (what load_checkpoint reads).

    `max_shard_bytes`: split into model-0000k-of-0000n.safetensors shards plus
    model.safetensors.index.json, as published checkpoints are.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {to_longva(k): v.detach().contiguous().cpu() for k, v in canonical_state(model).items()}
    if model.language_model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    if max_shard_bytes is None:
        save_file(state, str(path / "model.safetensors"), metadata={"format": "pt"})
    else:
        _save_shards(state, path, max_shard_bytes)
    (path / "config.json").write_text(json.dumps(model.config.to_longva_json(), indent=2), encoding="utf-8")
    if tokenizer is not None:
        tokenizer.save_pretrained(str(path))
    return path


def _save_shards(state: dict[str, torch.Tensor], path: Path, max_shard_bytes: int) -> None:
    from safetensors.torch import save_file

    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][key] = tensor
        size += nbytes
    weight_map: dict[str, str] = {}
    for i, shard in enumerate(shards, 1):
        name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(path / name), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(shard, name))
    total = sum(t.numel() * t.element_size() for t in state.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (path / "model.safetensors.index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")


def load_tokenizer(path: str | Path) -> Any:
    from transformers import AutoTokenizer, PretrainedConfig

    try:   # an empty config: AutoTokenizer would otherwise read config.json and warn about `llava_qwen`
        return AutoTokenizer.from_pretrained(str(path), config=PretrainedConfig())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: no usable tokenizer ({exc})") from exc
