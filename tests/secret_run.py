"""A task over one tiny video with the LLM judge, for the planted-key tests (tests/test_secrets.py).

    python -m tests.secret_run DATA_ROOT omnibench-args...    # registers `t_secret`, then runs the CLI

The task is registered in the process that runs the command, so a subprocess (a run to SIGKILL, a
second copy refused by the lock) sees it as the test process does.
"""

from __future__ import annotations

import sys
from pathlib import Path

TASK = "t_secret"
N_SAMPLES = 3


def register(data_root: str | Path) -> str:
    from omnibench import registry
    from omnibench.data.schema import Query, Sample, VideoRef
    from omnibench.scoring.judge import JudgeClient, judge_turns
    from omnibench.task import Prompts, Task

    samples = [Sample(id=f"s{i}", task=TASK, video=VideoRef(path="v.mp4"),
                      turns=[Query(t=1.0, text=f"question of {i}?", target=f"a{i}")],
                      metadata={"video_id": "v"}) for i in range(N_SAMPLES)]

    @registry.task(TASK, hidden=True)
    def factory(judge=None) -> Task:
        return Task(name=TASK, samples=lambda: list(samples), protocols=("offline",),
                    scorers=[judge_turns(lambda: JudgeClient(**(judge or {}), max_retries=0, backoff_s=0.0))],
                    headline="accuracy", prompts=Prompts(), data_root=str(data_root), uses_judge=True)
    return TASK


def make_data(root: Path) -> Path:
    from tests.videos import make_video

    root.mkdir(parents=True, exist_ok=True)
    make_video(root / "v.mp4", seconds=2.0, size=(64, 48))
    return root


if __name__ == "__main__":
    register(sys.argv[1])
    from omnibench.cli import main

    sys.exit(main(sys.argv[2:]))
