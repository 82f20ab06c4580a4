"""Training: loss falls on a fixed batch, the Trainer path saves a checkpoint that loads back, recipes and
DeepSpeed configs are valid. The tiny_cpu end-to-end thresholds are a slow test."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from omnibench.m4.training.recipe import DEEPSPEED_DIR, load_recipe, recipe_names  # noqa: E402


def _records(tmp_path: Path) -> list[dict]:
    rng = np.random.default_rng(0)
    np.save(tmp_path / "a.npy", rng.integers(0, 255, (2, 28, 28, 3), dtype=np.uint8))
    return [
        {"id": "q", "image": "a.npy", "conversations": [{"from": "human", "value": "<image>\nWhat colour?"},
                                                        {"from": "gpt", "value": "red"}]},
        {"id": "n", "image": "a.npy", "conversations": [{"from": "human", "value": "<image>\nNice weather."},
                                                        {"from": "gpt", "value": "<|im_start|>"}]},
        {"id": "s", "image": "a.npy", "conversations": [{"from": "human", "value": "<image>\nStop."},
                                                        {"from": "gpt", "value": "<|im_end|>"}]},
    ]


def test_loss_falls_on_a_fixed_batch(tmp_path):
    from omnibench.m4.training.sft import PaddingCollator, SFTDataset
    from omnibench.m4.training.train import M4ForTraining, build_model, param_groups, set_trainable

    recipe = load_recipe("tiny_cpu", {"tiny": {}, "tune_vision_tower": True, "vision_learning_rate": 1e-4})
    model, tok = build_model(recipe)
    counts = set_trainable(model, recipe)
    assert counts["vision_tower"] > 0 and counts["language_model"] > 0
    groups = param_groups(model, recipe)
    assert [g["lr"] for g in groups] == [recipe.learning_rate, 1e-4]
    ds = SFTDataset(_records(tmp_path), tok, model.config, media_root=tmp_path)
    batch = PaddingCollator(ds.pad_id)([ds[i] for i in range(len(ds))])
    wrapper = M4ForTraining(model, tune_vision_tower=True)
    opt = torch.optim.AdamW(groups, lr=recipe.learning_rate)
    losses = []
    for _ in range(25):
        loss = wrapper(**batch).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]
    assert model.vision_tower.embeddings.patch_embedding.weight.grad is not None   # the tower trained too


def test_per_sample_loss_weighs_every_sample_alike():
    from omnibench.m4.training.sft import IGNORE
    from omnibench.m4.training.train import per_sample_loss

    logits = torch.randn(2, 5, 7)
    labels = torch.tensor([[IGNORE, 1, 2, 3, 4], [IGNORE, IGNORE, IGNORE, IGNORE, 6]])
    token = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 7), labels[:, 1:].reshape(-1),
                                              ignore_index=IGNORE, reduction="none").view(2, 4)
    expected = (token[0].sum() / 4 + token[1, 3]) / 2             # the one-token sample counts half
    assert per_sample_loss(logits, labels) == pytest.approx(float(expected), rel=1e-5)
    pooled = token.sum() / 5                                      # the reference: 1/5 for that token
    assert float(pooled) != pytest.approx(float(expected))


def test_frozen_parts_get_no_gradient(tmp_path):
    from omnibench.m4.training.sft import PaddingCollator, SFTDataset
    from omnibench.m4.training.train import M4ForTraining, build_model, set_trainable

    recipe = load_recipe("tiny_cpu", {"tiny": {}, "tune_language_model": False})
    model, tok = build_model(recipe)
    set_trainable(model, recipe)
    ds = SFTDataset(_records(tmp_path), tok, model.config, media_root=tmp_path)
    M4ForTraining(model)(**PaddingCollator(ds.pad_id)([ds[0]])).loss.backward()
    assert all(p.grad is None for p in model.language_model.parameters())
    assert all(p.grad is None for p in model.vision_tower.parameters())
    assert model.projector[0].weight.grad is not None


def test_trainer_run_saves_a_checkpoint_that_loads_back(tmp_path):
    from omnibench.m4.model.checkpoint import load_checkpoint, load_tokenizer
    from omnibench.m4.training.train import train

    recipe = load_recipe("tiny_cpu", {"tiny": {}, "max_steps": 3, "max_minutes": None, "logging_steps": 1, "select_at": [],
                                      "lr_scheduler_type": "cosine", "vision_pretrain_steps": 5, "vision_pretrain_scenes": 8,
                                      "per_device_train_batch_size": 2, "output_dir": str(tmp_path / "run"),
                                      "checkpoint_dtype": "float32"})
    summary = train(recipe, _records(tmp_path), tmp_path)
    assert summary["steps"] == 3 and len(summary["losses"]) == 3
    ckpt = Path(summary["checkpoint"])
    loaded = load_checkpoint(ckpt)
    tok = load_tokenizer(ckpt)
    start = tok.convert_tokens_to_ids("<|im_start|>")
    assert tok.decode(tok("What colour?")["input_ids"]) == "What colour?"
    assert len(tok) == loaded.config.text["vocab_size"]        # the recipe's tokenizer, learnt from the records
    ids = torch.tensor([[5, 6, 7, start]])
    from omnibench.m4.training.train import build_model

    fresh, _ = build_model(recipe, _records(tmp_path))
    with torch.no_grad():
        a = loaded.language_model(input_ids=ids).logits
        b = fresh.language_model(input_ids=ids).logits
    assert not torch.allclose(a, b)          # trained weights, not a fresh init
    saved = json.loads((ckpt.parent / "summary.json").read_text())
    assert saved["steps"] == 3 and saved["vision_pretrain"]["steps"] == 5
    fresh_tower = fresh.vision_tower.state_dict()
    assert any(not torch.equal(v, fresh_tower[k]) for k, v in loaded.vision_tower.state_dict().items())


def _strict(text: str) -> dict:
    """One JSON object, as a strict parser reads it (a bare NaN or Infinity is refused)."""
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_stdout_is_one_strict_json_object_with_the_warnings(tmp_path, capsys):
    """A budget too short for anything (0.01 min): vision pretraining makes few steps or none (no loss:
    once a bare NaN), training one; stdout is still one strict JSON object (no NaN, no Trainer log
    dicts) and it says what was cut."""
    from omnibench.m4.training.train import main_train

    (tmp_path / "m4it.json").write_text(json.dumps(_records(tmp_path)))
    assert main_train(["--recipe", "tiny_cpu", "tiny={}", f"data={tmp_path / 'm4it.json'}", f"media_root={tmp_path}",
                       "max_minutes=0.01", "select_at=[]", "vision_pretrain_steps=50", "vision_pretrain_scenes=40",
                       "logging_steps=1", "per_device_train_batch_size=2", "warn_below_steps=100",
                       f"output_dir={tmp_path / 'run'}"]) == 0
    out, err = capsys.readouterr()
    summary = _strict(out)
    assert summary["steps"] >= 1 and summary["vision_pretrain"]["steps"] < 50
    assert any("fewer than 100" in w for w in summary["warnings"]), summary["warnings"]
    assert any("vision pretraining" in w for w in summary["warnings"]), summary["warnings"]
    assert "warning: " in err
    saved = _strict((tmp_path / "run" / "summary.json").read_text())
    assert saved["warnings"] == summary["warnings"]


def test_the_budget_counts_from_the_process_start():
    """The command's start is when the process began (interpreter and imports count: on a busy machine
    they took 19 s of a 3-minute run), not when main_train was reached."""
    import subprocess
    import sys

    code = ("import time; time.sleep(1.0); from omnibench.m4.training.train import process_start; "
            "print(time.monotonic() - process_start())")
    since = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert 1.0 <= since < 60.0


def test_data_building_stops_at_its_share_of_the_budget(tmp_path, monkeypatch):
    """The synthetic suite and its frames are built video by video (each part when first reached);
    at its share of max_minutes the data stage stops with what it has, and says so."""
    from omnibench.m4.training import synthdata, train

    clock = [0.0]
    monkeypatch.setattr(train.time, "monotonic", lambda: clock[0])
    records = _records(tmp_path)

    from omnibench.data.synth import task_counts

    recipe = load_recipe("tiny_cpu", {"max_minutes": 1.0, "synth_counts": {"original": 4, "interleave": 2,
                                                                            "noise": 2, "stop": 2}})
    every = sum(task_counts(40)[t] for t in recipe.synth_tasks)          # the recipe's tasks only
    asked = {}

    def source_questions(out_dir, **settings):
        asked.update(settings)
        for k in range(every):
            clock[0] += 1.0
            yield [dict(records[0], id=f"v{k}")]

    monkeypatch.setattr(synthdata, "source_questions", source_questions)
    from omnibench.m4.training.callbacks import DATA_SHARE, TimeBudget

    budget = TimeBudget(recipe.max_minutes, start=0.0)
    built, _ = train.prepare_records(recipe, tmp_path / "out", budget)
    assert clock[0] <= DATA_SHARE * 60 + 1
    assert len({r["id"] for r in built if r.get("category") == "original"}) <= DATA_SHARE * 60 + 1
    assert any("data building" in w and f"of {every}" in w for w in budget.warnings), budget.warnings
    assert asked["tasks"] == recipe.synth_tasks and asked["until"] == DATA_SHARE * 60


def test_the_tiny_recipe_keeps_the_suite_tasks_its_checkpoint_was_trained_on():
    """A task added to the suite later (synth_forward) does not change what tiny_cpu trains on."""
    from omnibench.errors import ConfigError

    assert load_recipe("tiny_cpu").synth_tasks == ["synth_ap", "synth_md", "synth_noise", "synth_pa", "synth_pt",
                                                   "synth_sg", "synth_si", "synth_stop"]
    assert load_recipe("m4_longva_7b").synth_tasks is None
    with pytest.raises(ConfigError, match="synth_tasks.*no synthetic task 'synth_nope'"):
        load_recipe("tiny_cpu", ["synth_tasks=[synth_nope]"])


def test_recipes_load_and_take_overrides():
    assert {"m4_longva_7b", "m4_audio", "tiny_cpu"} <= set(recipe_names())
    r7 = load_recipe("m4_longva_7b")
    assert (r7.learning_rate, r7.vision_learning_rate) == (1e-5, 2e-6)
    assert (r7.deepspeed, r7.model_max_length) == ("zero3", 32000)
    assert r7.tune_vision_tower and r7.bf16 and r7.tf32 and r7.gradient_checkpointing
    audio = load_recipe("m4_audio")
    assert not audio.tune_vision_tower and audio.deepspeed == "zero1_offload" and audio.gradient_accumulation_steps == 8
    tiny = load_recipe("tiny_cpu", ["learning_rate=1e-3", "tiny.text.hidden_size=96"])
    assert tiny.learning_rate == 1e-3 and tiny.tiny["text"]["hidden_size"] == 96
    from omnibench.errors import ConfigError

    with pytest.raises(ConfigError, match="known"):
        load_recipe("nope")
    with pytest.raises(ConfigError):
        load_recipe("tiny_cpu", ["not_a_field=1"])


def test_tiny_cpu_model_has_a_few_million_parameters():
    from omnibench.m4.training.train import build_model

    model, _ = build_model(load_recipe("tiny_cpu"))
    assert 1_000_000 < sum(p.numel() for p in model.parameters()) < 10_000_000


@pytest.mark.parametrize("name,stage", [("zero1", 1), ("zero2", 2), ("zero3", 3), ("zero3_offload", 3),
                                        ("zero1_offload", 1)])
def test_deepspeed_configs(name, stage):
    path = DEEPSPEED_DIR / f"{name}.json"
    data = json.loads(path.read_text())
    assert data["zero_optimization"]["stage"] == stage
    assert ("offload" in name) == ("offload_optimizer" in data["zero_optimization"])
    if importlib.util.find_spec("deepspeed") is None:
        return
    from transformers.integrations import HfDeepSpeedConfig

    assert HfDeepSpeedConfig(str(path)).get_value("zero_optimization.stage") == stage


INTERRUPTION_TASKS = ("noise_rejection", "stop_turn", "synth_noise", "synth_stop")


def _shipped(tmp_path_factory, tasks: tuple[str, ...]) -> dict:
    """The shipped m4-tiny, the same model untrained and the trivial baselines, on `tasks`."""
    from omnibench.m4.training.tiny_eval import evaluate_checkpoint
    from omnibench.models.m4 import tiny_checkpoint

    ckpt = tiny_checkpoint()
    assert ckpt is not None, "no shipped checkpoint: omnibench m4 train --recipe tiny_cpu, then copy it to m4/checkpoints/tiny"
    return evaluate_checkpoint(ckpt, tmp_path_factory.mktemp("tiny_eval"), baselines=True, tasks=tasks)


STOP_TASKS, NOISE_TASKS = ("stop_turn", "synth_stop"), ("noise_rejection", "synth_noise")
# what the README prints for the shipped checkpoint (python run_eval.py, seed 0, 110 videos x 2 samples)
README_HEADLINES = {"synth_stop": 0.823, "stop_turn": 0.764, "synth_noise": 0.523, "noise_rejection": 0.527}


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_shipped_tiny_m4_is_as_the_readme_says_on_all_four_tasks(tmp_path_factory):
    """What the shipped checkpoint measurably does (run in CI: the four interruption tasks, about 8 minutes
    on 2 cores): the README's numbers, clear of 0.5 and of every trivial policy on the stop tasks, clear
    of every trivial policy but NOT of 0.5 on the noise tasks."""
    results = _shipped(tmp_path_factory, INTERRUPTION_TASKS)
    trained = results["trained"]
    for task, printed in README_HEADLINES.items():
        assert trained[task] == pytest.approx(printed, abs=0.0015), (task, trained[task])
    _assert_achieved(results, clear_of_half=STOP_TASKS)
    for task in NOISE_TASKS:     # a model that sees and treats every second utterance alike gets 0.5
        assert trained[f"{task}:ci_low"] <= 0.5 <= trained[f"{task}:ci_high"], (task, trained)


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_tiny_cpu_recipe_trains_from_nothing_to_the_same_level(tmp_path):
    """The recipe itself: data, about 9 minutes of training, evaluation (not in CI: about 20 minutes;
    the shipped checkpoint is this recipe's output, and the test above holds it to the same bar)."""
    from omnibench.m4.training.tiny_eval import evaluate_checkpoint
    from omnibench.m4.training.train import train

    ckpt = Path(train(load_recipe("tiny_cpu", {"output_dir": str(tmp_path / "train")}))["checkpoint"])
    _assert_achieved(evaluate_checkpoint(ckpt, tmp_path / "eval", baselines=True, tasks=INTERRUPTION_TASKS),
                     clear_of_half=STOP_TASKS)


def _best_baseline_high(results: dict, task: str) -> float:
    """The highest upper CI bound of the untrained model and every trivial policy on `task`."""
    from omnibench.m4.training.tiny_eval import BASELINES

    return max(results[name][f"{task}:ci_high"] for name in ("untrained", *BASELINES))


def _assert_achieved(results: dict, clear_of_half: tuple[str, ...] = ()) -> None:
    """Held-out phrases decided right, and on each interruption task a headline whose 95% CI lower bound
    is above the untrained model's and every trivial policy's upper bound (and above 0.5 on `clear_of_half`:
    on a balanced task 0.5 is what treating every second utterance alike gets)."""
    trained = results["trained"]
    for task in INTERRUPTION_TASKS:
        assert trained[f"{task}:ci_low"] > _best_baseline_high(results, task), (task, results)
    for task in clear_of_half:
        assert trained[f"{task}:ci_low"] > 0.5, (task, trained)
    # a floor against a real regression of the phrase decisions (the training runs' own validation of
    # the shipped and the 1-thread run: noise 0.90 / 0.86, stop 0.87 / 0.88)
    assert trained["validation_phrases:balanced"] >= 0.8, trained


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_max_minutes_bounds_the_whole_command(tmp_path):
    """`omnibench m4 train --recipe tiny_cpu max_minutes=3`, as a user runs it, from a cold cache (the
    suite is built too): data, rendering, vision pretraining, training, validation and saving fit
    in the 3 minutes, with 30 s for the process start and the last step of each stage. The fast tests
    of each stage's budget are in test_callbacks.py, test_vision_pretrain.py and above."""
    import os
    import subprocess
    import sys
    import time

    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "omnibench", "m4", "train", "--recipe", "tiny_cpu", "max_minutes=3",
                           f"output_dir={tmp_path / 'out'}"], capture_output=True, text=True, timeout=540)
    took = time.monotonic() - start
    assert done.returncode == 0, done.stderr[-2000:]
    summary = _strict(done.stdout)
    assert "validation at" in done.stderr and summary["checkpoint"] and summary["validation"]
    print(f"max_minutes=3 took {took:.0f} s (load average {os.getloadavg()}): {summary['stage_seconds']}")
    assert took < 3 * 60 + 30, f"max_minutes=3 took {took:.0f} s (load average {os.getloadavg()})"
