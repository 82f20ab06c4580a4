"""torchrun: ranks take samples off one shared cursor, each writes its own log, rank 0 merges, scores
and reports; the numbers are the single-process run's; a killed rank's samples are retried by the rerun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from omnibench.engine.capabilities import pick_device

ROOT = str(Path(__file__).resolve().parents[2])
RUNNER = textwrap.dedent("""
    import os, sys, time
    sys.path.append(os.environ["OMNIBENCH_TEST_ROOT"])
    import torch.distributed as dist
    from omnibench import registry
    from omnibench.cli import main
    from omnibench.engine.capabilities import pick_device
    from omnibench.task import Task, Prompts
    from omnibench.scoring.rules import choice_match
    from tests.conftest import text_samples

    @registry.task("t_dist", hidden=True)
    def factory():
        return Task(name="t_dist", samples=lambda: text_samples(20, "t_dist"), protocols=("offline",),
                    scorers=[choice_match()], headline="accuracy", prompts=Prompts())

    @registry.model("rank_recorder", hidden=True)
    class RankRecorder:
        needs_video = False
        def __init__(self, out=""):
            self.device, self.out = pick_device("auto"), out
            with open(os.path.join(out, f"device-{os.environ.get('RANK', 'single')}.json"), "w") as fh:
                fh.write('{"device": "%s", "local_rank": "%s"}' % (self.device, os.environ.get("LOCAL_RANK")))
        def generate(self, request):
            # no rank answers before every rank has its model: a rank slow to start would find no work left
            world, waited = int(os.environ.get("WORLD_SIZE", "1")), 0.0
            while world > 1 and waited < 120 and not all(
                    os.path.exists(os.path.join(self.out, f"device-{r}.json")) for r in range(world)):
                time.sleep(0.05)
                waited += 0.05
            time.sleep(0.2)    # 20 samples of 0.2 s: a rank that starts late still finds work left
            i = int(request.sample_id[1:])
            return f"a{i}" if i % 4 else "zzz"

    if "WORLD_SIZE" in os.environ:
        dist.init_process_group("gloo")
    code = main(sys.argv[1:])
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    sys.exit(code)
""")


def test_local_rank_picks_the_gpu(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert pick_device("auto") == "cuda:3" and pick_device("cpu") == "cpu"
    monkeypatch.delenv("LOCAL_RANK")
    assert pick_device("auto") == "cuda"


def torchrun(nproc: int, *args: str) -> list[str]:
    """torchrun of this interpreter (a `torchrun` on PATH may belong to another Python); it picks a free port."""
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), *args]


needs_torch = pytest.mark.skipif(__import__("importlib").util.find_spec("torch") is None,
                                 reason="needs torch (pip install torch): torchrun")


@needs_torch
def test_torchrun_on_two_cpu_ranks_gives_each_its_device_and_merged_scores_equal_one_process(tmp_path):
    from omnibench.scoring.run_scores import score_run
    from tests.engine.resume_task import register_task

    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    env = {**os.environ, "OMNIBENCH_TEST_ROOT": ROOT, "OMP_NUM_THREADS": "1"}
    dist, single = tmp_path / "dist", tmp_path / "single"
    for out in (dist, single):
        out.mkdir()
    args = ["run", "--tasks", "t_dist", "--model", "rank_recorder", "--quiet"]
    done = subprocess.run(torchrun(2, str(script), *args, "--model-args", f"out={dist}", "--out", str(dist)),
                          env=env, capture_output=True, timeout=240)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    done = subprocess.run([sys.executable, str(script), *args, "--model-args", f"out={single}", "--out", str(single)],
                          env=env, capture_output=True, timeout=240)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    devices = {json.loads((dist / f"device-{r}.json").read_text())["local_rank"] for r in (0, 1)}
    assert devices == {"0", "1"}
    assert {json.loads((dist / f"device-{r}.json").read_text())["device"] for r in (0, 1)} == {pick_device("auto")}
    logs = sorted(p.name for p in (dist / "logs" / "t_dist").glob("*.jsonl"))
    assert len(logs) == 2 and logs[0].endswith(".shard0of2.jsonl") and logs[1].endswith(".shard1of2.jsonl")
    register_task("t_dist", 20, every=4)
    merged, alone = score_run(dist)[0], score_run(single)[0]
    assert merged.n_samples == alone.n_samples == 20 and merged.n_scored == 20
    assert merged.metrics["accuracy"].value == alone.metrics["accuracy"].value == pytest.approx(15 / 20)


def _plugin_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    from tests.engine.dist_plugin import write_entry_points

    plugins = write_entry_points(tmp_path / "plugins")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, str(plugins)]), "OMP_NUM_THREADS": "1",
            "OMNIBENCH_PLUGIN_SAMPLES": "24", "OMNIBENCH_PLUGIN_WORK_S": "3", **settings}


def _records(run: Path) -> dict[str, list]:
    from omnibench.engine.eventlog import EventLog

    out: dict[str, list] = {}
    for path in sorted((run / "logs" / "t_omni_shaped").glob("*.jsonl")):
        for record in EventLog(path).records():
            out.setdefault(record.sample_id, []).append((path.name, record))
    return out


RUN = ["-m", "omnibench", "run", "--tasks", "t_omni_shaped", "--model", "paced", "--quiet"]


@needs_torch
def test_torchrun_ranks_share_one_cursor_and_rank_0_scores_what_one_process_scores(tmp_path):
    env = _plugin_env(tmp_path, OMNIBENCH_PLUGIN_TRACE=str(tmp_path / "trace.txt"))
    dist, single = tmp_path / "dist", tmp_path / "single"
    done = subprocess.run(torchrun(3, *RUN, "--out", str(dist)), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rank 0 of 3 (torchrun" in done.stderr and "t_omni_shaped: 24/24 samples (24 run now, 0 failed)" in done.stdout
    assert done.stdout.count("| paced |") == 1, "one report, from rank 0"
    alone = subprocess.run([sys.executable, *RUN, "--out", str(single)], env={**env, "OMNIBENCH_PLUGIN_TRACE": ""},
                           capture_output=True, text=True, timeout=300)
    assert alone.returncode == 0, alone.stderr[-3000:]
    records = _records(dist)
    assert len(records) == 24 and all(len(r) == 1 for r in records.values()), "each sample exactly once"
    by_rank = {}
    for [(log, _)] in records.values():
        by_rank[log] = by_rank.get(log, 0) + 1
    assert sorted(by_rank) == ["paced.shard0of3.jsonl", "paced.shard1of3.jsonl", "paced.shard2of3.jsonl"]
    trace = [line.split() for line in (tmp_path / "trace.txt").read_text().splitlines()]
    assert {rank for rank, *_ in trace} == {"0", "1", "2"}, "every rank's worker answered samples"
    results = [json.loads((d / "results.json").read_text())["results"] for d in (dist, single)]
    assert results[0][0]["metrics"] == results[1][0]["metrics"] and results[0][0]["n_samples"] == 24
    assert results[0][0]["metrics"]["accuracy"]["value"] == pytest.approx(18 / 24)


@pytest.mark.slow          # three torchrun launches; .ci/run runs it as a step of its own
@needs_torch
def test_a_killed_rank_leaves_its_samples_to_the_rerun_and_nothing_runs_twice(tmp_path):
    env = _plugin_env(tmp_path)
    run = tmp_path / "run"
    killed = subprocess.run(torchrun(3, *RUN, "--out", str(run)), env={**env, "OMNIBENCH_PLUGIN_KILL_AT": "s0010"},
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode != 0
    before = _records(run)
    assert "s0010" not in before and 0 < len(before) < 24
    again = subprocess.run(torchrun(3, *RUN, "--out", str(run)), env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    after = _records(run)
    assert len(after) == 24 and all(len(r) == 1 for r in after.values()), "finished samples are not run again"
    assert {sid for sid in after if sid not in before} >= {"s0010"}
    result = json.loads((run / "results.json").read_text())["results"][0]
    assert result["n_samples"] == 24 and result["metrics"]["accuracy"]["value"] == pytest.approx(18 / 24)
