"""Trainer callbacks: the time-budgeted cosine, and snapshot selection on the validation phrases."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from omnibench.m4.training import callbacks  # noqa: E402
from omnibench.m4.training.recipe import load_recipe  # noqa: E402
from tests.m4.training.test_train import _records  # noqa: E402


def test_time_cosine_schedule_ends_on_time(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(callbacks.time, "monotonic", lambda: clock[0])
    budget = callbacks.TimeBudget(1.0, time_cosine=True, warmup=0.1)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    seen = []
    span = 60.0 - callbacks.SAVE_RESERVE_S            # the schedule ends where training stops, before the save
    for t in (0.05 * span, 0.1 * span, 0.5 * span, 0.98 * span, span + 1.0):
        clock[0] = t
        budget.on_step_begin(None, None, None, optimizer=opt)
        seen.append(opt.param_groups[0]["lr"])
    assert seen[0] == pytest.approx(0.5) and seen[1] == pytest.approx(1.0)      # warmup over 10% of the time
    assert seen[2] < 0.6 and seen[3] < 0.02 and seen[4] == pytest.approx(0.01)   # cosine reaches the floor at the end


def test_the_snapshot_best_on_validation_is_the_one_saved(tmp_path, monkeypatch):
    """Scored at half the run and at the end; the half-way weights scored best, so they are saved."""
    from omnibench.m4.inference import calibrate
    from omnibench.m4.model.checkpoint import load_checkpoint
    from omnibench.m4.training.train import train

    seen_weights, scripted = [], iter([0.9, 0.5])
    monkeypatch.setattr(calibrate, "validation_phrases", lambda: {"noise": ["Nice."], "stop": ["Stop."]})
    monkeypatch.setattr(calibrate, "observe", lambda pipeline, *a, **k: seen_weights.append(
        {k: v.clone() for k, v in pipeline.model.state_dict().items()}) or [])
    monkeypatch.setattr(calibrate, "accuracy", lambda obs, cap, scale: {"balanced": next(scripted)})
    recipe = load_recipe("tiny_cpu", {"tiny": {}, "max_steps": 4, "max_minutes": None, "lr_scheduler_type": "cosine",
                                      "select_at": [0.5], "per_device_train_batch_size": 2, "position_gap": 0,
                                      "vision_pretrain_steps": 0,
                                      "output_dir": str(tmp_path / "run"), "checkpoint_dtype": "float32"})
    summary = train(recipe, _records(tmp_path), tmp_path)
    assert [s["step"] for s in summary["validation"]] == [2, 4] and summary["selected_step"] == 2
    saved = load_checkpoint(Path(summary["checkpoint"])).state_dict()
    half_way, final = seen_weights
    key = next(k for k in saved if "embed_tokens" in k)
    assert not torch.equal(half_way[key], final[key])                 # training moved the weights on
    assert all(torch.equal(saved[k], half_way[k]) for k in saved)


def test_ties_go_to_the_later_snapshot(monkeypatch):
    from omnibench.m4.inference import calibrate
    from omnibench.m4.inference.pipeline import M4Pipeline

    pipe = M4Pipeline.tiny(seed=0)
    monkeypatch.setattr(calibrate, "observe", lambda *a, **k: [])
    monkeypatch.setattr(calibrate, "accuracy", lambda obs, cap, scale: {"balanced": 0.7})
    selector = callbacks.SnapshotSelector(pipe.model, pipe.tokenizer, [], [], points=[0.5],
                                          budget=callbacks.TimeBudget(None))
    selector.score(10, 0.5)
    with torch.no_grad():
        next(pipe.model.parameters()).add_(1.0)
    selector.score(20, 1.0)
    first = next(iter(selector.best[2]))
    assert torch.equal(selector.best[2][first], pipe.model.state_dict()[first])


def test_a_snapshot_that_does_not_read_its_frames_loses(monkeypatch):
    """With `seen` (the tower was pretrained), answering questions about the frames is one more kind
    in the mean: equal on the phrases, the snapshot that reads colours is kept."""
    from omnibench.m4.inference import calibrate
    from omnibench.m4.inference.pipeline import M4Pipeline

    pipe = M4Pipeline.tiny(seed=0)
    monkeypatch.setattr(calibrate, "observe", lambda *a, **k: [])
    monkeypatch.setattr(calibrate, "accuracy", lambda obs, cap, scale: {"noise": 1.0, "stop": 0.5, "balanced": 0.75})
    reads = iter([(9, 10), (1, 10)])          # per pass, one scene: 9 of 10 answers right, then 1 of 10
    selector = callbacks.SnapshotSelector(pipe.model, pipe.tokenizer, [], [], points=[0.5],
                                          budget=callbacks.TimeBudget(None),
                                          seen=lambda pipeline, n: iter([next(reads)]), seen_scenes=1)
    selector.score(10, 0.5)
    selector.score(20, 1.0)
    assert [s["balanced"] for s in selector.scores] == pytest.approx([0.8, 0.5333333])
    assert selector.selected_step == 10 and selector.scores[0]["seen"] == 0.9


def test_the_budget_counts_from_the_command_start_and_keeps_room_for_validation(monkeypatch):
    """max_minutes=1 with 20 s spent building data and a 10 s validation pass: training stops when
    what is left would not hold the final validation (x1.25) and the save, so the command ends within the minute."""
    clock = [20.0]
    monkeypatch.setattr(callbacks.time, "monotonic", lambda: clock[0])
    budget = callbacks.TimeBudget(1.0, start=0.0)

    class Control:
        should_training_stop = False

    budget.reserve_s = 12.5
    assert callbacks.SAVE_RESERVE_S == 3.0
    for t, stops in ((30.0, False), (44.0, False), (45.0, True)):
        clock[0], control = t, Control()
        budget.on_step_end(None, None, control)
        assert control.should_training_stop is stops, t
    assert budget.done() == pytest.approx(1.0)


def test_validation_passes_report_progress_and_set_the_reserve(monkeypatch, capsys):
    from omnibench.m4.inference import calibrate
    from omnibench.m4.inference.pipeline import M4Pipeline

    pipe = M4Pipeline.tiny(seed=0)
    clock = iter([0.0, 4.0])
    monkeypatch.setattr(calibrate, "observe", lambda *a, **k: [])
    monkeypatch.setattr(calibrate, "accuracy", lambda obs, cap, scale: {"balanced": 0.7})
    budget = callbacks.TimeBudget(None)
    selector = callbacks.SnapshotSelector(pipe.model, pipe.tokenizer, [], [], points=[0.5], budget=budget)
    monkeypatch.setattr(callbacks.time, "monotonic", lambda: next(clock))
    selector.score(10, 0.5)
    assert budget.reserve_s == pytest.approx(5.0)
    assert "validation at 50%" in capsys.readouterr().err


class _Control:
    should_training_stop = False


def _timed_validation(monkeypatch, clock, per_item_s=0.5, n=10):
    """validation_phrases / observe stand-ins: n noise and n stop phrases, each observation costing
    `per_item_s` on the fake clock; a noise phrase is decided right, a stop phrase wrong."""
    from omnibench.m4.inference import calibrate

    monkeypatch.setattr(callbacks.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(calibrate, "validation_phrases",
                        lambda: {"noise": [f"n{i}" for i in range(n)], "stop": [f"s{i}" for i in range(n)]})

    def observe(pipeline, frames, turns, questions, **_):
        out = []
        for kind, texts in turns.items():
            for _text in texts:
                clock[0] += per_item_s
                out.append(calibrate.Observation(kind, 1.0 if kind == "noise" else 0.0, 0.0, False))
        for _q in questions:
            clock[0] += per_item_s
            out.append(calibrate.Observation("query", 0.0, 0.0, False))
        return out

    monkeypatch.setattr(calibrate, "observe", observe)


def test_a_validation_pass_keeps_to_its_share_and_every_later_pass_scores_the_same_items(monkeypatch):
    """max_minutes=1: a pass may take 8% of it (4.8 s); 20 phrases at 0.5 s would take 10 s. The first
    pass scores what fits, round by round (a noise and a stop phrase a round); later passes score
    those same items, so their scores compare."""
    from omnibench.m4.inference.pipeline import M4Pipeline

    clock = [0.0]
    _timed_validation(monkeypatch, clock)
    pipe = M4Pipeline.tiny(seed=0)
    budget = callbacks.TimeBudget(1.0, start=0.0)
    selector = callbacks.SnapshotSelector(pipe.model, pipe.tokenizer, [], [], points=[0.5], budget=budget)
    selector.score(10, 0.5)
    assert clock[0] <= 4.8 + 1.0                               # one round over at most
    first = selector.scores[0]
    assert first["items"] < 20 and first["noise"] == 1.0 and first["stop"] == 0.0, first
    clock[0] = 30.0
    selector.score(20, 1.0)
    assert selector.scores[1]["items"] == first["items"]
    assert any("validation" in w and "of 20" in w for w in budget.warnings), budget.warnings


def test_without_a_budget_a_validation_pass_scores_every_item(monkeypatch):
    from omnibench.m4.inference.pipeline import M4Pipeline

    clock = [0.0]
    _timed_validation(monkeypatch, clock)
    pipe = M4Pipeline.tiny(seed=0)
    selector = callbacks.SnapshotSelector(pipe.model, pipe.tokenizer, [], ["q1", "q2"], points=[0.5],
                                          budget=callbacks.TimeBudget(None))
    selector.score(10, 0.5)
    assert selector.scores[0]["items"] == 22 and clock[0] == pytest.approx(11.0)


def test_training_stops_in_time_for_the_final_validation_before_any_pass_has_run(monkeypatch):
    """No pass measured yet (the first one comes at 50%): training still keeps room for the final pass
    (its share, 4.8 s of a minute, x1.25) and the save."""
    from omnibench.m4.inference.pipeline import M4Pipeline

    clock = [0.0]
    monkeypatch.setattr(callbacks.time, "monotonic", lambda: clock[0])
    pipe = M4Pipeline.tiny(seed=0)
    budget = callbacks.TimeBudget(1.0, start=0.0)
    callbacks.SnapshotSelector(pipe.model, pipe.tokenizer, [], [], points=[0.5], budget=budget)
    reserve = 1.25 * 0.08 * 60 + callbacks.SAVE_RESERVE_S
    for t, stops in ((60 - reserve - 1, False), (60 - reserve + 0.5, True)):
        clock[0], control = t, _Control()
        budget.on_step_end(None, None, control)
        assert control.should_training_stop is stops, t


class _State:
    def __init__(self, step):
        self.global_step, self.max_steps = step, 20000


def test_a_validation_pass_that_would_leave_too_little_training_is_skipped(monkeypatch):
    """A point is scored only while the training time left is at least twice what a pass takes; the
    final pass (after training) is always scored."""
    from omnibench.m4.inference.pipeline import M4Pipeline

    clock = [0.0]
    _timed_validation(monkeypatch, clock, per_item_s=0.1)
    pipe = M4Pipeline.tiny(seed=0)
    budget = callbacks.TimeBudget(1.0, start=0.0)
    selector = callbacks.SnapshotSelector(pipe.model, pipe.tokenizer, [], [], points=[0.5, 0.9], budget=budget)
    for t in (20.0, 30.0, 45.0, 52.0):         # 52 s: 2.5 s of training left, a pass took 2 s
        clock[0] = t
        selector.on_step_end(None, _State(int(t)), _Control())
    assert [s["step"] for s in selector.scores] == [30]
    assert any("skipped" in w for w in budget.warnings), budget.warnings
    selector.finish(52)
    assert [s["step"] for s in selector.scores] == [30, 52]
