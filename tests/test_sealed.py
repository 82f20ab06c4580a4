"""The wall between the model and the answer key: a cheating adapter learns nothing from the harness."""

from __future__ import annotations

import pytest

from omnibench import registry
from omnibench.engine.evaluate import Evaluation
from omnibench.errors import ConfigError
from omnibench.scoring.run_scores import score_run
from tests.cheater import Cheater

SETTINGS = {"seed": 0, "n_per_task": 12}
# every registered task that needs no external data: the synthetic suite and the interruption tasks
TASKS = [*registry.resolve_tasks("synth"), "noise_rejection", "stop_turn", "noise_rejection_offline",
         "stop_turn_offline"]
POLICIES = {"silent": {"watch": False}, "chatty": {"watch": False}, "random": {"watch": False}, "blind": {},
            "never_stop": {}, "always_stop": {}}


def _cases() -> list[tuple[str, str]]:
    return [(task, protocol) for task in TASKS for protocol in registry.get_task(task, **SETTINGS).protocols]


def _headlines(out, model: str, model_obj=None, model_args=None) -> dict:
    """(task, protocol) -> headline metric, over every case the model can take."""
    scores = {}
    for task, protocol in _cases():
        run_dir = out / f"{model}-{task}-{protocol}"
        evaluation = Evaluation(model=model, model_args=model_args, model_obj=model_obj, out=run_dir,
                                task_settings=SETTINGS, protocol=protocol, progress=False)
        try:
            evaluation.run([task])
        except ConfigError:       # a streaming-only policy on an offline task
            continue
        (result,) = score_run(run_dir, task_settings=SETTINGS, tasks=[task])
        assert result.n_errors == 0, (model, task, protocol)
        scores[task, protocol] = result.metrics[result.headline]
    return scores


@pytest.fixture(scope="module")
def policy_bounds(tmp_path_factory):
    """(task, protocol) -> the best trivial policy's headline CI upper bound, and which policy."""
    out = tmp_path_factory.mktemp("policies")
    best: dict = {}
    for name, args in POLICIES.items():
        for case, metric in _headlines(out, name, model_args=args).items():
            high = metric.ci_high if metric.ci_high is not None else metric.value
            if case not in best or high > best[case][0]:
                best[case] = (high, name)
    return best


def test_a_cheating_adapter_scores_no_higher_than_the_best_trivial_policy(tmp_path, policy_bounds):
    cheater = Cheater()
    scores = _headlines(tmp_path, "cheater", model_obj=cheater)
    above = {case: (round(m.value, 3), policy_bounds[case]) for case, m in scores.items()
             if m.value is not None and m.value > policy_bounds[case][0] + 1e-9}
    assert not above, f"the cheater beat every trivial policy's CI upper bound: {above}; it read {set(cheater.leaks)}"
    assert not cheater.leaks, f"the harness handed the model answer-key fields: {sorted(set(cheater.leaks))[:10]}"
