"""Every file read from a run directory or a data root is bounded: regular files only, a size limit
stated in the error (a flag raises it); FIFOs and devices refused; numbers too big for a float are
data errors naming file and line; a symlinked videos/ folder is allowed, `..` is not."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from omnibench.data import omnimmi
from omnibench.engine.eventlog import EventLog, SampleRecord
from omnibench.errors import DataError
from omnibench.models.replay import PredictionStore
from omnibench.safejson import read_text

DEV_ZERO = Path("/dev/zero")
needs_dev_zero = pytest.mark.skipif(not DEV_ZERO.exists(), reason="needs /dev/zero (a POSIX character device)")


def _fifo(path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs os.mkfifo (POSIX)")
    os.mkfifo(path)
    return path


def _finishes(fn, seconds: float = 10.0):
    """fn() in a thread: a read that blocks forever (a FIFO nobody writes) fails the test instead of hanging it."""
    outcome: dict = {}

    def call():
        try:
            outcome["value"] = fn()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still reading after {seconds}s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


@needs_dev_zero
def test_an_annotation_file_linked_to_a_device_is_refused(tmp_path):
    (tmp_path / omnimmi.TASK_FILES["si"]).symlink_to(DEV_ZERO)
    with pytest.raises(DataError, match=r"speaker_identification.json.*not a regular file"):
        _finishes(lambda: omnimmi.load("si", tmp_path))


@needs_dev_zero
def test_a_replay_file_linked_to_a_device_is_refused(tmp_path):
    (tmp_path / "si_M_0.json").symlink_to(DEV_ZERO)
    with pytest.raises(DataError, match=r"si_M_0.json.*not a regular file"):
        _finishes(lambda: PredictionStore(tmp_path / "si_M_0.json"))


def test_a_fifo_as_a_replay_file_is_refused_without_waiting(tmp_path):
    fifo = _fifo(tmp_path / "si_M_0.json")
    with pytest.raises(DataError, match=r"si_M_0.json.*not a regular file \(a FIFO\)"):
        _finishes(lambda: PredictionStore(fifo))


@needs_dev_zero
def test_an_event_log_linked_to_a_device_is_refused(tmp_path):
    path = tmp_path / "logs" / "t" / "m.shard0of1.jsonl"
    path.parent.mkdir(parents=True)
    path.symlink_to(DEV_ZERO)
    with pytest.raises(DataError, match=r"m.shard0of1.jsonl.*not a regular file"):
        _finishes(lambda: list(EventLog(path).records()))


def test_a_file_over_the_limit_names_the_limit_and_the_flag(tmp_path, monkeypatch):
    path = tmp_path / "big.json"
    path.write_text("[" + " " * (3 << 20) + "]")
    monkeypatch.setenv("OMNIBENCH_MAX_READ_MB", "1")
    with pytest.raises(DataError, match=r"big.json.*over the 1 MiB read limit.*--max-read-mb"):
        read_text(path)
    monkeypatch.setenv("OMNIBENCH_MAX_READ_MB", "8")
    assert read_text(path).startswith("[")


def test_an_event_log_line_over_the_limit_is_a_data_error(tmp_path, monkeypatch):
    log = EventLog(tmp_path / "m.shard0of1.jsonl")
    log.append(SampleRecord(sample_id="s0", task="t", model="m", error="x" * (2 << 20), status="error"))
    log.append(SampleRecord(sample_id="s1", task="t", model="m"))
    monkeypatch.setenv("OMNIBENCH_MAX_READ_MB", "1")
    with pytest.raises(DataError, match=r"m.shard0of1.jsonl.*line 1.*over the 1 MiB read limit"):
        list(log.records())
    monkeypatch.setenv("OMNIBENCH_MAX_READ_MB", "4")
    assert [r.sample_id for r in log.records()] == ["s0", "s1"]


def test_the_max_read_flag_raises_the_limit_for_the_command(tmp_path, monkeypatch, capsys):
    from omnibench.cli import main

    path = tmp_path / "si_M_0.json"
    path.write_text('{"video": "a.mp4", "question": "q", "pred": "x"}\n' + " " * (2 << 20) + "\n")
    monkeypatch.setenv("OMNIBENCH_MAX_READ_MB", "1")
    args = ["run", "--tasks", "omnimmi_si", "--model", "replay", "--model-args", f"path={path}",
            "--out", str(tmp_path / "run"), "--quiet", "--no-score", "--limit", "1", "--allow-errors"]
    assert main(args) == 2
    assert "over the 1 MiB read limit" in capsys.readouterr().err
    assert main([*args, "--max-read-mb", "3"]) == 0
    assert "read limit" not in capsys.readouterr().err
    assert os.environ["OMNIBENCH_MAX_READ_MB"] == "1", "the flag holds for one command only"


@pytest.mark.parametrize("value", ["1" + "0" * 400, "-" + "1" * 400], ids=["huge", "huge-negative"])
def test_a_replay_alert_time_no_float_holds_is_a_data_error_naming_the_line(tmp_path, value):
    path = tmp_path / "pa_M_0.json"
    path.write_text('{"video": "a.mp4", "question": "q", "answer": [1, 2], "pred": [1.0]}\n'
                    '{"video": "b.mp4", "question": "q", "answer": [1, 2], "pred": [%s]}\n' % value)
    with pytest.raises(DataError, match=r"pa_M_0.json:2.*alert time"):
        PredictionStore(path)
    path.write_text('{"sample_id": "s0", "alerts": [%s]}\n' % value)
    with pytest.raises(DataError, match=r"pa_M_0.json:1.*alert time"):
        PredictionStore(path, "omnibench")


def test_a_symlinked_videos_folder_is_allowed_and_leaving_the_root_is_not(tmp_path):
    from omnibench.engine.offline import resolve_video

    other_disk = tmp_path / "disk2" / "videos"
    other_disk.mkdir(parents=True)
    (other_disk / "a.mp4").write_bytes(b"x")
    root = tmp_path / "data"
    root.mkdir()
    (root / "videos").symlink_to(other_disk, target_is_directory=True)
    assert resolve_video(root, "videos/a.mp4").read_bytes() == b"x"
    for bad in ("../disk2/videos/a.mp4", str(other_disk / "a.mp4"), "videos/../../disk2/videos/a.mp4"):
        with pytest.raises(DataError, match="data root"):
            resolve_video(root, bad)


def test_prompt_files_that_are_fifos_are_refused(tmp_path):
    from omnibench.scoring.judge import load_prompt
    from omnibench.task import prompt_overrides

    fifo = _fifo(tmp_path / "prompts.json")
    with pytest.raises(DataError, match=r"prompts.json.*not a regular file"):
        _finishes(lambda: prompt_overrides(fifo, "synth_sg"))
    with pytest.raises(DataError, match=r"prompts.json.*not a regular file"):
        _finishes(lambda: load_prompt(fifo))


class _Answers:
    needs_video = False

    def generate(self, request):
        return "a0"


@pytest.mark.parametrize("name", ["run.json", "specs/m/*.json", "results.json", "samples/t_fifo/m.jsonl",
                                  "logs/t_fifo/m.shard0of1.jsonl"])
def test_run_directory_files_that_are_fifos_are_refused(tmp_path, memory_task, name, capsys):
    from omnibench.cli import main
    from omnibench.engine.evaluate import Evaluation
    from omnibench.scoring.rules import choice_match
    from tests.conftest import text_samples

    task = memory_task("t_fifo", text_samples(2, "t_fifo"), [choice_match()], protocols=("offline",))
    Evaluation(model="m", out=tmp_path, model_obj=_Answers(), progress=False).run([task])
    assert main(["score", str(tmp_path), "--quiet"]) == 0
    found = sorted(tmp_path.glob(name))
    assert found, sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    found[0].unlink()
    _fifo(found[0])
    capsys.readouterr()
    command = ["report", str(tmp_path), "--out", str(tmp_path / "board")] if name in ("results.json", "run.json") else \
        ["score", str(tmp_path), "--quiet"]
    assert _finishes(lambda: main(command)) == 2
    assert "not a regular file (a FIFO)" in capsys.readouterr().err


@pytest.mark.parametrize("number", ["1e999", "1" + "0" * 5000], ids=["1e999", "5000-digits"])
def test_an_event_log_number_no_float_holds_is_a_data_error_naming_file_and_line(tmp_path, number):
    log = EventLog(tmp_path / "m.shard0of1.jsonl")
    log.append(SampleRecord(sample_id="s0", task="t", model="m"))
    with open(log.path, "a") as fh:
        fh.write('{"sample_id": "s1", "task": "t", "model": "m", "ended_at": %s}\n' % number)
    with pytest.raises(DataError, match=r"m.shard0of1.jsonl: line 2"):
        list(log.records())
