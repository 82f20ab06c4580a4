"""M4 SFT through the HF Trainer: tunable parts, separate vision lr, DeepSpeed / flash-attn when present.

`omnibench m4 train --recipe NAME [key=value ...]` -> main_train(argv)
`omnibench m4 build-data ...`                     -> main_build_data(argv) (in itdata_cli.py)
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from omnibench.m4.training.callbacks import DATA_SHARE, VISION_SHARE, SnapshotSelector, TimeBudget
from omnibench.m4.training.recipe import Recipe, deepspeed_config_path, load_recipe

try:                                         # the Trainer wants a real nn.Module subclass
    from torch import nn as _nn
    _Module = _nn.Module
except ImportError:                          # pragma: no cover - torch is required to train anyway
    _Module = object


class M4ForTraining(_Module):
    """M4Model with a differentiable forward: placeholder positions get frame / speech embeddings."""

    def __init__(self, m4: Any, tune_vision_tower: bool = False, loss_per_sample: bool = False):
        super().__init__()
        self.m4 = m4
        self.tune_vision_tower = tune_vision_tower
        self.loss_per_sample = loss_per_sample

    def image_features(self, pixels):
        import torch

        cfg = self.m4.config
        with torch.set_grad_enabled(self.tune_vision_tower and torch.is_grad_enabled()):
            out = self.m4.vision_tower(pixel_values=pixels.to(self.m4.dtype), output_hidden_states=True)
            features = out.hidden_states[cfg.vision_select_layer]
        if cfg.vision_select_feature == "patch":
            features = features[:, 1:]
        return self.m4.pool(self.m4.projector(features))

    def forward(self, input_ids, labels=None, attention_mask=None, pixel_values=None, speech_mel=None,
                position_ids=None, **_: Any):
        from omnibench.m4.training.sft import IMAGE_ID, SPEECH_ID

        lm = self.m4.language_model
        embeds = lm.get_input_embeddings()(input_ids.clamp(min=0))
        for sentinel, media, encode in ((IMAGE_ID, pixel_values, self.image_features),
                                        (SPEECH_ID, speech_mel, self._speech)):
            slots = input_ids == sentinel
            if media is None:
                if bool(slots.any()):
                    raise ValueError(f"batch has placeholder positions ({sentinel}) but no media")
                continue
            feats = encode(media).reshape(-1, embeds.shape[-1]).to(embeds.dtype)
            if feats.shape[0] != int(slots.sum()):
                raise ValueError(f"{int(slots.sum())} placeholder positions for {feats.shape[0]} media embeddings")
            embeds = embeds.masked_scatter(slots.unsqueeze(-1), feats)
        if not self.loss_per_sample or labels is None:
            return lm(inputs_embeds=embeds, attention_mask=attention_mask, position_ids=position_ids, labels=labels,
                      use_cache=False)
        out = lm(inputs_embeds=embeds, attention_mask=attention_mask, position_ids=position_ids, use_cache=False)
        out.loss = per_sample_loss(out.logits, labels)
        return out

    def _speech(self, mel):
        if self.m4.speech is None:
            raise ValueError("speech placeholders, but the model has no speech encoder")
        return self.m4.speech(mel.to(self.m4.dtype))


def per_sample_loss(logits, labels):
    """Next-token cross-entropy averaged within each sample, then over samples: a one-token reply
    (a noise or stop decision) weighs as much as a long answer, not 1/len of it."""
    import torch.nn.functional as F

    from omnibench.m4.training.sft import IGNORE

    targets = labels[:, 1:]
    token = F.cross_entropy(logits[:, :-1].float().transpose(1, 2), targets, ignore_index=IGNORE, reduction="none")
    counted = (targets != IGNORE).sum(dim=1)
    keep = counted > 0
    return (token.sum(dim=1)[keep] / counted[keep]).mean()


def set_trainable(model: Any, recipe: Recipe) -> dict[str, int]:
    """requires_grad per part; returns trainable parameter counts per part."""
    parts = {"vision_tower": (model.vision_tower, recipe.tune_vision_tower),
             "projector": (model.projector, recipe.tune_projector),
             "language_model": (model.language_model, recipe.tune_language_model)}
    if model.speech is not None:
        parts["speech_encoder"] = (model.speech.encoder, False)          # Whisper stays frozen
        parts["speech_projector"] = (model.speech.projector, recipe.tune_speech_projector)
    counts = {}
    for name, (module, on) in parts.items():
        for p in module.parameters():
            p.requires_grad_(on)
        counts[name] = sum(p.numel() for p in module.parameters()) if on else 0
    return counts


def param_groups(model: Any, recipe: Recipe) -> list[dict]:
    vision = [p for p in model.vision_tower.parameters() if p.requires_grad]
    ids = {id(p) for p in vision}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    groups = [{"params": rest, "lr": recipe.learning_rate, "weight_decay": recipe.weight_decay}]
    if vision:
        groups.append({"params": vision, "lr": recipe.vision_learning_rate or recipe.learning_rate,
                       "weight_decay": recipe.weight_decay})
    return groups


def build_model(recipe: Recipe, records: list[dict] = ()):
    """(M4Model, tokenizer) from the recipe's base: a checkpoint directory or "tiny".

    A tiny base with `tokenizer: bpe` learns its tokenizer from the records' text first.
    """
    import torch

    if recipe.base == "tiny":
        from omnibench.m4.model.chatml_tokenizer import build_chatml_tokenizer, train_chatml_tokenizer
        from omnibench.m4.model.config import tiny_config
        from omnibench.m4.model.modeling import build_model as build

        if recipe.tokenizer == "bpe":
            texts = [turn["value"] for record in records for turn in record["conversations"]]
            tokenizer = train_chatml_tokenizer(texts, recipe.tokenizer_vocab_size)
        else:
            tokenizer = build_chatml_tokenizer()
        overrides = dict(recipe.tiny)
        if "text" in overrides:           # the vocabulary is the tokenizer's, whatever the recipe says
            overrides["text"] = {**overrides["text"], "vocab_size": len(tokenizer)}
        model = build(tiny_config(vocab_size=len(tokenizer), **overrides), seed=recipe.seed)
    else:
        from omnibench.m4.model.checkpoint import load_checkpoint, load_tokenizer

        dtype = torch.bfloat16 if recipe.bf16 else torch.float32
        model, tokenizer = load_checkpoint(recipe.base, dtype=dtype), load_tokenizer(recipe.base)
    _attention(model, recipe.attn_implementation)
    return model.train(), tokenizer


def _attention(model: Any, wanted: str) -> None:
    import torch

    if wanted == "auto":
        flash = importlib.util.find_spec("flash_attn") is not None and torch.cuda.is_available()
        wanted = "flash_attention_2" if flash else "sdpa"
    if wanted != model.language_model.config._attn_implementation:
        try:
            model.language_model.set_attn_implementation(wanted)
        except (AttributeError, ValueError, ImportError):
            model.language_model.config._attn_implementation = wanted


def prepare_records(recipe: Recipe, out_dir: Path, budget: TimeBudget | None = None) -> tuple[list[dict], Path]:
    """(M4-IT records, media root): the recipe's json, or M4-IT built from the synthetic suite, video by
    video until the budget's DATA_SHARE is spent (then with the videos built so far, and a warning)."""
    from omnibench.m4.training.itdata import build_m4it, load_records, validate, write

    if recipe.data != "synth":
        return load_records(recipe.data), Path(recipe.media_root)
    from omnibench.data.synth import task_counts
    from omnibench.m4.training import phrase_templates, phrases, synthdata

    data_dir = out_dir / "data"
    until = budget.at(DATA_SHARE) if budget is not None else None
    counts = task_counts(recipe.synth_n_per_task)
    total = sum(counts[t] for t in recipe.synth_tasks or counts)
    print(f"m4 train: synthetic suite (seed {recipe.synth_seed}), frames and questions of {total} videos ...",
          file=sys.stderr, flush=True)
    source: list[dict] = []
    videos = synthdata.source_questions(data_dir, seed=recipe.synth_seed, n_per_task=recipe.synth_n_per_task,
                                        max_frames=recipe.synth_max_frames,
                                        colour_questions=recipe.synth_colour_questions, progress=sys.stderr.isatty(),
                                        until=until, tasks=recipe.synth_tasks)
    done = 0
    for records in videos:
        source, done = source + records, done + 1
        if until is not None and time.monotonic() >= until:
            break
    if done < total and budget is not None:
        budget.warn(f"data building stopped at its share of max_minutes ({DATA_SHARE:.0%}): {done} of {total} "
                    f"suite videos, {len(source)} source questions")
    more = recipe.phrase_generated
    noise = phrases.NOISE_TRAIN + phrase_templates.generated("noise", more, recipe.seed)
    stop = phrases.STOP_TRAIN + phrase_templates.generated("stop", more, recipe.seed)
    records, reused = build_m4it(source, recipe.synth_counts, seed=recipe.seed, noise_phrases=noise, stop_phrases=stop,
                                 first_placement=recipe.synth_first_placement, augment=recipe.phrase_augment,
                                 mix=recipe.phrase_mix, indirect_share=recipe.query_indirect)
    report = validate(records).model_copy(update={"reused_sources": reused, "seed": recipe.seed})
    write(records, report, data_dir)
    print(f"m4 train: {report.total} M4-IT samples {report.counts} from {len(source)} source questions "
          f"(reused_sources {reused}: sources used more than once; duplicate_conversations "
          f"{report.duplicate_conversations}: samples identical word for word to another)", file=sys.stderr, flush=True)
    return records, data_dir


def train(recipe: Recipe, records: list[dict] | None = None, media_root: str | Path | None = None,
          started: float | None = None) -> dict:
    """Train as the recipe says; save a LongVA-layout checkpoint; return a summary (also written to disk).

    `started` (time.monotonic() at the command's start, default now): max_minutes counts from it, and
    every stage keeps to its share of it (callbacks.TimeBudget): data building, vision pretraining
    (rendering included), training, the validation passes and the save. What a stage had to cut is
    in the summary's `warnings`."""
    import torch
    from transformers import Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    from omnibench.m4.model.checkpoint import save_checkpoint
    from omnibench.m4.training.sft import PaddingCollator, SFTDataset

    time_cosine = recipe.lr_scheduler_type == "time_cosine"
    if time_cosine and recipe.max_minutes is None:
        raise ValueError("lr_scheduler_type time_cosine needs max_minutes")
    budget = TimeBudget(recipe.max_minutes, time_cosine, recipe.warmup_ratio, start=started)
    out_dir = Path(recipe.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(recipe.seed)
    stages = _Stages(budget.start)
    stages.end("start")                 # imports (torch, transformers) since the command began
    if records is None:
        records, media_root = prepare_records(recipe, out_dir, budget)
    stages.end("data")
    model, tokenizer = build_model(recipe, records)
    stages.end("model")
    vision = _pretrain_vision(model, recipe, budget) if recipe.vision_pretrain_steps else None
    stages.end("vision_pretrain")
    trainable = set_trainable(model, recipe)
    wrapper = M4ForTraining(model, recipe.tune_vision_tower, recipe.loss_per_sample)
    if recipe.gradient_checkpointing:
        model.language_model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if recipe.tune_vision_tower:
            model.vision_tower.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    cuda = torch.cuda.is_available()
    if recipe.tf32 and cuda:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    dataset = SFTDataset(records, tokenizer, model.config, media_root=media_root or ".",
                         frames_per_video=recipe.frames_per_video, max_length=recipe.model_max_length,
                         anyres_grids=tuple(tuple(g) for g in recipe.anyres_grids), speech_root=recipe.speech_root,
                         position_gap=recipe.position_gap)
    deepspeed = deepspeed_config_path(recipe.deepspeed)
    use_deepspeed = bool(deepspeed) and cuda and importlib.util.find_spec("deepspeed") is not None
    args = TrainingArguments(
        output_dir=str(out_dir / "trainer"), per_device_train_batch_size=recipe.per_device_train_batch_size,
        gradient_accumulation_steps=recipe.gradient_accumulation_steps, learning_rate=recipe.learning_rate,
        num_train_epochs=recipe.num_train_epochs, max_steps=recipe.max_steps,
        lr_scheduler_type="constant" if time_cosine else recipe.lr_scheduler_type,
        warmup_steps=0 if time_cosine else recipe.warmup_ratio,  # v5: a float < 1 is a ratio
        weight_decay=recipe.weight_decay, bf16=recipe.bf16, logging_steps=recipe.logging_steps,
        save_strategy="steps" if recipe.save_steps else "no", save_steps=recipe.save_steps or 500,
        seed=recipe.seed, data_seed=recipe.seed, report_to="none", remove_unused_columns=False,
        dataloader_num_workers=recipe.dataloader_num_workers, use_cpu=not cuda,
        train_sampling_strategy="group_by_length" if recipe.group_by_length else "random",
        deepspeed=str(deepspeed) if use_deepspeed else None, disable_tqdm=True)
    seen = None
    if vision:           # the tower was taught to see: a snapshot that does not read its frames loses
        from omnibench.m4.training.vision_pretrain import colour_checks

        seen = functools.partial(colour_checks, seed=recipe.seed, max_frames=recipe.frames_per_video)
    selector = (SnapshotSelector(model, tokenizer, *_validation_inputs(records, Path(media_root or ".")),
                                 points=recipe.select_at, budget=budget, seen=seen) if recipe.select_at else None)
    # our JSONs carry no optimizer section, so this AdamW (with its vision-lr group) is used with DeepSpeed too
    optimizer = torch.optim.AdamW(param_groups(model, recipe), lr=recipe.learning_rate)
    trainer = Trainer(model=wrapper, args=args, train_dataset=dataset, data_collator=PaddingCollator(dataset.pad_id),
                      callbacks=[budget] + ([selector] if selector else []), optimizers=(optimizer, None))
    trainer.remove_callback(PrinterCallback)     # it prints log dicts to stdout; the budget logs to stderr
    train_started = time.monotonic()
    result = trainer.train()
    seconds = time.monotonic() - train_started
    stages.end("train")
    steps = int(result.global_step)
    if selector:
        selector.finish(steps)
    stages.end("final_validation")
    if steps < recipe.warn_below_steps:
        budget.warn(f"training made {steps} step(s), fewer than {recipe.warn_below_steps} (the recipe's "
                    "warn_below_steps): the model is likely undertrained; give it more max_minutes")
    final = model if recipe.checkpoint_dtype == "float32" else model.to(getattr(torch, recipe.checkpoint_dtype))
    checkpoint = save_checkpoint(final.eval(), out_dir / "checkpoint", tokenizer)
    calibration = None
    if recipe.calibrate_noise_test:
        if budget.left() > 0:
            calibration = _calibrate(checkpoint, records, Path(media_root or "."))
        else:
            budget.warn("noise test calibration skipped: max_minutes is spent")
    stages.end("save")
    summary = {"recipe": recipe.name, "steps": steps, "train_seconds": round(seconds, 1),
               "samples": len(dataset), "losses": budget.losses, "trainable": trainable, "vision_pretrain": vision,
               "parameters": sum(p.numel() for p in model.parameters()), "checkpoint": str(checkpoint),
               "deepspeed": str(deepspeed) if use_deepspeed else None,
               "attn_implementation": model.language_model.config._attn_implementation,
               "noise_test_calibration": calibration,
               "validation": selector.scores if selector else None,
               "selected_step": selector.selected_step if selector else None,
               "max_minutes": recipe.max_minutes, "seconds": round(time.monotonic() - budget.start, 1),
               "stage_seconds": stages.seconds, "warnings": budget.warnings}
    summary = finite(summary)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False), encoding="utf-8")
    return summary


class _Stages:
    """Wall seconds of each stage, for the summary (where the budget went)."""

    def __init__(self, start: float):
        self.last = start
        self.seconds: dict[str, float] = {}

    def end(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name], self.last = round(now - self.last, 1), now


def _pretrain_vision(model: Any, recipe: Recipe, budget: TimeBudget) -> dict:
    """The tower and projector taught to see first, within VISION_SHARE of the budget (what is left of it)."""
    from omnibench.m4.training.vision_pretrain import pretrain_vision

    share = None if budget.limit is None else max(0.0, min(VISION_SHARE * budget.limit, budget.left()))
    vision = pretrain_vision(model, steps=recipe.vision_pretrain_steps, scenes=recipe.vision_pretrain_scenes,
                             seed=recipe.seed, max_seconds=share)
    print(f"m4 train: vision pretraining {vision}", file=sys.stderr, flush=True)
    if vision["steps"] < recipe.vision_pretrain_steps or vision["scenes"] < recipe.vision_pretrain_scenes:
        budget.warn(f"vision pretraining stopped at its share of max_minutes ({VISION_SHARE:.0%}, {share:.0f} s): "
                    f"{vision['steps']} of {recipe.vision_pretrain_steps} steps on {vision['scenes']} of "
                    f"{recipe.vision_pretrain_scenes} scenes")
    model.train()
    return vision


def finite(value: Any) -> Any:
    """`value` with every NaN or infinite float replaced by None (strict JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _validation_inputs(records: list[dict], media_root: Path) -> tuple[list, list[str]]:
    """(frames, questions) the validation phrases are decided over: a training video's frames and
    questions of the training data (a question must still be answered)."""
    import numpy as np

    with_npy = [r for r in records if str(r.get("image", "")).endswith(".npy")]
    frames = list(np.load(media_root / with_npy[0]["image"])) if with_npy else []
    questions = [t["value"].replace("<image>", "").strip() for r in records if r.get("category") == "original"
                 for t in r["conversations"][:1]]
    return frames, list(dict.fromkeys(questions))[:40]


def _calibrate(checkpoint: Path, records: list[dict], media_root: Path) -> dict:
    """The noise test fitted on held-out phrases, over frames and questions of the training data."""
    from omnibench.m4.inference.calibrate import calibrate

    return calibrate(checkpoint, *_validation_inputs(records, media_root))


def train_parser() -> argparse.ArgumentParser:
    from omnibench.m4.training.recipe import recipe_names

    parser = argparse.ArgumentParser(prog="omnibench m4 train", description="Fine-tune M4 with a recipe")
    parser.add_argument("--recipe", required=True, help=f"a name in omnibench/m4/training/recipes "
                                                         f"({', '.join(recipe_names())}) or a YAML path")
    parser.add_argument("overrides", nargs="*", help="key=value, e.g. learning_rate=2e-5 output_dir=runs/x")
    return parser


def process_start() -> float:
    """time.monotonic() when this process began (Linux: /proc), else now: max_minutes counts from the
    command's start, interpreter and imports included."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        began = int(fields[19]) / os.sysconf("SC_CLK_TCK")          # seconds after boot
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return time.monotonic()
    return time.monotonic() - max(0.0, uptime - began)


def main_train(argv: list[str] | None = None) -> int:
    started = process_start()
    args = train_parser().parse_args(argv)
    recipe = load_recipe(args.recipe, args.overrides)
    summary = train(recipe, started=started)
    final = (summary["losses"] or [None])[-1]
    print(json.dumps({k: v for k, v in summary.items() if k != "losses"} | {"final_loss": final}, allow_nan=False))
    return 0


def main_build_data(argv: list[str] | None = None) -> int:
    from omnibench.m4.training.itdata_cli import main_build_data as run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main_train())
