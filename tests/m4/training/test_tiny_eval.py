"""tiny_eval: the stop outcomes that a never-answering model cannot game, and the untrained twin."""

from __future__ import annotations

import pytest

from omnibench.m4.training.tiny_eval import run_tasks


def test_never_answering_fails_the_stop_headline_and_instant_answers_never_get_stopped(tmp_path):
    small = {"seed": 0, "n_per_task": 3}
    silent = run_tasks("silent", {}, tmp_path / "silent", tasks=("synth_stop",), task_settings=small)
    assert silent["synth_stop"] == 0.0 and silent["synth_stop:never_started"] == 1.0   # silence is not stopping
    chatty = run_tasks("chatty", {}, tmp_path / "chatty", tasks=("synth_stop",), task_settings=small)
    assert chatty["synth_stop:never_started"] == 1.0    # it answers every turn at once: nothing under way
    assert chatty["synth_stop:ci_low"] <= chatty["synth_stop"] <= chatty["synth_stop:ci_high"]


def test_untrained_twin_keeps_the_architecture_and_tokenizer_but_not_the_weights(tmp_path):
    pytest.importorskip("transformers")
    from omnibench.m4.inference.pipeline import M4Pipeline
    from omnibench.m4.model.checkpoint import save_checkpoint
    from omnibench.m4.training.tiny_eval import untrained_like

    tiny = M4Pipeline.tiny(seed=5)
    save_checkpoint(tiny.model, tmp_path / "ckpt", tiny.tokenizer)
    twin = untrained_like(tmp_path / "ckpt", seed=1).pipeline
    assert twin.config.text == tiny.config.text
    assert twin.chat.query_ids("Stop.") == tiny.chat.query_ids("Stop.")
    ours, theirs = dict(tiny.model.named_parameters()), dict(twin.model.named_parameters())
    assert ours.keys() == theirs.keys()
    assert not all(bool((ours[k] == theirs[k]).all()) for k in ours)


def test_validation_accuracy_reports_each_kind(tmp_path):
    pytest.importorskip("transformers")
    from omnibench.m4.inference.pipeline import M4Pipeline
    from omnibench.m4.model.checkpoint import save_checkpoint
    from omnibench.m4.training.tiny_eval import validation_accuracy

    tiny = M4Pipeline.tiny(seed=5)
    save_checkpoint(tiny.model, tmp_path / "ckpt", tiny.tokenizer)
    result = validation_accuracy(tmp_path / "ckpt", n_questions=3)
    assert set(result) == {"noise", "stop", "query", "balanced"}
    assert all(0.0 <= v <= 1.0 for v in result.values())
    # random weights: p[<|im_start|>] is above the threshold everywhere, so every turn is "noise"
    assert result["noise"] == 1.0 and result["stop"] == 0.0 and result["query"] == 0.0
