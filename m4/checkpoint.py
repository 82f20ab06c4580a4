"""Real LongVA / M4 checkpoints (safetensors + config.json) into M4Model, through an explicit key map.

LongVA's LlavaQwenForCausalLM nests everything under `model.` except `lm_head`: the Qwen2 body
(`model.embed_tokens`, `model.layers.*`, `model.norm`), the CLIP tower wrapped twice
(`model.vision_tower.vision_tower.vision_model.*`; transformers v5's CLIPVisionModel
drops the `vision_model.` level), the projector as an nn.Sequential
(`model.mm_projector.0/2`), and for the audio model the speech encoder and projector
(`model.speech_encoder.*`, `model.speech_projector.linear1/2`, LLaMA-Omni's names).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from omnibench.m4.config import M4Config
from omnibench.m4.modeling import M4Model

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


def to_ours(key: str) -> str | None:
    if key.startswith(IGNORED_PREFIXES):
        return None
    for theirs, ours in LONGVA_KEY_MAP:
        if key.startswith(theirs):
            return ours + key[len(theirs):]
    return None


def to_longva(key: str) -> str:
    for theirs, ours in LONGVA_KEY_MAP:
        if key.startswith(ours):
            return theirs + key[len(ours):]
    raise KeyError(f"no LongVA name for parameter {key!r}")


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
    ours = model.state_dict()
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
        model.load_state_dict(mapped, strict=False)
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


def save_checkpoint(model: M4Model, path: str | Path, tokenizer: Any = None) -> Path:
    """Write config.json + model.safetensors in the LongVA layout (what load_checkpoint reads)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {to_longva(k): v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if model.language_model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, str(path / "model.safetensors"), metadata={"format": "pt"})
    (path / "config.json").write_text(json.dumps(model.config.to_longva_json(), indent=2), encoding="utf-8")
    if tokenizer is not None:
        tokenizer.save_pretrained(str(path))
    return path


def load_tokenizer(path: str | Path) -> Any:
    from transformers import AutoTokenizer, PretrainedConfig

    try:   # an empty config: AutoTokenizer would otherwise read config.json and warn about `llava_qwen`
        return AutoTokenizer.from_pretrained(str(path), config=PretrainedConfig())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: no usable tokenizer ({exc})") from exc
