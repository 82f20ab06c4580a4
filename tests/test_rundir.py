"""Nothing merges that is not one run: records of one (task, label) come from one run id and one shard
layout, or `score` and `report` refuse them naming the runs; each label keeps its own sample set."""

from __future__ import annotations

import json

import pytest

from omnibench import registry
from omnibench.cli import main
from omnibench.engine.evaluate import Evaluation
from omnibench.engine.lock import RunLock, RunLockedError
from omnibench.errors import ConfigError
from omnibench.scoring.rules import choice_match
from omnibench.scoring.run_scores import score_run
from omnibench.task import Prompts, Task, prompt_overrides
from tests.conftest import text_samples


class Asked(Prompts):
    templates = {"prefix": ""}

    def offline(self, sample, turn, answers):
        return self.templates["prefix"] + super().offline(sample, turn, answers)


@pytest.fixture
def prompted_task():
    @registry.task("t_prompted", hidden=True)
    def factory(prompts_file=None):
        return Task(name="t_prompted", samples=lambda: text_samples(8, "t_prompted"), protocols=("offline",),
                    scorers=[choice_match()], headline="accuracy",
                    prompts=Asked(prompt_overrides(prompts_file, "t_prompted")))
    yield "t_prompted"
    registry._TASKS.pop("t_prompted", None)


class Answers:
    needs_video = False

    def generate(self, request):
        return f"a{int(request.sample_id[1:])}"


def test_shards_run_with_different_prompts_are_refused_naming_the_runs(tmp_path, prompted_task, capsys):
    """Shard 0/2 with default prompts, 1/2 with --prompts: two run ids in the logs, one row, exit 0."""
    prompts = tmp_path / "p1.json"
    prompts.write_text(json.dumps({prompted_task: {"prefix": "Answer briefly. "}}))
    out = tmp_path / "run"
    Evaluation(model="m", out=out, model_obj=Answers(), shard=(0, 2), progress=False).run([prompted_task])
    Evaluation(model="m", out=out, model_obj=Answers(), shard=(1, 2), progress=False,
               task_settings={"prompts_file": str(prompts)}).run([prompted_task])
    with pytest.raises(ConfigError, match=r"m · t_prompted mixes answers of 2 runs: .*differ in .*task t_prompted "
                                          r"prompts"):
        score_run(out)
    assert main(["score", str(out), "--quiet"]) == 2
    assert main(["report", str(out), "--out", str(tmp_path / "board")]) == 2
    assert "mixes answers of 2 runs" in capsys.readouterr().err


def test_a_run_directory_takes_one_shard_layout(tmp_path, prompted_task):
    """0/2 + 1/2 and then 0/3 + 1/3 + 2/3 into one --out: samples answered twice, the latest silently won."""
    out = tmp_path / "run"
    for i in range(2):
        Evaluation(model="m", out=out, model_obj=Answers(), shard=(i, 2), progress=False).run([prompted_task])
    with pytest.raises(ConfigError, match=r"run as 2 shard\(s\); this run is split into 3"):
        Evaluation(model="m", out=out, model_obj=Answers(), shard=(0, 3), progress=False).run([prompted_task])
    assert score_run(out)[0].n_scored == 8
    # logs of two layouts that got there anyway (copied in) are refused when scored
    [log] = (out / "logs" / prompted_task).glob("m.shard1of2.jsonl")
    log.rename(log.with_name("m.shard1of3.jsonl"))
    with pytest.raises(ConfigError, match="shard layouts n=2, n=3"):
        score_run(out)


def test_two_layouts_cannot_run_at_once(tmp_path):
    with RunLock(tmp_path, (0, 2)):
        with RunLock(tmp_path, (1, 2)):          # another shard of the same layout runs beside it
            pass
        with pytest.raises(RunLockedError, match="shard layout 2"):
            RunLock(tmp_path, (0, 3)).acquire()
    assert not list(tmp_path.glob(".lock*"))
    with RunLock(tmp_path, (0, 3)):
        pass


def test_a_second_model_never_changes_the_firsts_sample_set(tmp_path, memory_task):
    """`random` scored n=6/6; after `blind --limit 2` into the same folder it showed n=2/2."""
    name = memory_task("t_two_models", text_samples(6, "t_two_models"), [choice_match()], protocols=("offline",))
    Evaluation(model="random", model_args={"watch": False}, out=tmp_path, progress=False).run([name])
    Evaluation(model="blind", out=tmp_path, limit=2, progress=False).run([name])
    results = {r.model: r for r in score_run(tmp_path)}
    assert (results["random"].n_samples, results["blind"].n_samples) == (6, 2)
    assert results["random"].metrics["accuracy"].n == 6
