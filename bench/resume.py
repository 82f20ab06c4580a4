"""Resume in seconds: `python run_eval.py` (the main job: the synthetic suite x the board's models,
then the leaderboard) run again with nothing left to do. Goal: < 10 s on a 2-core machine, loading
no model (each model's capabilities come from the profile its first run kept).

    python bench/resume.py [--root DIR]

DIR (default bench/.cache/resume) keeps runs/, leaderboards/ and the cache; the first run fills it
(minutes: every sample of every board model), later invocations only time the resume. The peer is
the same command's first run.

Last line: {"first_s": .. (null when DIR was filled before), "resume_s": .., "models": ..,
"models_resumed_without_running": ..}
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main_job(root: Path) -> tuple[float, str]:
    env = {**os.environ, "OMNIBENCH_CACHE": str(root / "cache"), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "run_eval.py")], cwd=root, env=env, capture_output=True,
                          text=True)
    took = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"run_eval.py failed:\n{done.stderr[-3000:]}")
    return took, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", default=str(Path(__file__).parent / ".cache" / "resume"))
    root = Path(parser.parse_args().root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    first = None
    if not (root / "leaderboards" / "synth" / "leaderboard.csv").exists():
        first, _ = main_job(root)
        print(f"first run: {first:.1f} s", file=sys.stderr)
    resume, stdout = main_job(root)
    models = stdout.count("\n== ") + stdout.startswith("== ")
    resumed = stdout.count("every sample is answered")
    print(f"resume: {resume:.1f} s; {resumed} of {models} model(s) resumed without running "
          f"(load average {os.getloadavg()[0]:.1f})", file=sys.stderr)
    print(json.dumps({"first_s": None if first is None else round(first, 1), "resume_s": round(resume, 2),
                      "models": models, "models_resumed_without_running": resumed,
                      "load_average_1min": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
