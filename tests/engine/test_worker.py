"""Local models in worker processes: a timeout kills the call's worker (never two copies of a model in
a lane, no abandoned call), and an adapter that exits, segfaults, floods or leaks threads ends one
sample, never the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from omnibench import registry
from omnibench.engine.evaluate import Evaluation
from omnibench.engine.pool import WorkerPool
from omnibench.engine.protocols import Emission, OfflineRequest
from omnibench.engine.worker import ModelFactory, ModelStuck
from omnibench.engine.wrapper import GuardedModel
from omnibench.errors import ModelError
from omnibench.scoring.rules import choice_match
from tests.conftest import text_samples

ROOT = str(Path(__file__).resolve().parents[2])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@registry.model("t_slow3", hidden=True)
class SlowThreeSeconds:
    """Takes 3 s per answer; writes what happens to a JSONL file: builds (with the other instances
    still alive at that moment) and call entries / exits, by process id."""

    needs_video = False

    def __init__(self, log: str = ""):
        self.log = Path(log)
        others = [e["pid"] for e in _events(self.log) if e["event"] == "built" and _alive(e["pid"])]
        self._write("built", others_alive=others)

    def _write(self, event: str, **extra) -> None:
        with open(self.log, "a") as fh:
            fh.write(json.dumps({"event": event, "pid": os.getpid(), **extra}) + "\n")

    def generate(self, request):
        self._write("enter")
        time.sleep(3.0)
        self._write("exit")
        return "a0"


def test_a_timed_out_call_kills_its_worker_one_live_instance_and_no_abandoned_call(tmp_path, memory_task):
    """On e49ab22: 6/6 errored, 6 instances built, 6 abandoned calls running at once."""
    log = tmp_path / "events.jsonl"
    name = memory_task("t_slow_task", text_samples(6, "t_slow_task"), [choice_match()], protocols=("offline",))
    start = time.monotonic()
    runs = Evaluation(model="t_slow3", model_args={"log": str(log)}, out=tmp_path / "run", timeout_s=0.5,
                      progress=False).run([name])
    assert time.monotonic() - start < 6 * 3.0 / 2, "no call runs to its end"
    assert len(runs[0].failed) == 6 and all("timed out" in e for e in runs[0].failed.values())
    events = _events(log)
    builds = [e for e in events if e["event"] == "built"]
    entered = [e["pid"] for e in events if e["event"] == "enter"]
    assert len(builds) == 6, "one instance per (re)start: the first and one after each timeout but the last"
    assert all(e["others_alive"] == [] for e in builds), "never a second live copy of the model"
    assert len(entered) == 6 and len(set(entered)) == 6, "each call in its own worker"
    assert not [e for e in events if e["event"] == "exit"], "no timed-out call ran to its end"
    abandoned = [pid for pid in entered if _alive(pid)]
    assert abandoned == [], "no timed-out call is still running"


@registry.model("t_misbehaves", hidden=True)
class Misbehaves:
    """Offline: s001 exits the process, s002 segfaults, s003 blows up its memory, s004 leaves a
    non-daemon thread running; the others answer."""

    needs_video = False

    def generate(self, request):
        import threading

        sid = request.sample_id
        if sid == "s001":
            os._exit(7)
        if sid == "s002":
            import ctypes

            ctypes.string_at(0)
        if sid == "s003":
            return "x" * (1 << 40)                    # MemoryError inside the adapter
        if sid == "s004":
            threading.Thread(target=time.sleep, args=(3600,), daemon=False).start()
        return f"a{int(sid[1:])}"


def test_exit_segfault_memory_and_threads_end_one_sample_each_and_the_run_goes_on(tmp_path, memory_task):
    name = memory_task("t_misbehave", text_samples(6, "t_misbehave"), [choice_match()], protocols=("offline",))
    runs = Evaluation(model="t_misbehaves", out=tmp_path, timeout_s=30, progress=False).run([name])
    failed = runs[0].failed
    assert runs[0].ran == 6 and sorted(failed) == ["s001", "s002", "s003"]
    assert "exit code 7" in failed["s001"] and "SIGSEGV" in failed["s002"] and "MemoryError" in failed["s003"]
    from omnibench.scoring.run_scores import score_run

    assert score_run(tmp_path)[0].n_scored == 3


@registry.model("t_floods", hidden=True)
class Floods:
    """Streaming: on its first poll after the question, s000 returns an endless iterator and s001 a
    list of 200,000 emissions; s002 answers once."""

    needs_video = False
    fps = 1.0

    def reset(self, info):
        self.sample, self.asked = info.sample_id, False

    def feed(self, t, frame):
        pass

    def ask(self, t, query):
        self.asked = True

    def poll(self, t):
        import itertools

        if not self.asked:
            return []
        self.asked = False
        if self.sample == "s000":
            return (Emission(text="a", turn=0) for _ in itertools.count())
        if self.sample == "s001":
            return [Emission(text="a", turn=0)] * 200_000
        return [Emission(text="a2", turn=0)]


def test_an_endless_poll_and_a_flood_of_emissions_end_their_sample(tmp_path, memory_task):
    name = memory_task("t_flood", text_samples(3, "t_flood"), [choice_match()], protocols=("streaming",))
    runs = Evaluation(model="t_floods", out=tmp_path, timeout_s=30, progress=False).run([name])
    assert runs[0].ran == 3 and sorted(runs[0].failed) == ["s000", "s001"]
    assert all("more than 4096 emissions" in e for e in runs[0].failed.values())


def test_the_same_bounds_hold_for_a_model_running_in_this_process(tmp_path, memory_task):
    name = memory_task("t_flood_here", text_samples(3, "t_flood_here"), [choice_match()], protocols=("streaming",))
    runs = Evaluation(model="f", out=tmp_path, model_obj=Floods(), timeout_s=30, progress=False).run([name])
    assert sorted(runs[0].failed) == ["s000", "s001"]


RUNNER = textwrap.dedent("""
    import os, sys, threading, time
    sys.path.append(os.environ["OMNIBENCH_TEST_ROOT"])
    from omnibench import registry
    from omnibench.cli import main
    from omnibench.task import Task, Prompts
    from omnibench.scoring.rules import choice_match
    from tests.conftest import text_samples

    @registry.task("t_threads", hidden=True)
    def factory():
        return Task(name="t_threads", samples=lambda: text_samples(3, "t_threads"), protocols=("offline",),
                    scorers=[choice_match()], headline="accuracy", prompts=Prompts())

    @registry.model("leaks_threads", hidden=True)
    class LeaksThreads:
        needs_video = False
        def generate(self, request):
            threading.Thread(target=time.sleep, args=(3600,), daemon=False).start()
            return "a" + str(int(request.sample_id[1:]))

    sys.exit(main(sys.argv[1:]))
""")


def test_an_adapter_that_leaves_non_daemon_threads_does_not_keep_the_run_alive(tmp_path):
    """On e49ab22 the process stayed alive after the run (a non-daemon thread of the adapter)."""
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    start = time.monotonic()
    done = subprocess.run([sys.executable, str(script), "run", "--tasks", "t_threads", "--model", "leaks_threads",
                           "--out", str(tmp_path / "run"), "--quiet"], env={**os.environ, "OMNIBENCH_TEST_ROOT": ROOT},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert time.monotonic() - start < 60 and "accuracy" in done.stdout


@registry.model("t_hangs_on_rebuild", hidden=True)
class HangsOnRebuild:
    """Its first call hangs; building it a second time hangs too (a constructor stuck after a timeout)."""

    needs_video = False

    def __init__(self, flag: str = ""):
        if Path(flag).exists():
            time.sleep(3600)
        Path(flag).write_text("built")

    def generate(self, request):
        time.sleep(3600)


def test_a_restart_that_hangs_stops_the_run_within_its_start_timeout(tmp_path, memory_task):
    """On e49ab22 the rebuild had no timeout: a constructor hanging after a timeout stalled the run for good."""
    name = memory_task("t_rebuild", text_samples(3, "t_rebuild"), protocols=("offline",))
    evaluation = Evaluation(model="t_hangs_on_rebuild", model_args={"flag": str(tmp_path / "flag")}, out=tmp_path,
                            timeout_s=0.3, start_timeout_s=1.0, progress=False)
    start = time.monotonic()
    with pytest.raises(Exception, match="did not finish building the model within 1 s"):
        evaluation.run([name])
    assert time.monotonic() - start < 15


@registry.model("t_frames", hidden=True)
class FrameDigest:
    def generate(self, request):
        import hashlib

        return hashlib.sha256(request.frames.tobytes()).hexdigest() + f" {request.frames.shape}"


def test_frames_reach_the_worker_through_shared_memory_not_the_pipe():
    pool = WorkerPool(ModelFactory("t_frames"))
    model = GuardedModel(pool, model_id="t_frames")
    try:
        frames = np.random.default_rng(0).integers(0, 255, (8, 720, 1280, 3), dtype=np.uint8)
        import hashlib

        text, _ = model.generate(OfflineRequest(prompt="p", frames=frames))
        assert text == hashlib.sha256(frames.tobytes()).hexdigest() + f" {frames.shape}"
        message = pool.lanes[0]._pack("generate", (OfflineRequest(prompt="p", frames=frames),))
        assert len(message) < 4096 < frames.nbytes, "the pipe carries a reference, not the pixels"
        bigger = np.ones((4, 1080, 1920, 3), np.uint8)
        assert model.generate(OfflineRequest(prompt="p", frames=bigger))[0].endswith(f" {bigger.shape}")
    finally:
        model.close()
    assert not pool.lanes[0].running and not list(Path("/dev/shm").glob(f"omnibench-{os.getpid()}-*"))


def test_a_transient_error_in_the_worker_is_retried_and_others_keep_their_type():
    @registry.model("t_transient", hidden=True)
    class Transient:
        transient_errors = (ConnectionError,)
        calls = 0

        def generate(self, request):
            type(self).calls += 1
            if request.prompt == "bad":
                raise FileNotFoundError("no such clip")
            if type(self).calls == 1:
                raise ConnectionError("blip")
            return f"ok after {type(self).calls}"

    try:
        model = GuardedModel(WorkerPool(ModelFactory("t_transient")), model_id="t", backoff_s=0.01)
        assert model.generate(OfflineRequest(prompt="p"))[0] == "ok after 2"
        with pytest.raises(FileNotFoundError, match="no such clip"):
            model.generate(OfflineRequest(prompt="bad"))
        model.close()
    finally:
        registry._MODELS.pop("t_transient", None)


def test_a_model_whose_constructor_fails_says_so_at_once():
    @registry.model("t_no_checkpoint", hidden=True)
    class NoCheckpoint:
        def __init__(self):
            from omnibench.errors import ConfigError

            raise ConfigError("model t_no_checkpoint needs checkpoint=PATH")

        def generate(self, request):
            return ""

    try:
        from omnibench.errors import ConfigError

        with pytest.raises(ConfigError, match="needs checkpoint"):
            WorkerPool(ModelFactory("t_no_checkpoint"))
    finally:
        registry._MODELS.pop("t_no_checkpoint", None)


def test_models_declaring_concurrency_get_one_worker_per_lane_and_a_sample_keeps_its_lane(tmp_path, memory_task):
    @registry.model("t_two_lanes", hidden=True)
    class TwoLanes:
        needs_video = False
        max_concurrency = 2
        fps = 1.0

        def reset(self, info):
            self.sample = info.sample_id

        def feed(self, t, frame):
            pass

        def ask(self, t, query):
            pass

        def poll(self, t):
            return [Emission(text=f"{self.sample}@{os.getpid()}", turn=0)] if t == 1.0 else []

    try:
        name = memory_task("t_lanes", text_samples(4, "t_lanes"), protocols=("streaming",))
        evaluation = Evaluation(model="t_two_lanes", out=tmp_path, progress=False)
        assert len(evaluation.model.pool.lanes) == 2
        runs = evaluation.run([name])
        assert runs[0].ran == 4 and not runs[0].failed
        from omnibench.engine.eventlog import EventLog

        for record in EventLog(runs[0].log_paths[0]).records():
            assert record.answer(0).split("@")[0] == record.sample_id, "reset and poll reached the same worker"
    finally:
        registry._MODELS.pop("t_two_lanes", None)


def test_poll_results_are_bounded_inside_the_timed_call():
    """The endless iterator is cut inside the call, so the caller gets an error, not a hang."""
    model = GuardedModel(Floods(), model_id="floods", timeout_s=5.0)
    from omnibench.engine.protocols import StreamInfo

    model.stream_call("reset", StreamInfo(sample_id="s000", task="t", duration=1.0, fps=1.0))
    model.stream_call("ask", 0.0, None)
    start = time.monotonic()
    with pytest.raises(ModelError, match="more than 4096 emissions"):
        model.stream_call("poll", 0.0)
    assert time.monotonic() - start < 5.0


def test_a_worker_that_cannot_start_within_its_start_timeout_is_stuck(tmp_path):
    @registry.model("t_slow_build", hidden=True)
    class SlowBuild:
        def __init__(self):
            time.sleep(3600)

        def generate(self, request):
            return ""

    try:
        start = time.monotonic()
        with pytest.raises(ModelStuck, match="within 0.5 s"):
            WorkerPool(ModelFactory("t_slow_build"), start_timeout_s=0.5)
        assert time.monotonic() - start < 5
    finally:
        registry._MODELS.pop("t_slow_build", None)
