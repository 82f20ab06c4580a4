"""`python run_eval.py` with no arguments, end to end, under a temporary HOME; then it resumes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _main_job(cwd: Path, home: Path) -> tuple[subprocess.CompletedProcess, float]:
    env = {k: v for k, v in os.environ.items() if k != "OMNIBENCH_CACHE"}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "run_eval.py")], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    return done, time.perf_counter() - start


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
        assert model in table and model in first.stdout
    assert any((home / ".cache" / "omnibench" / "synth").iterdir())

    second, second_s = _main_job(tmp_path, home)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second_s < first_s / 2, "a second run resumes from the event logs"
    assert second.stdout.split("wrote")[0].strip().splitlines()[-4:] == first.stdout.split("wrote")[0].strip().splitlines()[-4:]
