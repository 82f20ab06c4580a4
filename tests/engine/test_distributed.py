"""torchrun: each rank its own device and shard log; `score` merges them into the single-process result."""

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
    import os, sys
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
            self.device = pick_device("auto")
            with open(os.path.join(out, f"device-{os.environ.get('RANK', 'single')}.json"), "w") as fh:
                fh.write('{"device": "%s", "local_rank": "%s"}' % (self.device, os.environ.get("LOCAL_RANK")))
        def generate(self, request):
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


@pytest.mark.skipif(__import__("shutil").which("torchrun") is None, reason="needs torchrun (pip install torch)")
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
    done = subprocess.run(["torchrun", "--nproc_per_node", "2", "--master_port", "29517", str(script), *args,
                           "--model-args", f"out={dist}", "--out", str(dist)], env=env, capture_output=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    done = subprocess.run([sys.executable, str(script), *args, "--model-args", f"out={single}", "--out", str(single)],
                          env=env, capture_output=True, timeout=240)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    devices = {json.loads((dist / f"device-{r}.json").read_text())["local_rank"] for r in (0, 1)}
    assert devices == {"0", "1"}
    assert {json.loads((dist / f"device-{r}.json").read_text())["device"] for r in (0, 1)} == {pick_device("auto")}
    logs = sorted(p.name for p in (dist / "logs" / "t_dist").glob("*.jsonl"))
    assert len(logs) == 2 and logs[0].endswith("shard0of2.jsonl") and logs[1].endswith("shard1of2.jsonl")
    register_task("t_dist", 20, every=4)
    merged, alone = score_run(dist)[0], score_run(single)[0]
    assert merged.n_samples == alone.n_samples == 20 and merged.n_scored == 20
    assert merged.metrics["accuracy"].value == alone.metrics["accuracy"].value == pytest.approx(15 / 20)
