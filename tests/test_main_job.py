"""The main job (`python run_eval.py`, no arguments): fast on one model and a few samples; in full under -m slow."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omnibench.cli import main_job
from tests.report.test_report import samples_html

ROOT = Path(__file__).resolve().parents[1]


def test_main_job_path_on_one_model_writes_a_board_with_the_runs_numbers(tmp_path, capsys):
    assert main_job(models=("silent",), limit=2, n_per_task=2, root=tmp_path) == 0
    out = capsys.readouterr().out
    board, run = tmp_path / "leaderboards" / "synth", tmp_path / "runs" / "synth" / "silent"
    results = json.loads((run / "results.json").read_text())["results"]
    tasks = {r["task"] for r in results}
    assert {"synth_pt", "noise_rejection", "stop_turn"} <= tasks and all(r["n_samples"] == 2 for r in results)
    rows = list(csv.DictReader((board / "leaderboard.csv").open(encoding="utf-8")))
    for r in results:                      # every headline of the run reaches the CSV unchanged, in percent
        row = next(x for x in rows if x["task"] == r["task"] and x["metric"] == r["headline"])
        expected = r["metrics"][r["headline"]]["value"]
        assert row["model"] == "silent" and row["samples"] == "2"
        assert row["value"] == ("" if expected is None else f"{100 * expected:.4f}")
    spec = json.loads((run / "run.json").read_text())
    # a baseline that ignores the frames runs without decoding them: a runtime setting, not a new row
    assert spec["runtime_args"] == {"watch": False} and spec["capabilities"]["needs_video"] is False
    assert spec["model_args"] == {}
    silence = next(x for x in rows if x["task"] == "synth_pt" and x["metric"] == "silence")
    assert silence["value"] == "100.0000"  # a model that never speaks never interrupts the noise turn
    md = (board / "leaderboard.md").read_text(encoding="utf-8")
    assert "| silent |" in md and "silent: partial run, --limit 2" in md and md.count("partial run") == 1 and "| silent |" in out
    samples = samples_html(board)
    assert samples.count('<section class="s"') == 2 * len(tasks)               # every sample of every task
    assert samples.count('<figure class="sample">') == 2 * len(tasks)          # each with its timeline

    start = time.perf_counter()
    assert main_job(models=("silent",), limit=2, n_per_task=2, root=tmp_path) == 0   # resumes: nothing runs again
    assert time.perf_counter() - start < 30
    assert (board / "leaderboard.csv").read_text(encoding="utf-8").count("\n") == len(rows) + 1


def _main_job(cwd: Path, home: Path) -> tuple[subprocess.CompletedProcess, float]:
    env = {k: v for k, v in os.environ.items() if k != "OMNIBENCH_CACHE"}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "run_eval.py")], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=1500)
    return done, time.perf_counter() - start


@pytest.mark.slow
@pytest.mark.timeout(3000)   # two main jobs: a cold one (minutes; far more on a loaded machine) and its resume
def test_default_command_builds_the_suite_runs_the_baselines_and_writes_the_board(tmp_path):
    home = tmp_path / "home"
    first, first_s = _main_job(tmp_path, home)
    assert first.returncode == 0, first.stderr[-3000:]
    board = tmp_path / "leaderboards" / "synth"
    for name in ("leaderboard.csv", "leaderboard.md", "index.html"):
        assert (board / name).stat().st_size > 0
    table = (board / "leaderboard.md").read_text()
    from omnibench.models.m4 import tiny_checkpoint

    shipped = ("m4-tiny",) if tiny_checkpoint() is not None else ()
    for model in ("silent", "chatty", "random", "blind", *shipped):
        assert f"| {model} |" in table and model in first.stdout
    assert any((home / ".cache" / "omnibench" / "synth").iterdir())
    # the board decides on every task: each synthetic headline CI narrower than 30 points, for every model
    for run in (tmp_path / "runs" / "synth").iterdir():
        for r in json.loads((run / "results.json").read_text())["results"]:
            m = r["metrics"][r["headline"]]
            assert 100 * (m["ci_high"] - m["ci_low"]) < 30, (run.name, r["task"], m)
    assert "not ranked" not in table.split("## Tasks")[0]
    # a page that loads: index.html under 2 MB, no sample file over 5 MB
    assert (board / "index.html").stat().st_size < 2_000_000
    sizes = {p.name: p.stat().st_size for p in (board / "samples").glob("*.js")}
    assert sizes and max(sizes.values()) < 5_000_000, sizes
    print(f"cold main job: {first_s:.0f} s (load average {os.getloadavg()[0]:.1f})")

    second, second_s = _main_job(tmp_path, home)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second_s < first_s / 2, "a second run resumes from the event logs"
    assert second.stdout.split("wrote")[0].strip().splitlines()[-4:] == first.stdout.split("wrote")[0].strip().splitlines()[-4:]


def test_shard_processes_give_the_numbers_of_one_process(tmp_path):
    from omnibench.cli import _run_in_shards
    from omnibench.engine.evaluate import Evaluation
    from omnibench.scoring.run_scores import score_run

    tasks = ["synth_pt", "synth_sg"]
    Evaluation(model="random", out=tmp_path / "one", limit=6, task_settings={"seed": 0}, progress=False).run(tasks)
    _run_in_shards("random", tmp_path / "two", tasks, 6, 2)
    one, two = (score_run(tmp_path / d, task_settings={"seed": 0}, tasks=tasks) for d in ("one", "two"))
    assert [(r.task, r.n_samples, r.metrics) for r in one] == [(r.task, r.n_samples, r.metrics) for r in two]
    logs = {p.name for p in (tmp_path / "two" / "logs").rglob("*.jsonl")}
    assert {"random.shard0of2.jsonl", "random.shard1of2.jsonl"} <= logs      # both shards answered


def test_a_rerun_with_nothing_left_builds_no_model(tmp_path, capsys):
    """On e49ab22 every rerun (and every shard process of it) built the model before finding it had 0 samples."""
    from omnibench import registry
    from omnibench.models.baselines import Silent

    builds = tmp_path / "builds.txt"

    @registry.model("t_counted_silent", hidden=True)
    def counted():
        with open(builds, "a") as fh:              # in the model's worker process: a file, not a variable
            fh.write("built\n")
        return Silent()

    try:
        assert main_job(models=("t_counted_silent",), limit=2, root=tmp_path) == 0
        first = builds.read_text().count("built")
        assert first == 1
        assert main_job(models=("t_counted_silent",), limit=2, root=tmp_path) == 0
        assert builds.read_text().count("built") == first, "the resume loaded no model"
        assert "every sample is answered" in capsys.readouterr().out
    finally:
        registry._MODELS.pop("t_counted_silent", None)
