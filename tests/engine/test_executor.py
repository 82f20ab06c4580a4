"""The executor: retries on rerun, exit codes, --max-errors under concurrency, hung models, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from omnibench import registry
from omnibench.cli import main
from omnibench.engine.evaluate import Evaluation
from omnibench.engine.eventlog import EventLog
from omnibench.errors import OmnibenchError
from omnibench.scoring.rules import choice_match
from tests.conftest import text_samples

ROOT = str(Path(__file__).resolve().parents[2])


class Answers:
    needs_video = False

    def __init__(self, broken: bool = False):
        self.broken, self.calls = broken, 0

    def generate(self, request):
        self.calls += 1
        if self.broken:
            raise ConnectionRefusedError("server down")
        return f"a{int(request.sample_id[1:])}"


def test_a_fixed_model_after_an_outage_gets_its_samples_retried(tmp_path, memory_task):
    name = memory_task("t_outage", text_samples(4, "t_outage"), [choice_match()], protocols=("offline",))
    down = Evaluation(model="m", out=tmp_path, model_obj=Answers(broken=True), progress=False).run([name])
    assert len(down[0].failed) == 4
    kept = Answers()
    assert Evaluation(model="m", out=tmp_path, model_obj=kept, keep_errors=True, progress=False).run([name])[0].ran == 0
    fixed = Answers()
    runs = Evaluation(model="m", out=tmp_path, model_obj=fixed, progress=False).run([name])
    assert fixed.calls == 4 and runs[0].ran == 4 and not runs[0].failed
    latest = EventLog(runs[0].log_paths[0]).latest()
    assert all(r.status == "ok" and "server down" in r.history[0].error for r in latest.values())
    from omnibench.scoring.run_scores import score_run

    assert score_run(tmp_path)[0].metrics["accuracy"].value == 1.0


@pytest.fixture
def broken_model():
    @registry.model("t_broken_model", hidden=True)
    class Broken:
        needs_video = False

        def generate(self, request):
            raise FileNotFoundError(f"no video /data/{request.sample_id}.mp4")

    yield "t_broken_model"
    registry._MODELS.pop("t_broken_model", None)


def test_exit_code_is_non_zero_after_errors_with_the_reasons_counted(tmp_path, memory_task, broken_model, capsys):
    name = memory_task("t_exit", text_samples(3, "t_exit"), [choice_match()], protocols=("offline",))
    args = ["run", "--tasks", name, "--model", broken_model, "--out", str(tmp_path), "--quiet"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "3 x FileNotFoundError: no video /data/s000.mp4 (e.g. sample s000)" in err
    assert main([*args, "--allow-errors"]) == 0


def test_max_errors_stops_a_concurrent_run_after_about_that_many(tmp_path, memory_task):
    class Failing:
        needs_video = False
        max_concurrency = 4

        def __init__(self):
            self.calls = 0

        def generate(self, request):
            self.calls += 1
            time.sleep(0.05)
            raise RuntimeError("always")

    model = Failing()
    name = memory_task("t_maxerr", text_samples(40, "t_maxerr"), protocols=("offline",))
    with pytest.raises(OmnibenchError, match="max-errors"):
        Evaluation(model="f", out=tmp_path, model_obj=model, max_errors=2, progress=False).run([name])
    written = len(EventLog(next((tmp_path / "logs" / name).glob("*.jsonl"))).finished_ids())
    assert 3 <= written <= 3 + 4 and model.calls <= 3 + 4


class HangsOnce:
    """An API adapter (it runs in this process; one call at a time) whose first call ever hangs;
    counts entries at once. (Local models run in worker processes: tests/engine/test_worker.py.)"""

    built = 0
    hung = threading.Event()
    needs_video = False
    remote = True

    def __init__(self):
        type(self).built += 1
        self.inside, self.max_inside, self.lock = 0, 0, threading.Lock()

    def generate(self, request):
        with self.lock:
            self.inside += 1
            self.max_inside = max(self.max_inside, self.inside)
        try:
            if not HangsOnce.hung.is_set():
                HangsOnce.hung.set()
                time.sleep(30)
            return "a" + str(int(request.sample_id[1:]))
        finally:
            with self.lock:
                self.inside -= 1


def test_a_hung_api_model_is_never_re_entered_but_rebuilt(tmp_path, memory_task):
    instances = []

    @registry.model("t_hangs", hidden=True)
    def factory():
        instances.append(HangsOnce())
        return instances[-1]

    factory.remote = True                      # what the adapter declares, as the factory says it

    try:
        name = memory_task("t_hang", text_samples(4, "t_hang"), [choice_match()], protocols=("offline",))
        start = time.monotonic()
        runs = Evaluation(model="t_hangs", out=tmp_path, timeout_s=0.3, progress=False).run([name])
        assert time.monotonic() - start < 10
        assert list(runs[0].failed) == ["s000"] and "timed out" in runs[0].failed["s000"]
        assert len(instances) == 2 and all(m.max_inside == 1 for m in instances)
        assert instances[0].inside == 1, "the hung call is still inside the first instance, which got no other"
    finally:
        registry._MODELS.pop("t_hangs", None)


def test_calls_hanging_at_different_times_on_a_concurrent_model_fail_and_the_model_is_rebuilt(tmp_path, memory_task):
    """Used to deadlock: a lane marked hung woke no caller waiting for a free lane."""
    instances = []

    class HangsLater:
        needs_video = False
        max_concurrency = 2
        remote = True                          # in this process, on thread lanes

        def __init__(self):
            self.first = not instances

        def generate(self, request):
            if self.first and request.sample_id == "s001":
                time.sleep(0.15)
            elif self.first:
                time.sleep(30)                # s000 at once, then the next on the lane s001 freed
            return "a" + str(int(request.sample_id[1:]))

    @registry.model("t_hangs_later", hidden=True)
    def factory():
        instances.append(HangsLater())
        return instances[-1]

    factory.remote = True

    try:
        name = memory_task("t_hang2", text_samples(6, "t_hang2"), [choice_match()], protocols=("offline",))
        runs: list = []
        evaluation = Evaluation(model="t_hangs_later", out=tmp_path, timeout_s=0.3, progress=False)
        worker = threading.Thread(target=lambda: runs.extend(evaluation.run([name])), daemon=True)
        worker.start()
        worker.join(10)
        assert not worker.is_alive(), "the run must not wait forever for a lane of the stuck instance"
        assert sorted(runs[0].failed) == ["s000", "s002"] and runs[0].ran == 6
        assert len(instances) == 2
    finally:
        registry._MODELS.pop("t_hangs_later", None)


def test_a_hung_model_that_cannot_be_rebuilt_stops_the_run(tmp_path, memory_task):
    HangsOnce.hung.clear()
    name = memory_task("t_stuck", text_samples(3, "t_stuck"), protocols=("offline",))
    model = HangsOnce()
    with pytest.raises(OmnibenchError, match="cannot be rebuilt"):
        Evaluation(model="h", out=tmp_path, model_obj=model, timeout_s=0.3, progress=False).run([name])
    assert model.max_inside == 1


def test_system_exit_inside_an_adapter_is_a_sample_error(tmp_path, memory_task):
    class Exits:
        needs_video = False

        def generate(self, request):
            if request.sample_id == "s001":
                sys.exit(3)
            return "a0"

    name = memory_task("t_exit_adapter", text_samples(3, "t_exit_adapter"), protocols=("offline",))
    runs = Evaluation(model="x", out=tmp_path, model_obj=Exits(), progress=False).run([name])
    assert runs[0].ran == 3 and list(runs[0].failed) == ["s001"] and "SystemExit" in runs[0].failed["s001"]


def test_compute_seconds_include_retries_and_backoff(tmp_path, memory_task):
    class Flaky:
        needs_video = False
        transient_errors = (ConnectionError,)

        def __init__(self):
            self.calls = 0

        def generate(self, request):
            self.calls += 1
            if self.calls == 1:
                raise ConnectionError("blip")
            return "a0"

    name = memory_task("t_backoff", text_samples(1, "t_backoff"), protocols=("offline",))
    evaluation = Evaluation(model="x", out=tmp_path, model_obj=Flaky(), progress=False)
    evaluation.model.backoff_s = 0.2
    record = next(EventLog(evaluation.run([name])[0].log_paths[0]).records())
    assert record.compute_s >= 0.2 and "blip" in record.history[0].error


@pytest.mark.parametrize("model, task", [("t_counted", "t_needs_judge"), ("blind", "omnimmi_si")])
def test_a_run_that_needs_a_judge_without_a_key_exits_2_before_any_model_call(tmp_path, monkeypatch, capsys,
                                                                              model, task):
    from omnibench.scoring.judge import JudgeClient, judge_turns
    from omnibench.task import Prompts, Task

    for name in ("OMNIBENCH_JUDGE_API_KEY", "OPENAI_API_KEY", "OMNIBENCH_JUDGE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    calls = []

    @registry.model("t_counted", hidden=True)
    class Counted:
        needs_video = False

        def generate(self, request):
            calls.append(request.sample_id)
            return "a0"

    @registry.task("t_needs_judge", hidden=True)
    def factory(judge=None):
        return Task(name="t_needs_judge", samples=lambda: text_samples(2, "t_needs_judge"), protocols=("offline",),
                    scorers=[judge_turns(lambda: JudgeClient(**(judge or {})))], headline="accuracy",
                    prompts=Prompts())

    try:
        out = tmp_path / "run"
        assert main(["run", "--model", model, "--tasks", task, "--limit", "1", "--out", str(out), "--quiet"]) == 2
    finally:
        registry._MODELS.pop("t_counted", None)
        registry._TASKS.pop("t_needs_judge", None)
    assert f"task {task} needs the LLM judge and it has no API key" in capsys.readouterr().err
    assert calls == [] and not list(out.rglob("*.jsonl")), "no model call, no event log"


RUNNER = textwrap.dedent("""
    import os, sys, time
    sys.path.append(os.environ["OMNIBENCH_TEST_ROOT"])
    from omnibench import registry
    from omnibench.cli import main
    from omnibench.task import Task, Prompts
    from omnibench.scoring.rules import choice_match
    from tests.conftest import text_samples

    @registry.task("t_sigint", hidden=True)
    def factory():
        return Task(name="t_sigint", samples=lambda: text_samples(40, "t_sigint"), protocols=("offline",),
                    scorers=[choice_match()], headline="accuracy", prompts=Prompts())

    @registry.model("slow4", hidden=True)
    class Slow:
        needs_video = False
        max_concurrency = 4
        def __init__(self, sleep=0.0, hang=False):
            self.sleep, self.hang = sleep, hang
        def generate(self, request):
            time.sleep(self.sleep)
            if self.hang and request.sample_id == "s010":
                time.sleep(3600)
            i = int(request.sample_id[1:])
            return f"a{i}" if i % 3 else "zzz"

    sys.exit(main(sys.argv[1:]))
""")


def _start(tmp_path: Path, *args: str) -> subprocess.Popen:
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    env = {**os.environ, "OMNIBENCH_TEST_ROOT": ROOT}
    # Ctrl-C as a terminal delivers it, also when these tests run in a background job (`cmd &` starts
    # with SIGINT ignored, and a Python started so keeps ignoring it, as a shell user would want)
    return subprocess.Popen([sys.executable, str(script), "run", "--tasks", "t_sigint", "--model", "slow4",
                             "--quiet", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _lines(run_dir: Path) -> int:
    log = run_dir / "logs" / "t_sigint"
    return sum(1 for p in log.glob("*.jsonl") for _ in open(p)) if log.exists() else 0


def test_sigint_during_a_concurrent_run_leaves_complete_logs_and_resumes_to_the_same_scores(tmp_path):
    import json

    killed, clean = tmp_path / "killed", tmp_path / "clean"
    # 40 samples of 0.4 s on 4 lanes: about 4 s, so the SIGINT after the 6th lands mid-run even on a busy machine
    proc = _start(tmp_path, "--out", str(killed), "--model-args", "sleep=0.4", "--allow-errors")
    deadline = time.time() + 60
    while time.time() < deadline and _lines(killed) < 6:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    assert time.monotonic() - start < 5
    done = sum(len(EventLog(p).finished_ids()) for p in (killed / "logs" / "t_sigint").glob("*.jsonl"))
    assert 0 < done < 40
    for path in (killed / "logs" / "t_sigint").glob("*.jsonl"):
        assert path.read_bytes().endswith(b"\n") and all(json.loads(x) for x in path.read_text().splitlines())
    assert _start(tmp_path, "--out", str(killed), "--model-args", "sleep=0.4").wait(60) == 0
    assert _start(tmp_path, "--out", str(clean)).wait(60) == 0
    scores = [json.loads((d / "results.json").read_text())["results"][0]["metrics"]["accuracy"]["value"]
              for d in (killed, clean)]
    assert scores[0] == scores[1] == pytest.approx(26 / 40)


def test_the_process_exits_promptly_with_a_hung_adapter_call(tmp_path):
    proc = _start(tmp_path, "--out", str(tmp_path / "hung"), "--model-args", "hang=true", "--timeout", "0.5")
    start = time.monotonic()
    proc.communicate(timeout=60)
    assert time.monotonic() - start < 20
    assert proc.returncode == 1 and _lines(tmp_path / "hung") == 40


def test_sigterm_during_a_hung_call_exits_promptly_as_interrupted_with_finished_samples_on_disk(tmp_path):
    out = tmp_path / "hung"
    proc = _start(tmp_path, "--out", str(out), "--model-args", "hang=true")   # s010 hangs; the timeout is 600 s
    deadline = time.time() + 60
    while time.time() < deadline and _lines(out) < 39:
        time.sleep(0.05)
    assert _lines(out) == 39, "every sample but the hung one is answered"
    proc.send_signal(signal.SIGTERM)
    start = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert time.monotonic() - start < 20, "the grace for in-flight samples is bounded; the hung call is abandoned"
    done = sum(len(EventLog(p).finished_ids()) for p in (out / "logs" / "t_sigint").glob("*.jsonl"))
    assert done == 39 and "interrupted" in err.decode()
