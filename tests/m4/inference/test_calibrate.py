"""Noise-test calibration: the decision rule, the choice of constants, held-out phrases only, written to config."""

from __future__ import annotations

import json

import numpy as np
import pytest

from omnibench.m4.inference import calibrate as cal
from omnibench.m4.training.phrases import evaluation_phrases, normalize


def _obs(kind, p, first_is_end=False, entropy=0.0):
    return cal.Observation(kind, p, entropy, first_is_end)


def test_the_rule_is_m4s_and_questions_only_need_to_be_answered():
    assert cal.decide(_obs("noise", 0.1), 0.09, 0.3) == "noise"
    assert cal.decide(_obs("stop", 0.05, True), 0.09, 0.3) == "stop"
    assert cal.decide(_obs("stop", 0.05, True, entropy=3.0), 0.09, 0.3) == "noise"   # 0.3 * e^-3 = 0.015
    obs = [_obs("noise", 0.5), _obs("stop", 0.2, True), _obs("query", 0.01)]
    assert cal.accuracy(obs, 0.09, 0.3) == {"noise": 1.0, "stop": 0.0, "query": 1.0, "balanced": pytest.approx(2 / 3)}


def test_best_settings_fix_a_model_whose_stops_sit_above_the_published_cap():
    obs = [_obs("noise", p) for p in (0.6, 0.8, 0.95)] + [_obs("stop", p, True) for p in (0.12, 0.2, 0.25)]
    obs += [_obs("query", 0.01)]
    cap, scale = cal.best_settings(obs)
    assert 0.25 < cap < 0.6 and cal.accuracy(obs, cap, scale)["balanced"] == 1.0
    already = [_obs("noise", 0.5), _obs("stop", 0.01, True), _obs("query", 0.0)]
    assert cal.best_settings(already) == (0.09, 0.3)          # ties keep the published constants


def test_validation_phrases_never_include_a_benchmark_phrase():
    held = {normalize(p) for p in evaluation_phrases("noise") + evaluation_phrases("stop")}
    phrases = cal.validation_phrases()
    assert len(phrases["noise"]) >= 20 and len(phrases["stop"]) >= 20
    assert not held & {normalize(p) for kind in phrases.values() for p in kind}


def test_calibrate_observes_a_model_and_writes_its_choice(tmp_path):
    pytest.importorskip("torch")
    from omnibench.m4.inference.pipeline import M4Pipeline
    from omnibench.m4.model.checkpoint import read_config, save_checkpoint

    tiny = M4Pipeline.tiny(seed=1)
    save_checkpoint(tiny.model, tmp_path, tiny.tokenizer)
    frames = list(np.random.default_rng(0).integers(0, 255, (3, 56, 56, 3), dtype=np.uint8))
    report = cal.calibrate(tmp_path, frames, ["What colour is the circle?"])
    assert report["n"]["query"] == 1 and report["n"]["stop"] >= 20
    saved = json.loads((tmp_path / "config.json").read_text())["m4"]["noise"]
    assert saved == {"cap": report["chosen"]["cap"], "scale": report["chosen"]["scale"]}
    assert read_config(tmp_path).noise.cap == saved["cap"]
