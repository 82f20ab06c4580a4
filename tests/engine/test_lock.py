"""One process per run directory and shard: a second one fails naming the first; stale locks are replaced."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from omnibench.engine.evaluate import Evaluation
from omnibench.engine.lock import RunLock, RunLockedError
from omnibench.scoring.rules import choice_match
from tests.conftest import text_samples


def test_second_holder_fails_with_the_first_ones_pid_and_the_lock_goes_when_released(tmp_path):
    with RunLock(tmp_path, (0, 2)) as lock:
        owner = json.loads(lock.path.read_text())
        assert owner["pid"] > 0 and lock.path.name == ".lock.shard0of2"
        with pytest.raises(RunLockedError, match=rf"in use by process {owner['pid']} .*delete .*lock.shard0of2"):
            RunLock(tmp_path, (0, 2)).acquire()
        with RunLock(tmp_path, (1, 2)):             # another shard is another lock
            pass
    assert not lock.path.exists()
    with RunLock(tmp_path, (0, 2)):
        pass


def test_a_lock_left_by_a_dead_process_is_stale_and_replaced(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    import socket
    (tmp_path / ".lock.shard0of1").write_text(json.dumps({"pid": pid, "host": socket.gethostname()}))
    with RunLock(tmp_path) as lock:
        assert json.loads(lock.path.read_text())["pid"] != pid


def test_a_live_process_on_another_host_or_a_fresh_torn_lock_is_respected(tmp_path):
    (tmp_path / ".lock.shard0of1").write_text(json.dumps({"pid": 1, "host": "elsewhere"}))
    with pytest.raises(RunLockedError, match="process 1 on elsewhere"):
        RunLock(tmp_path).acquire()
    (tmp_path / ".lock.shard0of1").write_text("")      # being written right now
    with pytest.raises(RunLockedError):
        RunLock(tmp_path).acquire()


class Slow:
    needs_video = False

    def __init__(self, started: threading.Event):
        self.started = started

    def generate(self, request):
        self.started.set()
        time.sleep(0.3)
        return "a0"


def test_the_same_command_twice_into_one_run_dir_is_refused_not_run_twice(tmp_path, memory_task):
    """Used to run every sample twice with no warning."""
    name = memory_task("t_lock", text_samples(2, "t_lock"), scorers=[choice_match()], protocols=("offline",))
    started, errors = threading.Event(), []
    first = threading.Thread(target=lambda: Evaluation(model="slow", out=tmp_path, model_obj=Slow(started),
                                                       progress=False).run([name]))
    first.start()
    started.wait(10)
    try:
        with pytest.raises(RunLockedError, match="in use by process"):
            Evaluation(model="slow", out=tmp_path, model_obj=Slow(threading.Event()), progress=False).run([name])
    finally:
        first.join()
    lines = [line for p in (tmp_path / "logs" / name).glob("*.jsonl") for line in p.read_text().splitlines()]
    assert len(lines) == 2 and not errors


def test_the_lock_file_and_the_refusal_hold_no_secret(tmp_path, monkeypatch):
    """The lock kept the full argv: after a SIGKILL it held api_key=..., and a second command printed it."""
    key = "sk-lock-0123456789abcdef"
    monkeypatch.setattr(sys, "argv", ["omnibench", "run", "--model-args", f"api_key={key},base_url=http://u:pw-123456@h/v1"])
    with RunLock(tmp_path) as lock:
        text = lock.path.read_text()
        assert key not in text and "pw-123456" not in text and "api_key=***" in text
    other = {"pid": 1, "host": "elsewhere", "started": 1e300,
             "command": f"omnibench run --model-args token={key} http://h/v1?key={key}"}
    (tmp_path / ".lock.shard0of1").write_text(json.dumps(other))
    with pytest.raises(RunLockedError) as refused:
        RunLock(tmp_path).acquire()
    assert key not in str(refused.value) and "process 1 on elsewhere" in str(refused.value)
