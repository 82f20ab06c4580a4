"""Training recipes as YAML files (m4/training/recipes/NAME.yaml), with key=value overrides from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from omnibench.errors import ConfigError

RECIPES_DIR = Path(__file__).parent / "recipes"
DEEPSPEED_DIR = Path(__file__).parent / "deepspeed"


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    # model: a checkpoint directory (LongVA layout), or "tiny" (random weights, in-memory tokenizer)
    base: str = "tiny"
    tiny: dict[str, Any] = Field(default_factory=dict)      # M4Config overrides (text/vision sizes) for base=tiny
    # base=tiny: "bytes" (one token a byte) or "bpe" (byte-level BPE learnt from the training text)
    tokenizer: Literal["bytes", "bpe"] = "bytes"
    tokenizer_vocab_size: int = 1024
    # data: an M4-IT json + media folder, or "synth" (built from the synthetic suite, see synthdata.py)
    data: str = "synth"
    media_root: str = "."
    speech_root: str | None = None             # where {id}_{k}.wav live (default: media_root)
    synth_seed: int = 1
    synth_n_per_task: int = 20
    synth_tasks: list[str] | None = None       # the suite's tasks the data is built from (default: all of them)
    phrase_augment: float = 0.0                # share of noise/stop phrases given a filler prefix/suffix
    phrase_generated: int = 0                  # generated phrases per kind added to the train lists (phrase_templates.py)
    phrase_mix: float = 0.0                    # share of noise/stop phrases said together with a short noise statement
    query_indirect: float = 0.0                # share of questions asked as indirect requests ("I'm curious what ...")
    synth_counts: dict[str, int] = Field(default_factory=lambda: {"original": 300, "interleave": 150,
                                                                  "noise": 350, "stop": 300})
    synth_first_placement: float = 0.5         # share of noise/stop turns right after the image
    synth_max_frames: int = 24
    synth_colour_questions: bool = False       # ask every suite video the square's / circle's colour it shows
    # base=tiny: first train the vision tower + projector to say what each frame token shows
    # (vision_pretrain.py), as M4's pretrained CLIP already can; 0 = off
    vision_pretrain_steps: int = 0
    vision_pretrain_scenes: int = 1600
    frames_per_video: int = 16
    anyres_grids: list[tuple[int, int]] = Field(default_factory=lambda: [(2, 2)])
    # what trains
    tune_vision_tower: bool = False
    tune_projector: bool = True
    tune_language_model: bool = True
    tune_speech_projector: bool = False
    # optimisation (the HF Trainer's names where they exist)
    learning_rate: float = 1e-5
    loss_per_sample: bool = False              # average the loss within each sample first (reference: over all tokens)
    vision_learning_rate: float | None = None
    num_train_epochs: float = 1.0
    max_steps: int = -1
    max_minutes: float | None = None           # the whole command's wall-clock budget: every stage keeps to its share
    warn_below_steps: int = 0                  # a warning when training made fewer steps than this (0: none)
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 1
    bf16: bool = False
    tf32: bool = False
    gradient_checkpointing: bool = False
    model_max_length: int = 32000
    position_gap: int = 0                      # random 0..N position ids skipped after the media (sft.py)
    deepspeed: str | None = None               # zero1 | zero2 | zero3 | zero3_offload | zero1_offload | a path
    attn_implementation: Literal["auto", "sdpa", "eager", "flash_attention_2"] = "auto"
    dataloader_num_workers: int = 0
    group_by_length: bool = False              # batches of similar length: less padding
    logging_steps: int = 10
    save_steps: int = 0                        # 0: save only at the end
    seed: int = 0
    output_dir: str = "runs/m4-train"
    select_at: list[float] = Field(default_factory=list)  # shares of the run at which validation picks the snapshot
    calibrate_noise_test: bool = False         # fit the noise test's cap/scale on held-out phrases (calibrate.py)
    checkpoint_dtype: Literal["float32", "bfloat16", "float16"] = "float32"


    @field_validator("synth_tasks")
    @classmethod
    def _suite_tasks(cls, tasks: list[str] | None) -> list[str] | None:
        from omnibench.data.synth import SYNTH_TASKS

        unknown = [t for t in tasks or () if t not in SYNTH_TASKS]
        if unknown:
            raise ValueError(f"no synthetic task {unknown[0]!r}; the suite has {', '.join(SYNTH_TASKS)}")
        return tasks


def recipe_names() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def load_recipe(name_or_path: str, overrides: list[str] | dict[str, Any] = ()) -> Recipe:
    """A recipe by name (m4/training/recipes/NAME.yaml) or path, with overrides `key=value` (values parsed as YAML)."""
    path = Path(name_or_path)
    if not path.suffix:
        path = RECIPES_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        raise ConfigError(f"no recipe {name_or_path!r}; known: {', '.join(recipe_names())}")
    data = _read_yaml(path)
    items = overrides.items() if isinstance(overrides, dict) else [_split(o) for o in overrides]
    for key, value in items:
        target = data
        parts = key.split(".")
        for part in parts[:-1]:                # dotted keys reach into dicts: tiny.text.hidden_size=128
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ConfigError(f"override {key}: {part} is not a mapping in {path}")
        target[parts[-1]] = _parse_yaml(value, f"command-line override {key}") if isinstance(value, str) else value
    try:
        return Recipe(**data)
    except ValidationError as exc:     # each problem named where it came from: an override or the YAML file
        given = dict(items)
        problems = []
        for err in exc.errors():
            field = ".".join(str(x) for x in err["loc"])
            key = next((k for k in given if field == k or field.startswith(k + ".")), None)
            where = f"command-line override {key}={given[key]}" if key else f"{path} field {field}"
            problems.append(f"{where}: {err['msg']}")
        raise ConfigError("; ".join(problems) + " (`omnibench m4 train --help`; the recipe's fields are in "
                          "omnibench/m4/training/recipe.py)") from exc


def _read_yaml(path: Path) -> dict[str, Any]:
    """The recipe file as a mapping; bad UTF-8, bad YAML, deep nesting or huge numbers are a ConfigError naming it."""
    from omnibench.errors import DataError
    from omnibench.safejson import read_text

    try:
        text = read_text(path)                 # names the line of a bad byte
    except DataError as exc:
        raise ConfigError(str(exc)) from None
    data = _parse_yaml(text, f"recipe {path}") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"recipe {path}: expected a mapping of field: value, got {type(data).__name__}")
    return data


def _parse_yaml(text: str, where: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        raise ConfigError(f"{where}:{at} not valid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML ({exc})") from None
    except RecursionError:             # PyYAML composes recursively: a few thousand brackets exhaust the stack
        raise ConfigError(f"{where}: nested too deeply") from None
    except ValueError as exc:          # int() of a 5000-digit number
        raise ConfigError(f"{where}: {str(exc)[:160]}") from None


def _split(item: str) -> tuple[str, str]:
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like key=value")
    key, value = item.split("=", 1)
    return key.strip(), value


def deepspeed_config_path(name: str | None) -> Path | None:
    if not name:
        return None
    path = Path(name)
    if path.suffix != ".json":
        path = DEEPSPEED_DIR / f"{name}.json"
    if not path.exists():
        raise ConfigError(f"no DeepSpeed config {name!r} (looked for {path})")
    return path
