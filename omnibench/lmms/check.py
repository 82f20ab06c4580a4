"""Compare an lmms-eval results file with `omnibench score --json` on the same tasks.

    python -m omnibench.lmms.check LMMS_OUTPUT_DIR OMNIBENCH_SCORES.json --tasks synth_ap,synth_si

Exits 1 when a value differs, a task or metric is missing on either side, or there is no
results file (lmms-eval exits 0 even when its run failed, so the file is the only evidence).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from omnibench.lmms.tasks import PREFIX

TOLERANCE = 1e-9


def find_results(output_dir: Path) -> Path | None:
    """The newest `*_results.json` lmms-eval wrote under its --output_path."""
    found = sorted(Path(output_dir).rglob("*_results.json"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def lmms_metrics(results: dict[str, Any], task: str) -> dict[str, float]:
    """{metric: value} of one task from lmms-eval's `results` block (keys are 'metric,filter')."""
    block = results.get("results", {}).get(PREFIX + task, {})
    out = {}
    for key, value in block.items():
        metric, _, _ = key.partition(",")
        if key != "alias" and "_stderr" not in metric and isinstance(value, (int, float)):
            out[metric] = float(value)
    return out


def compare(results: dict[str, Any], scores: dict[str, Any], tasks: list[str]) -> list[str]:
    """Every mismatch, in words; empty when both tools agree on every metric of every task."""
    problems = []
    for task in tasks:
        ours = lmms_metrics(results, task)
        theirs = scores.get(task)
        if not ours:
            problems.append(f"{task}: no metrics in the lmms-eval results")
            continue
        if theirs is None:
            problems.append(f"{task}: missing from the omnibench scores")
            continue
        for metric, value in sorted(ours.items()):
            expected = theirs.get(metric, {}).get("value") if isinstance(theirs.get(metric), dict) else None
            if expected is None:
                if not math.isnan(value):
                    problems.append(f"{task}.{metric}: lmms-eval {value}, omnibench has no value")
            elif not math.isclose(value, float(expected), rel_tol=0.0, abs_tol=TOLERANCE):
                problems.append(f"{task}.{metric}: lmms-eval {value} != omnibench {expected}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lmms_output")
    parser.add_argument("omnibench_scores")
    parser.add_argument("--tasks", required=True, help="omnibench task names, comma-separated")
    args = parser.parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t]
    path = find_results(Path(args.lmms_output))
    if path is None:
        print(f"lmms-check: no *_results.json under {args.lmms_output}: the lmms-eval run failed", file=sys.stderr)
        return 1
    results = json.loads(path.read_text(encoding="utf-8"))
    scores = json.loads(Path(args.omnibench_scores).read_text(encoding="utf-8"))
    problems = compare(results, scores, tasks)
    for task in tasks:
        print(f"{task}: " + ", ".join(f"{k}={v:.6g}" for k, v in sorted(lmms_metrics(results, task).items())))
    if problems:
        print("lmms-check: MISMATCH\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"lmms-check: lmms-eval and omnibench agree on {', '.join(tasks)} ({path.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
