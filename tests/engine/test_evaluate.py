"""Evaluation: resume after SIGKILL, shards, error isolation, --max-errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from omnibench.engine.evaluate import Evaluation
from omnibench.engine.eventlog import EventLog
from omnibench.errors import OmnibenchError
from omnibench.scoring.run_scores import score_run
from tests.conftest import text_samples

RUNNER = textwrap.dedent("""
    import os, sys, time
    sys.path.append(os.environ["OMNIBENCH_TEST_ROOT"])
    from omnibench import registry
    from omnibench.engine.evaluate import Evaluation
    from omnibench.task import Task, Prompts
    from omnibench.scoring.rules import choice_match
    from tests.conftest import text_samples

    @registry.task("t_resume", hidden=True)
    def factory():
        return Task(name="t_resume", samples=lambda: text_samples(24, "t_resume"), protocols=("offline",),
                    scorers=[choice_match()], headline="accuracy", prompts=Prompts())

    class Slow:
        needs_video = False
        def generate(self, request):
            time.sleep(float(sys.argv[2]))
            i = int(request.sample_id[1:])
            return f"a{i}" if i % 3 else "zzz"

    Evaluation(model="slow", out=sys.argv[1], model_obj=Slow(), progress=False).run(["t_resume"])
""")


def _run_script(tmp_path: Path, out: Path, sleep: float) -> subprocess.Popen:
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    return subprocess.Popen([sys.executable, str(script), str(out), str(sleep)], env=_env())


def _env() -> dict:
    """The repo root last on the path (for tests.*), so omnibench resolves as in this process."""
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "OMNIBENCH_TEST_ROOT": root}


def test_sigkill_then_rerun_gives_every_sample_once_and_the_same_scores(tmp_path):
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = _run_script(tmp_path, killed, 0.05)
    log = killed / "logs" / "t_resume"
    deadline = time.time() + 30
    while time.time() < deadline and not (log.exists() and sum(1 for p in log.glob("*.jsonl") for _ in open(p)) >= 5):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = sum(len(EventLog(p).finished_ids()) for p in log.glob("*.jsonl"))
    assert 0 < done_before < 24, "the kill should land mid-run"
    assert _run_script(tmp_path, killed, 0.0).wait() == 0
    assert _run_script(tmp_path, clean, 0.0).wait() == 0

    ids = [r.sample_id for p in log.glob("*.jsonl") for r in EventLog(p).records()]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 24
    from tests.engine.resume_task import register_resume_task

    register_resume_task()
    a, b = score_run(killed), score_run(clean)
    assert a[0].metrics["accuracy"].value == b[0].metrics["accuracy"].value == pytest.approx(16 / 24)


class Flaky:
    """Offline mock that fails on some samples and returns garbage on others."""

    needs_video = False

    def generate(self, request):
        i = int(request.sample_id[1:])
        if i == 1:
            raise RuntimeError("boom")
        if i == 2:
            return 42
        return f"a{i}"


def test_one_bad_sample_never_kills_the_run(tmp_path, memory_task):
    from omnibench.scoring.rules import choice_match

    name = memory_task("t_err", text_samples(5, "t_err"), [choice_match()], protocols=("offline",))
    runs = Evaluation(model="flaky", out=tmp_path, model_obj=Flaky(), progress=False).run([name])
    assert runs[0].ran == 5 and runs[0].errors == 2
    records = {r.sample_id: r for r in EventLog(runs[0].log_paths[0]).records()}
    assert "boom" in records["s001"].error and "int" in records["s002"].error
    result = score_run(tmp_path)[0]
    assert result.n_errors == 2 and result.n_scored == 3
    assert result.metrics["accuracy"].value == 1.0


def test_max_errors_stops_a_broken_run(tmp_path, memory_task):
    class Broken:
        needs_video = False

        def generate(self, request):
            raise RuntimeError("always")

    name = memory_task("t_broken", text_samples(10, "t_broken"), protocols=("offline",))
    with pytest.raises(OmnibenchError, match="max-errors"):
        Evaluation(model="b", out=tmp_path, model_obj=Broken(), max_errors=2, progress=False).run([name])
    assert len(EventLog(next((tmp_path / "logs" / name).glob("*.jsonl"))).finished_ids()) == 3


def test_shards_cover_every_sample_exactly_once(tmp_path, memory_task):
    name = memory_task("t_shard", text_samples(40, "t_shard"), protocols=("offline",))
    seen = []
    for i in range(3):
        Evaluation(model="blind", out=tmp_path, shard=(i, 3), progress=False).run([name])
    for path in (tmp_path / "logs" / name).glob("*.jsonl"):
        seen += [r.sample_id for r in EventLog(path).records()]
    assert sorted(seen) == [f"s{i:03d}" for i in range(40)]
    sizes = [len(EventLog(p).finished_ids()) for p in sorted((tmp_path / "logs" / name).glob("*.jsonl"))]
    assert len(sizes) == 3 and min(sizes) > 0


def test_shard_is_a_static_split_and_says_so_and_one_process_takes_everything(monkeypatch):
    from omnibench.engine.distributed import job_from_env
    from omnibench.engine.shard import parse_shard

    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert parse_shard(None) is None and parse_shard("1/3") == (1, 3)
    static = job_from_env(parse_shard("1/3"))              # --shard wins over torchrun's variables
    assert not static.dynamic and static.shard == (1, 3) and "static split" in static.describe()
    monkeypatch.setenv("WORLD_SIZE", "1")
    alone = job_from_env(None)
    assert not alone.dynamic and alone.shard == (0, 1)


def test_run_json_never_holds_secrets(tmp_path, memory_task):
    name = memory_task("t_secret", text_samples(1, "t_secret"), protocols=("offline",))
    from omnibench.models.baselines import Blind

    Evaluation(model="blind", model_args={"api_key": "sk-SECRET", "x": 1}, out=tmp_path, model_obj=Blind(),
               progress=False).run([name])
    text = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert "sk-SECRET" not in text and json.loads((tmp_path / "run.json").read_text())["model_args"]["x"] == 1


@pytest.mark.skipif(__import__("shutil").which("espeak-ng") is None, reason="needs espeak-ng (apt-get install espeak-ng)")
def test_models_that_take_audio_hear_the_turns_spoken(tmp_path, memory_task):
    class Listener:
        needs_video = False
        accepts_audio = True

        def __init__(self):
            self.audio = []

        def generate(self, request):
            self.audio.append(request.audio)
            return "a0"

    listener = Listener()
    name = memory_task("t_audio", text_samples(2, "t_audio"), protocols=("offline",))
    Evaluation(model="l", out=tmp_path, model_obj=listener, progress=False).run([name])
    assert len(listener.audio) == 2 and all(Path(a).read_bytes()[:4] == b"RIFF" for a in listener.audio)
    blind_run = Evaluation(model="blind", out=tmp_path / "b", progress=False)
    assert not getattr(blind_run.model.inner, "accepts_audio", False)


def test_progress_is_one_line_per_task_when_stderr_is_not_a_terminal(tmp_path, memory_task, capsys):
    name = memory_task("t_lines", text_samples(30, "t_lines"), protocols=("offline",))
    Evaluation(model="blind", out=tmp_path, limit=20).run([name])
    assert capsys.readouterr().err.splitlines() == [f"{name}: 20 sample(s) ..."]
    Evaluation(model="blind", out=tmp_path).run([name])      # a resume says how many were done before
    assert capsys.readouterr().err.splitlines() == [f"{name}: 30 sample(s), 20 done before ..."]
